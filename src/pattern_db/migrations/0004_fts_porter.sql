-- pattern-db schema 0004: full-text indexes with porter stemming.
--
-- Measured on bench/retrieval.py (stdlib docstrings and man pages, known-item queries): natural-
-- language keyword search with the porter stemmer in front of unicode61 finds the answer more
-- often (nDCG@10 0.480 -> 0.506 and 0.809 -> 0.831), since "reminders" now matches "remind".
-- The four indexes are re-created with the same columns and triggers as 0002 and rebuilt from
-- their content tables.

DROP TRIGGER messages_ai;
DROP TRIGGER messages_ad;
DROP TRIGGER messages_au;
DROP TRIGGER memory_blocks_ai;
DROP TRIGGER memory_blocks_ad;
DROP TRIGGER memory_blocks_au;
DROP TRIGGER archival_ai;
DROP TRIGGER archival_ad;
DROP TRIGGER archival_au;
DROP TRIGGER file_passages_ai;
DROP TRIGGER file_passages_ad;
DROP TRIGGER file_passages_au;
DROP TABLE messages_fts;
DROP TABLE memory_blocks_fts;
DROP TABLE archival_fts;
DROP TABLE file_passages_fts;

CREATE VIRTUAL TABLE messages_fts USING fts5(
    content_preview,
    content='messages', content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2'
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
    content='memory_blocks', content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2'
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
    content='archival_entries', content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2'
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
    content='file_passages', content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2'
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

INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
INSERT INTO memory_blocks_fts(memory_blocks_fts) VALUES ('rebuild');
INSERT INTO archival_fts(archival_fts) VALUES ('rebuild');
INSERT INTO file_passages_fts(file_passages_fts) VALUES ('rebuild');
