//! ICP and persona profiles, autoqualification, `signal.qualified` to a real receiver, and
//! the leads API.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, spawn_app};
use crate::webhooks::receiver::TestReceiver;
use crate::webhooks::webhook_to;

async fn profile(app: &TestApp, owner: &str, kind: &str, code: &str, rules: Value) -> Value {
    let response =
        app.post_json(&format!("/v1/{kind}-profiles"), Some(owner), &json!({ "code": code, "rules": rules })).await;
    assert_eq!(response.status, 201, "{}", response.text);
    response.body
}

async fn autoqualify(app: &TestApp, owner: &str, slug: &str) {
    let response =
        app.put_json(&format!("/v1/signal-types/{slug}"), Some(owner), &json!({ "autoqualify": true })).await;
    assert_eq!(response.status, 200, "{}", response.text);
}

fn signal(email: &str, team_size: i64) -> Value {
    json!({
        "signal_type": "product_usage", "source": "app", "event_name": "enabled_sso",
        "occurred_at": "2026-11-29T10:00:00Z",
        "identity": { "email": email, "company_domain": "acme.io", "title": "VP Engineering" },
        "context": { "team_size": team_size, "plan_tier": "free" }
    })
}

#[tokio::test]
async fn profiles_refuse_bad_rules_naming_each_with_line_and_column_and_store_nothing() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let bad = json!({ "code": "", "rules": [
        { "condition": "signals.context.team_size >", "weight": 10 },
        { "condition": "true", "weight": 0 },
        { "condition": "true", "weight": 101 } ] });
    let response = app.post_json("/v1/icp-profiles", Some(&owner), &bad).await;
    assert_problem(&response, 422, Some("code"));
    assert_problem(&response, 422, Some("rules[0].condition"));
    assert_problem(&response, 422, Some("rules[1].weight"));
    assert_problem(&response, 422, Some("rules[2].weight"));
    let message = response.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["field"] == "rules[0].condition")
        .unwrap()["message"]
        .as_str()
        .unwrap();
    assert!(message.contains("line 1, column"), "{message}");
    assert_problem(
        &app.post_json("/v1/persona-profiles", Some(&owner), &json!({ "code": "x", "rules": [] })).await,
        422,
        Some("rules"),
    );
    assert_eq!(app.count_rows("qualification_profiles").await, 0);

    let rules = json!([{ "condition": "true", "weight": 1 }]);
    profile(&app, &owner, "icp", "SaaS", rules.clone()).await;
    let taken = app.post_json("/v1/icp-profiles", Some(&owner), &json!({ "code": "SaaS", "rules": rules })).await;
    assert_problem(&taken, 409, None);
    // The same code is fine for the other kind.
    profile(&app, &owner, "persona", "SaaS", rules).await;
    let (_, _, editor) = app.user_with_role(&owner, "editor").await;
    assert_eq!(app.get("/v1/icp-profiles", Some(&editor)).await.status, 403);
}

#[tokio::test]
async fn autoqualify_scores_the_best_profiles_and_a_qualifying_capture_reaches_the_webhook() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let receiver = TestReceiver::start().await;
    webhook_to(&app, &owner, &receiver.url(), json!({ "events": ["signal.qualified"] })).await;
    // 30 + 50 of 100 when the team is big (80), 30 of 100 otherwise.
    profile(
        &app,
        &owner,
        "icp",
        "Mid-market SaaS",
        json!([
        { "condition": "identity.company_domain.endsWith('.io')", "weight": 30 },
        { "condition": "signals.context.team_size > 10", "weight": 50 },
        { "condition": "signals.context.missing_field > 1", "weight": 20 } ]),
    )
    .await;
    profile(
        &app,
        &owner,
        "icp",
        "Enterprise",
        json!([{ "condition": "signals.context.team_size > 1000", "weight": 1 }]),
    )
    .await;
    // Two personas tie at 100: the alphabetically first code wins.
    profile(
        &app,
        &owner,
        "persona",
        "VP Engineering",
        json!([{ "condition": "identity.title.contains('VP')", "weight": 5 }]),
    )
    .await;
    profile(
        &app,
        &owner,
        "persona",
        "Technical buyer",
        json!([{ "condition": "lead.capture_count >= 1", "weight": 5 }]),
    )
    .await;

    let off = app.post_json("/signals", Some(&owner), &signal("a@acme.io", 12)).await;
    assert_eq!(off.status, 201, "{}", off.text);
    assert_eq!(off.body["qualification"]["icp_score"], Value::Null, "autoqualify is off by default");

    autoqualify(&app, &owner, "product_usage").await;
    let big = app.post_json("/signals", Some(&owner), &signal("b@acme.io", 12)).await;
    assert_eq!(big.status, 201, "{}", big.text);
    assert_eq!(
        big.body["qualification"],
        json!({ "icp_code": "Mid-market SaaS", "icp_score": 80, "persona_code": "Technical buyer", "persona_score": 100 })
    );
    let small = app.post_json("/signals", Some(&owner), &signal("c@acme.io", 3)).await;
    assert_eq!(small.body["qualification"]["icp_score"], 30, "{}", small.text);

    // Only the capture that reached the threshold (60) is announced.
    let deliveries = receiver.wait_for(1).await;
    let event: Value = serde_json::from_slice(&deliveries[0].body).unwrap();
    assert_eq!(event["type"], "signal.qualified");
    assert_eq!(event["data"]["signal_capture_id"], big.body["signal_capture_id"]);
    assert_eq!(event["data"]["matched_record_id"], big.body["matched_record_id"]);
    assert_eq!(event["data"]["qualification"], big.body["qualification"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1, "the small one did not qualify");

    // The lead keeps its latest qualification; the leads API filters on it.
    let lead_id = big.body["matched_record_id"].as_str().unwrap();
    let lead = app.get(&format!("/v1/leads/{lead_id}"), Some(&owner)).await;
    assert_eq!(lead.status, 200, "{}", lead.text);
    assert_eq!(lead.body["qualification"]["icp_score"], 80);
    assert_eq!(lead.body["captures"][0]["id"], big.body["signal_capture_id"]);
    let qualified = app.get("/v1/leads?min_score=60&icp_code=Mid-market%20SaaS", Some(&owner)).await;
    let ids: Vec<&str> = qualified.body["data"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [lead_id]);
    let searched = app.get("/v1/leads?q=ACME", Some(&owner)).await;
    assert_eq!(searched.body["total"], 3);
    let capture = app
        .get(&format!("/v1/signal-captures/{}", big.body["signal_capture_id"].as_str().unwrap()), Some(&owner))
        .await;
    assert_eq!(capture.status, 200, "{}", capture.text);
    assert_eq!(capture.body["identity"]["email"], "b@acme.io");
    assert_eq!(capture.body["context"]["team_size"], 12);
}

async fn qualified_events(app: &TestApp, owner: &str) -> usize {
    app.get("/v1/events?type=signal.qualified", Some(owner)).await.body["data"].as_array().unwrap().len()
}

#[tokio::test]
async fn qualifying_later_scores_a_lead_with_its_latest_capture_against_the_workspace_threshold() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let captured = app.post_json("/signals", Some(&owner), &signal("d@acme.io", 12)).await;
    let lead_id = captured.body["matched_record_id"].as_str().unwrap().to_owned();
    profile(
        &app,
        &owner,
        "icp",
        "Big teams",
        json!([
        { "condition": "signals.context.team_size > 10", "weight": 50 },
        { "condition": "signals.context.plan_tier == 'paid'", "weight": 50 } ]),
    )
    .await;

    let qualified = app.post_json(&format!("/v1/leads/{lead_id}/qualify"), Some(&owner), &json!({})).await;
    assert_eq!(qualified.status, 200, "{}", qualified.text);
    assert_eq!(qualified.body["qualification"]["icp_code"], "Big teams");
    assert_eq!(qualified.body["qualification"]["icp_score"], 50);
    assert_eq!(qualified.body["qualification"]["persona_code"], Value::Null, "no persona profiles");
    assert_eq!(qualified_events(&app, &owner).await, 0, "50 is under the default threshold of 60");

    let lowered = app.put_json("/v1/workspace/settings", Some(&owner), &json!({ "qualification_threshold": 50 })).await;
    assert_eq!(lowered.status, 200, "{}", lowered.text);
    app.post_json(&format!("/v1/leads/{lead_id}/qualify"), Some(&owner), &json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while qualified_events(&app, &owner).await != 1 {
        assert!(Instant::now() < deadline, "signal.qualified was not written");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, _, viewer) = app.user_with_role(&owner, "viewer").await;
    assert_eq!(app.post_json(&format!("/v1/leads/{lead_id}/qualify"), Some(&viewer), &json!({})).await.status, 403);
    assert_eq!(app.get(&format!("/v1/leads/{lead_id}"), Some(&viewer)).await.status, 200);
    assert_problem(&app.get("/v1/leads/lead_nope", Some(&owner)).await, 404, None);
}
