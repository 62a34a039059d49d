-- Results and progress: a summary on the run, one row per test.
ALTER TABLE runs
    ADD COLUMN progress_completed integer,
    ADD COLUMN progress_total     integer,
    ADD COLUMN tests_passed       integer,
    ADD COLUMN tests_failed       integer,
    ADD COLUMN tests_errors       integer,
    ADD COLUMN tests_skipped      integer,
    ADD COLUMN tests_total        integer;

CREATE TABLE run_test_results (
    run_id      bigint  NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    position    integer NOT NULL,
    node_id     text    NOT NULL,
    outcome     text    NOT NULL CHECK (outcome IN ('passed', 'failed', 'error', 'skipped')),
    duration_ms bigint  NOT NULL CHECK (duration_ms >= 0),
    message     text    NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, position)
);
