-- The global database (SQLite backend): users, OAuth identities, the constellation registry.
-- Timestamps are canonical UTC text (2026-11-29T18:20:00.123456Z); tokens are AES-GCM
-- ciphertext (the key lives outside the database); usernames and emails compare case-insensitively.

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL COLLATE NOCASE UNIQUE,
    email TEXT COLLATE NOCASE UNIQUE,
    password_hash TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE identities (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    access_token BLOB,
    refresh_token BLOB,
    expires_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (provider, provider_id)
) STRICT;

CREATE INDEX idx_identities_user ON identities (user_id);

CREATE TABLE constellations (
    id TEXT PRIMARY KEY NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    node TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_accessed_at TEXT,
    UNIQUE (owner_id, name),
    UNIQUE (node, path)
) STRICT;

CREATE INDEX idx_constellations_node ON constellations (node);
CREATE INDEX idx_constellations_created ON constellations (created_at, id);
