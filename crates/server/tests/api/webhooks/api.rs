//! The webhook API against the FeatureSignals seed: shapes, paging, partial updates,
//! validation and roles.

use serde_json::{Value, json};

use super::{create_webhook, webhook_to};
use crate::helpers::{assert_problem, spawn_app};

const RECEIVER: &str = "http://127.0.0.1:9/hook";

#[tokio::test]
async fn creating_a_webhook_answers_the_seed_shape_and_never_shows_the_secret() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let body = json!({
        "name": "Slack Notification",
        "url": RECEIVER,
        "secret": "webhook-secret-for-hmac",
        "events": ["flag.created", "flag.updated", "flag.killed"]
    });
    let created = app.post_json("/v1/webhooks", Some(&owner), &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let webhook = &created.body;
    assert_eq!(webhook["name"], "Slack Notification");
    assert_eq!(webhook["url"], RECEIVER);
    assert_eq!(webhook["has_secret"], true);
    assert_eq!(webhook["events"], json!(["flag.created", "flag.updated", "flag.killed"]));
    assert_eq!(webhook["enabled"], true);
    assert_eq!(webhook["retry_schedule"], json!(["1s", "4s"]), "the server default, as the seed retries");
    assert_eq!(webhook["consecutive_failures"], 0);
    assert!(webhook["last_success_at"].is_null() && webhook["disabled_reason"].is_null());
    assert!(webhook["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(!created.text.contains("webhook-secret-for-hmac"), "the secret is never returned");

    let id = webhook["id"].as_str().unwrap();
    let fetched = app.get(&format!("/v1/webhooks/{id}"), Some(&owner)).await;
    assert_eq!(fetched.body, created.body);
    assert!(!fetched.text.contains("webhook-secret-for-hmac"));
    let stored: String = sqlx_scalar(&app, "SELECT secret FROM webhooks").await;
    assert!(!stored.contains("webhook-secret-for-hmac"), "the secret is stored encrypted: {stored}");
}

async fn sqlx_scalar(app: &crate::helpers::TestApp, sql: &'static str) -> String {
    use signalbox_server::db::Db;
    match &app.db {
        Db::Sqlite { read, .. } => sqlx::query_scalar(sql).fetch_one(read).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
    }
}

#[tokio::test]
async fn webhooks_are_listed_in_pages_with_the_seed_envelope() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    for n in 0..3 {
        create_webhook(&app, &owner, json!({ "name": format!("hook {n}"), "url": RECEIVER })).await;
    }
    let first = app.get("/v1/webhooks?limit=2&offset=0", Some(&owner)).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body["data"].as_array().unwrap().len(), 2);
    assert_eq!((first.body["total"].clone(), first.body["limit"].clone()), (json!(3), json!(2)));
    assert_eq!((first.body["offset"].clone(), first.body["has_more"].clone()), (json!(0), json!(true)));
    let last = app.get("/v1/webhooks?limit=2&offset=2", Some(&owner)).await;
    assert_eq!(last.body["data"][0]["name"], "hook 2");
    assert_eq!(last.body["has_more"], false);
    assert_problem(&app.get("/v1/webhooks?limit=101", Some(&owner)).await, 422, Some("limit"));
}

#[tokio::test]
async fn a_partial_update_changes_only_the_given_fields() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let webhook = webhook_to(&app, &owner, RECEIVER, json!({ "secret": "s3cret", "events": ["flag.created"] })).await;
    let id = webhook["id"].as_str().unwrap();
    let path = format!("/v1/webhooks/{id}");

    let renamed = app.put_json(&path, Some(&owner), &json!({ "name": "Updated Name", "events": ["*"] })).await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.body["name"], "Updated Name");
    assert_eq!(renamed.body["events"], json!(["*"]));
    assert_eq!(renamed.body["url"], RECEIVER);
    assert_eq!(renamed.body["has_secret"], true);

    let schedule = app.put_json(&path, Some(&owner), &json!({ "retry_schedule": ["250ms", "2s"] })).await;
    assert_eq!(schedule.body["retry_schedule"], json!(["250ms", "2s"]));
    let default = app.put_json(&path, Some(&owner), &json!({ "retry_schedule": null })).await;
    assert_eq!(default.body["retry_schedule"], json!(["1s", "4s"]));

    let unsigned = app.put_json(&path, Some(&owner), &json!({ "secret": null, "enabled": false })).await;
    assert_eq!(unsigned.body["has_secret"], false);
    assert_eq!(unsigned.body["enabled"], false);
    assert_eq!(unsigned.body["name"], "Updated Name");

    assert_problem(&app.put_json(&path, Some(&owner), &json!({ "name": null })).await, 422, Some("name"));
    assert_problem(&app.put_json(&path, Some(&owner), &json!({ "colour": "red" })).await, 422, None);
}

#[tokio::test]
async fn deleting_a_webhook_answers_204_and_it_is_gone() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let webhook = webhook_to(&app, &owner, RECEIVER, json!({})).await;
    let path = format!("/v1/webhooks/{}", webhook["id"].as_str().unwrap());
    assert_eq!(app.delete(&path, Some(&owner)).await.status, 204);
    assert_problem(&app.get(&path, Some(&owner)).await, 404, None);
    assert_problem(&app.delete(&path, Some(&owner)).await, 404, None);
    assert_eq!(app.count_rows("webhooks").await, 0);
}

#[tokio::test]
async fn each_bad_input_is_a_422_naming_the_field_and_stores_nothing() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let events_before = app.count_rows("events").await;
    let long_url = format!("https://hooks.invalid/{}", "a".repeat(2048));
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "name": "", "url": RECEIVER }), "name"),
        (json!({ "name": "   ", "url": RECEIVER }), "name"),
        (json!({ "name": "n".repeat(201), "url": RECEIVER }), "name"),
        (json!({ "url": RECEIVER }), "name"),
        (json!({ "name": "x" }), "url"),
        (json!({ "name": "x", "url": "ftp://hooks.invalid/" }), "url"),
        (json!({ "name": "x", "url": "/relative/path" }), "url"),
        (json!({ "name": "x", "url": "hooks.invalid/no-scheme" }), "url"),
        (json!({ "name": "x", "url": "https://user:pass@hooks.invalid/" }), "url"),
        (json!({ "name": "x", "url": long_url }), "url"),
        (json!({ "name": "x", "url": "http://10.0.0.1/hook" }), "url"),
        (json!({ "name": "x", "url": RECEIVER, "secret": "" }), "secret"),
        (json!({ "name": "x", "url": RECEIVER, "secret": "s".repeat(257) }), "secret"),
        (json!({ "name": "x", "url": RECEIVER, "events": "flag.created" }), "events"),
        (json!({ "name": "x", "url": RECEIVER, "events": ["flag.created", 7] }), "events[1]"),
        (json!({ "name": "x", "url": RECEIVER, "events": ["flag.created", "flag.exploded"] }), "events[1]"),
        (json!({ "name": "x", "url": RECEIVER, "events": ["webhook.test"] }), "events[0]"),
        (json!({ "name": "x", "url": RECEIVER, "retry_schedule": "1s" }), "retry_schedule"),
        (json!({ "name": "x", "url": RECEIVER, "retry_schedule": vec!["1s"; 11] }), "retry_schedule"),
        (json!({ "name": "x", "url": RECEIVER, "retry_schedule": ["1s", "25h"] }), "retry_schedule[1]"),
        (json!({ "name": "x", "url": RECEIVER, "retry_schedule": ["soon"] }), "retry_schedule[0]"),
    ];
    for (body, field) in cases {
        let response = app.post_json("/v1/webhooks", Some(&owner), &body).await;
        assert_problem(&response, 422, Some(field));
    }
    assert_eq!(app.count_rows("webhooks").await, 0);
    assert_eq!(app.count_rows("events").await, events_before, "no webhook.created event either");

    // The same rules on update, which changes nothing when it fails.
    let webhook = webhook_to(&app, &owner, RECEIVER, json!({})).await;
    let path = format!("/v1/webhooks/{}", webhook["id"].as_str().unwrap());
    for (body, field) in [
        (json!({ "url": "http://169.254.169.254/" }), "url"),
        (json!({ "secret": "" }), "secret"),
        (json!({ "events": ["nope"] }), "events[0]"),
        (json!({ "name": "" }), "name"),
    ] {
        assert_problem(&app.put_json(&path, Some(&owner), &body).await, 422, Some(field));
    }
    let after = app.get(&path, Some(&owner)).await.body;
    for field in ["name", "url", "events", "has_secret", "updated_at"] {
        assert_eq!(after[field], webhook[field], "{field} unchanged");
    }
}

#[tokio::test]
async fn only_admins_manage_webhooks_and_other_workspaces_see_404() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let webhook = webhook_to(&app, &owner, RECEIVER, json!({})).await;
    let path = format!("/v1/webhooks/{}", webhook["id"].as_str().unwrap());
    let (_, _, admin) = app.user_with_role(&owner, "admin").await;
    assert_eq!(app.get(&path, Some(&admin)).await.status, 200);
    for role in ["editor", "viewer"] {
        let (_, _, token) = app.user_with_role(&owner, role).await;
        assert_problem(&app.get("/v1/webhooks", Some(&token)).await, 403, None);
        assert_problem(
            &app.post_json("/v1/webhooks", Some(&token), &json!({"name":"x","url":RECEIVER})).await,
            403,
            None,
        );
        assert_problem(&app.delete(&path, Some(&token)).await, 403, None);
    }
    let (_, elsewhere) = app.new_workspace_session(&owner, "Elsewhere").await;
    assert_problem(&app.get(&path, Some(&elsewhere)).await, 404, None);
    assert_eq!(app.get("/v1/webhooks", Some(&elsewhere)).await.body["total"], 0);
    assert_problem(&app.get("/v1/webhooks", None).await, 401, None);
}

#[tokio::test]
async fn the_event_catalogue_lists_every_type_with_schema_example_and_wildcard_membership() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let response = app.get("/v1/event-types", Some(&owner)).await;
    assert_eq!(response.status, 200, "{}", response.text);
    let types = response.body["data"].as_array().unwrap();
    let find = |name: &str| types.iter().find(|t| t["name"] == name).cloned().unwrap_or_else(|| panic!("{name}"));
    for seed in [
        "flag.created",
        "flag.updated",
        "flag.deleted",
        "flag.killed",
        "flag.promoted",
        "flag.scheduled_toggle",
        "flag.approved_change_applied",
    ] {
        assert_eq!(find(seed)["in_wildcard"], true, "{seed}");
    }
    assert_eq!(find("signal.received")["in_wildcard"], false);
    assert_eq!(find("signal.captured")["in_wildcard"], false);
    assert_eq!(find("webhook.test")["subscribable"], false);
    let received = find("signal.received");
    assert_eq!(received["schema"]["type"], "object");
    assert!(received["example"]["payload"].is_object());
    assert!(types.iter().all(|t| t["description"].as_str().is_some_and(|d| !d.is_empty())));
}

#[tokio::test]
async fn the_openapi_document_publishes_each_event_types_data_schema() {
    let app = spawn_app().await;
    let document = app.get("/openapi.json", None).await.body;
    let schemas = &document["components"]["schemas"];
    for name in ["flag.killed", "signal.received", "webhook.test", "api_token.created"] {
        assert_eq!(schemas[format!("event.{name}")]["type"], "object", "{name}");
    }
    assert!(schemas["event.signal.received"]["properties"]["payload"].is_object());
}
