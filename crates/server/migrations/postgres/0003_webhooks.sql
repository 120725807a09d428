-- Outgoing webhooks (the FeatureSignals webhooks seed) and their deliveries: a transactional
-- outbox. The transaction that appends an event inserts one `deliveries` row per matching
-- enabled webhook; delivery workers claim due rows with a lease and record every attempt.

CREATE TABLE webhooks (
    id                     TEXT PRIMARY KEY,
    workspace_id           TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name                   TEXT NOT NULL,
    url                    TEXT NOT NULL,
    -- Signing secrets, encrypted with the server key (AEAD); never returned.
    secret                 TEXT,
    -- The secret before the last change: still signs (beside the new one) until this time.
    previous_secret        TEXT,
    previous_secret_until  TEXT,
    -- The `events` list exactly as given (JSON array of strings).
    events                 TEXT NOT NULL,
    enabled                BOOLEAN NOT NULL DEFAULT TRUE,
    -- JSON array of delays such as ["1s","4s"]; NULL = the server's default.
    retry_schedule         TEXT,
    created_by             TEXT,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    -- Health.
    last_success_at        TEXT,
    last_failure_at        TEXT,
    consecutive_failures   BIGINT NOT NULL DEFAULT 0,
    consecutive_dead       BIGINT NOT NULL DEFAULT 0,
    disabled_reason        TEXT
);
CREATE INDEX webhooks_workspace ON webhooks(workspace_id, created_at);

CREATE TABLE deliveries (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    webhook_id       TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    workspace_id     TEXT NOT NULL,
    event_seq        BIGINT NOT NULL,
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'dead', 'cancelled')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    -- `attempts` when the current round began (0, or at a redelivery): the retry schedule
    -- counts from here.
    round_start      BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  TEXT,
    -- A worker holds the delivery until this time; an expired lease is free to take.
    lease_until      TEXT,
    response_status  BIGINT,
    delivered_at     TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_webhook ON deliveries(webhook_id, seq);
CREATE INDEX deliveries_event ON deliveries(event_seq);

CREATE TABLE delivery_attempts (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id      TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    attempted_at     TEXT NOT NULL,
    response_status  BIGINT,
    duration_ms      BIGINT NOT NULL,
    response_body    TEXT,
    error            TEXT
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts(delivery_id, seq);
