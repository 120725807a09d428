//! Workspace rate limits on typed signals, per fixed UTC minute and per UTC day, with the
//! injected clock: `429` with `Retry-After` over either, `RateLimit-*` headers on success for
//! the window closer to exhaustion; replays count, refused requests do not.

use std::time::Duration;

use serde_json::json;

use super::support::{align_clock, clock_seconds, ingest_token, signal};
use crate::helpers::{ApiResponse, TestApp, assert_problem, spawn_app_with};

fn at(n: u32) -> String {
    format!("2026-05-26T14:30:{:02}Z", n % 60)
}

async fn send(app: &TestApp, token: &str, n: u32) -> ApiResponse {
    app.post_json("/signals", Some(token), &signal(&format!("p{n}@example.com"), &at(n))).await
}

fn rate_headers(response: &ApiResponse) -> (Option<&str>, Option<&str>, Option<&str>) {
    (response.header("ratelimit-limit"), response.header("ratelimit-remaining"), response.header("ratelimit-reset"))
}

fn seconds_to_next_minute(app: &TestApp) -> String {
    (60 - clock_seconds(app).rem_euclid(60)).to_string()
}

fn seconds_to_midnight(app: &TestApp) -> String {
    (86_400 - clock_seconds(app).rem_euclid(86_400)).to_string()
}

#[tokio::test]
async fn the_minute_limit_refuses_the_next_request_until_the_next_utc_minute() {
    let app = spawn_app_with(|config| {
        config.typed_signals.typed_signal_rate_per_minute = 3;
        config.typed_signals.typed_signal_rate_per_day = 1000;
    })
    .await;
    align_clock(&app);
    let owner = app.login_owner().await;
    app.advance(Duration::from_secs(20)); // 25 s into the minute
    for (n, remaining) in [(0, "2"), (1, "1"), (2, "0")] {
        let response = send(&app, &owner, n).await;
        assert_eq!(response.status, 201, "{}", response.text);
        assert_eq!(rate_headers(&response), (Some("3"), Some(remaining), Some("35")), "request {n}");
    }
    app.advance(Duration::from_secs(30)); // 55 s: the same minute
    let refused = send(&app, &owner, 3).await;
    assert_problem(&refused, 429, None);
    assert_eq!(refused.header("retry-after"), Some("5"), "{:?}", refused.headers);
    assert_eq!(refused.header("retry-after").map(str::to_owned), Some(seconds_to_next_minute(&app)));
    assert_eq!(app.count_rows("signal_captures").await, 3);

    app.advance(Duration::from_secs(5)); // the next minute starts
    let next = send(&app, &owner, 3).await;
    assert_eq!(next.status, 201, "{}", next.text);
    assert_eq!(rate_headers(&next), (Some("3"), Some("2"), Some("60")));
}

#[tokio::test]
async fn replays_count_against_the_limit() {
    let app = spawn_app_with(|config| config.typed_signals.typed_signal_rate_per_minute = 3).await;
    align_clock(&app);
    let owner = app.login_owner().await;
    let body = signal("ada@example.com", &at(0));
    assert_eq!(app.post_json("/signals", Some(&owner), &body).await.status, 201);
    let replay = app.post_json("/signals", Some(&owner), &body).await;
    assert_eq!(replay.status, 200, "{}", replay.text);
    assert_eq!(replay.header("ratelimit-remaining"), Some("1"), "{:?}", replay.headers);
    assert_eq!(replay.header("ratelimit-limit"), Some("3"));
    assert_eq!(app.post_json("/signals", Some(&owner), &body).await.status, 200);
    let refused = app.post_json("/signals", Some(&owner), &body).await;
    assert_problem(&refused, 429, None);
    assert!(refused.header("idempotent-replayed").is_none());
}

#[tokio::test]
async fn invalid_requests_count_but_refused_ones_do_not() {
    let app = spawn_app_with(|config| config.typed_signals.typed_signal_rate_per_minute = 3).await;
    align_clock(&app);
    let owner = app.login_owner().await;
    // A request that passes the limit and then fails validation has used its place.
    assert_eq!(app.post_json("/signals", Some(&owner), &json!({})).await.status, 422);
    let ok = send(&app, &owner, 1).await;
    assert_eq!(ok.header("ratelimit-remaining"), Some("1"), "{:?}", ok.headers);
    assert_eq!(send(&app, &owner, 2).await.status, 201);
    for n in 3..8 {
        assert_problem(&send(&app, &owner, n).await, 429, None);
    }
    // The five refusals did not count: the next minute has its full allowance.
    app.advance(Duration::from_secs(60));
    for (n, remaining) in [(10, "2"), (11, "1"), (12, "0")] {
        let response = send(&app, &owner, n).await;
        assert_eq!(response.status, 201, "{}", response.text);
        assert_eq!(response.header("ratelimit-remaining"), Some(remaining));
    }
}

#[tokio::test]
async fn the_day_limit_refuses_until_the_next_utc_day_and_refusals_do_not_use_it() {
    let app = spawn_app_with(|config| {
        config.typed_signals.typed_signal_rate_per_minute = 2;
        config.typed_signals.typed_signal_rate_per_day = 5;
    })
    .await;
    align_clock(&app);
    let owner = app.login_owner().await;
    // An API token outlives the session across the day boundary.
    let token = ingest_token(&app, &owner).await;

    // Minute 1: the minute window (1 of 2 left) is closer to exhaustion than the day (4 of 5).
    let first = send(&app, &token, 0).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(rate_headers(&first), (Some("2"), Some("1"), Some("55")));
    assert_eq!(send(&app, &token, 1).await.status, 201);
    for n in 2..5 {
        assert_problem(&send(&app, &token, n).await, 429, None);
    }

    // Minute 2: two more (day: 4 of 5 used, refusals not counted).
    app.advance(Duration::from_secs(60));
    assert_eq!(send(&app, &token, 5).await.status, 201);
    let fourth = send(&app, &token, 6).await;
    assert_eq!(fourth.status, 201, "{}", fourth.text);

    // Minute 3: the fifth of the day; now the day window is the closer one.
    app.advance(Duration::from_secs(60));
    let fifth = send(&app, &token, 7).await;
    assert_eq!(fifth.status, 201, "the refusals in minute 1 were counted against the day: {}", fifth.text);
    let midnight = seconds_to_midnight(&app);
    assert_eq!(rate_headers(&fifth), (Some("5"), Some("0"), Some(midnight.as_str())));
    let refused = send(&app, &token, 8).await;
    assert_problem(&refused, 429, None);
    assert_eq!(refused.header("retry-after"), Some(midnight.as_str()), "{:?}", refused.headers);

    // A fresh minute does not help; a fresh day does.
    app.advance(Duration::from_secs(60));
    assert_problem(&send(&app, &token, 9).await, 429, None);
    app.advance(Duration::from_secs(86_400));
    let tomorrow = send(&app, &token, 10).await;
    assert_eq!(tomorrow.status, 201, "{}", tomorrow.text);
    assert_eq!(app.count_rows("signal_captures").await, 6);
}

#[tokio::test]
async fn the_limits_are_per_workspace() {
    let app = spawn_app_with(|config| config.typed_signals.typed_signal_rate_per_minute = 1).await;
    align_clock(&app);
    let owner = app.login_owner().await;
    assert_eq!(send(&app, &owner, 0).await.status, 201);
    assert_problem(&send(&app, &owner, 1).await, 429, None);
    let (_, other) = app.new_workspace_session(&owner, "Other").await;
    let there = send(&app, &other, 2).await;
    assert_eq!(there.status, 201, "{}", there.text);
}
