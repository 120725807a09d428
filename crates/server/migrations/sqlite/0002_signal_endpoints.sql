-- Signal endpoints (Unleash-compatible): named endpoints with named tokens, and the signals
-- they receive. `int_id` is the id on the Unleash paths.

CREATE TABLE signal_endpoints (
    int_id        INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    description   TEXT,
    enabled       BOOLEAN NOT NULL DEFAULT TRUE,
    created_by    TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    -- Diagnostics for whoever integrates a sender, flushed at most once a minute.
    accepted_count      BIGINT NOT NULL DEFAULT 0,
    unauthorized_count  BIGINT NOT NULL DEFAULT 0,
    too_large_count     BIGINT NOT NULL DEFAULT 0,
    rate_limited_count  BIGINT NOT NULL DEFAULT 0,
    UNIQUE (workspace_id, name)
);
CREATE INDEX signal_endpoints_name ON signal_endpoints(name);

CREATE TABLE signal_endpoint_tokens (
    int_id        INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    endpoint_id   TEXT NOT NULL REFERENCES signal_endpoints(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    created_by    TEXT,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT
);
CREATE INDEX signal_endpoint_tokens_endpoint ON signal_endpoint_tokens(endpoint_id);

-- One row per accepted signal. `event_seq` is the seq of its `signal.received` event, the
-- cursor of history and live view. Ingest is the hottest write path, so this table has only
-- the indexes its reads need: `id` (a UUID v7, unique by construction) is not indexed.
CREATE TABLE signals (
    int_id        INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL,
    workspace_id  TEXT NOT NULL,
    endpoint_id   TEXT NOT NULL REFERENCES signal_endpoints(id) ON DELETE CASCADE,
    token_id      TEXT,
    token_name    TEXT NOT NULL,
    payload       TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    event_seq     BIGINT NOT NULL
);
CREATE INDEX signals_endpoint_seq ON signals(endpoint_id, event_seq);
CREATE INDEX signals_received_at ON signals(received_at);
CREATE INDEX events_created_at ON events(created_at);
