//! The Unstuck Signals API end to end: capture, lead, replay.

use serde_json::json;

use crate::helpers::{assert_problem, spawn_app};

fn body() -> serde_json::Value {
    json!({
        "signal_type": "custom_event",
        "source": "product",
        "event_name": "user_invited_teammate",
        "occurred_at": "2026-05-26T14:30:00Z",
        "identity": { "email": "Ada@Example.com", "company_domain": "https://www.example.com/pricing",
                      "first_name": "Ada" },
        "context": { "team_size": 12 }
    })
}

#[tokio::test]
async fn a_signal_is_captured_on_a_new_lead_and_a_repeat_replays_the_first_answer() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let first = app.post_json("/signals", Some(&owner), &body()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let capture = first.body["signal_capture_id"].as_str().unwrap();
    assert!(capture.starts_with("sig_capture_"), "{capture}");
    assert!(first.body["matched_record_id"].as_str().unwrap().starts_with("lead_"));
    assert_eq!(
        first.body["qualification"],
        json!({ "icp_code": null, "icp_score": null, "persona_code": null, "persona_score": null })
    );
    assert!(first.body.get("warnings").is_none());
    assert_eq!(first.header("ratelimit-limit"), Some("500"));
    assert_eq!(first.header("ratelimit-remaining"), Some("499"));

    // The same event, spelled differently (case, offset), is the same signal.
    let mut again = body();
    again["identity"]["email"] = json!("ada@example.COM");
    again["occurred_at"] = json!("2026-05-26T16:30:00+02:00");
    again["identity"]["first_name"] = json!("Augusta");
    let replay = app.post_json("/v1/signals", Some(&owner), &again).await;
    assert_eq!(replay.status, 200, "{}", replay.text);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body, first.body);
    assert_eq!(app.count_rows("signal_captures").await, 1);
    assert_eq!(app.count_rows("leads").await, 1);

    // A new idempotency key processes it again, on the same lead.
    let mut keyed = body();
    keyed["idempotency_key"] = json!("retry-1");
    keyed["extra"] = json!(true);
    let processed = app.post_json("/signals", Some(&owner), &keyed).await;
    assert_eq!(processed.status, 201, "{}", processed.text);
    assert_eq!(processed.body["matched_record_id"], first.body["matched_record_id"]);
    assert_eq!(processed.body["warnings"], json!(["unknown field \"extra\" was ignored"]));
    assert_eq!(app.count_rows("signal_captures").await, 2);
}

#[tokio::test]
async fn every_bad_field_is_listed_and_nothing_is_written() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let bad = json!({
        "signal_type": "no_such_type",
        "source": "",
        "occurred_at": "2026-05-26T14:30:00",
        "identity": { "email": "not an email", "linkedin_url": "https://example.com/in/x" },
        "context": [1, 2]
    });
    let response = app.post_json("/signals", Some(&owner), &bad).await;
    assert_problem(&response, 422, None);
    let fields: Vec<&str> =
        response.body["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
    for field in ["signal_type", "source", "occurred_at", "identity.email", "identity.linkedin_url", "context"] {
        assert!(fields.contains(&field), "{field} missing from {fields:?}");
    }
    assert_eq!(app.count_rows("signal_captures").await, 0);
    assert_eq!(app.count_rows("leads").await, 0);
}

#[tokio::test]
async fn an_action_set_on_a_signal_type_runs_when_a_matching_typed_signal_is_captured() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let actor = app.post_json("/v1/service-accounts", Some(&owner), &json!({ "name": "bot", "role": "editor" })).await;
    let flag = app.post_json("/v1/projects/default/flags", Some(&owner), &json!({ "key": "sso-upsell" })).await;
    assert_eq!(flag.status, 201, "{}", flag.text);
    let set = json!({
        "name": "upsell big teams", "actor_id": actor.body["id"],
        "match": { "source": "signal-type", "source_id": "custom_event",
                   "payload": { "context.team_size": { "operator": "NUM_GT", "values": [], "value": "10" } } },
        "actions": [{ "action": "TOGGLE_FEATURE_ON",
                      "execution_params": { "feature_name": "sso-upsell", "environment": "development" } }]
    });
    let created = app.post_json("/v1/projects/default/action-sets", Some(&owner), &set).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["match"]["source"], "signal-type");
    assert_eq!(created.body["match"]["source_id"], "custom_event");
    let mut unknown = set.clone();
    unknown["name"] = json!("unknown type");
    unknown["match"]["source_id"] = json!("no_such_type");
    assert_problem(
        &app.post_json("/v1/projects/default/action-sets", Some(&owner), &unknown).await,
        422,
        Some("match.source_id"),
    );

    let mut small = body();
    small["context"]["team_size"] = json!(3);
    small["occurred_at"] = json!("2026-05-26T14:00:00Z");
    assert_eq!(app.post_json("/signals", Some(&owner), &small).await.status, 201);
    let big = app.post_json("/signals", Some(&owner), &body()).await;
    assert_eq!(big.status, 201, "{}", big.text);
    let runs_path = format!("/v1/projects/default/action-sets/{}/runs", created.body["id"].as_str().unwrap());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let runs = loop {
        let runs = app.get(&runs_path, Some(&owner)).await.body["data"].as_array().unwrap().clone();
        if runs.iter().any(|r| r["state"] == "success") {
            break runs;
        }
        assert!(std::time::Instant::now() < deadline, "the run never finished: {runs:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(runs.len(), 1, "the small team's signal did not match: {runs:?}");
    assert_eq!(runs[0]["signal"]["id"], big.body["signal_capture_id"]);
    assert_eq!(runs[0]["signal"]["payload"]["identity"]["email"], "ada@example.com");
    let config = app.get("/v1/projects/default/flags/sso-upsell/environments/development", Some(&owner)).await;
    assert_eq!(config.body["enabled"], true);
}

#[tokio::test]
async fn a_workspace_may_set_its_own_rate_limits_within_the_servers_caps() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let above =
        app.put_json("/v1/workspace/settings", Some(&owner), &json!({ "typed_signal_rate_per_minute": 501 })).await;
    assert_problem(&above, 422, Some("typed_signal_rate_per_minute"));
    let lowered =
        app.put_json("/v1/workspace/settings", Some(&owner), &json!({ "typed_signal_rate_per_minute": 2 })).await;
    assert_eq!(lowered.status, 200, "{}", lowered.text);
    assert_eq!(lowered.body["typed_signal_rate_per_minute"], 2);
    assert_eq!(lowered.body["caps"]["typed_signal_rate_per_minute"], 500);
    for n in 0..2 {
        let mut signal = body();
        signal["idempotency_key"] = json!(format!("k{n}"));
        let response = app.post_json("/signals", Some(&owner), &signal).await;
        assert_eq!(response.status, 201, "{}", response.text);
        assert_eq!(response.header("ratelimit-limit"), Some("2"));
    }
    let refused = app.post_json("/signals", Some(&owner), &body()).await;
    assert_problem(&refused, 429, None);
    assert!(refused.header("retry-after").is_some());
    assert_eq!(refused.header("ratelimit-remaining"), Some("0"));
    assert_eq!(app.count_rows("signal_captures").await, 2);
}
