-- apiwright state database, schema version 1.
-- Applied by crates/store/src/schema.rs inside BEGIN IMMEDIATE; `PRAGMA user_version` is set
-- by the migration runner, not here.

-- Current value of every memory key.
CREATE TABLE memory (
    key        TEXT    NOT NULL PRIMARY KEY,
    value      TEXT    NOT NULL,
    value_type TEXT    NOT NULL CHECK (value_type IN ('json', 'text')),
    tags       TEXT    NOT NULL DEFAULT '{}',   -- JSON object of string -> string
    version    INTEGER NOT NULL,
    updated_at INTEGER NOT NULL                 -- ms since the epoch
);

-- Every put and delete of every key (a delete keeps the version it removed).
CREATE TABLE memory_history (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    key        TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    op         TEXT    NOT NULL CHECK (op IN ('put', 'delete')),
    value      TEXT,                            -- NULL for a delete
    value_type TEXT    CHECK (value_type IN ('json', 'text')),
    tags       TEXT    NOT NULL DEFAULT '{}',
    at         INTEGER NOT NULL
);
CREATE INDEX memory_history_key ON memory_history (key, id);

-- Run records. Every commit of a run updates its row (status, last_seq), so the row stays
-- small: the workflow definition, which can be hundreds of KiB, lives in run_definitions.
CREATE TABLE runs (
    id            TEXT    NOT NULL PRIMARY KEY,
    workflow_name TEXT    NOT NULL,
    params        TEXT    NOT NULL,             -- JSON
    workspace     TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    last_seq      INTEGER NOT NULL DEFAULT 0,
    owner_pid     INTEGER
);
CREATE INDEX runs_created ON runs (created_at, id);

-- The workflow definition a run was started with (written once, read on resume).
CREATE TABLE run_definitions (
    run_id        TEXT NOT NULL PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    workflow_yaml TEXT NOT NULL
);

-- Append-only event log of every run; seq is 1-based and gap-free per run.
CREATE TABLE events (
    run_id  TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    kind    TEXT    NOT NULL,
    payload TEXT    NOT NULL,                   -- JSON
    at      INTEGER NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

-- Hook calls reported by interactive coding agents.
CREATE TABLE hooks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    payload    TEXT    NOT NULL,                -- JSON
    at         INTEGER NOT NULL
);
CREATE INDEX hooks_session ON hooks (session_id, id);
