# ruff: noqa: E501 - the SQL of the Rust migrations and rows is kept on one line per statement
"""A SQLite file as the Rust `pattern_db` crate writes it, built from REFERENCE sections 1 and 10.

`build(path, upto=13)` applies the crate's migrations 0001-`upto` (there is no 0008) and records
them in sqlx's `_sqlx_migrations` table; `populate(conn)` writes rows the way sqlx does: Rust
timestamps as RFC 3339 with `+00:00` and a varying fraction, SQL `datetime('now')` text in
updated columns, JSON columns with NUMERIC affinity, 17-digit snowflake positions.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import apsw

MIGRATIONS: dict[int, tuple[str, str]] = {
    1: (
        "initial",
        """
CREATE TABLE agents (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT,
  model_provider TEXT NOT NULL, model_name TEXT NOT NULL, system_prompt TEXT NOT NULL,
  config JSON NOT NULL, enabled_tools JSON NOT NULL, tool_rules JSON,
  status TEXT NOT NULL DEFAULT 'active', created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX idx_agents_name ON agents(name);
CREATE INDEX idx_agents_status ON agents(status);
CREATE TABLE agent_groups (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT,
  pattern_type TEXT NOT NULL, pattern_config JSON NOT NULL, created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL);
CREATE TABLE group_members (group_id TEXT NOT NULL REFERENCES agent_groups(id) ON DELETE CASCADE,
  agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE, role JSON,
  joined_at TEXT NOT NULL, PRIMARY KEY (group_id, agent_id));
CREATE TABLE memory_blocks (id TEXT PRIMARY KEY, agent_id TEXT NOT NULL, label TEXT NOT NULL,
  description TEXT NOT NULL, block_type TEXT NOT NULL, char_limit INTEGER NOT NULL DEFAULT 5000,
  permission TEXT NOT NULL DEFAULT 'read_write', pinned INTEGER NOT NULL DEFAULT 0,
  loro_snapshot BLOB NOT NULL, content_preview TEXT, metadata JSON, embedding_model TEXT,
  is_active INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  UNIQUE (agent_id, label));
CREATE INDEX idx_memory_blocks_agent ON memory_blocks(agent_id);
CREATE TABLE memory_block_checkpoints (id INTEGER PRIMARY KEY AUTOINCREMENT,
  block_id TEXT NOT NULL REFERENCES memory_blocks(id) ON DELETE CASCADE, snapshot BLOB NOT NULL,
  created_at TEXT NOT NULL, updates_consolidated INTEGER NOT NULL DEFAULT 0);
CREATE TABLE shared_block_agents (block_id TEXT NOT NULL REFERENCES memory_blocks(id) ON DELETE CASCADE,
  agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  permission TEXT NOT NULL DEFAULT 'read_only', attached_at TEXT NOT NULL,
  PRIMARY KEY (block_id, agent_id));
CREATE TABLE archival_entries (id TEXT PRIMARY KEY, agent_id TEXT NOT NULL, content TEXT NOT NULL,
  metadata JSON, chunk_index INTEGER DEFAULT 0,
  parent_entry_id TEXT REFERENCES archival_entries(id) ON DELETE CASCADE, created_at TEXT NOT NULL);
CREATE TABLE messages (id TEXT PRIMARY KEY, agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  position TEXT NOT NULL, batch_id TEXT, sequence_in_batch INTEGER, role TEXT NOT NULL,
  content_json JSON NOT NULL, content_preview TEXT, batch_type TEXT, source TEXT,
  source_metadata JSON, is_archived INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL);
CREATE INDEX idx_messages_agent_position ON messages(agent_id, position DESC);
CREATE TABLE archive_summaries (id TEXT PRIMARY KEY,
  agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE, summary TEXT NOT NULL,
  start_position TEXT NOT NULL, end_position TEXT NOT NULL, message_count INTEGER NOT NULL,
  previous_summary_id TEXT REFERENCES archive_summaries(id) ON DELETE SET NULL,
  depth INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL);
CREATE TABLE activity_events (id TEXT PRIMARY KEY, timestamp TEXT NOT NULL,
  agent_id TEXT REFERENCES agents(id) ON DELETE SET NULL, event_type TEXT NOT NULL,
  details JSON NOT NULL, importance TEXT);
CREATE TABLE agent_summaries (agent_id TEXT PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,
  summary TEXT NOT NULL, messages_covered INTEGER, generated_at TEXT NOT NULL,
  last_active TEXT NOT NULL);
CREATE TABLE constellation_summaries (id TEXT PRIMARY KEY, period_start TEXT NOT NULL,
  period_end TEXT NOT NULL, summary TEXT NOT NULL, key_decisions JSON, open_threads JSON,
  created_at TEXT NOT NULL);
CREATE TABLE notable_events (id TEXT PRIMARY KEY, timestamp TEXT NOT NULL, event_type TEXT NOT NULL,
  description TEXT NOT NULL, agents_involved JSON, importance TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE coordination_state (key TEXT PRIMARY KEY, value JSON NOT NULL, updated_at TEXT NOT NULL,
  updated_by TEXT);
CREATE TABLE coordination_tasks (id TEXT PRIMARY KEY, description TEXT NOT NULL,
  assigned_to TEXT REFERENCES agents(id) ON DELETE SET NULL, status TEXT NOT NULL DEFAULT 'pending',
  priority TEXT NOT NULL DEFAULT 'medium', created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE handoff_notes (id TEXT PRIMARY KEY,
  from_agent TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  to_agent TEXT REFERENCES agents(id) ON DELETE SET NULL, content TEXT NOT NULL,
  created_at TEXT NOT NULL, read_at TEXT);
CREATE TABLE data_sources (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, source_type TEXT NOT NULL,
  config JSON NOT NULL, last_sync_at TEXT, sync_cursor TEXT, enabled INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE agent_data_sources (agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  source_id TEXT NOT NULL REFERENCES data_sources(id) ON DELETE CASCADE,
  notification_template TEXT, PRIMARY KEY (agent_id, source_id));
CREATE TABLE tasks (id TEXT PRIMARY KEY, agent_id TEXT REFERENCES agents(id) ON DELETE SET NULL,
  title TEXT NOT NULL, description TEXT, status TEXT NOT NULL DEFAULT 'pending',
  priority TEXT NOT NULL DEFAULT 'medium', due_at TEXT, scheduled_at TEXT, completed_at TEXT,
  parent_task_id TEXT REFERENCES tasks(id) ON DELETE CASCADE, created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL);
CREATE TABLE events (id TEXT PRIMARY KEY, agent_id TEXT REFERENCES agents(id) ON DELETE SET NULL,
  title TEXT NOT NULL, description TEXT, starts_at TEXT NOT NULL, ends_at TEXT, rrule TEXT,
  reminder_minutes INTEGER, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE folders (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT,
  path_type TEXT NOT NULL, path_value TEXT, embedding_model TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE folder_files (id TEXT PRIMARY KEY,
  folder_id TEXT NOT NULL REFERENCES folders(id) ON DELETE CASCADE, name TEXT NOT NULL,
  content_type TEXT, size_bytes INTEGER, content BLOB, uploaded_at TEXT NOT NULL, indexed_at TEXT,
  UNIQUE (folder_id, name));
CREATE TABLE file_passages (id TEXT PRIMARY KEY,
  file_id TEXT NOT NULL REFERENCES folder_files(id) ON DELETE CASCADE, content TEXT NOT NULL,
  start_line INTEGER, end_line INTEGER, created_at TEXT NOT NULL);
CREATE TABLE folder_attachments (folder_id TEXT NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
  agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE, access TEXT NOT NULL,
  attached_at TEXT NOT NULL, PRIMARY KEY (folder_id, agent_id));
CREATE TABLE migration_audit (id TEXT PRIMARY KEY, imported_at TEXT NOT NULL,
  source_file TEXT NOT NULL, source_version INTEGER NOT NULL, issues_found INTEGER NOT NULL,
  issues_resolved INTEGER NOT NULL, audit_log JSON NOT NULL);
""",
    ),
    2: (
        "fts",
        """
CREATE VIRTUAL TABLE messages_fts USING fts5(content_preview, content='messages', content_rowid='rowid');
CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
  INSERT INTO messages_fts(rowid, content_preview) VALUES (new.rowid, new.content_preview); END;
CREATE VIRTUAL TABLE memory_blocks_fts USING fts5(content_preview, content='memory_blocks', content_rowid='rowid');
CREATE TRIGGER memory_blocks_ai AFTER INSERT ON memory_blocks BEGIN
  INSERT INTO memory_blocks_fts(rowid, content_preview) VALUES (new.rowid, new.content_preview); END;
CREATE VIRTUAL TABLE archival_fts USING fts5(content, content='archival_entries', content_rowid='rowid');
CREATE TRIGGER archival_ai AFTER INSERT ON archival_entries BEGIN
  INSERT INTO archival_fts(rowid, content) VALUES (new.rowid, new.content); END;
""",
    ),
    3: (
        "tasks_events_passages",
        """
ALTER TABLE tasks ADD COLUMN tags JSON;
ALTER TABLE tasks ADD COLUMN estimated_minutes INTEGER;
ALTER TABLE tasks ADD COLUMN actual_minutes INTEGER;
ALTER TABLE tasks ADD COLUMN notes TEXT;
ALTER TABLE events ADD COLUMN all_day INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN location TEXT;
ALTER TABLE events ADD COLUMN external_id TEXT;
ALTER TABLE events ADD COLUMN external_source TEXT;
CREATE TABLE event_occurrences (id TEXT PRIMARY KEY,
  event_id TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE, starts_at TEXT NOT NULL,
  ends_at TEXT, status TEXT NOT NULL DEFAULT 'scheduled', notes TEXT, created_at TEXT NOT NULL);
ALTER TABLE file_passages ADD COLUMN chunk_index INTEGER NOT NULL DEFAULT 0;
""",
    ),
    4: (
        "memory_deltas",
        """
ALTER TABLE memory_blocks ADD COLUMN frontier BLOB;
ALTER TABLE memory_blocks ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE memory_block_checkpoints ADD COLUMN frontier BLOB;
CREATE TABLE memory_block_updates (id INTEGER PRIMARY KEY AUTOINCREMENT,
  block_id TEXT NOT NULL REFERENCES memory_blocks(id) ON DELETE CASCADE, seq INTEGER NOT NULL,
  update_blob BLOB NOT NULL, byte_size INTEGER NOT NULL, source TEXT, created_at TEXT NOT NULL);
CREATE UNIQUE INDEX idx_updates_block_seq ON memory_block_updates(block_id, seq);
""",
    ),
    5: (
        "queued_messages",
        """
CREATE TABLE queued_messages (id TEXT PRIMARY KEY NOT NULL,
  target_agent_id TEXT NOT NULL REFERENCES agents(id), source_agent_id TEXT,
  content TEXT NOT NULL, origin_json TEXT, metadata_json TEXT, priority INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL DEFAULT (datetime('now')), processed_at TEXT);
""",
    ),
    6: ("archival_fts_metadata", "SELECT 1;"),
    7: (
        "message_tombstones",
        "ALTER TABLE messages ADD COLUMN is_deleted INTEGER NOT NULL DEFAULT 0;",
    ),
    9: (
        "agent_atproto_endpoints",
        """
CREATE TABLE agent_atproto_endpoints (agent_id TEXT NOT NULL, did TEXT NOT NULL,
  endpoint_type TEXT NOT NULL, config TEXT,
  created_at INTEGER NOT NULL DEFAULT (unixepoch()), updated_at INTEGER NOT NULL DEFAULT (unixepoch()),
  PRIMARY KEY (agent_id, endpoint_type));
""",
    ),
    10: (
        "add_session_id_to_atproto_endpoints",
        "ALTER TABLE agent_atproto_endpoints ADD COLUMN session_id TEXT;",
    ),
    11: (
        "member_capabilities",
        "ALTER TABLE group_members ADD COLUMN capabilities JSON DEFAULT '[]';",
    ),
    12: (
        "queued_message_full_content",
        """
ALTER TABLE queued_messages ADD COLUMN content_json TEXT;
ALTER TABLE queued_messages ADD COLUMN metadata_json_full TEXT;
ALTER TABLE queued_messages ADD COLUMN batch_id TEXT;
ALTER TABLE queued_messages ADD COLUMN role TEXT NOT NULL DEFAULT 'user';
""",
    ),
    13: (
        "update_frontiers",
        """
ALTER TABLE memory_block_updates ADD COLUMN frontier BLOB;
ALTER TABLE memory_block_updates ADD COLUMN is_active INTEGER NOT NULL DEFAULT 1;
""",
    ),
}


def build(path: Path, upto: int = 13) -> apsw.Connection:
    """Create the file with migrations 0001-`upto` applied and recorded; return a connection."""
    conn = apsw.Connection(str(path))
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(
        "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, "
        "installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, "
        "checksum BLOB NOT NULL, execution_time BIGINT NOT NULL)"
    )
    for version, (name, sql) in sorted(MIGRATIONS.items()):
        if version > upto:
            break
        with conn:
            conn.execute(sql)
            conn.execute(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, "
                "execution_time) VALUES (?, ?, 1, ?, 1000)",
                (version, name, hashlib.sha384(sql.encode()).digest()),
            )
    return conn


SNOW = 1_766_000_000_000 - 1288834974657  # ms since the Twitter epoch, December 2025


def position(i: int) -> str:
    return str((SNOW + i) << 16)  # 17 or 18 digits, not padded: as the runtime wrote them


def loro_text(text: str) -> tuple[bytes, bytes]:
    import loro

    doc = loro.LoroDoc()
    doc.get_text("content").insert(0, text)
    doc.commit()
    return doc.export(loro.ExportMode.Snapshot()), doc.oplog_frontiers.encode()


def loro_delta(snapshot: bytes, append: str) -> bytes:
    import loro

    doc = loro.LoroDoc()
    doc.import_(snapshot)
    before = doc.oplog_vv
    text = doc.get_text("content")
    text.insert(text.len_unicode, append)
    doc.commit()
    return doc.export(loro.ExportMode.Updates(before))


RFC = "2025-12-26T10:11:12.123456+00:00"  # what sqlx binds from Rust
RFC_MS = "2025-12-26T10:11:13.5+00:00"
RFC_NS = "2025-12-26T10:11:14.123456789+00:00"
SQL_NOW = "2025-12-27 08:00:00"  # what SQL datetime('now') writes


def populate(conn: apsw.Connection, *, messages: int = 30, vectors: bool = True) -> dict[str, int]:
    """Write rows into every table (migrations 0001-0013) and return the count of each."""
    ex = conn.execute
    snap, frontier = loro_text("I am the persona.")
    delta = loro_delta(snap, " I like tea.")
    with conn:
        # Children are written before their parents (checked at commit), so the importer's
        # parents-first ordering is exercised.
        ex("PRAGMA defer_foreign_keys = ON")
        ex(
            "INSERT INTO agents VALUES ('a1','Pattern',NULL,'anthropic','claude','You help.',"
            '\'{"max_messages": 50}\',\'["context","recall"]\',\'[{"tool_name":"x"}]\',\'active\',?,?)',
            (RFC, SQL_NOW),
        )
        ex(
            "INSERT INTO agents VALUES ('a2','Entropy','tasks','openai','gpt','You plan.',"
            "'{}','[]',NULL,'Hibernated',?,?)",
            (RFC_MS, RFC_NS),
        )
        ex(
            "INSERT INTO agent_groups VALUES ('g1','Main',NULL,'round_robin',"
            "'{\"current_index\": 0}',?,?)",
            (RFC, SQL_NOW),
        )
        ex(
            "INSERT INTO group_members VALUES ('g1','a1','{\"type\":\"supervisor\"}',?,'[\"lead\"]')",
            (RFC,),
        )
        ex(
            "INSERT INTO group_members VALUES ('g1','a2','{\"type\":\"specialist\",\"domain\":\"tasks\"}',?,'[]')",
            (SQL_NOW,),
        )
        ex(
            "INSERT INTO agent_atproto_endpoints VALUES ('a1','did:plc:abc','bluesky','{\"pds\":\"x\"}',1766000000,1766000100,'sess1')"
        )
        ex(
            "INSERT INTO memory_blocks VALUES ('b1','a1','persona','who I am','core',5000,'read_write',1,?,"
            "'I am the persona. I like tea.','{\"schema\":1}',NULL,1,?,?,?,2)",
            (snap, RFC, SQL_NOW, frontier),
        )
        ex(
            "INSERT INTO memory_blocks VALUES ('b2','_constellation_','shared','shared notes','working',2000,"
            "'read-only',0,?,'shared text',NULL,'bge-small',1,?,?,NULL,0)",
            (loro_text("shared text")[0], RFC, RFC),
        )
        ex(
            "INSERT INTO memory_block_checkpoints (block_id, snapshot, created_at, updates_consolidated, frontier) "
            "VALUES ('b1',?,?,1,?)",
            (snap, "2025-12-26T10:00:00+00:00", frontier),
        )
        ex(
            "INSERT INTO memory_block_updates (block_id, seq, update_blob, byte_size, source, created_at, frontier, is_active) "
            "VALUES ('b1',2,?,?,'agent',?,NULL,1)",
            (delta, len(delta), SQL_NOW),
        )
        ex("INSERT INTO shared_block_agents VALUES ('b2','a2','read_only',?)", (RFC,))
        ex(
            "INSERT INTO archival_entries VALUES ('e2','a1','chunk','{\"n\": 1.50}',1,'e1',?)",
            (RFC,),
        )
        ex("INSERT INTO archival_entries VALUES ('e1','a1','parent',5,0,NULL,?)", (SQL_NOW,))
        for i in range(messages):
            ex(
                "INSERT INTO messages VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    f"m{i:04d}",
                    "a1" if i % 3 else "a2",
                    position(i),
                    position(i - i % 4),
                    i % 4,
                    ["user", "assistant", "tool", "system"][i % 4],
                    f'{{"Text": "message {i}"}}',
                    f"message {i}",
                    "user_request",
                    "cli",
                    None if i % 2 else '{"channel": 7}',
                    int(i < 5),
                    RFC if i % 2 else SQL_NOW,
                    int(i == 7),
                ),
            )
        ex(
            "INSERT INTO archive_summaries VALUES ('s2','a1','later',?,?,4,'s1',1,?)",
            (position(4), position(8), RFC),
        )
        ex(
            "INSERT INTO archive_summaries VALUES ('s1','a1','first',?,?,4,NULL,0,?)",
            (position(0), position(3), SQL_NOW),
        )
        ex(
            "INSERT INTO queued_messages VALUES ('q1','a2','a1','hello','{\"from\":\"a1\"}',NULL,2,?,NULL,"
            "'{\"Text\":\"hello\"}',NULL,?,'user')",
            (SQL_NOW, position(2)),
        )
        ex(
            "INSERT INTO activity_events VALUES ('ev1',?,'a1','message_sent','{\"n\":1}','high')",
            (RFC,),
        )
        ex("INSERT INTO activity_events VALUES ('ev2',?,NULL,'system',7,NULL)", (SQL_NOW,))
        ex("INSERT INTO agent_summaries VALUES ('a1','busy day',NULL,?,?)", (RFC, SQL_NOW))
        ex(
            "INSERT INTO constellation_summaries VALUES ('cs1',?,?,'week','[\"ship\"]',NULL,?)",
            (RFC, RFC_MS, SQL_NOW),
        )
        ex(
            "INSERT INTO notable_events VALUES ('n1',?,'milestone','launched','[\"a1\"]','critical',?)",
            (RFC, RFC),
        )
        ex("INSERT INTO coordination_state VALUES ('turn',3,?,'a1')", (SQL_NOW,))
        ex("INSERT INTO coordination_state VALUES ('mood','\"calm\"',?,NULL)", (RFC,))
        ex(
            "INSERT INTO coordination_tasks VALUES ('ct1','review','a2','in_progress','urgent',?,?)",
            (RFC, SQL_NOW),
        )
        ex("INSERT INTO handoff_notes VALUES ('h1','a1','a2','over to you',?,?)", (RFC, SQL_NOW))
        ex(
            "INSERT INTO data_sources VALUES ('d1','feed','bluesky','{\"handle\":\"x\"}',?,'cur',1,?,?)",
            (SQL_NOW, RFC, RFC),
        )
        ex("INSERT INTO agent_data_sources VALUES ('a1','d1','{{content}}')")
        ex(
            "INSERT INTO tasks VALUES ('t2','a1','child',NULL,'in_progress','high',NULL,NULL,NULL,'t1',?,?,'[\"x\"]',5,NULL,'n')",
            (RFC, SQL_NOW),
        )
        ex(
            "INSERT INTO tasks VALUES ('t1',NULL,'parent','desc','completed','critical',?,NULL,?,NULL,?,?,NULL,NULL,3,NULL)",
            (RFC, SQL_NOW, RFC, RFC),
        )
        ex(
            "INSERT INTO events VALUES ('ev','a1','standup',NULL,?,NULL,'FREQ=DAILY;COUNT=3',10,?,?,0,'room',NULL,NULL)",
            (RFC, RFC, SQL_NOW),
        )
        ex(
            "INSERT INTO event_occurrences VALUES ('o1','ev',?,NULL,'completed','done',?)",
            (RFC, SQL_NOW),
        )
        ex("INSERT INTO folders VALUES ('f1','docs',NULL,'virtual',NULL,'bge-small',?)", (RFC,))
        ex(
            "INSERT INTO folder_files VALUES ('ff1','f1','a.md','text/markdown',5,X'68656c6c6f',?,?)",
            (RFC, SQL_NOW),
        )
        ex("INSERT INTO file_passages VALUES ('p1','ff1','hello',1,1,?,0)", (RFC,))
        ex("INSERT INTO folder_attachments VALUES ('f1','a1','read_write',?)", (SQL_NOW,))
        if vectors:
            import sqlite_vec

            conn.enable_load_extension(True)
            conn.load_extension(sqlite_vec.loadable_path())
            ex(
                "CREATE VIRTUAL TABLE embeddings USING vec0(embedding float[4], +content_type TEXT NOT NULL, "
                "+content_id TEXT NOT NULL, +chunk_index INTEGER, +content_hash TEXT)"
            )
            for i, (kind, cid) in enumerate(
                [("message", "m0001"), ("memory_block", "b1"), ("archival_entry", "e1")]
            ):
                ex(
                    "INSERT INTO embeddings (embedding, content_type, content_id, chunk_index, content_hash) "
                    "VALUES (?,?,?,?,?)",
                    (sqlite_vec.serialize_float32([1.0, i, 0.5, 2.0]), kind, cid, 0, f"h{i}"),
                )
    counts = {}
    for table in (
        "agents",
        "agent_groups",
        "group_members",
        "agent_atproto_endpoints",
        "memory_blocks",
        "memory_block_checkpoints",
        "memory_block_updates",
        "shared_block_agents",
        "archival_entries",
        "messages",
        "archive_summaries",
        "queued_messages",
        "activity_events",
        "agent_summaries",
        "constellation_summaries",
        "notable_events",
        "coordination_state",
        "coordination_tasks",
        "handoff_notes",
        "data_sources",
        "agent_data_sources",
        "tasks",
        "events",
        "event_occurrences",
        "folders",
        "folder_files",
        "file_passages",
        "folder_attachments",
    ):
        counts[table] = int(conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
    return counts
