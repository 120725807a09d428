-- Unleash SDK access: SDK tokens, the applications and instances that register, and
-- per-flag usage counted by the hour from SDK metrics.

CREATE TABLE sdk_tokens (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    type            TEXT NOT NULL CHECK (type IN ('client', 'frontend')),
    environment_id  TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    -- JSON array of project keys, or ["*"].
    projects        TEXT NOT NULL,
    cors_origins    TEXT NOT NULL DEFAULT '[]',
    -- SHA-256 of the whole secret; the secret is shown once.
    token_hash      TEXT NOT NULL UNIQUE,
    created_by      TEXT,
    created_at      TEXT NOT NULL,
    last_used_at    TEXT
);
CREATE INDEX sdk_tokens_workspace ON sdk_tokens(workspace_id, created_at);

CREATE TABLE client_instances (
    workspace_id   TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    app_name       TEXT NOT NULL,
    instance_id    TEXT NOT NULL,
    environment    TEXT NOT NULL,
    sdk_version    TEXT,
    strategies     TEXT NOT NULL DEFAULT '[]',
    interval_ms    BIGINT,
    started_at     TEXT,
    first_seen_at  TEXT NOT NULL,
    last_seen_at   TEXT NOT NULL,
    PRIMARY KEY (workspace_id, app_name, instance_id, environment)
);

CREATE TABLE flag_usage (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    flag_name     TEXT NOT NULL,
    environment   TEXT NOT NULL,
    app_name      TEXT NOT NULL,
    -- The start of the hour, RFC 3339.
    hour          TEXT NOT NULL,
    yes           BIGINT NOT NULL DEFAULT 0,
    no            BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, flag_name, environment, app_name, hour)
);

CREATE TABLE flag_variant_usage (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    flag_name     TEXT NOT NULL,
    environment   TEXT NOT NULL,
    app_name      TEXT NOT NULL,
    hour          TEXT NOT NULL,
    variant       TEXT NOT NULL,
    count         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, flag_name, environment, app_name, hour, variant)
);
