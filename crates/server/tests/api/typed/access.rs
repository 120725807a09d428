//! Who may send typed signals, and the order in which a request's problems are reported:
//! credentials (401/403) → rate limits (429) → content type and JSON (415/400) → fields (422).

use serde_json::json;

use super::support::{align_clock, assert_nothing_written, fields, ingest_token, signal};
use crate::helpers::{assert_problem, spawn_app, spawn_app_with};

const AT: &str = "2026-05-26T14:30:00Z";

#[tokio::test]
async fn ingest_takes_an_editor_session_or_an_ingest_token_and_refuses_everyone_else() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let body = signal("ada@example.com", AT);

    assert_problem(&app.post_json("/signals", None, &body).await, 401, None);
    assert_problem(&app.post_json("/signals", Some("sbx_not_a_real_token"), &body).await, 401, None);
    assert_problem(&app.post_json("/v1/signals", Some("not.a.jwt"), &body).await, 401, None);
    let (_, _, viewer) = app.user_with_role(&owner, "viewer").await;
    assert_problem(&app.post_json("/signals", Some(&viewer), &body).await, 403, None);
    let viewer_token = app.api_token(&owner, "viewer").await;
    assert_problem(&app.post_json("/signals", Some(&viewer_token), &body).await, 403, None);
    assert_nothing_written(&app, &owner).await;

    let (_, _, editor) = app.user_with_role(&owner, "editor").await;
    let by_editor = app.post_json("/signals", Some(&editor), &body).await;
    assert_eq!(by_editor.status, 201, "{}", by_editor.text);

    let ingest = ingest_token(&app, &owner).await;
    let by_token = app.post_json("/v1/signals", Some(&ingest), &signal("bob@example.com", AT)).await;
    assert_eq!(by_token.status, 201, "{}", by_token.text);
    assert_eq!(app.count_rows("signal_captures").await, 2);
}

#[tokio::test]
async fn an_ingest_token_is_refused_everywhere_but_ingest() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let ingest = ingest_token(&app, &owner).await;
    assert_problem(&app.get("/v1/signal-types", Some(&ingest)).await, 403, None);
    assert_problem(&app.get("/v1/events", Some(&ingest)).await, 403, None);
    let create = app.post_json("/v1/signal-types", Some(&ingest), &json!({ "name": "Sneaky" })).await;
    assert_problem(&create, 403, None);
}

#[tokio::test]
async fn credentials_are_checked_before_the_rate_limit_and_the_limit_before_the_body() {
    let app = spawn_app_with(|config| config.typed_signals.typed_signal_rate_per_minute = 1).await;
    let owner = app.login_owner().await;
    let (_, _, viewer) = app.user_with_role(&owner, "viewer").await;
    assert_eq!(app.post_json("/signals", Some(&owner), &signal("ada@example.com", AT)).await.status, 201);

    // The minute is used up: bad credentials still answer 401/403 ...
    assert_problem(&app.post_json("/signals", None, &json!({})).await, 401, None);
    assert_problem(&app.post_json("/signals", Some(&viewer), &json!({})).await, 403, None);
    // ... and every body problem waits behind the 429.
    let invalid = app.post_json("/signals", Some(&owner), &json!({ "signal_type": "nope" })).await;
    assert_problem(&invalid, 429, None);
    assert!(invalid.header("retry-after").is_some(), "{:?}", invalid.headers);
    let bad_json = app
        .send(
            app.client
                .post(app.url("/signals"))
                .bearer_auth(&owner)
                .header("content-type", "application/json")
                .body("{"),
        )
        .await;
    assert_problem(&bad_json, 429, None);
    let wrong_type = app
        .send(app.client.post(app.url("/signals")).bearer_auth(&owner).header("content-type", "text/plain").body("{}"))
        .await;
    assert_problem(&wrong_type, 429, None);
    assert_eq!(app.count_rows("signal_captures").await, 1);
}

#[tokio::test]
async fn the_content_type_and_json_are_checked_before_the_fields() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let valid = signal("ada@example.com", AT).to_string();
    let post = |content_type: Option<&'static str>, body: String| {
        let mut request = app.client.post(app.url("/signals")).bearer_auth(&owner).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        app.send(request)
    };

    assert_problem(&post(None, valid.clone()).await, 415, None);
    assert_problem(&post(Some("text/plain"), valid.clone()).await, 415, None);
    // Wrong content type and invalid fields: the content type is reported.
    assert_problem(&post(Some("text/plain"), "{\"signal_type\": 1}".into()).await, 415, None);
    assert_problem(&post(Some("application/json"), "{\"signal_type\": ".into()).await, 400, None);
    assert_problem(&post(Some("application/json"), "not json".into()).await, 400, None);
    assert_problem(&post(Some("application/json"), "[1, 2]".into()).await, 400, None);
    assert_problem(&post(Some("application/json"), "\"a string\"".into()).await, 400, None);
    assert_problem(&post(Some("application/json"), "null".into()).await, 400, None);
    let invalid = post(Some("application/json"), "{}".into()).await;
    assert_problem(&invalid, 422, None);
    assert!(fields(&invalid).contains(&"signal_type".to_owned()), "{}", invalid.text);
    assert_nothing_written(&app, &owner).await;

    let accepted = post(Some("application/json; charset=utf-8"), valid).await;
    assert_eq!(accepted.status, 201, "{}", accepted.text);
}

#[tokio::test]
async fn a_body_over_the_size_limit_is_a_413_after_the_credentials_and_the_rate_limit() {
    let app = spawn_app_with(|config| {
        config.max_body_bytes = 2048;
        config.typed_signals.typed_signal_rate_per_minute = 4;
    })
    .await;
    align_clock(&app);
    let owner = app.login_owner().await;
    let mut big = signal("ada@example.com", AT);
    big["context"] = json!({ "notes": "x".repeat(4096) });

    // Without credentials the size is not looked at.
    assert_problem(&app.post_json("/signals", None, &big).await, 401, None);
    // An over-limit Content-Length: problem+json naming the limit, nothing written.
    let declared = app.post_json("/signals", Some(&owner), &big).await;
    assert_problem(&declared, 413, None);
    assert!(declared.text.contains("2048"), "{}", declared.text);
    // A chunked body (no Content-Length) is cut off at the limit.
    let address = app.address.trim_start_matches("http://").to_owned();
    let chunk = big.to_string();
    let chunked = app
        .send_raw(format!(
            "POST /signals HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {owner}\r\n\
             Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
             {:x}\r\n{chunk}\r\n0\r\n\r\n",
            chunk.len()
        ))
        .await;
    assert!(chunked.starts_with("HTTP/1.1 413"), "{chunked}");
    assert!(chunked.to_ascii_lowercase().contains("application/problem+json"), "{chunked}");
    assert_nothing_written(&app, &owner).await;

    // Both 413s counted against the minute (invalid requests count); one more is accepted,
    // and then an over-limit body gets the 429 first.
    assert_eq!(app.post_json("/signals", Some(&owner), &signal("ada@example.com", AT)).await.status, 201);
    assert_eq!(app.post_json("/signals", Some(&owner), &signal("bob@example.com", AT)).await.status, 201);
    assert_problem(&app.post_json("/signals", Some(&owner), &big).await, 429, None);
    assert_eq!(app.count_rows("signal_captures").await, 2);
}
