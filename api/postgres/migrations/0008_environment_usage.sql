-- Environment insights from a rollup (issue 16): what every ended run did to
-- its environment, per UTC day and per UTC month, maintained by the run's
-- run_ended job (api/postgres/usage.go). A window then reads a few rows per
-- environment instead of every run in it.

-- usage_recorded says the run's contribution is in environment_usage. The
-- run_ended job sets it in the same transaction that adds the contribution,
-- so a retried job adds nothing twice. Runs already in the database start
-- unrecorded: the insights read them from runs until the housekeeping task
-- environment_usage (it runs when a worker starts) has recorded them, so
-- the figures are right at every moment, before, during and after that.
ALTER TABLE runs ADD COLUMN usage_recorded boolean NOT NULL DEFAULT false;

-- The runs started and not yet recorded: the running ones (one per
-- environment) and those whose run_ended job has not run yet.
CREATE INDEX runs_usage_pending ON runs (started_at) INCLUDE (environment_id, created_at, finished_at)
    WHERE started_at IS NOT NULL AND NOT usage_recorded;

-- One row per environment and UTC day ('day', start at 00:00 UTC) or UTC
-- month ('month', start on the 1st at 00:00 UTC), from the recorded runs.
-- Rows outlive the runs retention deletes (BATON_RETENTION): insights over a
-- year still see a year even when runs are kept 90 days.
CREATE TABLE environment_usage (
    period         text        NOT NULL CHECK (period IN ('day', 'month')),
    start          timestamptz NOT NULL,
    environment_id integer     NOT NULL REFERENCES environments (id),
    -- Runs that started in the period, and their queue waits (started_at -
    -- created_at, microseconds): sum, least, greatest.
    runs_started   integer     NOT NULL,
    wait_us        bigint      NOT NULL,
    wait_min_us    bigint,
    wait_max_us    bigint,
    -- The time a run was executing here within the period (microseconds; a
    -- run spanning periods is split at their bounds).
    busy_us        bigint      NOT NULL,
    -- wait_hist[i+1] counts the waits in bucket i: bucket 0 is under 1 ms,
    -- bucket i >= 1 is [1 ms × 2^((i-1)/4), 1 ms × 2^(i/4)) (usage.go,
    -- waitBounds). Trailing empty buckets are left out.
    wait_hist      integer[]   NOT NULL,
    -- starts[q+1] counts the starts in the q-th UTC quarter hour of the day
    -- (0-95), so the hours of day of any zone whose offset is a multiple of
    -- 15 minutes come out exact. Trailing zeros are left out.
    starts         integer[]   NOT NULL,
    PRIMARY KEY (period, start, environment_id)
);

-- baton_dense(idx, n) is the array whose element idx[k] (0-based) is n[k],
-- zeros elsewhere, up to the greatest index.
CREATE FUNCTION baton_dense(integer[], integer[]) RETURNS integer[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(coalesce(v.n, 0) ORDER BY g.i), '{}')
    FROM generate_series(0, (SELECT max(x) FROM unnest($1) AS x)) AS g(i)
    LEFT JOIN unnest($1, $2) AS v(i, n) ON v.i = g.i
$$;

-- baton_int_array_add(a, b) adds two arrays element by element, the shorter
-- one padded with zeros.
CREATE FUNCTION baton_int_array_add(integer[], integer[]) RETURNS integer[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY i), '{}')
    FROM unnest($1, $2) WITH ORDINALITY AS z(x, y, i)
$$;
