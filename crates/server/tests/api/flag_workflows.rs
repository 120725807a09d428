//! Segments, promotion, change requests and scheduled toggles (issue 6), with the seed
//! events they emit delivered to a real receiver.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, spawn_app};
use crate::webhooks::receiver::TestReceiver;
use crate::webhooks::webhook_to;

const FLAGS: &str = "/v1/projects/default/flags";

async fn flag(app: &TestApp, token: &str, key: &str) {
    let response = app.post_json(FLAGS, Some(token), &json!({ "key": key })).await;
    assert_eq!(response.status, 201, "{}", response.text);
}

fn config(flag: &str, environment: &str) -> String {
    format!("{FLAGS}/{flag}/environments/{environment}")
}

async fn protect(app: &TestApp, token: &str, environment: &str, approvals: i64) {
    let body = json!({ "requires_approval": true, "approvals_required": approvals });
    let response = app.put_json(&format!("/v1/environments/{environment}"), Some(token), &body).await;
    assert_eq!(response.status, 200, "{}", response.text);
}

async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done().await {
        assert!(Instant::now() < deadline, "{what} never happened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn segments_are_checked_and_strategies_may_use_only_existing_ones() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    flag(&app, &owner, "segmented").await;
    let bad =
        json!({ "name": "beta", "constraints": [{ "contextName": "v", "operator": "SEMVER_GT", "value": "one" }] });
    assert_problem(&app.post_json("/v1/segments", Some(&owner), &bad).await, 422, Some("constraints[0].value"));
    assert_eq!(app.count_rows("segments").await, 0);
    let body =
        json!({ "name": "beta", "constraints": [{ "contextName": "userId", "operator": "IN", "values": ["1", "2"] }] });
    let segment = app.post_json("/v1/segments", Some(&owner), &body).await;
    assert_eq!(segment.status, 201, "{}", segment.text);
    let id = segment.body["id"].as_i64().unwrap();
    assert_problem(&app.post_json("/v1/segments", Some(&owner), &body).await, 409, None);

    app.post_json("/v1/projects", Some(&owner), &json!({ "key": "other" })).await;
    let scoped = app
        .post_json("/v1/segments", Some(&owner), &json!({ "name": "scoped", "project": "other", "constraints": [] }))
        .await;
    let scoped_id = scoped.body["id"].as_i64().unwrap();

    let path = config("segmented", "development");
    let uses = |segments: Vec<i64>| json!({ "strategies": [{ "name": "default", "segments": segments }] });
    assert_eq!(app.put_json(&path, Some(&owner), &uses(vec![id])).await.status, 200);
    assert_problem(
        &app.put_json(&path, Some(&owner), &uses(vec![id, 999])).await,
        422,
        Some("strategies[0].segments[1]"),
    );
    assert_problem(
        &app.put_json(&path, Some(&owner), &uses(vec![scoped_id])).await,
        422,
        Some("strategies[0].segments[0]"),
    );
    assert_problem(&app.delete(&format!("/v1/segments/{id}"), Some(&owner)).await, 409, None);
    assert_eq!(app.put_json(&path, Some(&owner), &uses(vec![])).await.status, 200);
    assert_eq!(app.delete(&format!("/v1/segments/{id}"), Some(&owner)).await.status, 204);
}

#[tokio::test]
async fn promotion_copies_the_configuration_and_goes_through_approval_when_required() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    flag(&app, &owner, "promoted").await;
    let strategies = json!([{ "name": "flexibleRollout", "parameters": { "rollout": "30", "stickiness": "default", "groupId": "promoted" } }]);
    let dev = app
        .put_json(
            &config("promoted", "development"),
            Some(&owner),
            &json!({ "enabled": true, "strategies": strategies }),
        )
        .await;
    assert_eq!(dev.status, 200, "{}", dev.text);
    let promote = format!("{FLAGS}/promoted/promote");
    assert_problem(
        &app.post_json(&promote, Some(&owner), &json!({ "from": "development", "to": "development" })).await,
        422,
        Some("to"),
    );
    assert_problem(
        &app.post_json(&promote, Some(&owner), &json!({ "from": "moon", "to": "production" })).await,
        422,
        Some("from"),
    );

    let promoted = app.post_json(&promote, Some(&owner), &json!({ "from": "development", "to": "production" })).await;
    assert_eq!(promoted.status, 200, "{}", promoted.text);
    assert_eq!(promoted.body["enabled"], true);
    assert_eq!(promoted.body["strategies"][0]["parameters"]["rollout"], "30");
    let events = app.get("/v1/events?type=flag.promoted", Some(&owner)).await;
    assert_eq!(
        (events.body["data"][0]["data"]["from"].clone(), events.body["data"][0]["data"]["to"].clone()),
        (json!("development"), json!("production"))
    );

    protect(&app, &owner, "production", 1).await;
    app.put_json(&config("promoted", "development"), Some(&owner), &json!({ "enabled": false })).await;
    let requested = app.post_json(&promote, Some(&owner), &json!({ "from": "development", "to": "production" })).await;
    assert_eq!(requested.status, 202, "{}", requested.text);
    let request = &requested.body["change_request"];
    assert_eq!((request["kind"].clone(), request["state"].clone()), (json!("promotion"), json!("open")));
    assert_eq!(
        requested.header("location").unwrap(),
        format!("/v1/change-requests/{}", request["id"].as_str().unwrap())
    );
    assert_eq!(app.get(&config("promoted", "production"), Some(&owner)).await.body["enabled"], true, "not applied yet");
}

#[tokio::test]
async fn a_change_request_is_approved_by_someone_else_then_applied_once() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (_, _, editor) = app.user_with_role(&owner, "editor").await;
    let (_, _, admin) = app.user_with_role(&owner, "admin").await;
    flag(&app, &owner, "guarded").await;
    protect(&app, &owner, "production", 1).await;

    let requested = app.post_json(&format!("{}/on", config("guarded", "production")), Some(&editor), &json!({})).await;
    assert_eq!(requested.status, 202, "{}", requested.text);
    let id = requested.body["change_request"]["id"].as_str().unwrap().to_owned();
    let cr_path = format!("/v1/change-requests/{id}");
    let detail = app.get(&cr_path, Some(&owner)).await;
    assert_eq!(
        (detail.body["diff"]["before"]["enabled"].clone(), detail.body["diff"]["after"]["enabled"].clone()),
        (json!(false), json!(true))
    );
    assert_problem(&app.post_json(&format!("{cr_path}/apply"), Some(&editor), &json!({})).await, 409, None);
    assert_problem(&app.post_json(&format!("{cr_path}/approve"), Some(&editor), &json!({})).await, 403, None);
    let (_, _, author_admin) = app.user_with_role(&owner, "admin").await;
    let own = app.post_json(&format!("{}/off", config("guarded", "production")), Some(&author_admin), &json!({})).await;
    let own_id = own.body["change_request"]["id"].as_str().unwrap();
    assert_problem(
        &app.post_json(&format!("/v1/change-requests/{own_id}/approve"), Some(&author_admin), &json!({})).await,
        403,
        None,
    );

    let approved = app.post_json(&format!("{cr_path}/approve"), Some(&admin), &json!({})).await;
    assert_eq!(approved.body["state"], "approved", "{}", approved.text);
    let applied = app.post_json(&format!("{cr_path}/apply"), Some(&editor), &json!({})).await;
    assert_eq!(applied.status, 200, "{}", applied.text);
    assert_eq!(applied.body["state"], "applied");
    assert_eq!(app.get(&config("guarded", "production"), Some(&owner)).await.body["enabled"], true);
    assert_problem(&app.post_json(&format!("{cr_path}/apply"), Some(&editor), &json!({})).await, 409, None);

    let listed = app.get("/v1/change-requests?state=applied&environment=production", Some(&owner)).await;
    assert_eq!(listed.body["total"], 1);
}

#[tokio::test]
async fn applying_refuses_a_change_whose_configuration_moved_and_rejected_or_cancelled_ones() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (_, _, admin) = app.user_with_role(&owner, "admin").await;
    flag(&app, &owner, "contested").await;
    protect(&app, &owner, "production", 1).await;
    let ask = |body: Value| {
        let app = &app;
        let owner = owner.clone();
        async move {
            let response = app.put_json(&config("contested", "production"), Some(&owner), &body).await;
            assert_eq!(response.status, 202, "{}", response.text);
            response.body["change_request"]["id"].as_str().unwrap().to_owned()
        }
    };
    let first = ask(json!({ "enabled": true })).await;
    let second = ask(json!({ "strategies": [{ "name": "default" }] })).await;
    for id in [&first, &second] {
        app.post_json(&format!("/v1/change-requests/{id}/approve"), Some(&admin), &json!({})).await;
    }
    assert_eq!(
        app.post_json(&format!("/v1/change-requests/{first}/apply"), Some(&owner), &json!({})).await.status,
        200
    );
    let conflict = app.post_json(&format!("/v1/change-requests/{second}/apply"), Some(&owner), &json!({})).await;
    assert_problem(&conflict, 409, None);
    assert!(conflict.body["detail"].as_str().unwrap().contains("changed since"), "{}", conflict.text);
    assert_eq!(app.get(&format!("/v1/change-requests/{second}"), Some(&owner)).await.body["state"], "approved");

    let rejected = ask(json!({ "enabled": false })).await;
    assert_problem(
        &app.post_json(&format!("/v1/change-requests/{rejected}/reject"), Some(&admin), &json!({ "comment": "" }))
            .await,
        422,
        Some("comment"),
    );
    let done = app
        .post_json(&format!("/v1/change-requests/{rejected}/reject"), Some(&admin), &json!({ "comment": "not now" }))
        .await;
    assert_eq!((done.body["state"].clone(), done.body["comment"].clone()), (json!("rejected"), json!("not now")));
    assert_problem(
        &app.post_json(&format!("/v1/change-requests/{rejected}/approve"), Some(&admin), &json!({})).await,
        409,
        None,
    );

    let cancelled = ask(json!({ "enabled": false })).await;
    assert_problem(
        &app.post_json(&format!("/v1/change-requests/{cancelled}/cancel"), Some(&admin), &json!({})).await,
        403,
        None,
    );
    let by_author = app.post_json(&format!("/v1/change-requests/{cancelled}/cancel"), Some(&owner), &json!({})).await;
    assert_eq!(by_author.body["state"], "cancelled");
}

#[tokio::test]
async fn the_kill_switch_bypasses_approval_and_blocks_an_approved_enable() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (_, _, admin) = app.user_with_role(&owner, "admin").await;
    flag(&app, &owner, "fragile").await;
    protect(&app, &owner, "production", 1).await;
    let requested = app.post_json(&format!("{}/on", config("fragile", "production")), Some(&owner), &json!({})).await;
    let id = requested.body["change_request"]["id"].as_str().unwrap().to_owned();
    app.post_json(&format!("/v1/change-requests/{id}/approve"), Some(&admin), &json!({})).await;
    let kill = json!({ "reason": "outage", "environments": ["production"] });
    let killed = app.post_json(&format!("{FLAGS}/fragile/kill"), Some(&owner), &kill).await;
    assert_eq!(killed.status, 200, "the kill switch needs no approval: {}", killed.text);
    let apply = app.post_json(&format!("/v1/change-requests/{id}/apply"), Some(&owner), &json!({})).await;
    assert_problem(&apply, 409, None);
    assert!(apply.body["type"].as_str().unwrap().ends_with("flag-killed"));
    let schedule = json!({ "environment": "production", "enabled": true, "at": app.clock_now_plus(60) });
    assert_problem(&app.post_json(&format!("{FLAGS}/fragile/schedules"), Some(&owner), &schedule).await, 409, None);
    let promote = json!({ "from": "development", "to": "production" });
    assert_eq!(
        app.post_json(&format!("{}/on", config("fragile", "development")), Some(&owner), &json!({})).await.status,
        200
    );
    assert_problem(&app.post_json(&format!("{FLAGS}/fragile/promote"), Some(&owner), &promote).await, 409, None);
}

#[tokio::test]
async fn a_schedule_runs_once_at_its_time_and_can_be_cancelled_before() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    flag(&app, &owner, "timed").await;
    let schedules = format!("{FLAGS}/timed/schedules");
    let past = json!({ "environment": "production", "enabled": true, "at": "2020-01-01T00:00:00Z" });
    assert_problem(&app.post_json(&schedules, Some(&owner), &past).await, 422, Some("at"));
    assert_problem(
        &app.post_json(
            &schedules,
            Some(&owner),
            &json!({ "environment": "moon", "enabled": true, "at": app.clock_now_plus(60) }),
        )
        .await,
        422,
        Some("environment"),
    );
    let created = app
        .post_json(
            &schedules,
            Some(&owner),
            &json!({ "environment": "production", "enabled": true, "at": app.clock_now_plus(60) }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["state"], "pending");
    let cancel_me = app
        .post_json(
            &schedules,
            Some(&owner),
            &json!({ "environment": "development", "enabled": true, "at": app.clock_now_plus(60) }),
        )
        .await;
    let cancel_path = format!("{schedules}/{}", cancel_me.body["id"].as_str().unwrap());
    assert_eq!(app.delete(&cancel_path, Some(&owner)).await.status, 204);
    assert_problem(&app.delete(&cancel_path, Some(&owner)).await, 409, None);

    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        app.get(&config("timed", "production"), Some(&owner)).await.body["enabled"],
        false,
        "not before its time"
    );
    app.advance(Duration::from_secs(61));
    wait_until("the schedule ran", async || {
        app.get(&config("timed", "production"), Some(&owner)).await.body["enabled"] == true
    })
    .await;
    let listed = app.get(&schedules, Some(&owner)).await;
    let states: Vec<&str> =
        listed.body["data"].as_array().unwrap().iter().map(|s| s["state"].as_str().unwrap()).collect();
    assert!(states.contains(&"done") && states.contains(&"cancelled"), "{states:?}");
    assert_eq!(app.get(&config("timed", "development"), Some(&owner)).await.body["enabled"], false);
    let events = app.get("/v1/events?type=flag.scheduled_toggle", Some(&owner)).await;
    assert_eq!(events.body["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_schedule_missed_while_the_server_was_down_runs_at_start() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    flag(&app, &owner, "missed").await;
    let body = json!({ "environment": "production", "enabled": true, "at": app.clock_now_plus(60) });
    assert_eq!(app.post_json(&format!("{FLAGS}/missed/schedules"), Some(&owner), &body).await.status, 201);
    let app = app.restart_later(Duration::from_secs(3600)).await;
    let owner = app.login_owner().await;
    wait_until("the missed schedule ran", async || {
        app.get(&config("missed", "production"), Some(&owner)).await.body["enabled"] == true
    })
    .await;
}

#[tokio::test]
async fn a_schedule_into_a_protected_environment_waits_for_approval_then_runs_without_another() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (_, _, admin) = app.user_with_role(&owner, "admin").await;
    flag(&app, &owner, "planned").await;
    protect(&app, &owner, "production", 1).await;
    let body = json!({ "environment": "production", "enabled": true, "at": app.clock_now_plus(60) });
    let requested = app.post_json(&format!("{FLAGS}/planned/schedules"), Some(&owner), &body).await;
    assert_eq!(requested.status, 202, "{}", requested.text);
    let request = requested.body["change_request"].clone();
    assert_eq!(request["kind"], "schedule");
    let listed = app.get(&format!("{FLAGS}/planned/schedules"), Some(&owner)).await;
    assert_eq!(listed.body["data"][0]["state"], "awaiting_approval");

    app.advance(Duration::from_secs(120));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        app.get(&config("planned", "production"), Some(&owner)).await.body["enabled"],
        false,
        "not without approval"
    );
    let id = request["id"].as_str().unwrap();
    app.post_json(&format!("/v1/change-requests/{id}/approve"), Some(&admin), &json!({})).await;
    wait_until("the approved schedule ran", async || {
        app.get(&config("planned", "production"), Some(&owner)).await.body["enabled"] == true
    })
    .await;
    assert_eq!(app.get(&format!("/v1/change-requests/{id}"), Some(&owner)).await.body["state"], "applied");
}

#[tokio::test]
async fn two_servers_on_postgres_run_a_schedule_once() {
    let first = spawn_app().await;
    if !first.on_postgres() {
        return;
    }
    let second = first.another_node().await;
    let owner = first.login_owner().await;
    flag(&first, &owner, "shared").await;
    for n in 0..5 {
        let body = json!({ "environment": "production", "enabled": n % 2 == 0, "at": first.clock_now_plus(60 + n) });
        assert_eq!(first.post_json(&format!("{FLAGS}/shared/schedules"), Some(&owner), &body).await.status, 201);
    }
    second.advance(Duration::from_secs(3600));
    first.advance(Duration::from_secs(3600));
    wait_until("every schedule ran", async || {
        let listed = first.get(&format!("{FLAGS}/shared/schedules"), Some(&owner)).await;
        listed.body["data"].as_array().unwrap().iter().all(|s| s["state"] == "done")
    })
    .await;
    let events = first.get("/v1/events?type=flag.scheduled_toggle", Some(&owner)).await;
    assert_eq!(events.body["data"].as_array().unwrap().len(), 5, "each schedule ran exactly once");
}

#[tokio::test]
async fn promoted_scheduled_and_approved_events_reach_a_webhook_with_their_data() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (_, _, admin) = app.user_with_role(&owner, "admin").await;
    let receiver = TestReceiver::start().await;
    let events = json!({ "events": ["flag.promoted", "flag.scheduled_toggle", "flag.approved_change_applied"] });
    webhook_to(&app, &owner, &receiver.url(), events).await;
    flag(&app, &owner, "seeded").await;
    app.post_json(&format!("{}/on", config("seeded", "development")), Some(&owner), &json!({})).await;
    app.post_json(
        &format!("{FLAGS}/seeded/promote"),
        Some(&owner),
        &json!({ "from": "development", "to": "production" }),
    )
    .await;
    let body = json!({ "environment": "development", "enabled": false, "at": app.clock_now_plus(30) });
    app.post_json(&format!("{FLAGS}/seeded/schedules"), Some(&owner), &body).await;
    app.advance(Duration::from_secs(31));
    protect(&app, &owner, "production", 1).await;
    let requested = app.post_json(&format!("{}/off", config("seeded", "production")), Some(&owner), &json!({})).await;
    let id = requested.body["change_request"]["id"].as_str().unwrap().to_owned();
    app.post_json(&format!("/v1/change-requests/{id}/approve"), Some(&admin), &json!({})).await;
    app.post_json(&format!("/v1/change-requests/{id}/apply"), Some(&owner), &json!({})).await;

    let received: Vec<Value> = receiver.wait_for(3).await.iter().map(|r| r.json()).collect();
    let find =
        |t: &str| received.iter().find(|b| b["type"] == t).cloned().unwrap_or_else(|| panic!("no {t} in {received:?}"));
    let promoted = find("flag.promoted");
    assert_eq!(
        (promoted["data"]["from"].clone(), promoted["data"]["to"].clone()),
        (json!("development"), json!("production"))
    );
    assert_eq!(promoted["data"]["after"]["enabled"], true);
    let scheduled = find("flag.scheduled_toggle");
    assert_eq!(
        (scheduled["data"]["environment"].clone(), scheduled["data"]["enabled"].clone()),
        (json!("development"), json!(false))
    );
    let applied = find("flag.approved_change_applied");
    assert_eq!(applied["data"]["change_request"]["id"], id);
    assert_eq!(
        (applied["data"]["diff"]["before"]["enabled"].clone(), applied["data"]["diff"]["after"]["enabled"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(applied["data"]["flag_key"], "seeded");
}

#[tokio::test]
async fn archived_flags_cannot_be_scheduled_and_lowered_approval_counts_let_requests_apply() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (_, _, admin) = app.user_with_role(&owner, "admin").await;
    flag(&app, &owner, "shelved").await;
    app.delete(&format!("{FLAGS}/shelved"), Some(&owner)).await;
    let body = json!({ "environment": "production", "enabled": true, "at": app.clock_now_plus(60) });
    assert_problem(&app.post_json(&format!("{FLAGS}/shelved/schedules"), Some(&owner), &body).await, 409, None);

    flag(&app, &owner, "two-keys").await;
    protect(&app, &owner, "production", 2).await;
    let requested = app.post_json(&format!("{}/on", config("two-keys", "production")), Some(&owner), &json!({})).await;
    let id = requested.body["change_request"]["id"].as_str().unwrap().to_owned();
    app.post_json(&format!("/v1/change-requests/{id}/approve"), Some(&admin), &json!({})).await;
    assert_problem(
        &app.post_json(&format!("/v1/change-requests/{id}/apply"), Some(&owner), &json!({})).await,
        409,
        None,
    );
    protect(&app, &owner, "production", 1).await;
    let applied = app.post_json(&format!("/v1/change-requests/{id}/apply"), Some(&owner), &json!({})).await;
    assert_eq!(applied.status, 200, "{}", applied.text);
    assert_eq!(applied.body["state"], "applied");
}

#[tokio::test]
async fn project_and_segment_events_are_found_by_project() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    app.post_json("/v1/projects", Some(&owner), &json!({ "key": "checkout" })).await;
    app.post_json("/v1/segments", Some(&owner), &json!({ "name": "s", "project": "checkout", "constraints": [] }))
        .await;
    let events = app.get("/v1/events?project=checkout", Some(&owner)).await;
    let types: Vec<&str> =
        events.body["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, vec!["segment.created", "project.created"]);
}
