use serde_json::json;

use crate::helpers::{assert_problem, spawn_app};

/// Creates a second workspace as the owner and returns (id, a session in it).
async fn second_workspace(app: &crate::helpers::TestApp, owner: &str) -> (String, String) {
    app.new_workspace_session(owner, "Second").await
}

#[tokio::test]
async fn an_owner_creates_workspaces_and_belongs_to_several() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (id, session) = second_workspace(&app, &owner).await;
    let listed = app.get("/v1/workspaces", Some(&owner)).await;
    assert_eq!(listed.body["total"], 2, "{}", listed.text);
    assert_eq!(listed.body["data"][1]["id"], id.as_str());
    assert_eq!(listed.body["data"][1]["role"], "owner");
    assert_eq!(app.get("/v1/me", Some(&session)).await.body["workspace"]["name"], "Second");

    assert_problem(&app.post_json("/v1/workspaces", Some(&owner), &json!({ "name": "  " })).await, 422, Some("name"));
    assert_eq!(app.count_rows("workspaces").await, 2);
}

#[tokio::test]
async fn another_workspaces_resources_answer_404_not_403() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (_, elsewhere) = second_workspace(&app, &owner).await;
    let (user_id, _, _) = app.user_with_role(&owner, "editor").await;
    let token = app.post_json("/v1/api-tokens", Some(&owner), &json!({ "name": "t", "role": "viewer" })).await;
    let token_id = token.body["id"].as_str().unwrap();
    let account =
        app.post_json("/v1/service-accounts", Some(&owner), &json!({ "name": "bot", "role": "viewer" })).await;
    let account_id = account.body["id"].as_str().unwrap();

    // The same owner, logged in to the other workspace, sees none of them.
    assert_problem(&app.get(&format!("/v1/users/{user_id}"), Some(&elsewhere)).await, 404, None);
    let demote = app.put_json(&format!("/v1/users/{user_id}"), Some(&elsewhere), &json!({ "role": "viewer" })).await;
    assert_problem(&demote, 404, None);
    assert_problem(&app.delete(&format!("/v1/api-tokens/{token_id}"), Some(&elsewhere)).await, 404, None);
    assert_problem(&app.get(&format!("/v1/service-accounts/{account_id}"), Some(&elsewhere)).await, 404, None);
    assert_eq!(app.get("/v1/api-tokens", Some(&elsewhere)).await.body["total"], 0);
    assert_eq!(app.get("/v1/users", Some(&elsewhere)).await.body["total"], 1);
    assert_eq!(app.get(&format!("/v1/users/{user_id}"), Some(&owner)).await.body["role"], "editor");
}

#[tokio::test]
async fn only_owners_create_workspaces() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (_, _, admin) = app.user_with_role(&owner, "admin").await;
    assert_problem(&app.post_json("/v1/workspaces", Some(&admin), &json!({ "name": "Mine" })).await, 403, None);
    assert_eq!(app.count_rows("workspaces").await, 1);
}

#[tokio::test]
async fn workspace_settings_override_the_server_within_its_cap() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let settings = app.get("/v1/workspace/settings", Some(&owner)).await;
    assert_eq!(settings.status, 200, "{}", settings.text);
    assert_eq!(settings.body["session_lifetime_seconds"], serde_json::Value::Null);
    let cap = settings.body["caps"]["session_lifetime_seconds"].as_u64().unwrap();

    let over =
        app.put_json("/v1/workspace/settings", Some(&owner), &json!({ "session_lifetime_seconds": cap + 1 })).await;
    assert_problem(&over, 422, Some("session_lifetime_seconds"));
    let not_a_number =
        app.put_json("/v1/workspace/settings", Some(&owner), &json!({ "session_lifetime_seconds": "1h" })).await;
    assert_problem(&not_a_number, 422, Some("session_lifetime_seconds"));

    let set = app.put_json("/v1/workspace/settings", Some(&owner), &json!({ "session_lifetime_seconds": 120 })).await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.body["session_lifetime_seconds"], 120);

    // New sessions in this workspace now last two minutes.
    let session = app.login_owner().await;
    app.clock.advance(std::time::Duration::from_secs(120));
    assert_problem(&app.get("/v1/me", Some(&session)).await, 401, None);

    let session = app.login_owner().await;
    let cleared =
        app.put_json("/v1/workspace/settings", Some(&session), &json!({ "session_lifetime_seconds": null })).await;
    assert_eq!(cleared.body["session_lifetime_seconds"], serde_json::Value::Null);
    // An absent field is unchanged.
    let unchanged = app.put_json("/v1/workspace/settings", Some(&session), &json!({})).await;
    assert_eq!(unchanged.status, 200);
}

#[tokio::test]
async fn only_owners_read_or_change_settings() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (_, _, admin) = app.user_with_role(&owner, "admin").await;
    assert_problem(&app.get("/v1/workspace/settings", Some(&admin)).await, 403, None);
    let change = app.put_json("/v1/workspace/settings", Some(&admin), &json!({ "session_lifetime_seconds": 60 })).await;
    assert_problem(&change, 403, None);
}

#[tokio::test]
async fn configuration_changes_are_recorded_in_the_event_log() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let before = app.count_rows("events").await;
    app.user_with_role(&owner, "viewer").await;
    app.api_token(&owner, "viewer").await;
    assert_eq!(app.count_rows("events").await, before + 2);
}
