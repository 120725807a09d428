//! Feature flags (issue 6): projects, environments, flags, per-environment configuration in
//! Unleash's model, ETags, the kill switch, and the events each change writes.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, spawn_app};
use crate::webhooks::receiver::TestReceiver;
use crate::webhooks::webhook_to;

const FLAGS: &str = "/v1/projects/default/flags";

async fn create_flag(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app.post_json(FLAGS, Some(token), &body).await;
    assert_eq!(response.status, 201, "create flag: {}", response.text);
    response.body
}

fn config_path(flag: &str, environment: &str) -> String {
    format!("{FLAGS}/{flag}/environments/{environment}")
}

#[tokio::test]
async fn every_workspace_starts_with_a_default_project_and_two_environments() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let projects = app.get("/v1/projects", Some(&owner)).await;
    assert_eq!(projects.body["data"][0]["key"], "default");
    let environments = app.get("/v1/environments", Some(&owner)).await;
    let keys: Vec<&str> =
        environments.body["data"].as_array().unwrap().iter().map(|e| e["key"].as_str().unwrap()).collect();
    assert_eq!(keys, vec!["development", "production"]);
    assert_eq!(environments.body["data"][1]["type"], "production");

    let (_, elsewhere) = app.new_workspace_session(&owner, "Second").await;
    assert_eq!(app.get("/v1/projects/default", Some(&elsewhere)).await.status, 200);
    assert_eq!(app.get("/v1/environments/production", Some(&elsewhere)).await.status, 200);
}

#[tokio::test]
async fn projects_are_created_named_and_deleted_only_when_empty() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let created = app.post_json("/v1/projects", Some(&owner), &json!({ "key": "checkout", "name": "Checkout" })).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["name"], "Checkout");
    assert_problem(&app.post_json("/v1/projects", Some(&owner), &json!({ "key": "checkout" })).await, 409, None);
    let before = app.count_rows("projects").await;
    for bad in ["Checkout", "-x", "a_b", ""] {
        assert_problem(&app.post_json("/v1/projects", Some(&owner), &json!({ "key": bad })).await, 422, Some("key"));
    }
    assert_eq!(app.count_rows("projects").await, before);

    let renamed = app.put_json("/v1/projects/checkout", Some(&owner), &json!({ "description": "Pay" })).await;
    assert_eq!(renamed.body["description"], "Pay");
    let audit = app.get("/v1/events?type=project.updated", Some(&owner)).await;
    let change = &audit.body["data"][0]["data"];
    assert_eq!(
        (change["before"]["description"].clone(), change["after"]["description"].clone()),
        (json!(null), json!("Pay"))
    );
    app.post_json("/v1/projects/checkout/flags", Some(&owner), &json!({ "key": "one" })).await;
    assert_problem(&app.delete("/v1/projects/checkout", Some(&owner)).await, 409, None);
    assert_problem(&app.delete("/v1/projects/default", Some(&owner)).await, 409, None);
    let empty = app.post_json("/v1/projects", Some(&owner), &json!({ "key": "empty" })).await;
    assert_eq!(empty.status, 201);
    assert_eq!(app.delete("/v1/projects/empty", Some(&owner)).await.status, 204);
    assert_problem(&app.get("/v1/projects/empty", Some(&owner)).await, 404, None);
}

#[tokio::test]
async fn environments_holding_enabled_flags_are_deleted_only_with_force() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let body = json!({ "key": "staging", "type": "staging", "sort_order": 1 });
    assert_eq!(app.post_json("/v1/environments", Some(&owner), &body).await.status, 201);
    assert_problem(
        &app.post_json("/v1/environments", Some(&owner), &json!({ "key": "qa", "type": "prod" })).await,
        422,
        Some("type"),
    );
    assert_problem(
        &app.post_json(
            "/v1/environments",
            Some(&owner),
            &json!({ "key": "qa", "type": "test", "approvals_required": 0 }),
        )
        .await,
        422,
        Some("approvals_required"),
    );
    create_flag(&app, &owner, json!({ "key": "banner" })).await;
    assert_eq!(
        app.post_json(&format!("{}/on", config_path("banner", "staging")), Some(&owner), &json!({})).await.status,
        200
    );
    assert_problem(&app.delete("/v1/environments/staging", Some(&owner)).await, 409, None);
    assert_eq!(app.delete("/v1/environments/staging?force=true", Some(&owner)).await.status, 204);
    let flag = app.get(&format!("{FLAGS}/banner"), Some(&owner)).await;
    assert_eq!(flag.body["environments"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_flag_is_created_disabled_everywhere_with_an_etag() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let response = app
        .post_json(FLAGS, Some(&owner), &json!({ "key": "new-checkout", "type": "experiment", "tags": ["team:pay"] }))
        .await;
    assert_eq!(response.status, 201, "{}", response.text);
    assert_eq!(response.header("etag"), Some("\"1\""));
    let flag = &response.body;
    assert_eq!(
        (flag["key"].clone(), flag["name"].clone(), flag["type"].clone()),
        (json!("new-checkout"), json!("new-checkout"), json!("experiment"))
    );
    assert_eq!(flag["project"], "default");
    assert_eq!(flag["archived"], false);
    for environment in flag["environments"].as_array().unwrap() {
        assert_eq!(environment["enabled"], false);
        assert_eq!(environment["strategies"], json!([]));
        assert!(environment["killed"].is_null());
    }
    assert_problem(&app.post_json(FLAGS, Some(&owner), &json!({ "key": "new-checkout" })).await, 409, None);
    let before = app.count_rows("flags").await;
    for (body, field) in [
        (json!({ "key": "has space" }), "key"),
        (json!({ "key": "k".repeat(101) }), "key"),
        (json!({ "key": "ok", "type": "feature" }), "type"),
        (json!({ "key": "ok", "tags": [""] }), "tags[0]"),
        (json!({ "key": "ok", "impression_data": "yes" }), "impression_data"),
    ] {
        assert_problem(&app.post_json(FLAGS, Some(&owner), &body).await, 422, Some(field));
    }
    assert_eq!(app.count_rows("flags").await, before);
    assert_problem(&app.post_json("/v1/projects/nope/flags", Some(&owner), &json!({ "key": "x" })).await, 404, None);
}

#[tokio::test]
async fn flags_are_listed_with_filters_and_pages() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    create_flag(&app, &owner, json!({ "key": "alpha", "tags": ["web"], "description": "The Banner" })).await;
    create_flag(&app, &owner, json!({ "key": "beta", "tags": ["mobile"] })).await;
    create_flag(&app, &owner, json!({ "key": "gamma", "tags": ["web", "mobile"] })).await;
    app.post_json(&format!("{}/on", config_path("beta", "production")), Some(&owner), &json!({})).await;

    let page = app.get(&format!("{FLAGS}?limit=2"), Some(&owner)).await;
    assert_eq!((page.body["total"].clone(), page.body["has_more"].clone()), (json!(3), json!(true)));
    let keys = |response: &crate::helpers::ApiResponse| -> Vec<String> {
        response.body["data"].as_array().unwrap().iter().map(|f| f["key"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(keys(&app.get(&format!("{FLAGS}?tag=web"), Some(&owner)).await), vec!["alpha", "gamma"]);
    assert_eq!(keys(&app.get(&format!("{FLAGS}?enabled_in=production"), Some(&owner)).await), vec!["beta"]);
    assert_eq!(keys(&app.get(&format!("{FLAGS}?q=banner"), Some(&owner)).await), vec!["alpha"]);
    assert_eq!(app.delete(&format!("{FLAGS}/gamma"), Some(&owner)).await.status, 204);
    assert_eq!(keys(&app.get(FLAGS, Some(&owner)).await), vec!["alpha", "beta"]);
    assert_eq!(keys(&app.get(&format!("{FLAGS}?archived=true"), Some(&owner)).await), vec!["gamma"]);
}

#[tokio::test]
async fn a_stale_if_match_is_refused_with_412_and_changes_nothing() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    create_flag(&app, &owner, json!({ "key": "etagged" })).await;
    let path = format!("{FLAGS}/etagged");
    let current = app.get(&path, Some(&owner)).await;
    let etag = current.header("etag").unwrap().to_owned();
    let first = app
        .send(
            app.client
                .put(app.url(&path))
                .bearer_auth(&owner)
                .header("if-match", &etag)
                .json(&json!({ "name": "First" })),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_ne!(first.header("etag").unwrap(), etag);
    let stale = app
        .send(
            app.client
                .put(app.url(&path))
                .bearer_auth(&owner)
                .header("if-match", &etag)
                .json(&json!({ "name": "Second" })),
        )
        .await;
    assert_problem(&stale, 412, None);
    assert_eq!(app.get(&path, Some(&owner)).await.body["name"], "First");

    let config = config_path("etagged", "development");
    let read = app.get(&config, Some(&owner)).await;
    assert_eq!(read.header("etag"), Some("\"0\""), "never written");
    let on = app
        .send(
            app.client
                .put(app.url(&config))
                .bearer_auth(&owner)
                .header("if-match", "\"0\"")
                .json(&json!({ "enabled": true })),
        )
        .await;
    assert_eq!((on.status, on.header("etag")), (200, Some("\"1\"")));
    let stale = app
        .send(
            app.client
                .put(app.url(&config))
                .bearer_auth(&owner)
                .header("if-match", "\"0\"")
                .json(&json!({ "enabled": false })),
        )
        .await;
    assert_problem(&stale, 412, None);
    assert_eq!(app.get(&config, Some(&owner)).await.body["enabled"], true);
}

#[tokio::test]
async fn strategies_are_stored_in_order_in_unleash_shape_and_bad_ones_name_the_field() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    create_flag(&app, &owner, json!({ "key": "rollout" })).await;
    let path = config_path("rollout", "production");
    let strategies = json!([
        { "name": "flexibleRollout", "parameters": { "rollout": "25", "stickiness": "userId", "groupId": "rollout" },
          "constraints": [{ "contextName": "appVersion", "operator": "SEMVER_GTE", "value": "2.0.0" },
                          { "contextName": "email", "operator": "REGEX", "value": "@example\\.com$", "caseInsensitive": true }] },
        { "name": "userWithId", "parameters": { "userIds": "1,2,3" } },
        { "name": "myCustom", "parameters": { "region": "eu" } }
    ]);
    let variants = json!([{ "name": "blue", "weightType": "variable", "stickiness": "default", "payload": { "type": "json", "value": "{\"a\":1}" } },
                          { "name": "green", "weight": 300, "weightType": "fix" }]);
    let response = app
        .put_json(&path, Some(&owner), &json!({ "enabled": true, "strategies": strategies, "variants": variants }))
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let stored = &response.body["strategies"];
    let names: Vec<&str> = stored.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["flexibleRollout", "userWithId", "myCustom"]);
    assert_eq!(stored[1]["sortOrder"], 1);
    assert!(stored[0]["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(stored[0]["constraints"][1]["caseInsensitive"], true);
    assert_eq!(response.body["variants"][0]["weight"], 700, "variable weights share what fixed ones leave");

    let version = response.body["version"].clone();
    let bad = [
        (
            json!({ "strategies": [{ "name": "flexibleRollout", "parameters": { "rollout": "150" } }] }),
            "strategies[0].parameters.rollout",
        ),
        (
            json!({ "strategies": [{ "name": "flexibleRollout", "parameters": { "rollout": 50 } }] }),
            "strategies[0].parameters.rollout",
        ),
        (
            json!({ "strategies": [{ "name": "default", "constraints": [{ "contextName": "x", "operator": "SIMILAR", "values": [] }] }] }),
            "strategies[0].constraints[0].operator",
        ),
        (
            json!({ "strategies": [{ "name": "default", "constraints": [{ "contextName": "v", "operator": "SEMVER_EQ", "value": "1.x" }] }] }),
            "strategies[0].constraints[0].value",
        ),
        (
            json!({ "strategies": [{ "name": "default", "constraints": [{ "contextName": "d", "operator": "DATE_BEFORE", "value": "soon" }] }] }),
            "strategies[0].constraints[0].value",
        ),
        (json!({ "strategies": [{ "name": "default", "segments": [7] }] }), "strategies[0].segments[0]"),
        (json!({ "variants": [{ "name": "a", "weight": 400, "weightType": "fix" }] }), "variants"),
        (json!({ "enabled": null }), "enabled"),
    ];
    for (body, field) in bad {
        assert_problem(&app.put_json(&path, Some(&owner), &body).await, 422, Some(field));
    }
    let after = app.get(&path, Some(&owner)).await;
    assert_eq!(after.body["version"], version, "a refused change writes nothing");
}

#[tokio::test]
async fn the_kill_switch_disables_everywhere_and_blocks_every_way_back_until_revived() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    create_flag(&app, &owner, json!({ "key": "payments" })).await;
    for environment in ["development", "production"] {
        app.post_json(&format!("{}/on", config_path("payments", environment)), Some(&owner), &json!({})).await;
    }
    assert_problem(
        &app.post_json(&format!("{FLAGS}/payments/kill"), Some(&owner), &json!({ "reason": "" })).await,
        422,
        Some("reason"),
    );
    assert_problem(
        &app.post_json(
            &format!("{FLAGS}/payments/kill"),
            Some(&owner),
            &json!({ "reason": "x", "environments": ["moon"] }),
        )
        .await,
        422,
        Some("environments[0]"),
    );
    let killed =
        app.post_json(&format!("{FLAGS}/payments/kill"), Some(&owner), &json!({ "reason": "charges failing" })).await;
    assert_eq!(killed.status, 200, "{}", killed.text);
    for environment in killed.body["flag"]["environments"].as_array().unwrap() {
        assert_eq!(environment["enabled"], false);
        assert_eq!(environment["killed"]["reason"], "charges failing");
        assert!(environment["killed"]["by"].is_string() && environment["killed"]["at"].is_string());
    }
    let on = app.post_json(&format!("{}/on", config_path("payments", "production")), Some(&owner), &json!({})).await;
    assert_problem(&on, 409, None);
    assert!(on.body["type"].as_str().unwrap().ends_with("flag-killed"), "{}", on.text);
    assert_problem(
        &app.put_json(&config_path("payments", "development"), Some(&owner), &json!({ "enabled": true })).await,
        409,
        None,
    );
    // Changing strategies while killed is fine; enabling is not.
    assert_eq!(
        app.put_json(
            &config_path("payments", "development"),
            Some(&owner),
            &json!({ "strategies": [{ "name": "default" }] })
        )
        .await
        .status,
        200
    );

    let revived = app
        .post_json(&format!("{FLAGS}/payments/revive"), Some(&owner), &json!({ "environments": ["production"] }))
        .await;
    assert_eq!(revived.status, 200, "{}", revived.text);
    assert_eq!(
        app.post_json(&format!("{}/on", config_path("payments", "production")), Some(&owner), &json!({})).await.status,
        200
    );
    assert_problem(
        &app.post_json(&format!("{}/on", config_path("payments", "development")), Some(&owner), &json!({})).await,
        409,
        None,
    );
}

#[tokio::test]
async fn archiving_and_hard_deleting_follow_each_other() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    create_flag(&app, &owner, json!({ "key": "old" })).await;
    assert_problem(&app.delete(&format!("{FLAGS}/old?hard=true"), Some(&owner)).await, 409, None);
    assert_eq!(app.delete(&format!("{FLAGS}/old"), Some(&owner)).await.status, 204);
    let archived = app.get(&format!("{FLAGS}/old"), Some(&owner)).await;
    assert_eq!(archived.body["archived"], true);
    assert_problem(
        &app.post_json(&format!("{}/on", config_path("old", "production")), Some(&owner), &json!({})).await,
        409,
        None,
    );
    let restored = app.put_json(&format!("{FLAGS}/old"), Some(&owner), &json!({ "archived": false })).await;
    assert_eq!(restored.body["archived"], false);
    app.delete(&format!("{FLAGS}/old"), Some(&owner)).await;
    assert_eq!(app.delete(&format!("{FLAGS}/old?hard=true"), Some(&owner)).await.status, 204);
    assert_problem(&app.get(&format!("{FLAGS}/old"), Some(&owner)).await, 404, None);
}

#[tokio::test]
async fn viewers_read_editors_write_and_only_admins_manage_environments() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    create_flag(&app, &owner, json!({ "key": "shared" })).await;
    let (_, _, viewer) = app.user_with_role(&owner, "viewer").await;
    let (_, _, editor) = app.user_with_role(&owner, "editor").await;
    assert_eq!(app.get(&format!("{FLAGS}/shared"), Some(&viewer)).await.status, 200);
    assert_problem(&app.post_json(FLAGS, Some(&viewer), &json!({ "key": "nope" })).await, 403, None);
    assert_problem(
        &app.post_json(&format!("{}/on", config_path("shared", "production")), Some(&viewer), &json!({})).await,
        403,
        None,
    );
    assert_eq!(
        app.post_json(&format!("{}/on", config_path("shared", "production")), Some(&editor), &json!({})).await.status,
        200
    );
    assert_problem(
        &app.post_json("/v1/environments", Some(&editor), &json!({ "key": "qa", "type": "test" })).await,
        403,
        None,
    );
}

#[tokio::test]
async fn each_flag_change_is_one_event_delivered_to_webhooks() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let receiver = TestReceiver::start().await;
    webhook_to(
        &app,
        &owner,
        &receiver.url(),
        json!({ "events": ["flag.created", "flag.updated", "flag.deleted", "flag.killed"] }),
    )
    .await;
    create_flag(&app, &owner, json!({ "key": "evented" })).await;
    app.post_json(&format!("{}/on", config_path("evented", "production")), Some(&owner), &json!({})).await;
    app.post_json(&format!("{FLAGS}/evented/kill"), Some(&owner), &json!({ "reason": "incident 42" })).await;
    app.delete(&format!("{FLAGS}/evented"), Some(&owner)).await;
    app.delete(&format!("{FLAGS}/evented?hard=true"), Some(&owner)).await;

    let mut bodies: Vec<Value> = receiver.wait_for(5).await.iter().map(|r| r.json()).collect();
    bodies.sort_by_key(|b| b["timestamp"].as_str().unwrap().to_owned() + b["id"].as_str().unwrap());
    let by_type = |t: &str| bodies.iter().filter(|b| b["type"] == t).cloned().collect::<Vec<_>>();
    let created = &by_type("flag.created")[0];
    assert_eq!(
        (created["data"]["flag_key"].clone(), created["data"]["project"].clone()),
        (json!("evented"), json!("default"))
    );
    let updated = &by_type("flag.updated")[0];
    assert_eq!(updated["data"]["environment"], "production");
    assert_eq!(
        (updated["data"]["before"]["enabled"].clone(), updated["data"]["after"]["enabled"].clone()),
        (json!(false), json!(true))
    );
    let killed = &by_type("flag.killed")[0];
    assert_eq!(killed["data"]["reason"], "incident 42");
    assert_eq!(killed["data"]["environments"], json!(["development", "production"]));
    let deleted = by_type("flag.deleted");
    let hard: Vec<Value> = deleted.iter().map(|d| d["data"]["hard"].clone()).collect();
    assert!(hard.contains(&json!(false)) && hard.contains(&json!(true)), "{hard:?}");

    let audit = app.get("/v1/events?type=flag.killed", Some(&owner)).await;
    assert!(audit.body["data"][0]["actor_id"].is_string(), "the actor is recorded");
}

#[tokio::test]
async fn the_audit_log_filters_by_project_flag_actor_type_and_time() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (editor_id, _, editor) = app.user_with_role(&owner, "editor").await;
    create_flag(&app, &owner, json!({ "key": "audited" })).await;
    create_flag(&app, &owner, json!({ "key": "other" })).await;
    app.post_json(&format!("{}/on", config_path("audited", "production")), Some(&editor), &json!({})).await;

    let types_of = |response: &crate::helpers::ApiResponse| -> Vec<String> {
        response.body["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
    };
    let about_flag = app.get("/v1/events?flag=audited", Some(&owner)).await;
    assert_eq!(types_of(&about_flag), vec!["flag.updated", "flag.created"]);
    let updated = &about_flag.body["data"][0]["data"];
    assert_eq!(
        (updated["before"]["enabled"].clone(), updated["after"]["enabled"].clone()),
        (json!(false), json!(true))
    );
    let by_editor = app.get(&format!("/v1/events?actor={editor_id}"), Some(&owner)).await;
    assert_eq!(types_of(&by_editor), vec!["flag.updated"]);
    let created = app.get("/v1/events?project=default&type=flag.created", Some(&owner)).await;
    assert_eq!(created.body["data"].as_array().unwrap().len(), 2);
    let future = app.clock_now_plus(60);
    assert!(
        app.get(&format!("/v1/events?since={future}"), Some(&owner)).await.body["data"].as_array().unwrap().is_empty()
    );
    let everything = app.get(&format!("/v1/events?until={future}&flag=other"), Some(&owner)).await;
    assert_eq!(types_of(&everything), vec!["flag.created"]);
    assert_problem(&app.get("/v1/events?since=yesterday", Some(&owner)).await, 422, Some("since"));
    assert_problem(&app.get("/v1/events?actor=me", Some(&owner)).await, 422, Some("actor"));
}

#[tokio::test]
async fn list_filters_match_exactly_on_both_backends_and_bad_values_are_422() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    create_flag(&app, &owner, json!({ "key": "tagged", "tags": ["web"], "description": "50% off" })).await;
    create_flag(&app, &owner, json!({ "key": "plain_one" })).await;
    let count = |response: crate::helpers::ApiResponse| response.body["total"].as_i64().unwrap();
    assert_eq!(count(app.get(&format!("{FLAGS}?tag=web"), Some(&owner)).await), 1);
    assert_eq!(count(app.get(&format!("{FLAGS}?tag=WEB"), Some(&owner)).await), 0, "tags are case-sensitive");
    assert_eq!(count(app.get(&format!("{FLAGS}?tag=w_b"), Some(&owner)).await), 0, "no wildcards");
    assert_eq!(count(app.get(&format!("{FLAGS}?q=_"), Some(&owner)).await), 1, "only plain_one has an underscore");
    assert_eq!(count(app.get(&format!("{FLAGS}?q=50%25"), Some(&owner)).await), 1);
    assert_eq!(count(app.get(&format!("{FLAGS}?q=TAGGED"), Some(&owner)).await), 1, "search ignores case");
    assert_problem(&app.get(&format!("{FLAGS}?archived=yes"), Some(&owner)).await, 422, Some("archived"));
    assert_problem(&app.get(&format!("{FLAGS}?enabled_in=moon"), Some(&owner)).await, 422, Some("enabled_in"));
    assert_problem(&app.delete(&format!("{FLAGS}/tagged?hard=maybe"), Some(&owner)).await, 422, Some("hard"));
    assert_problem(&app.delete("/v1/environments/development?force=1", Some(&owner)).await, 422, Some("force"));
    let project_events = app.get("/v1/events?project=default&type=project.updated", Some(&owner)).await;
    assert_eq!(project_events.status, 200);
}
