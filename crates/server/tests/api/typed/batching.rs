//! The typed writer's group commit and the in-memory copy of a workspace's types, profiles
//! and settings: many requests at once behave as if sent one after another, and a change to
//! configuration applies to the very next signal — on this node at once, on another node
//! (Postgres) through NOTIFY.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::support::{capture, ingest_token};
use crate::helpers::{ApiResponse, TestApp, spawn_app, spawn_app_with};

async fn send_at_once(app: &TestApp, token: &str, bodies: &[Value]) -> Vec<ApiResponse> {
    futures_util::future::join_all(bodies.iter().map(|body| app.post_json("/signals", Some(token), body))).await
}

async fn icp(app: &TestApp, owner: &str, code: &str, rules: Value) -> String {
    let response = app.post_json("/v1/icp-profiles", Some(owner), &json!({ "code": code, "rules": rules })).await;
    assert_eq!(response.status, 201, "{}", response.text);
    response.body["id"].as_str().unwrap().to_owned()
}

async fn autoqualify(app: &TestApp, owner: &str) {
    let response = app.put_json("/v1/signal-types/custom_event", Some(owner), &json!({ "autoqualify": true })).await;
    assert_eq!(response.status, 200, "{}", response.text);
}

/// Signal `n` about person `n % people`, at its own second.
fn about_person(n: u32, people: u32) -> Value {
    json!({
        "signal_type": "custom_event", "source": "product",
        "occurred_at": format!("2026-05-26T14:{:02}:{:02}Z", n / 60, n % 60),
        "identity": { "email": format!("person{}@example.com", n % people) },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_signals_at_once_about_few_people_count_every_capture_on_its_own_lead() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    autoqualify(&app, &owner).await;
    // Scores say how many captures the lead had when each was scored: 100 from the 3rd on.
    icp(&app, &owner, "Returning", json!([{ "condition": "lead.capture_count >= 3", "weight": 1 }])).await;
    let token = ingest_token(&app, &owner).await;

    // 60 new signals about 5 people, and 20 repeats of some of them, all at once.
    let mut bodies: Vec<Value> = (0..60).map(|n| about_person(n, 5)).collect();
    bodies.extend((0..20).map(|n| about_person(n * 3, 5)));
    let responses = send_at_once(&app, &token, &bodies).await;

    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 60, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 20, "{statuses:?}");
    assert_eq!(app.count_rows("signal_captures").await, 60);
    assert_eq!(app.count_rows("leads").await, 5, "one lead per person, however the requests were batched");

    // Each person's lead counted each of their 12 captures once, and each capture was scored
    // with the count it brought the lead to: exactly two of each person's captures (their 1st
    // and 2nd) scored 0.
    let mut by_lead: HashMap<String, Vec<i64>> = HashMap::new();
    for response in responses.iter().filter(|r| r.status == 201) {
        let lead = response.body["matched_record_id"].as_str().unwrap().to_owned();
        by_lead.entry(lead).or_default().push(response.body["qualification"]["icp_score"].as_i64().unwrap());
    }
    assert_eq!(by_lead.len(), 5);
    for (lead, scores) in &by_lead {
        assert_eq!(scores.len(), 12, "{lead}");
        assert_eq!(scores.iter().filter(|s| **s == 0).count(), 2, "{lead}: {scores:?}");
        let stored = app.get(&format!("/v1/leads/{lead}"), Some(&owner)).await;
        assert_eq!(stored.body["capture_count"], 12, "{}", stored.text);
        assert_eq!(stored.body["qualification"]["icp_score"], 100, "the latest capture's score");
    }

    // A repeat answers exactly what its original answered.
    let answers: HashMap<String, &Value> = responses
        .iter()
        .zip(&bodies)
        .filter(|(r, _)| r.status == 201)
        .map(|(r, body)| (body["occurred_at"].as_str().unwrap().to_owned(), &r.body))
        .collect();
    for (response, body) in responses.iter().zip(&bodies).filter(|(r, _)| r.status == 200) {
        assert_eq!(response.header("idempotent-replayed"), Some("true"));
        assert_eq!(&response.body, answers[body["occurred_at"].as_str().unwrap()]);
    }
}

#[tokio::test]
async fn a_profile_change_scores_the_very_next_signal() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    autoqualify(&app, &owner).await;
    let token = ingest_token(&app, &owner).await;
    let id = icp(&app, &owner, "Teams", json!([{ "condition": "true", "weight": 1 }])).await;
    let first = capture(&app, &token, &about_person(0, 1), 201).await;
    assert_eq!(first.body["qualification"]["icp_score"], 100);

    let changed = app
        .put_json(
            &format!("/v1/icp-profiles/{id}"),
            Some(&owner),
            &json!({ "code": "Teams", "rules": [{ "condition": "false", "weight": 1 }] }),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let second = capture(&app, &token, &about_person(1, 1), 201).await;
    assert_eq!(second.body["qualification"]["icp_score"], 0, "scored with the new rule, not a cached one");

    let removed = app.delete(&format!("/v1/icp-profiles/{id}"), Some(&owner)).await;
    assert_eq!(removed.status, 204);
    let third = capture(&app, &token, &about_person(2, 1), 201).await;
    assert_eq!(third.body["qualification"]["icp_code"], Value::Null, "no profiles left");
}

#[tokio::test]
async fn a_workspace_without_rate_limits_counts_nothing() {
    let app = spawn_app_with(|config| {
        config.typed_signals.typed_signal_rate_per_minute = 0;
        config.typed_signals.typed_signal_rate_per_day = 0;
    })
    .await;
    let owner = app.login_owner().await;
    let token = ingest_token(&app, &owner).await;
    let response = capture(&app, &token, &about_person(0, 1), 201).await;
    assert_eq!(response.header("ratelimit-limit"), Some("0"), "no limit applies");
    assert_eq!(app.count_rows("typed_signal_counters").await, 0);
}

#[tokio::test]
async fn with_two_servers_on_postgres_a_type_disabled_on_one_is_refused_by_the_other_at_once() {
    let first = spawn_app().await;
    if !first.on_postgres() {
        return; // One SQLite file has one server.
    }
    let second = first.another_node().await;
    let owner = first.login_owner().await;
    let token = ingest_token(&first, &owner).await;
    // The second node has read the workspace's types now, and holds them.
    capture(&second, &token, &about_person(0, 1), 201).await;

    let disabled = first.put_json("/v1/signal-types/custom_event", Some(&owner), &json!({ "enabled": false })).await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    // Through NOTIFY: well before the cache's 5 s expiry.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    let mut n = 1;
    loop {
        let response = second.post_json("/signals", Some(&token), &about_person(n, 1)).await;
        if response.status == 422 {
            assert!(response.text.contains("disabled"), "{}", response.text);
            break;
        }
        assert_eq!(response.status, 201, "{}", response.text);
        assert!(tokio::time::Instant::now() < deadline, "the other node still takes signals of a disabled type");
        tokio::time::sleep(Duration::from_millis(50)).await;
        n += 1;
    }
}

/// A lead's capture ids in the order they were stored, newest first (the timeline's truth).
async fn stored_newest_first(app: &TestApp, lead: &str) -> Vec<String> {
    let sql = "SELECT id FROM signal_captures WHERE lead_id = $1 ORDER BY seq DESC";
    match &app.db {
        signalbox_server::db::Db::Sqlite { read, .. } => sqlx::query_scalar(sql).bind(lead).fetch_all(read).await,
        signalbox_server::db::Db::Postgres(pool) => sqlx::query_scalar(sql).bind(lead).fetch_all(pool).await,
    }
    .expect("capture ids")
}

async fn timeline(app: &TestApp, owner: &str, lead: &str) -> Vec<String> {
    let response = app.get(&format!("/v1/leads/{lead}"), Some(owner)).await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.body["captures"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_leads_timeline_is_its_newest_hundred_captures_newest_first_however_they_were_batched() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let token = ingest_token(&app, &owner).await;

    // Person 0: three signals one after another, then 40 sent at once with 40 about person 1
    // (so each batch interleaves the two leads' chains).
    let mut sent = Vec::new();
    for n in 0..3 {
        sent.push(app.post_json("/signals", Some(&token), &about_person(1000 + n * 2, 2)).await);
    }
    let bodies: Vec<Value> = (3..83).map(|n| about_person(n, 2)).collect();
    sent.extend(send_at_once(&app, &token, &bodies).await);
    assert!(sent.iter().all(|r| r.status == 201), "{:?}", sent.iter().map(|r| r.status).collect::<Vec<_>>());
    let first = sent[0].body["matched_record_id"].as_str().unwrap().to_owned();
    let ours: Vec<&str> = sent
        .iter()
        .filter(|r| r.body["matched_record_id"] == first.as_str())
        .map(|r| r.body["signal_capture_id"].as_str().unwrap())
        .collect();
    assert_eq!(ours.len(), 43);

    let listed = timeline(&app, &owner, &first).await;
    assert_eq!(listed, stored_newest_first(&app, &first).await, "every capture once, newest first");
    let mut sorted_listed = listed.clone();
    sorted_listed.sort();
    let mut sorted_ours: Vec<String> = ours.iter().map(|id| (*id).to_owned()).collect();
    sorted_ours.sort();
    assert_eq!(sorted_listed, sorted_ours, "only this lead's captures");
    // The three sent one after another are the oldest, in reverse order.
    let sequential: Vec<&str> = sent[..3].iter().map(|r| r.body["signal_capture_id"].as_str().unwrap()).collect();
    assert_eq!(listed[40..], [sequential[2], sequential[1], sequential[0]]);

    // Past 100 captures the timeline keeps the newest 100.
    let more: Vec<Value> = (83..263).map(|n| about_person(n, 2)).collect();
    for chunk in more.chunks(60) {
        assert!(send_at_once(&app, &token, chunk).await.iter().all(|r| r.status == 201));
    }
    let stored = stored_newest_first(&app, &first).await;
    assert_eq!(stored.len(), 133);
    assert_eq!(timeline(&app, &owner, &first).await, stored[..100]);
}
