-- Environments are fixed: 1..100, seeded here so every process agrees.
CREATE TABLE environments (
    id   integer PRIMARY KEY CHECK (id BETWEEN 1 AND 100),
    name text    NOT NULL UNIQUE
);
INSERT INTO environments (id, name) SELECT g, 'env' || g FROM generate_series(1, 100) AS g;

-- The test catalog mirrors the file system; the API keeps it in sync.
CREATE TABLE test_directories (
    path       text    PRIMARY KEY,
    writable   boolean NOT NULL,
    file_count integer NOT NULL CHECK (file_count >= 0)
);

CREATE TABLE test_files (
    path        text        PRIMARY KEY,
    directory   text        NOT NULL,
    size_bytes  bigint      NOT NULL CHECK (size_bytes >= 0),
    modified_at timestamptz NOT NULL
);

CREATE TABLE runs (
    id               bigserial   PRIMARY KEY,
    requested_by     text        NOT NULL CHECK (requested_by <> '' AND char_length(requested_by) <= 150),
    environment_id   integer     NOT NULL REFERENCES environments (id),
    test_files       jsonb       NOT NULL CHECK (jsonb_typeof(test_files) = 'array' AND jsonb_array_length(test_files) BETWEEN 1 AND 100),
    status           text        NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'running', 'success', 'failed', 'error', 'cancelled')),
    exit_code        integer,
    reason           text,
    timeout_seconds  integer     NOT NULL CHECK (timeout_seconds > 0),
    worker_id        text,
    cancel_requested boolean     NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    heartbeat_at     timestamptz,
    log_size         bigint      NOT NULL DEFAULT 0,
    -- A run is running exactly when it has started and not finished.
    CHECK ((status = 'running') = (started_at IS NOT NULL AND finished_at IS NULL)),
    CHECK ((status IN ('queued', 'running')) = (finished_at IS NULL))
);

-- The database itself forbids two running runs in one environment, whatever
-- the code does; the advisory lock only makes sure nobody trips over it.
CREATE UNIQUE INDEX runs_one_running_per_environment ON runs (environment_id) WHERE status = 'running';
-- The FIFO queue of each environment.
CREATE INDEX runs_queue ON runs (environment_id, id) WHERE status = 'queued';
-- Runs whose worker stopped heartbeating are found without a scan.
CREATE INDEX runs_running_heartbeat ON runs (heartbeat_at) WHERE status = 'running';
-- Filtered listings, newest first.
CREATE INDEX runs_status_id ON runs (status, id DESC);
CREATE INDEX runs_environment_id ON runs (environment_id, id DESC);
CREATE INDEX runs_requested_by_id ON runs (requested_by, id DESC);

-- Logs are append-only chunks: a growing text column would be rewritten
-- (and its old versions kept by MVCC) on every append.
CREATE TABLE run_log_chunks (
    run_id     bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    byte_offset bigint NOT NULL CHECK (byte_offset >= 0),
    end_offset  bigint NOT NULL,
    data        text   NOT NULL,
    PRIMARY KEY (run_id, byte_offset),
    CHECK (end_offset = byte_offset + octet_length(data))
);
