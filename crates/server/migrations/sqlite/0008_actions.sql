-- Action sets (Unleash "actions"): when a signal from their source matches, run flag actions
-- as a service account. `int_id` is the id on the Unleash paths.
CREATE TABLE action_sets (
    int_id        INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    project_id    TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    description   TEXT,
    enabled       BOOLEAN NOT NULL,
    -- The service account the actions run as.
    actor_id      TEXT NOT NULL,
    -- 'signal-endpoint' (source_id: the endpoint's id).
    source        TEXT NOT NULL,
    source_id     TEXT NOT NULL,
    -- JSON object: dotted payload path -> filter.
    filters       TEXT NOT NULL,
    condition     TEXT,
    -- JSON array of {"action", "execution_params"} in order.
    actions       TEXT NOT NULL,
    created_by    TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (project_id, name)
);
CREATE INDEX action_sets_source ON action_sets(source, source_id);

-- One run per (signal, action set), written in the signal's own transaction as `pending`.
CREATE TABLE action_runs (
    int_id         INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL UNIQUE,
    workspace_id   TEXT NOT NULL,
    action_set_id  TEXT NOT NULL REFERENCES action_sets(id) ON DELETE CASCADE,
    signal_id      TEXT NOT NULL,
    -- The signal as received (JSON with its payload): the run does not depend on the signal
    -- row, which retention or an endpoint delete may remove first.
    signal         TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('pending', 'started', 'success', 'failed', 'skipped')),
    -- The index of the next action to run: advanced in the transaction that runs an action,
    -- so each action happens once.
    next_action    INTEGER NOT NULL DEFAULT 0,
    -- The action set as it was when the run started, with each action's state (JSON).
    action_set     TEXT,
    detail         TEXT,
    lease_until    TEXT,
    created_at     TEXT NOT NULL,
    started_at     TEXT,
    finished_at    TEXT,
    UNIQUE (signal_id, action_set_id)
);
CREATE INDEX action_runs_open ON action_runs(int_id) WHERE state IN ('pending', 'started');
CREATE INDEX action_runs_of_set ON action_runs(action_set_id, int_id);
CREATE INDEX action_runs_started ON action_runs(action_set_id, started_at);
CREATE INDEX action_runs_created ON action_runs(created_at);
