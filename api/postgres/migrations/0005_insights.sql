-- Insights: per-test history, flakiness and slowness, environment usage,
-- retention. See api/insights and api/postgres/insights.go.

-- The content of the test file a result came from, as the run's worker read
-- it when the run started (the first 8 bytes of a SHA-256 over the file and
-- the conftest.py files pytest loads for it): a test that passes and fails on
-- the same content is flaky, one whose file changed in between is not. NULL
-- when unknown (results stored before this column, or an unreadable file).
ALTER TABLE run_test_results ADD COLUMN content_hash bigint;

-- A test's history, newest first, and the last N results the statistics are
-- computed from: an index-only scan per test, whatever the number of runs.
CREATE INDEX run_test_results_history ON run_test_results (node_id, run_id DESC)
    INCLUDE (outcome, duration_ms, content_hash);

-- One row per test (node id), recomputed from its last results by the
-- run_ended job of every run that reported it, and by retention. Read by the
-- flaky and slowest lists and by the "flaky" mark on every test result.
CREATE TABLE test_stats (
    node_id          text             PRIMARY KEY,
    -- window_size is the N these figures were computed over.
    window_size      integer          NOT NULL CHECK (window_size > 0),
    last_run_id      bigint           NOT NULL,
    last_outcome     text             NOT NULL,
    last_seen_at     timestamptz      NOT NULL,
    results          integer          NOT NULL,
    passed           integer          NOT NULL,
    failed           integer          NOT NULL,
    skipped          integer          NOT NULL,
    -- flips counts consecutive results on the same content whose pass/fail
    -- differ, out of flip_pairs such consecutive pairs.
    flips            integer          NOT NULL,
    flip_pairs       integer          NOT NULL,
    flip_rate        double precision NOT NULL,
    flaky            boolean          NOT NULL,
    duration_p50_ms  bigint,
    duration_mean_ms bigint,
    -- previous_mean_ms is the mean duration of the N results before the window.
    previous_mean_ms bigint,
    -- The window's outcomes and durations, oldest first.
    recent_outcomes  text[]           NOT NULL,
    recent_durations bigint[]         NOT NULL,
    recent_run_ids   bigint[]         NOT NULL
);
CREATE INDEX test_stats_flaky ON test_stats (flip_rate DESC, node_id) WHERE flaky;
CREATE INDEX test_stats_slowest ON test_stats (duration_p50_ms DESC NULLS LAST, node_id);
CREATE INDEX test_stats_window ON test_stats (window_size);

-- Environment insights scan the runs that started in a window, from this
-- index alone (index-only scan; autovacuum keeps the visibility map).
CREATE INDEX runs_started_at ON runs (started_at) INCLUDE (environment_id, created_at, finished_at)
    WHERE started_at IS NOT NULL;

-- Retention finds the oldest ended runs without a scan.
CREATE INDEX runs_finished_at ON runs (finished_at) WHERE finished_at IS NOT NULL;
