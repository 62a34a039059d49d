-- Environments as managed shared resources (issue 13): metadata, labels
-- (a label is a pool), holds; pooled runs; the workers' capacity.

ALTER TABLE environments
    ADD COLUMN description text   NOT NULL DEFAULT '' CHECK (char_length(description) <= 500),
    -- Sorted, each a lower-case word; a label is also a pool's name.
    ADD COLUMN labels      text[] NOT NULL DEFAULT '{}' CHECK (cardinality(labels) <= 20),
    ADD COLUMN url         text   NOT NULL DEFAULT '' CHECK (char_length(url) <= 2048),
    -- {"NAME": {"value": "...", "secret": bool}}: given to every run that
    -- starts here; secret values never leave the API and are masked in logs.
    ADD COLUMN variables   jsonb  NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(variables) = 'object'),
    -- A hold: no run starts here while it is in force (hold_until NULL:
    -- until released). Expired holds are simply not in force any more.
    ADD COLUMN hold_by     text CHECK (char_length(hold_by) <= 150),
    ADD COLUMN hold_reason text CHECK (char_length(hold_reason) <= 500),
    ADD COLUMN hold_since  timestamptz,
    ADD COLUMN hold_until  timestamptz,
    ADD CONSTRAINT environments_hold_whole CHECK (
        (hold_by IS NULL) = (hold_since IS NULL) AND (hold_by IS NULL) = (hold_reason IS NULL)
        AND (hold_until IS NULL OR hold_by IS NOT NULL));

-- A pooled run names a label and gets its environment when it starts; one
-- cancelled before it started never gets one.
ALTER TABLE runs
    ALTER COLUMN environment_id DROP NOT NULL,
    ADD COLUMN pool text CHECK (pool ~ '^[a-z][a-z0-9-]{0,31}$'),
    ADD CONSTRAINT runs_target CHECK (environment_id IS NOT NULL OR (pool IS NOT NULL AND status IN ('queued', 'cancelled')));

-- The FIFO queue of each pool (the claim's OR-branch for pooled runs).
CREATE INDEX runs_pool_queue ON runs (pool, id) WHERE status = 'queued' AND pool IS NOT NULL;
-- Recent runs of the same files, for the queue's estimates: in one
-- environment, and anywhere.
CREATE INDEX runs_history_env ON runs (environment_id, test_files, id DESC) WHERE status IN ('success', 'failed');
CREATE INDEX runs_history_files ON runs (test_files, id DESC) WHERE status IN ('success', 'failed');

-- Every worker process, with its capacity and a heartbeat: the capacity of
-- the cluster is the sum over the live ones (heartbeat within
-- BATON_WORKER_LOST_AFTER).
CREATE TABLE workers (
    id           text        PRIMARY KEY CHECK (id <> ''),
    max_runs     integer     NOT NULL CHECK (max_runs > 0),
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now()
);
