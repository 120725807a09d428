//! Shared helpers for the typed-signal tests: a valid body, the fields a 422 names, and the
//! rows ingest writes, read with SQL on either backend.

use serde_json::{Value, json};
use signalbox_core::Clock;
use signalbox_server::db::Db;

use crate::helpers::{ApiResponse, TestApp};

/// Runs `$body` with `$pool` bound to the read pool of whichever backend the app runs on.
macro_rules! on_db {
    ($app:expr, |$pool:ident| $body:expr) => {
        match &$app.db {
            Db::Sqlite { read: $pool, .. } => $body,
            Db::Postgres($pool) => $body,
        }
    };
}

/// A valid signal about `email` at `occurred_at`.
pub fn signal(email: &str, occurred_at: &str) -> Value {
    json!({
        "signal_type": "custom_event",
        "source": "product",
        "event_name": "user_invited_teammate",
        "occurred_at": occurred_at,
        "identity": { "email": email },
        "context": { "team_size": 12 }
    })
}

/// A valid signal about `identity`, at its own moment (`n` seconds past a fixed time), so
/// that two calls with different `n` are never replays of each other.
pub fn about(identity: Value, n: u32) -> Value {
    json!({
        "signal_type": "custom_event",
        "source": "product",
        "occurred_at": format!("2026-05-26T14:{:02}:{:02}Z", n / 60, n % 60),
        "identity": identity,
    })
}

/// The fields a problem's `errors` name.
pub fn fields(response: &ApiResponse) -> Vec<String> {
    response.body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str().map(str::to_owned))
        .collect()
}

/// An API token with scope `ingest`, created by `owner`.
pub async fn ingest_token(app: &TestApp, owner: &str) -> String {
    let response = app.post_json("/v1/api-tokens", Some(owner), &json!({ "name": "ingest", "scope": "ingest" })).await;
    assert_eq!(response.status, 201, "create an ingest token: {}", response.text);
    response.body["token"].as_str().expect("a secret").to_owned()
}

/// `POST /signals`, asserting the status.
pub async fn capture(app: &TestApp, token: &str, body: &Value, status: u16) -> ApiResponse {
    let response = app.post_json("/signals", Some(token), body).await;
    assert_eq!(response.status, status, "{}", response.text);
    response
}

/// A lead's identity columns as stored.
#[derive(Debug, PartialEq, Eq)]
pub struct LeadRow {
    pub email: Option<String>,
    pub linkedin_url: Option<String>,
    pub company_domain: Option<String>,
    pub capture_count: i64,
}

pub async fn lead(app: &TestApp, id: &str) -> LeadRow {
    let sql = "SELECT email, linkedin_url, company_domain, capture_count FROM leads WHERE id = $1";
    let (email, linkedin_url, company_domain, capture_count): (Option<String>, Option<String>, Option<String>, i64) =
        on_db!(app, |pool| sqlx::query_as(sql).bind(id).fetch_one(pool).await.expect("the lead"));
    LeadRow { email, linkedin_url, company_domain, capture_count }
}

/// A capture's lead, sub-rule and conflict as stored.
#[derive(Debug)]
pub struct CaptureRow {
    pub lead_id: String,
    pub sub_rule: Option<String>,
    pub conflict: Option<String>,
}

pub async fn capture_row(app: &TestApp, id: &str) -> CaptureRow {
    let sql = "SELECT lead_id, sub_rule, conflict FROM signal_captures WHERE id = $1";
    let (lead_id, sub_rule, conflict): (String, Option<String>, Option<String>) =
        on_db!(app, |pool| sqlx::query_as(sql).bind(id).fetch_one(pool).await.expect("the capture"));
    CaptureRow { lead_id, sub_rule, conflict }
}

/// `signal.captured` events in the log, newest first (read as the owner).
pub async fn captured_events(app: &TestApp, owner: &str) -> Vec<Value> {
    let response = app.get("/v1/events?type=signal.captured&limit=100", Some(owner)).await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.body["data"].as_array().expect("a page of events").clone()
}

/// Asserts that no capture, lead or `signal.captured` event exists.
pub async fn assert_nothing_written(app: &TestApp, owner: &str) {
    assert_eq!(app.count_rows("signal_captures").await, 0, "captures");
    assert_eq!(app.count_rows("leads").await, 0, "leads");
    assert!(captured_events(app, owner).await.is_empty(), "signal.captured events");
}

/// Seconds since the epoch on the app's clock.
pub fn clock_seconds(app: &TestApp) -> i64 {
    app.clock.now().unix_seconds()
}

/// Moves the app's clock to 5 seconds past the start of a minute, at least an hour before
/// the end of the UTC day, so that minute and day windows are predictable.
pub fn align_clock(app: &TestApp) {
    let now = clock_seconds(app);
    let mut target = now - now.rem_euclid(60) + 60 + 5;
    if target.rem_euclid(86_400) > 86_400 - 3_600 {
        target = target - target.rem_euclid(86_400) + 86_400 + 3_600 + 5;
    }
    app.advance(std::time::Duration::from_secs(u64::try_from(target - now).expect("forward")));
}
