//! A signal is captured once: a repeat (same natural key, or same `idempotency_key`) answers
//! `200` with the first answer and `Idempotent-Replayed: true`, and writes nothing — also
//! when the repeats arrive at the same time.

use serde_json::{Value, json};

use super::support::{capture, captured_events, lead};
use crate::helpers::{ApiResponse, TestApp, spawn_app};

fn ada() -> Value {
    json!({
        "signal_type": "custom_event",
        "source": "Segment",
        "event_name": "enabled_sso",
        "occurred_at": "2026-05-26T14:30:00.123456Z",
        "identity": { "email": "ada@example.com", "linkedin_url": "https://www.linkedin.com/in/ada",
                      "company_domain": "example.com", "first_name": "Ada", "last_name": "Lovelace",
                      "title": "CTO" },
        "context": { "plan": "pro" }
    })
}

fn assert_replay_of(replay: &ApiResponse, first: &ApiResponse) {
    assert_eq!(replay.status, 200, "{}", replay.text);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"), "{:?}", replay.headers);
    assert_eq!(replay.body, first.body);
}

async fn state(app: &TestApp, owner: &str, lead_id: &str) -> (i64, i64, usize, i64) {
    (
        app.count_rows("signal_captures").await,
        app.count_rows("leads").await,
        captured_events(app, owner).await.len(),
        lead(app, lead_id).await.capture_count,
    )
}

#[tokio::test]
async fn a_repeat_by_natural_key_replays_the_first_answer_and_writes_nothing() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let first = capture(&app, &owner, &ada(), 201).await;
    assert!(first.header("idempotent-replayed").is_none(), "{:?}", first.headers);
    let lead_id = first.body["matched_record_id"].as_str().unwrap().to_owned();
    let before = state(&app, &owner, &lead_id).await;
    assert_eq!(before, (1, 1, 1, 1));

    // Names, title, event name and context are not part of the key.
    let mut renamed = ada();
    renamed["identity"]["first_name"] = json!("Augusta");
    renamed["identity"]["last_name"] = json!("King");
    renamed["identity"]["title"] = json!("Countess");
    renamed["event_name"] = json!("something_else");
    renamed["context"] = json!({ "plan": "free" });
    assert_replay_of(&capture(&app, &owner, &renamed, 200).await, &first);

    // The same instant in another offset, and the identity spelled differently.
    let mut respelled = ada();
    respelled["occurred_at"] = json!("2026-05-26T16:30:00.123456+02:00");
    respelled["identity"]["email"] = json!("ADA@example.com");
    respelled["identity"]["linkedin_url"] = json!("uk.linkedin.com/in/Ada/?trk=x");
    respelled["identity"]["company_domain"] = json!("https://www.example.com/");
    assert_replay_of(&capture(&app, &owner, &respelled, 200).await, &first);

    // Nanoseconds below the microsecond do not count.
    let mut nanos = ada();
    nanos["occurred_at"] = json!("2026-05-26T14:30:00.123456789Z");
    assert_replay_of(&capture(&app, &owner, &nanos, 200).await, &first);

    // The /v1 path shares the key.
    let v1 = app.post_json("/v1/signals", Some(&owner), &ada()).await;
    assert_replay_of(&v1, &first);
    assert_eq!(state(&app, &owner, &lead_id).await, before, "a replay wrote something");
}

#[tokio::test]
async fn the_source_the_type_the_identity_and_one_microsecond_each_make_a_new_signal() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let first = capture(&app, &owner, &ada(), 201).await;
    let mut variants: Vec<Value> = Vec::new();
    let mut lower_source = ada();
    lower_source["source"] = json!("segment");
    variants.push(lower_source);
    let mut padded_source = ada();
    padded_source["source"] = json!("Segment ");
    variants.push(padded_source);
    let mut later = ada();
    later["occurred_at"] = json!("2026-05-26T14:30:00.123457Z");
    variants.push(later);
    let mut other_type = ada();
    other_type["signal_type"] = json!("product_usage");
    variants.push(other_type);
    let mut no_domain = ada();
    no_domain["identity"]["company_domain"] = json!(null);
    variants.push(no_domain);
    for (i, body) in variants.iter().enumerate() {
        let response = capture(&app, &owner, body, 201).await;
        assert!(response.header("idempotent-replayed").is_none(), "variant {i}");
        assert_ne!(response.body["signal_capture_id"], first.body["signal_capture_id"], "variant {i}");
        assert_eq!(response.body["matched_record_id"], first.body["matched_record_id"], "variant {i}");
    }
    assert_eq!(app.count_rows("signal_captures").await, 1 + variants.len() as i64);
    assert_eq!(app.count_rows("leads").await, 1);
}

#[tokio::test]
async fn an_idempotency_key_alone_decides_whether_a_signal_is_new() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let unkeyed = capture(&app, &owner, &ada(), 201).await;

    // The same body with a new key is processed again.
    let mut keyed = ada();
    keyed["idempotency_key"] = json!("delivery-1");
    let first = capture(&app, &owner, &keyed, 201).await;
    assert_ne!(first.body["signal_capture_id"], unkeyed.body["signal_capture_id"]);
    let mut another_key = ada();
    another_key["idempotency_key"] = json!("delivery-2");
    let second = capture(&app, &owner, &another_key, 201).await;
    assert_ne!(second.body["signal_capture_id"], first.body["signal_capture_id"]);

    // A repeated key replays the first answer, even with a different body.
    let mut different = json!({
        "signal_type": "website_visit",
        "source": "web",
        "occurred_at": "2030-01-01T00:00:00Z",
        "identity": { "email": "someone.else@example.org" },
        "surprise": true
    });
    different["idempotency_key"] = json!("delivery-1");
    let replay = capture(&app, &owner, &different, 200).await;
    assert_replay_of(&replay, &first);
    assert!(replay.body.get("warnings").is_none(), "{}", replay.text);
    assert_eq!(app.count_rows("signal_captures").await, 3);
    assert_eq!(app.count_rows("leads").await, 1);

    // A key is matched exactly.
    let mut case = ada();
    case["idempotency_key"] = json!("DELIVERY-1");
    capture(&app, &owner, &case, 201).await;

    // Keys, and natural keys, belong to a workspace.
    let (_, other) = app.new_workspace_session(&owner, "Other").await;
    let elsewhere = capture(&app, &other, &keyed, 201).await;
    assert_ne!(elsewhere.body["signal_capture_id"], first.body["signal_capture_id"]);
    assert_ne!(elsewhere.body["matched_record_id"], first.body["matched_record_id"]);
    capture(&app, &other, &ada(), 201).await;
}

async fn send_at_once(app: &TestApp, token: &str, bodies: Vec<Value>) -> Vec<ApiResponse> {
    let requests = bodies.iter().map(|body| app.post_json("/signals", Some(token), body));
    futures_util::future::join_all(requests).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicates_are_captured_once_and_the_rest_replay() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let responses = send_at_once(&app, &owner, vec![ada(); 10]).await;
    let created: Vec<&ApiResponse> = responses.iter().filter(|r| r.status == 201).collect();
    let replayed: Vec<&ApiResponse> = responses.iter().filter(|r| r.status == 200).collect();
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(
        (created.len(), replayed.len()),
        (1, 9),
        "{statuses:?}: {:?}",
        responses.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    for replay in replayed {
        assert_replay_of(replay, created[0]);
    }
    assert_eq!(app.count_rows("signal_captures").await, 1);
    assert_eq!(app.count_rows("leads").await, 1);
    assert_eq!(captured_events(&app, &owner).await.len(), 1);
    assert_eq!(lead(&app, created[0].body["matched_record_id"].as_str().unwrap()).await.capture_count, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_with_one_idempotency_key_are_captured_once_on_one_lead() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    // Different people, one key: only the first is captured, and no other lead is left behind.
    let bodies = (0..10)
        .map(|i| {
            let mut body = ada();
            body["identity"] = json!({ "email": format!("person{i}@example.com") });
            body["idempotency_key"] = json!("one-key");
            body
        })
        .collect();
    let responses = send_at_once(&app, &owner, bodies).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    let created: Vec<&ApiResponse> = responses.iter().filter(|r| r.status == 201).collect();
    assert_eq!(created.len(), 1, "{statuses:?}");
    assert_eq!(responses.iter().filter(|r| r.status == 200).count(), 9, "{statuses:?}");
    for replay in responses.iter().filter(|r| r.status == 200) {
        assert_replay_of(replay, created[0]);
    }
    assert_eq!(app.count_rows("signal_captures").await, 1);
    assert_eq!(app.count_rows("leads").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_signals_about_one_new_person_make_one_lead() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let bodies = (0..8)
        .map(|i| {
            let mut body = ada();
            body["occurred_at"] = json!(format!("2026-05-26T14:30:{i:02}Z"));
            body
        })
        .collect();
    let responses = send_at_once(&app, &owner, bodies).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert!(
        statuses.iter().all(|s| *s == 201),
        "{statuses:?}: {:?}",
        responses.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    assert_eq!(app.count_rows("signal_captures").await, 8);
    assert_eq!(app.count_rows("leads").await, 1);
    assert_eq!(lead(&app, responses[0].body["matched_record_id"].as_str().unwrap()).await.capture_count, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_signals_about_one_new_company_make_one_lead() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let bodies = (0..8)
        .map(|i| {
            let mut body = ada();
            body["identity"] = json!({ "company_domain": "acme.io" });
            body["occurred_at"] = json!(format!("2026-05-26T14:30:{i:02}Z"));
            body
        })
        .collect();
    let responses = send_at_once(&app, &owner, bodies).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    assert_eq!(app.count_rows("signal_captures").await, 8);
    let leads: std::collections::BTreeSet<&str> =
        responses.iter().map(|r| r.body["matched_record_id"].as_str().unwrap()).collect();
    assert_eq!(leads.len(), 1, "one company, several leads: {leads:?}");
    assert_eq!(app.count_rows("leads").await, 1);
}
