//! Who may send typed signals, and the order in which a request's problems are reported:
//! credentials (401/403) → rate limits (429) → content type and JSON (415/400) → fields (422).

use serde_json::json;

use super::support::{assert_nothing_written, fields, ingest_token, signal};
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
