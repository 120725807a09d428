-- Typed signals (the Unstuck Signals API): signal types, leads resolved from identities,
-- the captures attached to them, qualification profiles, and the per-workspace ingest
-- counters that rate limits read (in the database, so restarts and nodes share them).

CREATE TABLE signal_types (
    id                  TEXT PRIMARY KEY,
    workspace_id        TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    slug                TEXT NOT NULL,
    name                TEXT NOT NULL,
    source_description  TEXT,
    builtin             BOOLEAN NOT NULL,
    -- JSON array of {"name", "condition"} (CEL).
    sub_rules           TEXT NOT NULL DEFAULT '[]',
    autoqualify         BOOLEAN NOT NULL,
    enabled             BOOLEAN NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    UNIQUE (workspace_id, slug)
);

CREATE TABLE leads (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    email           TEXT,
    linkedin_url    TEXT,
    company_domain  TEXT,
    first_name      TEXT,
    last_name       TEXT,
    title           TEXT,
    capture_count   BIGINT NOT NULL DEFAULT 0,
    first_seen_at   TEXT NOT NULL,
    last_seen_at    TEXT NOT NULL,
    -- The latest qualification.
    icp_code        TEXT,
    icp_score       BIGINT,
    persona_code    TEXT,
    persona_score   BIGINT,
    qualified_at    TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
-- One lead per email and per LinkedIn URL in a workspace: concurrent captures for a new
-- person cannot create two leads.
CREATE UNIQUE INDEX leads_email ON leads(workspace_id, email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX leads_linkedin ON leads(workspace_id, linkedin_url) WHERE linkedin_url IS NOT NULL;
CREATE INDEX leads_domain ON leads(workspace_id, company_domain, seq);

CREATE TABLE signal_captures (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    workspace_id     TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    -- `k:` + the client's idempotency_key, or `n:` + the natural key's hash: a repeat is
    -- refused by this constraint, not by a check before the insert.
    dedupe_key       TEXT NOT NULL,
    signal_type      TEXT NOT NULL,
    source           TEXT NOT NULL,
    event_name       TEXT,
    occurred_at      TEXT NOT NULL,
    -- The normalised identity (JSON).
    identity         TEXT NOT NULL,
    context          TEXT,
    sub_rule         TEXT,
    lead_id          TEXT NOT NULL,
    -- Set when the identity pointed at two leads (e.g. email → A, LinkedIn → B).
    conflict         TEXT,
    -- The response first given (JSON), replayed to repeats.
    response         TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    UNIQUE (workspace_id, dedupe_key)
);
CREATE INDEX signal_captures_lead ON signal_captures(lead_id, seq);

CREATE TABLE qualification_profiles (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('icp', 'persona')),
    code          TEXT NOT NULL,
    -- JSON array of {"condition", "weight"}.
    rules         TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (workspace_id, kind, code)
);

-- Typed signals accepted per workspace per window (`m:2026-11-29T15:04`, `d:2026-11-29`).
CREATE TABLE typed_signal_counters (
    workspace_id  TEXT NOT NULL,
    window_key    TEXT NOT NULL,
    count         BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, window_key)
);
