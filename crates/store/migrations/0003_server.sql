-- apiwright state database, schema version 3: the accounts of `apiwright serve`.
-- Secrets are stored only as hashes: argon2 PHC strings for passwords, SHA-256 (hex) for API
-- keys and refresh tokens.
CREATE TABLE users (
    id            TEXT    PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    created_at    INTEGER NOT NULL   -- ms since the epoch
);
CREATE TABLE api_keys (
    id         TEXT    PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    key_hash   TEXT    NOT NULL UNIQUE,
    prefix     TEXT    NOT NULL,     -- the first characters of the key, to recognise it
    role       TEXT    NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX api_keys_user ON api_keys (user_id, created_at);
CREATE TABLE refresh_tokens (
    id         TEXT    PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT    NOT NULL UNIQUE,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
