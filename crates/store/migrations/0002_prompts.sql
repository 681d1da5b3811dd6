-- apiwright state database, schema version 2: what each step attempt was told and, for
-- model agents, the conversation it had (for `apiwright prompt show` and reviews).
CREATE TABLE step_prompts (
    run_id     TEXT    NOT NULL,
    round      TEXT    NOT NULL,   -- the round as displayed, e.g. tdd-implementation#1/post-books/red
    phase      TEXT    NOT NULL,
    step       TEXT    NOT NULL,
    item       TEXT,               -- TDD item, if any
    attempt    INTEGER NOT NULL,
    provider   TEXT    NOT NULL,
    prompt     TEXT    NOT NULL,
    transcript TEXT,               -- JSON array of messages, when the agent kept one
    at         INTEGER NOT NULL,
    PRIMARY KEY (run_id, round, step, attempt)
);
CREATE INDEX step_prompts_step ON step_prompts (run_id, step, at);
