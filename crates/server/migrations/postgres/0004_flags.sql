-- Feature flags in Unleash's model: projects, environments, flags, and each flag's
-- configuration per environment (enabled, strategies, variants), plus the kill switch.
-- Strategies and variants are JSON text in Unleash's shapes, checked before they are stored.

CREATE TABLE projects (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    key           TEXT NOT NULL,
    name          TEXT NOT NULL,
    description   TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (workspace_id, key)
);

CREATE TABLE environments (
    id                  TEXT PRIMARY KEY,
    workspace_id        TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    key                 TEXT NOT NULL,
    name                TEXT NOT NULL,
    type                TEXT NOT NULL CHECK (type IN ('development', 'test', 'staging', 'production')),
    sort_order          BIGINT NOT NULL DEFAULT 0,
    requires_approval   BOOLEAN NOT NULL DEFAULT FALSE,
    approvals_required  BIGINT NOT NULL DEFAULT 1,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    UNIQUE (workspace_id, key)
);

CREATE TABLE flags (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL,
    project_id       TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    key              TEXT NOT NULL,
    name             TEXT NOT NULL,
    description      TEXT,
    type             TEXT NOT NULL,
    -- JSON array of strings.
    tags             TEXT NOT NULL DEFAULT '[]',
    impression_data  BOOLEAN NOT NULL DEFAULT FALSE,
    archived_at      TEXT,
    -- Bumped by every change to the flag's own fields: its ETag.
    version          BIGINT NOT NULL DEFAULT 1,
    created_by       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (project_id, key)
);
CREATE INDEX flags_workspace ON flags(workspace_id, created_at);

CREATE TABLE flag_environments (
    flag_id         TEXT NOT NULL REFERENCES flags(id) ON DELETE CASCADE,
    environment_id  TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    enabled         BOOLEAN NOT NULL DEFAULT FALSE,
    strategies      TEXT NOT NULL DEFAULT '[]',
    variants        TEXT NOT NULL DEFAULT '[]',
    -- Bumped by every change to this configuration: its ETag.
    version         BIGINT NOT NULL DEFAULT 1,
    -- The kill switch: set, the flag cannot be enabled here until revived.
    killed_at       TEXT,
    killed_by       TEXT,
    kill_reason     TEXT,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (flag_id, environment_id)
);
CREATE INDEX flag_environments_environment ON flag_environments(environment_id);
