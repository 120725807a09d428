-- Admin UI logins. The browser's cookie holds a random token; only its SHA-256 is stored.
-- Each belongs to a login session (`sessions`), so logout, a password change or expiry of
-- that session ends it too.
CREATE TABLE ui_sessions (
    token_hash  TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL
);
CREATE INDEX ui_sessions_session ON ui_sessions(session_id);
