-- apiwright state database, schema version 4: runs executed by `apiwright serve` and the
-- workflows registered through its API.
--
-- A job is the server's hold on a run: queued until a worker takes it, running while a worker
-- drives it, done when the run finished or paused. Jobs still queued or running when the
-- server stops are taken up again when it starts.
CREATE TABLE server_jobs (
    run_id        TEXT    PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    state         TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done')),
    requested_by  TEXT,              -- the principal that started the run through the API
    cancelled_by  TEXT,
    cancel_reason TEXT,
    error         TEXT,              -- why the last drive stopped with an error, if it did
    updated_at    INTEGER NOT NULL   -- ms since the epoch
);
CREATE INDEX server_jobs_unfinished ON server_jobs (state) WHERE state <> 'done';
CREATE TABLE workflows (
    name          TEXT    PRIMARY KEY,
    description   TEXT    NOT NULL,
    yaml          TEXT    NOT NULL,
    registered_by TEXT    NOT NULL,
    registered_at INTEGER NOT NULL   -- ms since the epoch
);
CREATE INDEX runs_by_updated ON runs (updated_at, id);
CREATE INDEX runs_by_workflow ON runs (workflow_name, created_at);
