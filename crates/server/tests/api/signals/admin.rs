use serde_json::{Value, json};

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn an_admin_creates_an_endpoint_and_sees_it_with_its_tokens() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let created = app
        .post_json("/v1/signal-endpoints", Some(&owner), &json!({ "name": "deploys", "description": "CI deploys" }))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["name"], "deploys");
    assert_eq!(created.body["description"], "CI deploys");
    assert_eq!(created.body["enabled"], true);
    assert_eq!(created.body["tokens"], json!([]));
    assert!(created.body["url"].as_str().unwrap().ends_with("/api/signal-endpoint/deploys"));
    let id = created.body["id"].as_str().unwrap();

    let (token_id, secret) = app.endpoint_token(&owner, id, "github").await;
    assert!(secret.starts_with("sbx_sig_"), "{secret}");
    let fetched = app.get(&format!("/v1/signal-endpoints/{id}"), Some(&owner)).await;
    assert_eq!(fetched.body["tokens"][0]["id"], token_id.as_str());
    assert_eq!(fetched.body["tokens"][0]["name"], "github");
    assert!(!fetched.text.contains(&secret), "a secret was shown again");
    let tokens = app.get(&format!("/v1/signal-endpoints/{id}/tokens"), Some(&owner)).await;
    assert_eq!(tokens.body.as_array().unwrap().len(), 1);

    let listed = app.get("/v1/signal-endpoints", Some(&owner)).await;
    assert_eq!(listed.body["total"], 1);
    assert_eq!(listed.body["data"][0]["tokens"][0]["name"], "github");
    assert_eq!(
        listed.body["data"][0]["counters"],
        json!({ "accepted": 0, "unauthorized": 0, "too_large": 0, "rate_limited": 0 })
    );
}

#[tokio::test]
async fn endpoint_names_are_validated_and_unique_in_a_workspace() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    for name in [json!(""), json!("has space"), json!("a/b"), json!("x".repeat(101)), json!(7)] {
        let response = app.post_json("/v1/signal-endpoints", Some(&owner), &json!({ "name": name })).await;
        assert_problem(&response, 422, Some("name"));
    }
    let missing = app.post_json("/v1/signal-endpoints", Some(&owner), &json!({ "description": "x" })).await;
    assert_problem(&missing, 422, Some("name"));
    assert_eq!(app.count_rows("signal_endpoints").await, 0);

    app.signal_endpoint(&owner, "alerts").await;
    let duplicate = app.post_json("/v1/signal-endpoints", Some(&owner), &json!({ "name": "alerts" })).await;
    assert_problem(&duplicate, 409, None);
    assert_eq!(app.count_rows("signal_endpoints").await, 1);
}

#[tokio::test]
async fn a_partial_update_changes_only_what_is_given() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let created = app
        .post_json("/v1/signal-endpoints", Some(&owner), &json!({ "name": "alerts", "description": "from monitoring" }))
        .await;
    let path = format!("/v1/signal-endpoints/{}", created.body["id"].as_str().unwrap());
    let disabled = app.put_json(&path, Some(&owner), &json!({ "enabled": false })).await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    assert_eq!(
        (disabled.body["enabled"].as_bool(), disabled.body["description"].as_str()),
        (Some(false), Some("from monitoring"))
    );
    let cleared = app.put_json(&path, Some(&owner), &json!({ "description": null, "name": "pager" })).await;
    assert_eq!(cleared.body["description"], Value::Null);
    assert_eq!(cleared.body["name"], "pager");
    assert_eq!(cleared.body["enabled"], false);
    assert_problem(&app.put_json(&path, Some(&owner), &json!({ "name": null })).await, 422, Some("name"));
    assert_problem(&app.put_json(&path, Some(&owner), &json!({ "enabled": "yes" })).await, 422, Some("enabled"));
    assert_problem(&app.put_json(&path, Some(&owner), &json!({ "name": "bad name" })).await, 422, Some("name"));
}

#[tokio::test]
async fn tokens_are_renamed_and_revoked() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let endpoint = app.signal_endpoint(&owner, "deploys").await;
    let id = endpoint["id"].as_str().unwrap();
    let (token_id, secret) = app.endpoint_token(&owner, id, "old").await;
    let path = format!("/v1/signal-endpoints/{id}/tokens/{token_id}");
    let renamed = app.put_json(&path, Some(&owner), &json!({ "name": "new" })).await;
    assert_eq!((renamed.status, renamed.body["name"].as_str()), (200, Some("new")));
    assert_problem(&app.put_json(&path, Some(&owner), &json!({ "name": "" })).await, 422, Some("name"));

    assert_eq!(app.send_signal("deploys", &secret, &json!({})).await.status, 202);
    assert_eq!(app.delete(&path, Some(&owner)).await.status, 204);
    assert_problem(&app.send_signal("deploys", &secret, &json!({})).await, 401, None);
    assert_problem(&app.delete(&path, Some(&owner)).await, 404, None);
}

#[tokio::test]
async fn deleting_an_endpoint_removes_its_tokens_and_signals() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let endpoint = app.signal_endpoint(&owner, "deploys").await;
    let id = endpoint["id"].as_str().unwrap();
    let (_, secret) = app.endpoint_token(&owner, id, "ci").await;
    assert_eq!(app.send_signal("deploys", &secret, &json!({ "n": 1 })).await.status, 202);
    assert_eq!(app.delete(&format!("/v1/signal-endpoints/{id}"), Some(&owner)).await.status, 204);
    assert_eq!(app.count_rows("signal_endpoints").await, 0);
    assert_eq!(app.count_rows("signal_endpoint_tokens").await, 0);
    assert_eq!(app.count_rows("signals").await, 0);
    assert_problem(&app.send_signal("deploys", &secret, &json!({})).await, 404, None);
}

#[tokio::test]
async fn only_admins_manage_endpoints_and_other_workspaces_see_nothing() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let endpoint = app.signal_endpoint(&owner, "deploys").await;
    let id = endpoint["id"].as_str().unwrap();
    let (_, _, editor) = app.user_with_role(&owner, "editor").await;
    assert_problem(&app.get("/v1/signal-endpoints", Some(&editor)).await, 403, None);
    assert_problem(&app.post_json("/v1/signal-endpoints", Some(&editor), &json!({ "name": "x" })).await, 403, None);
    assert_problem(
        &app.post_json(&format!("/v1/signal-endpoints/{id}/tokens"), Some(&editor), &json!({ "name": "x" })).await,
        403,
        None,
    );

    let (_, elsewhere) = app.new_workspace_session(&owner, "Other").await;
    let elsewhere = elsewhere.as_str();
    assert_problem(&app.get(&format!("/v1/signal-endpoints/{id}"), Some(elsewhere)).await, 404, None);
    assert_problem(&app.delete(&format!("/v1/signal-endpoints/{id}"), Some(elsewhere)).await, 404, None);
    assert_eq!(app.get("/v1/signal-endpoints", Some(elsewhere)).await.body["total"], 0);
    // The same name is free in another workspace.
    app.signal_endpoint(elsewhere, "deploys").await;
}

#[tokio::test]
async fn endpoint_changes_are_in_the_event_log() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let endpoint = app.signal_endpoint(&owner, "deploys").await;
    app.endpoint_token(&owner, endpoint["id"].as_str().unwrap(), "ci").await;
    let events = app.get("/v1/events?limit=2", Some(&owner)).await;
    let types: Vec<&str> = events.body["data"].as_array().unwrap().iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types, ["signal_endpoint_token.created", "signal_endpoint.created"]);
}
