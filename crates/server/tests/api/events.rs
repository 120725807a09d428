use serde_json::json;

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn the_event_log_lists_changes_newest_first_with_actor_and_data() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let owner_id = app.get("/v1/me", Some(&owner)).await.body["principal"]["id"].clone();
    let token = app.post_json("/v1/api-tokens", Some(&owner), &json!({ "name": "ci", "role": "viewer" })).await;

    let events = app.get("/v1/events", Some(&owner)).await;
    assert_eq!(events.status, 200, "{}", events.text);
    let newest = &events.body["data"][0];
    assert_eq!(newest["type"], "api_token.created");
    assert_eq!(newest["actor_id"], owner_id);
    assert_eq!(newest["data"]["id"], token.body["id"]);
    assert_eq!(newest["data"]["name"], "ci");
    assert!(!events.text.contains(token.body["token"].as_str().unwrap()), "a secret reached the event log");
    // Bootstrap wrote the first events.
    let types: Vec<&str> = events.body["data"].as_array().unwrap().iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types, ["api_token.created", "member.added", "workspace.created"]);
    assert!(events.body.get("total").is_none());
}

#[tokio::test]
async fn the_event_log_pages_by_cursor_and_filters_by_type() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    for _ in 0..3 {
        app.api_token(&owner, "viewer").await;
    }
    let first = app.get("/v1/events?limit=2", Some(&owner)).await;
    assert_eq!(first.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(first.body["has_more"], true);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app.get(&format!("/v1/events?limit=2&before={cursor}"), Some(&owner)).await;
    let first_seqs: Vec<i64> =
        first.body["data"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    let second_seqs: Vec<i64> =
        second.body["data"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(first_seqs[0] > first_seqs[1] && first_seqs[1] > second_seqs[0], "{first_seqs:?} {second_seqs:?}");

    let tokens = app.get("/v1/events?type=api_token.created", Some(&owner)).await;
    assert_eq!(tokens.body["data"].as_array().unwrap().len(), 3);
    let last = app.get(&format!("/v1/events?before={}", second_seqs[1]), Some(&owner)).await;
    assert_eq!(last.body["has_more"], false);
    assert_eq!(last.body["next_cursor"], serde_json::Value::Null);

    assert_problem(&app.get("/v1/events?before=abc", Some(&owner)).await, 422, Some("before"));
    assert_problem(&app.get("/v1/events?limit=500", Some(&owner)).await, 422, Some("limit"));
}

#[tokio::test]
async fn only_admins_read_the_event_log_and_only_their_workspaces() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (_, _, editor) = app.user_with_role(&owner, "editor").await;
    assert_problem(&app.get("/v1/events", Some(&editor)).await, 403, None);

    let (other_id, elsewhere) = app.new_workspace_session(&owner, "Other").await;
    let elsewhere = elsewhere.as_str();
    let events = app.get("/v1/events", Some(elsewhere)).await;
    assert!(
        events.body["data"].as_array().unwrap().iter().all(|e| e["workspace_id"] == other_id.as_str()),
        "{}",
        events.text
    );
}
