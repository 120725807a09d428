-- Segments (reusable constraint lists), change requests with approvals, and scheduled
-- toggles.

CREATE TABLE segments (
    int_id        INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    -- NULL: usable in every project of the workspace.
    project_id    TEXT REFERENCES projects(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    description   TEXT,
    constraints   TEXT NOT NULL DEFAULT '[]',
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (workspace_id, name)
);

-- A change to a flag's configuration in an environment that requires approval.
CREATE TABLE change_requests (
    id                  TEXT PRIMARY KEY,
    workspace_id        TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    flag_id             TEXT NOT NULL REFERENCES flags(id) ON DELETE CASCADE,
    environment_id      TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    kind                TEXT NOT NULL CHECK (kind IN ('change', 'promotion', 'schedule')),
    state               TEXT NOT NULL CHECK (state IN ('open', 'approved', 'rejected', 'applied', 'cancelled')),
    -- The configuration when requested and the one asked for (JSON).
    before              TEXT NOT NULL,
    after               TEXT NOT NULL,
    -- The configuration's version when requested: applying refuses if it moved.
    base_version        BIGINT NOT NULL,
    -- Promotion: the environment copied from.
    source_environment  TEXT,
    schedule_id         TEXT,
    author_id           TEXT NOT NULL,
    comment             TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    applied_at          TEXT
);
CREATE INDEX change_requests_workspace ON change_requests(workspace_id, created_at);

CREATE TABLE change_request_approvals (
    change_request_id  TEXT NOT NULL REFERENCES change_requests(id) ON DELETE CASCADE,
    principal_id       TEXT NOT NULL,
    approved_at        TEXT NOT NULL,
    PRIMARY KEY (change_request_id, principal_id)
);

CREATE TABLE flag_schedules (
    id                 TEXT PRIMARY KEY,
    workspace_id       TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    flag_id            TEXT NOT NULL REFERENCES flags(id) ON DELETE CASCADE,
    environment_id     TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    enabled            BOOLEAN NOT NULL,
    at                 TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('awaiting_approval', 'pending', 'done', 'cancelled', 'failed')),
    change_request_id  TEXT,
    created_by         TEXT,
    created_at         TEXT NOT NULL,
    executed_at        TEXT,
    error              TEXT
);
CREATE INDEX flag_schedules_due ON flag_schedules(at) WHERE state = 'pending';
CREATE INDEX flag_schedules_flag ON flag_schedules(flag_id, at);
