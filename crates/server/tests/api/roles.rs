use serde_json::json;

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn a_viewer_cannot_create_tokens() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (_, _, viewer) = app.user_with_role(&owner, "viewer").await;
    let response = app.post_json("/v1/api-tokens", Some(&viewer), &json!({ "name": "mine", "role": "viewer" })).await;
    assert_problem(&response, 403, None);
    assert_eq!(app.count_rows("api_tokens").await, 0);
}

#[tokio::test]
async fn nobody_creates_a_token_above_their_own_role() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (_, _, editor) = app.user_with_role(&owner, "editor").await;
    for role in ["admin", "owner"] {
        let response = app.post_json("/v1/api-tokens", Some(&editor), &json!({ "name": "up", "role": role })).await;
        assert_problem(&response, 403, None);
    }
    // Nor through a token: an editor token cannot mint an admin token for its owner.
    let owners_editor_token = app.api_token(&owner, "editor").await;
    let response =
        app.post_json("/v1/api-tokens", Some(&owners_editor_token), &json!({ "name": "up", "role": "admin" })).await;
    assert_problem(&response, 403, None);
    assert_eq!(app.count_rows("api_tokens").await, 1);
}

#[tokio::test]
async fn a_token_acts_with_the_lower_of_its_role_and_its_owners_role() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let viewer_token = app.api_token(&owner, "viewer").await;
    // Owner-only route, with a viewer token of the owner.
    assert_problem(&app.get("/v1/workspace/settings", Some(&viewer_token)).await, 403, None);
    assert_problem(&app.get("/v1/users", Some(&viewer_token)).await, 403, None);
    assert_eq!(app.get("/v1/me", Some(&viewer_token)).await.body["role"], "viewer");
}

#[tokio::test]
async fn demoting_a_user_reduces_what_their_existing_tokens_and_sessions_can_do_at_once() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (admin_id, _, admin_session) = app.user_with_role(&owner, "admin").await;
    let admin_token = app.api_token(&admin_session, "admin").await;
    assert_eq!(app.get("/v1/users", Some(&admin_token)).await.status, 200);
    assert_eq!(app.get("/v1/users", Some(&admin_session)).await.status, 200);

    let demoted = app.put_json(&format!("/v1/users/{admin_id}"), Some(&owner), &json!({ "role": "viewer" })).await;
    assert_eq!(demoted.status, 200, "{}", demoted.text);
    assert_eq!(demoted.body["role"], "viewer");

    assert_problem(&app.get("/v1/users", Some(&admin_token)).await, 403, None);
    assert_problem(&app.get("/v1/users", Some(&admin_session)).await, 403, None);
    assert_eq!(app.get("/v1/me", Some(&admin_token)).await.body["role"], "viewer");
}

#[tokio::test]
async fn disabling_a_user_stops_their_sessions_tokens_and_logins() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (id, email, session) = app.user_with_role(&owner, "editor").await;
    let token = app.api_token(&session, "editor").await;
    let disabled = app.put_json(&format!("/v1/users/{id}"), Some(&owner), &json!({ "disabled": true })).await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    assert_eq!(disabled.body["disabled"], true);
    assert_problem(&app.get("/v1/me", Some(&session)).await, 401, None);
    assert_problem(&app.get("/v1/me", Some(&token)).await, 401, None);
    let login = app
        .post_json("/v1/auth/login", None, &json!({ "email": email, "password": crate::helpers::TEST_PASSWORD }))
        .await;
    assert_problem(&login, 403, None);

    let enabled = app.put_json(&format!("/v1/users/{id}"), Some(&owner), &json!({ "disabled": false })).await;
    assert_eq!(enabled.status, 200);
    assert_eq!(app.get("/v1/me", Some(&token)).await.status, 200);
}

#[tokio::test]
async fn an_ingest_scoped_token_can_do_nothing_else() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let created = app.post_json("/v1/api-tokens", Some(&owner), &json!({ "name": "feeder", "scope": "ingest" })).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["scope"], "ingest");
    assert_eq!(created.body["role"], serde_json::Value::Null);
    let ingest = created.body["token"].as_str().unwrap();
    for path in ["/v1/me", "/v1/api-tokens", "/v1/users", "/v1/workspaces", "/v1/service-accounts"] {
        assert_problem(&app.get(path, Some(ingest)).await, 403, None);
    }
    let minted = app.post_json("/v1/api-tokens", Some(ingest), &json!({ "name": "x", "role": "viewer" })).await;
    assert_problem(&minted, 403, None);
    assert_eq!(app.count_rows("api_tokens").await, 1);
}

#[tokio::test]
async fn editors_and_viewers_cannot_manage_members() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (_, _, admin) = app.user_with_role(&owner, "admin").await;
    let (_, _, viewer) = app.user_with_role(&owner, "viewer").await;
    let before = app.count_rows("memberships").await;
    let invite = json!({ "email": "new@example.test", "role": "viewer", "password": "a long password!" });
    assert_problem(&app.post_json("/v1/users", Some(&admin), &invite).await, 403, None);
    assert_problem(&app.post_json("/v1/users", Some(&viewer), &invite).await, 403, None);
    let account = json!({ "name": "bot", "role": "viewer" });
    assert_problem(&app.post_json("/v1/service-accounts", Some(&viewer), &account).await, 403, None);
    assert_eq!(app.count_rows("memberships").await, before);
}
