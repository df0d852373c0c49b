-- pattern-db schema 0002: FTS5 indexes over messages, memory blocks, archival entries and file
-- passages. External-content tables (no second copy of the text) kept in step by triggers.
-- Triggers fire only when an indexed column changes, so flag updates (is_archived, last_seq bumps)
-- never re-index a row. Every row is indexed (a NULL text indexes as empty), so the triggers and
-- FTS5's 'rebuild' agree, and 'delete' is always given exactly the values that were indexed.

CREATE VIRTUAL TABLE messages_fts USING fts5(
    content_preview,
    content='messages', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content_preview) VALUES (new.rowid, new.content_preview);
END;
CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content_preview) VALUES ('delete', old.rowid, old.content_preview);
END;
CREATE TRIGGER messages_au AFTER UPDATE OF content_preview ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content_preview) VALUES ('delete', old.rowid, old.content_preview);
    INSERT INTO messages_fts(rowid, content_preview) VALUES (new.rowid, new.content_preview);
END;

CREATE VIRTUAL TABLE memory_blocks_fts USING fts5(
    label, description, content_preview,
    content='memory_blocks', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER memory_blocks_ai AFTER INSERT ON memory_blocks BEGIN
    INSERT INTO memory_blocks_fts(rowid, label, description, content_preview) VALUES (new.rowid, new.label, new.description, new.content_preview);
END;
CREATE TRIGGER memory_blocks_ad AFTER DELETE ON memory_blocks BEGIN
    INSERT INTO memory_blocks_fts(memory_blocks_fts, rowid, label, description, content_preview) VALUES ('delete', old.rowid, old.label, old.description, old.content_preview);
END;
CREATE TRIGGER memory_blocks_au AFTER UPDATE OF label, description, content_preview ON memory_blocks BEGIN
    INSERT INTO memory_blocks_fts(memory_blocks_fts, rowid, label, description, content_preview) VALUES ('delete', old.rowid, old.label, old.description, old.content_preview);
    INSERT INTO memory_blocks_fts(rowid, label, description, content_preview) VALUES (new.rowid, new.label, new.description, new.content_preview);
END;

CREATE VIRTUAL TABLE archival_fts USING fts5(
    content, metadata,
    content='archival_entries', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER archival_ai AFTER INSERT ON archival_entries BEGIN
    INSERT INTO archival_fts(rowid, content, metadata) VALUES (new.rowid, new.content, new.metadata);
END;
CREATE TRIGGER archival_ad AFTER DELETE ON archival_entries BEGIN
    INSERT INTO archival_fts(archival_fts, rowid, content, metadata) VALUES ('delete', old.rowid, old.content, old.metadata);
END;
CREATE TRIGGER archival_au AFTER UPDATE OF content, metadata ON archival_entries BEGIN
    INSERT INTO archival_fts(archival_fts, rowid, content, metadata) VALUES ('delete', old.rowid, old.content, old.metadata);
    INSERT INTO archival_fts(rowid, content, metadata) VALUES (new.rowid, new.content, new.metadata);
END;

CREATE VIRTUAL TABLE file_passages_fts USING fts5(
    content,
    content='file_passages', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER file_passages_ai AFTER INSERT ON file_passages BEGIN
    INSERT INTO file_passages_fts(rowid, content) VALUES (new.rowid, new.content);
END;
CREATE TRIGGER file_passages_ad AFTER DELETE ON file_passages BEGIN
    INSERT INTO file_passages_fts(file_passages_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
END;
CREATE TRIGGER file_passages_au AFTER UPDATE OF content ON file_passages BEGIN
    INSERT INTO file_passages_fts(file_passages_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
    INSERT INTO file_passages_fts(rowid, content) VALUES (new.rowid, new.content);
END;

