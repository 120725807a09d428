//! What happens when signals arrive: matching, runs in order, fail-fast, the actor's role,
//! approvals, the kill switch, the storm guard, restarts and two nodes.

use std::time::Duration;

use serde_json::{Value, json};

use super::{FLAGS, Fixture, SETS, flag, open_runs, service_account, toggle};
use crate::helpers::TestApp;

async fn events_of(app: &TestApp, owner: &str, event_type: &str) -> Vec<Value> {
    let response = app.get(&format!("/v1/events?type={event_type}&limit=100"), Some(owner)).await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.body["data"].as_array().unwrap().clone()
}

async fn execute_sql(app: &TestApp, sql: &'static str, id: &str) {
    signalbox_server::on_write!(&app.db, |pool| sqlx::query(sql).bind(id).execute(pool).await.map(|_| ())).unwrap();
}

#[tokio::test]
async fn a_matching_signal_runs_the_actions_and_the_run_log_records_it() {
    let f = Fixture::new().await;
    let body = f.set_body(
        "enable on critical",
        json!({ "labels.severity": { "operator": "IN", "values": ["critical"] } }),
        json!([toggle("TOGGLE_FEATURE_ON", "checkout", "development")]),
    );
    let set = f.action_set(&body).await;
    let set_id = set["id"].as_str().unwrap();

    f.signal(&json!({ "labels": { "severity": "info" } })).await;
    f.settled().await;
    assert!(f.runs(set_id).await.is_empty(), "a signal that does not match leaves no run");
    assert!(!f.enabled("checkout", "development").await);

    let signal_id = f.signal(&json!({ "labels": { "severity": "critical" }, "n": 1 })).await;
    let runs = f.finished_runs(set_id, 1).await;
    assert!(f.enabled("checkout", "development").await);
    let run = &runs[0];
    assert_eq!(run["state"], "success", "{run}");
    assert_eq!(run["signal"]["id"], signal_id.as_str());
    assert_eq!(run["signal"]["payload"], json!({ "labels": { "severity": "critical" }, "n": 1 }));
    assert_eq!(run["signal"]["source_name"], "alerts");
    assert_eq!(run["action_set"]["name"], "enable on critical");
    let action = &run["action_set"]["actions"][0];
    assert_eq!(action["state"], "success");
    assert_eq!(action["details"], "checkout enabled in development");

    let succeeded = events_of(&f.app, &f.owner, "action.succeeded").await;
    assert_eq!(succeeded.len(), 1);
    assert_eq!(succeeded[0]["actor_id"], f.actor_id.as_str());
    assert_eq!(succeeded[0]["data"]["action"], "TOGGLE_FEATURE_ON");
    let updated = events_of(&f.app, &f.owner, "flag.updated").await;
    assert_eq!(updated[0]["actor_id"], f.actor_id.as_str(), "the change is the actor's");
}

#[tokio::test]
async fn actions_run_in_order_and_stop_at_the_first_failure() {
    let f = Fixture::new().await;
    flag(&f.app, &f.owner, "banner").await;
    flag(&f.app, &f.owner, "search").await;
    // `checkout` is killed: enabling it must fail and stop the run there.
    let killed =
        f.app.post_json(&format!("{FLAGS}/checkout/kill"), Some(&f.owner), &json!({ "reason": "incident 42" })).await;
    assert_eq!(killed.status, 200, "{}", killed.text);
    let body = f.set_body(
        "three steps",
        json!({}),
        json!([
            toggle("TOGGLE_FEATURE_ON", "banner", "development"),
            toggle("TOGGLE_FEATURE_ON", "checkout", "development"),
            toggle("TOGGLE_FEATURE_ON", "search", "development"),
        ]),
    );
    let set = f.action_set(&body).await;
    f.signal(&json!({})).await;
    let runs = f.finished_runs(set["id"].as_str().unwrap(), 1).await;
    let run = &runs[0];
    assert_eq!(run["state"], "failed", "{run}");
    let actions = run["action_set"]["actions"].as_array().unwrap();
    assert_eq!(actions[0]["state"], "success");
    assert_eq!(actions[1]["state"], "failed");
    assert!(actions[1]["details"].as_str().unwrap().starts_with("flag-killed"), "{}", actions[1]);
    assert_eq!(actions[2]["state"], "not started");
    assert!(f.enabled("banner", "development").await);
    assert!(!f.enabled("checkout", "development").await);
    assert!(!f.enabled("search", "development").await, "nothing runs after a failure");
    let failed = events_of(&f.app, &f.owner, "action.failed").await;
    assert_eq!(failed.len(), 1);
    assert!(failed[0]["data"]["error"].as_str().unwrap().contains("killed"), "{}", failed[0]);
}

#[tokio::test]
async fn an_actor_without_permission_fails_the_action_with_the_reason() {
    let f = Fixture::new().await;
    let viewer = service_account(&f.app, &f.owner, "watcher", "viewer").await;
    let mut body = f.set_body("as viewer", json!({}), json!([toggle("TOGGLE_FEATURE_ON", "checkout", "development")]));
    body["actor_id"] = json!(viewer);
    let set = f.action_set(&body).await;
    f.signal(&json!({})).await;
    let runs = f.finished_runs(set["id"].as_str().unwrap(), 1).await;
    assert_eq!(runs[0]["state"], "failed");
    let details = runs[0]["action_set"]["actions"][0]["details"].as_str().unwrap();
    assert!(details.starts_with("forbidden") && details.contains("editor"), "{details}");
    assert!(!f.enabled("checkout", "development").await);
}

#[tokio::test]
async fn a_toggle_into_a_protected_environment_opens_a_change_request_and_a_kill_applies_at_once() {
    let f = Fixture::new().await;
    let protect = json!({ "requires_approval": true, "approvals_required": 1 });
    assert_eq!(f.app.put_json("/v1/environments/production", Some(&f.owner), &protect).await.status, 200);
    flag(&f.app, &f.owner, "payments").await;
    let toggle_set = f
        .action_set(&f.set_body(
            "enable in production",
            json!({ "kind": { "operator": "IN", "values": ["enable"] } }),
            json!([toggle("TOGGLE_FEATURE_ON", "checkout", "production")]),
        ))
        .await;
    let kill_set = f
        .action_set(&f.set_body(
            "kill payments",
            json!({ "kind": { "operator": "IN", "values": ["kill"] } }),
            json!([{ "action": "KILL_FEATURE", "execution_params": { "feature_name": "payments" } }]),
        ))
        .await;

    f.signal(&json!({ "kind": "enable" })).await;
    let runs = f.finished_runs(toggle_set["id"].as_str().unwrap(), 1).await;
    assert_eq!(runs[0]["state"], "success", "{}", runs[0]);
    let action = &runs[0]["action_set"]["actions"][0];
    let request_id = action["change_request_id"].as_str().expect("the change request's id");
    let request = f.app.get(&format!("/v1/change-requests/{request_id}"), Some(&f.owner)).await;
    assert_eq!(request.status, 200, "{}", request.text);
    assert_eq!(request.body["state"], "open");
    assert!(!f.enabled("checkout", "production").await, "waits for approval");

    f.signal(&json!({ "kind": "kill" })).await;
    let runs = f.finished_runs(kill_set["id"].as_str().unwrap(), 1).await;
    assert_eq!(runs[0]["state"], "success", "{}", runs[0]);
    let payments = f.app.get(&format!("{FLAGS}/payments"), Some(&f.owner)).await;
    let production =
        payments.body["environments"].as_array().unwrap().iter().find(|e| e["environment"] == "production");
    let kill = &production.unwrap()["killed"];
    let run_int: i64 = {
        let events = events_of(&f.app, &f.owner, "action.succeeded").await;
        events.iter().find(|e| e["data"]["action"] == "KILL_FEATURE").unwrap()["data"]["run_id"].as_i64().unwrap()
    };
    assert_eq!(kill["reason"], format!("action set kill payments, run {run_int}"), "the default reason: {kill}");
    assert_eq!(kill["by"], f.actor_id.as_str());
}

#[tokio::test]
async fn a_cel_condition_decides_what_the_operators_cannot() {
    let f = Fixture::new().await;
    let mut body =
        f.set_body("errors spike", json!({}), json!([toggle("TOGGLE_FEATURE_ON", "checkout", "development")]));
    body["condition"] = json!("payload.errors > payload.threshold * 2");
    let set = f.action_set(&body).await;
    f.signal(&json!({ "errors": 10, "threshold": 6 })).await;
    f.signal(&json!({ "threshold": 6 })).await;
    f.settled().await;
    assert!(f.runs(set["id"].as_str().unwrap()).await.is_empty());
    f.signal(&json!({ "errors": 13, "threshold": 6 })).await;
    let runs = f.finished_runs(set["id"].as_str().unwrap(), 1).await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["signal"]["payload"]["errors"], 13);
}

#[tokio::test]
async fn the_storm_guard_skips_runs_beyond_the_limit_per_minute_and_says_why() {
    let f = Fixture::with(|c| c.actions.action_runs_per_minute = 2).await;
    let set = f
        .action_set(&f.set_body("stormy", json!({}), json!([toggle("TOGGLE_FEATURE_ON", "checkout", "development")])))
        .await;
    let set_id = set["id"].as_str().unwrap();
    for n in 0..4 {
        f.signal(&json!({ "n": n })).await;
    }
    let runs = f.finished_runs(set_id, 4).await;
    let states: Vec<&str> = runs.iter().map(|r| r["state"].as_str().unwrap()).collect();
    assert_eq!(states.iter().filter(|s| **s == "success").count(), 2, "{states:?}");
    let skipped: Vec<&Value> = runs.iter().filter(|r| r["state"] == "skipped").collect();
    assert_eq!(skipped.len(), 2, "{states:?}");
    assert!(skipped[0]["detail"].as_str().unwrap().contains("storm guard"), "{}", skipped[0]);
    assert_eq!(skipped[0]["action_set"]["actions"][0]["state"], "not started");

    // A minute later the guard lets runs through again.
    f.app.advance(Duration::from_secs(61));
    f.signal(&json!({ "n": 5 })).await;
    let runs = f.finished_runs(set_id, 5).await;
    assert_eq!(runs[0]["state"], "success", "{}", runs[0]);
}

#[tokio::test]
async fn a_run_cut_off_by_a_crash_resumes_after_a_restart_without_repeating_an_action() {
    let f = Fixture::new().await;
    flag(&f.app, &f.owner, "banner").await;
    let set = f
        .action_set(&f.set_body(
            "two steps",
            json!({}),
            json!([
                toggle("TOGGLE_FEATURE_OFF", "banner", "development"),
                toggle("TOGGLE_FEATURE_ON", "checkout", "development"),
            ]),
        ))
        .await;
    let set_id = set["id"].as_str().unwrap().to_owned();
    f.signal(&json!({})).await;
    let runs = f.finished_runs(&set_id, 1).await;
    let run_id = runs[0]["id"].as_str().unwrap().to_owned();

    // As if the node had crashed after the first action's commit: the run is still started,
    // at action 1, with a lease that has run out.
    execute_sql(
        &f.app,
        "UPDATE action_runs SET state = 'started', next_action = 1, finished_at = NULL, \
         lease_until = '2000-01-01T00:00:00.000000Z' WHERE id = $1",
        &run_id,
    )
    .await;
    assert_eq!(
        f.app
            .post_json(&format!("{FLAGS}/banner/environments/development/on"), Some(&f.owner), &json!({}))
            .await
            .status,
        200
    );
    assert_eq!(
        f.app
            .post_json(&format!("{FLAGS}/checkout/environments/development/off"), Some(&f.owner), &json!({}))
            .await
            .status,
        200
    );

    let Fixture { app, owner, endpoint_id, endpoint_name, token, actor_id } = f;
    let app = app.restart().await;
    let f = Fixture { app, owner: String::new(), endpoint_id, endpoint_name, token, actor_id };
    let f = Fixture { owner: f.app.login_owner().await, ..f };
    let _ = owner;
    let runs = f.finished_runs(&set_id, 1).await;
    assert_eq!(runs[0]["state"], "success", "{}", runs[0]);
    assert!(f.enabled("checkout", "development").await, "the second action ran after the restart");
    assert!(f.enabled("banner", "development").await, "the first action did not run again");
    assert_eq!(runs[0]["action_set"]["actions"][0]["state"], "success");

    // A signal committed just before a crash (its run still pending) runs after a restart.
    execute_sql(
        &f.app,
        "UPDATE action_runs SET state = 'pending', next_action = 0, action_set = NULL, started_at = NULL, \
         finished_at = NULL, lease_until = NULL WHERE id = $1",
        &run_id,
    )
    .await;
    let Fixture { app, endpoint_id, endpoint_name, token, actor_id, .. } = f;
    let app = app.restart().await;
    let owner = app.login_owner().await;
    let f = Fixture { app, owner, endpoint_id, endpoint_name, token, actor_id };
    let runs = f.finished_runs(&set_id, 1).await;
    assert_eq!(runs[0]["state"], "success", "{}", runs[0]);
    assert!(!f.enabled("banner", "development").await, "the pending run ran from its first action");
    assert_eq!(open_runs(&f.app).await, 0);
}

#[tokio::test]
async fn two_servers_on_postgres_run_each_run_once() {
    let f = Fixture::new().await;
    if !f.app.on_postgres() {
        return; // several nodes need a shared Postgres database
    }
    let other = f.app.another_node().await;
    let set = f
        .action_set(&f.set_body(
            "every signal",
            json!({}),
            json!([toggle("TOGGLE_FEATURE_ON", "checkout", "development")]),
        ))
        .await;
    // Both nodes must know the set before signals arrive there.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for n in 0..20 {
        let node = if n % 2 == 0 { &f.app } else { &other };
        let response = node.send_signal(&f.endpoint_name, &f.token, &json!({ "n": n })).await;
        assert_eq!(response.status, 202, "{}", response.text);
    }
    let runs = f.finished_runs(set["id"].as_str().unwrap(), 20).await;
    assert_eq!(runs.len(), 20);
    assert!(runs.iter().all(|r| r["state"] == "success"), "{runs:?}");
    let succeeded = events_of(&f.app, &f.owner, "action.succeeded").await;
    assert_eq!(succeeded.len(), 20, "each run's action happened exactly once");
    let _ = SETS;
}

#[tokio::test]
async fn run_retention_deletes_finished_runs_past_it_and_keeps_newer_ones() {
    use signalbox_server::ops::maintenance::{Retention, prune_once};
    let f = Fixture::with(|c| c.actions.run_retention = Some(Duration::from_secs(3600))).await;
    let set = f
        .action_set(&f.set_body(
            "kept for an hour",
            json!({}),
            json!([toggle("TOGGLE_FEATURE_ON", "checkout", "development")]),
        ))
        .await;
    let set_id = set["id"].as_str().unwrap();
    f.signal(&json!({ "n": 1 })).await;
    f.finished_runs(set_id, 1).await;
    f.app.advance(Duration::from_secs(2 * 3600));
    f.signal(&json!({ "n": 2 })).await;
    f.finished_runs(set_id, 2).await;

    let retention = Retention::from_config(&f.app.config);
    let pruned = prune_once(&f.app.db, signalbox_core::Clock::now(f.app.clock.as_ref()), retention).await.unwrap();
    assert_eq!(pruned.action_runs, 1);
    let runs = f.runs(set_id).await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["signal"]["payload"]["n"], 2, "the newer run stays");
}
