-- pattern-db schema 0003: vectors in an ordinary table, kept in step with their content.
--
-- The vectors move out of the sqlite-vec `vec0` table (created at run time) into `embeddings`, one
-- row per vector with what it embeds. Measured on sqlite-vec 0.1.9 (bench/bench_vector_storage.py):
-- vec0 gives every partition key value, and every vector with a NULL key, a chunk of 1024 slots
-- (1.5 MB at 384 floats), and it never reuses the slots of deleted vectors, so a constellation that
-- re-embeds edited memory grows without bound; this table stays within a small factor of the raw
-- float32 bytes and reuses freed pages. sqlite-vec still provides the distance functions of the
-- SQL search path.
--
-- A vector's owner follows its content: `agent_id` is the owning agent of a message, block or
-- archival entry, `folder_id` the folder of a file passage; both NULL means constellation-wide (a
-- vector whose content is not stored). Triggers keep them in step: content deleted (or a message
-- tombstoned) takes its vectors along, content stored after its vectors or moved to another owner
-- re-homes them. Re-homing inserts the rows again under new ids (the in-process vector caches
-- see a changed row as a new id), and every change bumps embedding_meta.generation.
-- (The migration runner first copies the vectors of an existing vec0 table into
-- temp.legacy_vectors and drops that table, since SQL alone cannot read an optional table.)

CREATE TABLE embeddings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    content_type TEXT NOT NULL CHECK (content_type IN ('message', 'memory_block', 'archival_entry', 'file_passage')),
    content_id TEXT NOT NULL,
    chunk_index INTEGER CHECK (chunk_index >= 0),
    content_hash TEXT,
    agent_id TEXT,
    folder_id TEXT,
    embedding BLOB NOT NULL CHECK (length(embedding) > 0)
) STRICT;
CREATE INDEX idx_embeddings_content ON embeddings(content_type, content_id);
CREATE INDEX idx_embeddings_owner ON embeddings(agent_id, content_type);
CREATE INDEX idx_embeddings_folder ON embeddings(folder_id, content_type) WHERE folder_id IS NOT NULL;

INSERT INTO embeddings (id, content_type, content_id, chunk_index, content_hash, agent_id, folder_id, embedding)
SELECT r.id, r.content_type, r.content_id, r.chunk_index, r.content_hash,
    CASE r.content_type
        WHEN 'message' THEN coalesce((SELECT m.agent_id FROM messages AS m WHERE m.id = r.content_id), r.agent_id)
        WHEN 'memory_block' THEN coalesce((SELECT b.agent_id FROM memory_blocks AS b WHERE b.id = r.content_id), r.agent_id)
        WHEN 'archival_entry' THEN coalesce((SELECT e.agent_id FROM archival_entries AS e WHERE e.id = r.content_id), r.agent_id)
        ELSE CASE WHEN EXISTS (SELECT 1 FROM file_passages AS p WHERE p.id = r.content_id) THEN NULL ELSE r.agent_id END
    END,
    CASE r.content_type WHEN 'file_passage' THEN
        (SELECT f.folder_id FROM file_passages AS p JOIN folder_files AS f ON f.id = p.file_id WHERE p.id = r.content_id)
    END,
    v.embedding
FROM embedding_rows AS r JOIN temp.legacy_vectors AS v ON v.id = r.id
WHERE NOT (r.content_type = 'message'
           AND EXISTS (SELECT 1 FROM messages AS m WHERE m.id = r.content_id AND m.is_deleted = 1));
DROP TABLE embedding_rows;
DROP TABLE temp.legacy_vectors;
UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;

-- Messages: deleted or tombstoned take their vectors along; stored or moved, re-home them.
CREATE TRIGGER messages_vectors_ad AFTER DELETE ON messages
WHEN EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'message' AND content_id = old.id)
BEGIN
    DELETE FROM embeddings WHERE content_type = 'message' AND content_id = old.id;
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER messages_vectors_tombstone AFTER UPDATE OF is_deleted ON messages
WHEN new.is_deleted = 1 AND EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'message' AND content_id = new.id)
BEGIN
    DELETE FROM embeddings WHERE content_type = 'message' AND content_id = new.id;
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER messages_vectors_ai AFTER INSERT ON messages
WHEN EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'message' AND content_id = new.id AND agent_id IS NOT new.agent_id)
BEGIN
    INSERT INTO embeddings (content_type, content_id, chunk_index, content_hash, agent_id, folder_id, embedding)
    SELECT content_type, content_id, chunk_index, content_hash, new.agent_id, NULL, embedding FROM embeddings
    WHERE content_type = 'message' AND content_id = new.id AND agent_id IS NOT new.agent_id ORDER BY id;
    DELETE FROM embeddings WHERE content_type = 'message' AND content_id = new.id AND agent_id IS NOT new.agent_id;
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER messages_vectors_au AFTER UPDATE OF agent_id ON messages
WHEN EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'message' AND content_id = new.id AND agent_id IS NOT new.agent_id)
BEGIN
    INSERT INTO embeddings (content_type, content_id, chunk_index, content_hash, agent_id, folder_id, embedding)
    SELECT content_type, content_id, chunk_index, content_hash, new.agent_id, NULL, embedding FROM embeddings
    WHERE content_type = 'message' AND content_id = new.id AND agent_id IS NOT new.agent_id ORDER BY id;
    DELETE FROM embeddings WHERE content_type = 'message' AND content_id = new.id AND agent_id IS NOT new.agent_id;
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;

-- Memory blocks and archival entries: the same.
CREATE TRIGGER memory_blocks_vectors_ad AFTER DELETE ON memory_blocks
WHEN EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'memory_block' AND content_id = old.id)
BEGIN
    DELETE FROM embeddings WHERE content_type = 'memory_block' AND content_id = old.id;
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER memory_blocks_vectors_ai AFTER INSERT ON memory_blocks
WHEN EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'memory_block' AND content_id = new.id AND agent_id IS NOT new.agent_id)
BEGIN
    INSERT INTO embeddings (content_type, content_id, chunk_index, content_hash, agent_id, folder_id, embedding)
    SELECT content_type, content_id, chunk_index, content_hash, new.agent_id, NULL, embedding FROM embeddings
    WHERE content_type = 'memory_block' AND content_id = new.id AND agent_id IS NOT new.agent_id ORDER BY id;
    DELETE FROM embeddings WHERE content_type = 'memory_block' AND content_id = new.id AND agent_id IS NOT new.agent_id;
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER memory_blocks_vectors_au AFTER UPDATE OF agent_id ON memory_blocks
WHEN EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'memory_block' AND content_id = new.id AND agent_id IS NOT new.agent_id)
BEGIN
    INSERT INTO embeddings (content_type, content_id, chunk_index, content_hash, agent_id, folder_id, embedding)
    SELECT content_type, content_id, chunk_index, content_hash, new.agent_id, NULL, embedding FROM embeddings
    WHERE content_type = 'memory_block' AND content_id = new.id AND agent_id IS NOT new.agent_id ORDER BY id;
    DELETE FROM embeddings WHERE content_type = 'memory_block' AND content_id = new.id AND agent_id IS NOT new.agent_id;
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER archival_vectors_ad AFTER DELETE ON archival_entries
WHEN EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'archival_entry' AND content_id = old.id)
BEGIN
    DELETE FROM embeddings WHERE content_type = 'archival_entry' AND content_id = old.id;
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER archival_vectors_ai AFTER INSERT ON archival_entries
WHEN EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'archival_entry' AND content_id = new.id AND agent_id IS NOT new.agent_id)
BEGIN
    INSERT INTO embeddings (content_type, content_id, chunk_index, content_hash, agent_id, folder_id, embedding)
    SELECT content_type, content_id, chunk_index, content_hash, new.agent_id, NULL, embedding FROM embeddings
    WHERE content_type = 'archival_entry' AND content_id = new.id AND agent_id IS NOT new.agent_id ORDER BY id;
    DELETE FROM embeddings WHERE content_type = 'archival_entry' AND content_id = new.id AND agent_id IS NOT new.agent_id;
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER archival_vectors_au AFTER UPDATE OF agent_id ON archival_entries
WHEN EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'archival_entry' AND content_id = new.id AND agent_id IS NOT new.agent_id)
BEGIN
    INSERT INTO embeddings (content_type, content_id, chunk_index, content_hash, agent_id, folder_id, embedding)
    SELECT content_type, content_id, chunk_index, content_hash, new.agent_id, NULL, embedding FROM embeddings
    WHERE content_type = 'archival_entry' AND content_id = new.id AND agent_id IS NOT new.agent_id ORDER BY id;
    DELETE FROM embeddings WHERE content_type = 'archival_entry' AND content_id = new.id AND agent_id IS NOT new.agent_id;
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;

-- File passages belong to the folder of their file.
CREATE TRIGGER file_passages_vectors_ad AFTER DELETE ON file_passages
WHEN EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'file_passage' AND content_id = old.id)
BEGIN
    DELETE FROM embeddings WHERE content_type = 'file_passage' AND content_id = old.id;
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER file_passages_vectors_ai AFTER INSERT ON file_passages
WHEN EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'file_passage' AND content_id = new.id
             AND (agent_id IS NOT NULL OR folder_id IS NOT (SELECT folder_id FROM folder_files WHERE id = new.file_id)))
BEGIN
    INSERT INTO embeddings (content_type, content_id, chunk_index, content_hash, agent_id, folder_id, embedding)
    SELECT content_type, content_id, chunk_index, content_hash, NULL, (SELECT folder_id FROM folder_files WHERE id = new.file_id), embedding
    FROM embeddings WHERE content_type = 'file_passage' AND content_id = new.id
        AND (agent_id IS NOT NULL OR folder_id IS NOT (SELECT folder_id FROM folder_files WHERE id = new.file_id)) ORDER BY id;
    DELETE FROM embeddings WHERE content_type = 'file_passage' AND content_id = new.id
        AND (agent_id IS NOT NULL OR folder_id IS NOT (SELECT folder_id FROM folder_files WHERE id = new.file_id));
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER file_passages_vectors_au AFTER UPDATE OF file_id ON file_passages
WHEN EXISTS (SELECT 1 FROM embeddings WHERE content_type = 'file_passage' AND content_id = new.id
             AND (agent_id IS NOT NULL OR folder_id IS NOT (SELECT folder_id FROM folder_files WHERE id = new.file_id)))
BEGIN
    INSERT INTO embeddings (content_type, content_id, chunk_index, content_hash, agent_id, folder_id, embedding)
    SELECT content_type, content_id, chunk_index, content_hash, NULL, (SELECT folder_id FROM folder_files WHERE id = new.file_id), embedding
    FROM embeddings WHERE content_type = 'file_passage' AND content_id = new.id
        AND (agent_id IS NOT NULL OR folder_id IS NOT (SELECT folder_id FROM folder_files WHERE id = new.file_id)) ORDER BY id;
    DELETE FROM embeddings WHERE content_type = 'file_passage' AND content_id = new.id
        AND (agent_id IS NOT NULL OR folder_id IS NOT (SELECT folder_id FROM folder_files WHERE id = new.file_id));
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER folder_files_vectors_au AFTER UPDATE OF folder_id ON folder_files
WHEN new.folder_id IS NOT old.folder_id AND EXISTS (
    SELECT 1 FROM embeddings AS e JOIN file_passages AS p ON p.id = e.content_id
    WHERE e.content_type = 'file_passage' AND p.file_id = new.id)
BEGIN
    INSERT INTO embeddings (content_type, content_id, chunk_index, content_hash, agent_id, folder_id, embedding)
    SELECT e.content_type, e.content_id, e.chunk_index, e.content_hash, NULL, new.folder_id, e.embedding
    FROM embeddings AS e JOIN file_passages AS p ON p.id = e.content_id
    WHERE e.content_type = 'file_passage' AND p.file_id = new.id AND e.folder_id IS NOT new.folder_id ORDER BY e.id;
    DELETE FROM embeddings WHERE content_type = 'file_passage'
        AND content_id IN (SELECT id FROM file_passages WHERE file_id = new.id) AND folder_id IS NOT new.folder_id;
    UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1;
END;
