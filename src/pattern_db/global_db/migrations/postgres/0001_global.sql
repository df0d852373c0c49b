-- The global database (PostgreSQL backend): users, OAuth identities, the constellation registry.
-- Same tables and constraints as the SQLite backend; usernames and emails are unique
-- case-insensitively through indexes on lower(...); tokens are AES-GCM ciphertext.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    email TEXT,
    password_hash TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE identities (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    access_token BYTEA,
    refresh_token BYTEA,
    expires_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (provider, provider_id)
);

CREATE INDEX idx_identities_user ON identities (user_id);

CREATE TABLE constellations (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    node TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    last_accessed_at TIMESTAMPTZ,
    UNIQUE (owner_id, name),
    UNIQUE (node, path)
);

CREATE INDEX idx_constellations_node ON constellations (node);
CREATE INDEX idx_constellations_created ON constellations (created_at, id);
