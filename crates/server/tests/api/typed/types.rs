//! `/v1/signal-types`: built-in types, custom types slugged from their names, sub-rules in
//! CEL, disabling and deleting.

use serde_json::{Value, json};

use super::support::{capture, capture_row, fields, signal};
use crate::helpers::{ApiResponse, TestApp, assert_problem, spawn_app};

const TYPES: &str = "/v1/signal-types";
const AT: &str = "2026-05-26T14:30:00Z";
const BUILTINS: [&str; 6] = ["custom_event", "website_visit", "product_usage", "job_change", "funding_round", "hiring"];

async fn create(app: &TestApp, owner: &str, body: Value) -> ApiResponse {
    app.post_json(TYPES, Some(owner), &body).await
}

fn of_type(slug: &str, email: &str, context: Value) -> Value {
    let mut body = signal(email, AT);
    body["signal_type"] = json!(slug);
    body["context"] = context;
    body
}

async fn event_types(app: &TestApp, owner: &str, kind: &str) -> Vec<Value> {
    let response = app.get(&format!("/v1/events?type={kind}"), Some(owner)).await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.body["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn every_workspace_has_the_builtin_types_and_only_admins_manage_types() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let listed = app.get(TYPES, Some(&owner)).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let types = listed.body.as_array().unwrap();
    for slug in BUILTINS {
        let found = types.iter().find(|t| t["slug"] == slug).unwrap_or_else(|| panic!("{slug} missing"));
        assert_eq!(found["builtin"], true, "{found}");
        assert_eq!(found["enabled"], true, "{found}");
        assert_eq!(found["autoqualify"], false, "{found}");
    }
    let one = app.get(&format!("{TYPES}/hiring"), Some(&owner)).await;
    assert_eq!((one.status, one.body["slug"].clone()), (200, json!("hiring")), "{}", one.text);
    assert_problem(&app.get(&format!("{TYPES}/no_such_type"), Some(&owner)).await, 404, None);

    let (_, _, admin) = app.user_with_role(&owner, "admin").await;
    assert_eq!(app.get(TYPES, Some(&admin)).await.status, 200);
    let (_, _, editor) = app.user_with_role(&owner, "editor").await;
    assert_problem(&app.get(TYPES, Some(&editor)).await, 403, None);
    assert_problem(&create(&app, &editor, json!({ "name": "Editor Type" })).await, 403, None);
    let put = app.put_json(&format!("{TYPES}/hiring"), Some(&editor), &json!({ "enabled": false })).await;
    assert_problem(&put, 403, None);
    assert_problem(&app.delete(&format!("{TYPES}/hiring"), Some(&editor)).await, 403, None);
    assert_problem(&app.get(TYPES, None).await, 401, None);

    // A workspace made later has them too.
    let (_, other) = app.new_workspace_session(&owner, "Other").await;
    let there = app.get(TYPES, Some(&other)).await;
    assert_eq!(there.status, 200, "{}", there.text);
    let slugs: Vec<&str> = there.body.as_array().unwrap().iter().filter_map(|t| t["slug"].as_str()).collect();
    for slug in BUILTINS {
        assert!(slugs.contains(&slug), "{slug} missing from {slugs:?}");
    }
}

#[tokio::test]
async fn a_custom_type_is_slugged_from_its_name_and_slugs_are_unique() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let created = create(&app, &owner, json!({ "name": "User Invited Teammate!", "source_description": "app" })).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["slug"], "user_invited_teammate");
    assert_eq!(created.body["builtin"], false);
    assert_eq!(created.body["enabled"], true);
    assert_eq!(created.body["autoqualify"], false);
    capture(&app, &owner, &of_type("user_invited_teammate", "ada@acme.io", json!({})), 201).await;

    let punctuated = create(&app, &owner, json!({ "name": "  SSO -- Enabled?? " })).await;
    assert_eq!(punctuated.body["slug"], "sso_enabled", "{}", punctuated.text);

    assert_problem(&create(&app, &owner, json!({ "name": "!!!" })).await, 422, Some("name"));
    assert_problem(&create(&app, &owner, json!({ "name": "" })).await, 422, Some("name"));
    assert_problem(&create(&app, &owner, json!({ "name": "ÜÏ" })).await, 422, Some("name"));
    assert_problem(&create(&app, &owner, json!({ "name": "a".repeat(65) })).await, 422, Some("name"));
    let longest = create(&app, &owner, json!({ "name": "a".repeat(64) })).await;
    assert_eq!(longest.status, 201, "{}", longest.text);

    // Collisions, built-ins included, whatever the spelling.
    assert_problem(&create(&app, &owner, json!({ "name": "Custom Event" })).await, 409, None);
    assert_problem(&create(&app, &owner, json!({ "name": "website-visit" })).await, 409, None);
    assert_problem(&create(&app, &owner, json!({ "name": "user invited teammate" })).await, 409, None);
    let listed = app.get(TYPES, Some(&owner)).await;
    assert_eq!(listed.body.as_array().unwrap().len(), BUILTINS.len() + 3, "{}", listed.text);

    let created_events = event_types(&app, &owner, "signal_type.created").await;
    assert_eq!(created_events.len(), 3, "{created_events:?}");
}

#[tokio::test]
async fn sub_rules_with_invalid_cel_are_refused_with_line_and_column() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let body = json!({ "name": "Broken", "sub_rules": [{ "name": "bad", "condition": "signals.context.x >" }] });
    let refused = create(&app, &owner, body).await;
    assert_problem(&refused, 422, Some("sub_rules[0].condition"));
    let message = refused.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("line") && message.contains("column"), "{message}");

    let second = json!({ "name": "Broken", "sub_rules": [
        { "name": "ok", "condition": "true" },
        { "name": "bad", "condition": "true &&\n  (signals.source ==" }
    ] });
    assert_problem(&create(&app, &owner, second).await, 422, Some("sub_rules[1].condition"));
    let put = json!({ "sub_rules": [{ "name": "bad", "condition": "1 +" }] });
    let refused = app.put_json(&format!("{TYPES}/custom_event"), Some(&owner), &put).await;
    assert_problem(&refused, 422, Some("sub_rules[0].condition"));
    assert_eq!(fields(&refused), vec!["sub_rules[0].condition"]);
    assert_eq!(app.count_rows("signal_types").await, BUILTINS.len() as i64);
}

#[tokio::test]
async fn a_capture_gets_the_name_of_the_first_sub_rule_that_holds() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let body = json!({ "name": "Team Invite", "sub_rules": [
        { "name": "big", "condition": "signals.context.team_size > 10" },
        { "name": "small", "condition": "true" }
    ] });
    assert_eq!(create(&app, &owner, body).await.status, 201);

    let sub_rule_of = |email: &'static str, context: Value| {
        let app = &app;
        let owner = owner.clone();
        async move {
            let response = capture(app, &owner, &of_type("team_invite", email, context), 201).await;
            capture_row(app, response.body["signal_capture_id"].as_str().unwrap()).await.sub_rule
        }
    };
    assert_eq!(sub_rule_of("a@acme.io", json!({ "team_size": 12 })).await.as_deref(), Some("big"));
    assert_eq!(sub_rule_of("b@acme.io", json!({ "team_size": 3 })).await.as_deref(), Some("small"));
    // A rule that fails at run time (missing key, wrong type) does not hold; the next is tried.
    assert_eq!(sub_rule_of("d@acme.io", json!({})).await.as_deref(), Some("small"));
    assert_eq!(sub_rule_of("e@acme.io", json!({ "team_size": "many" })).await.as_deref(), Some("small"));
    assert_eq!(sub_rule_of("f@acme.io", json!(null)).await.as_deref(), Some("small"));

    // Rules can read the identity too; none holding leaves `sub_rule` empty.
    let put = json!({ "sub_rules": [{ "name": "acme", "condition": "identity.email.endsWith('@acme.io')" }] });
    let updated = app.put_json(&format!("{TYPES}/team_invite"), Some(&owner), &put).await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(sub_rule_of("g@acme.io", json!({})).await.as_deref(), Some("acme"));
    assert_eq!(sub_rule_of("h@other.io", json!({})).await, None);
    // A type without sub-rules leaves it empty.
    assert_eq!(sub_rule_of_default(&app, &owner).await, None);
}

async fn sub_rule_of_default(app: &TestApp, owner: &str) -> Option<String> {
    let response = capture(app, owner, &signal("plain@acme.io", AT), 201).await;
    capture_row(app, response.body["signal_capture_id"].as_str().unwrap()).await.sub_rule
}

#[tokio::test]
async fn a_disabled_type_refuses_signals_until_it_is_enabled_again() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    assert_eq!(create(&app, &owner, json!({ "name": "Demo Booked" })).await.status, 201);
    for slug in ["demo_booked", "website_visit"] {
        let off = app.put_json(&format!("{TYPES}/{slug}"), Some(&owner), &json!({ "enabled": false })).await;
        assert_eq!((off.status, off.body["enabled"].clone()), (200, json!(false)), "{}", off.text);
        let refused = app.post_json("/signals", Some(&owner), &of_type(slug, "ada@acme.io", json!({}))).await;
        assert_problem(&refused, 422, Some("signal_type"));
    }
    assert_eq!(app.count_rows("signal_captures").await, 0);
    let on = app.put_json(&format!("{TYPES}/demo_booked"), Some(&owner), &json!({ "enabled": true })).await;
    assert_eq!(on.status, 200, "{}", on.text);
    capture(&app, &owner, &of_type("demo_booked", "ada@acme.io", json!({})), 201).await;
    let updated = event_types(&app, &owner, "signal_type.updated").await;
    assert_eq!(updated.len(), 3, "{updated:?}");
    assert_eq!(updated[0]["data"]["slug"], "demo_booked");
    assert_eq!(updated[0]["data"]["enabled"], true);
}

#[tokio::test]
async fn builtin_types_cannot_be_deleted_and_custom_ones_can() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    assert_problem(&app.delete(&format!("{TYPES}/custom_event"), Some(&owner)).await, 409, None);
    assert_eq!(app.get(&format!("{TYPES}/custom_event"), Some(&owner)).await.status, 200);

    assert_eq!(create(&app, &owner, json!({ "name": "Trial Started" })).await.status, 201);
    capture(&app, &owner, &of_type("trial_started", "ada@acme.io", json!({})), 201).await;
    let deleted = app.delete(&format!("{TYPES}/trial_started"), Some(&owner)).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_problem(&app.get(&format!("{TYPES}/trial_started"), Some(&owner)).await, 404, None);
    assert_problem(&app.delete(&format!("{TYPES}/trial_started"), Some(&owner)).await, 404, None);
    let refused = app.post_json("/signals", Some(&owner), &of_type("trial_started", "bob@acme.io", json!({}))).await;
    assert_problem(&refused, 422, Some("signal_type"));
    // Its captures stay.
    assert_eq!(app.count_rows("signal_captures").await, 1);

    let deleted_events = event_types(&app, &owner, "signal_type.deleted").await;
    assert_eq!(deleted_events.len(), 1, "{deleted_events:?}");
    assert_eq!(deleted_events[0]["data"]["slug"], "trial_started");
    let created_events = event_types(&app, &owner, "signal_type.created").await;
    assert_eq!(created_events[0]["data"]["slug"], "trial_started");
}

#[tokio::test]
async fn a_type_is_named_by_its_slug_not_its_id_in_signals() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let created = create(&app, &owner, json!({ "name": "Webinar Joined" })).await;
    let id = created.body["id"].as_str().unwrap();
    let refused = app.post_json("/signals", Some(&owner), &of_type(id, "ada@acme.io", json!({}))).await;
    assert_problem(&refused, 422, Some("signal_type"));
}

#[tokio::test]
async fn a_new_workspace_cannot_take_a_builtin_slug_before_it_has_listed_its_types() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (_, other) = app.new_workspace_session(&owner, "Other").await;
    // The first call in the new workspace is a create that collides with a built-in.
    assert_problem(&create(&app, &other, json!({ "name": "Custom Event" })).await, 409, None);
    let listed = app.get(&format!("{TYPES}/custom_event"), Some(&other)).await;
    assert_eq!(listed.body["builtin"], true, "{}", listed.text);
}

#[tokio::test]
async fn a_deleted_custom_slug_can_be_declared_again() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    assert_eq!(create(&app, &owner, json!({ "name": "Trial Started" })).await.status, 201);
    assert_eq!(app.delete(&format!("{TYPES}/trial_started"), Some(&owner)).await.status, 204);
    let again = create(&app, &owner, json!({ "name": "trial-started" })).await;
    assert_eq!((again.status, again.body["slug"].clone()), (201, json!("trial_started")), "{}", again.text);
    capture(&app, &owner, &of_type("trial_started", "ada@acme.io", json!({})), 201).await;
}
