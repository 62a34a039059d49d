-- The recent delivery attempts of each webhook, for GET /api/webhooks.
CREATE TABLE webhook_deliveries (
    id           bigserial   PRIMARY KEY,
    hook_id      text        NOT NULL,
    event_id     text        NOT NULL,
    event_type   text        NOT NULL,
    run_id       bigint      NOT NULL,
    attempt      integer     NOT NULL CHECK (attempt >= 1),
    status_code  integer     NOT NULL DEFAULT 0,
    error        text        NOT NULL DEFAULT '',
    duration_ms  bigint      NOT NULL CHECK (duration_ms >= 0),
    delivered_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (hook_id, id DESC);
