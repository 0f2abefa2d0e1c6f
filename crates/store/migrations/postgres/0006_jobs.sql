-- The durable job queue the takedown workers share (fetches, notices, re-checks). Keep in step
-- with ../sqlite/0006_jobs.sql. `dedup_key` is unique so that a job asked for twice (the same
-- notice of the same series, say) exists once, whichever process asked.
CREATE TABLE jobs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    dedup_key TEXT NOT NULL UNIQUE,
    -- JSON, for the worker of the kind.
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
    -- Not to be run before this time (Unix milliseconds): the first run, or the next retry.
    run_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    max_attempts BIGINT NOT NULL,
    -- The worker holding a running job, until when: past it, another worker may take it over.
    locked_by TEXT,
    locked_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX jobs_due ON jobs (state, run_at);
