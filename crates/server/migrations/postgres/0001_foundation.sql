-- Foundation: workspaces, principals, memberships, sessions, API tokens, login throttling,
-- and the event log. Timestamps are TEXT in the fixed RFC 3339 form
-- `YYYY-MM-DDTHH:MM:SS.ffffffZ`, so text order is time order on both backends.

CREATE TABLE workspaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    settings    TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- Users and service accounts. `int_id` is for the Unleash-compatible paths.
CREATE TABLE principals (
    int_id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    kind           TEXT NOT NULL CHECK (kind IN ('user', 'service_account')),
    email          TEXT UNIQUE,
    name           TEXT NOT NULL,
    password_hash  TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

CREATE TABLE memberships (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    principal_id  TEXT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (workspace_id, principal_id)
);
CREATE INDEX memberships_principal ON memberships(principal_id);

CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    principal_id  TEXT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    ended_at      TEXT
);
CREATE INDEX sessions_principal ON sessions(principal_id, workspace_id);

CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    principal_id  TEXT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    role          TEXT CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
    scope         TEXT CHECK (scope IN ('ingest')),
    created_by    TEXT,
    created_at    TEXT NOT NULL,
    expires_at    TEXT,
    last_used_at  TEXT,
    CHECK ((role IS NULL) <> (scope IS NULL))
);
CREATE INDEX api_tokens_workspace ON api_tokens(workspace_id, created_at);

-- One row per failed login, per subject (`email:…` and `ip:…`); counted over a window.
CREATE TABLE login_failures (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject  TEXT NOT NULL,
    at       TEXT NOT NULL
);
CREATE INDEX login_failures_subject_at ON login_failures(subject, at);

-- The event log. `seq` is taken under a transaction-scoped advisory lock (see
-- db/tx.rs), so it is commit order here too.
CREATE TABLE events (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    workspace_id  TEXT NOT NULL,
    type          TEXT NOT NULL,
    actor_id      TEXT,
    data          TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX events_workspace_seq ON events(workspace_id, seq);
