use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;

use crate::helpers::{TestApp, spawn_app};

/// Reads server-sent events from a live view until `count` have arrived (or the deadline).
async fn read_events(response: reqwest::Response, count: usize) -> Vec<(String, serde_json::Value)> {
    let mut body = response.bytes_stream();
    let mut buffer = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while events.len() < count {
        let chunk =
            tokio::time::timeout_at(deadline, body.next()).await.expect("events in time").expect("an open stream");
        buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let id = block.lines().find_map(|l| l.strip_prefix("id:")).map(|s| s.trim().to_owned());
            let data = block.lines().find_map(|l| l.strip_prefix("data:")).map(|s| s.trim().to_owned());
            if let (Some(id), Some(data)) = (id, data) {
                events.push((id, serde_json::from_str(&data).unwrap()));
            }
        }
    }
    events
}

async fn open(app: &TestApp, owner: &str, endpoint_id: &str, last_event_id: Option<&str>) -> reqwest::Response {
    let mut request =
        app.client.get(app.url(&format!("/v1/signal-endpoints/{endpoint_id}/signals/stream"))).bearer_auth(owner);
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    response
}

#[tokio::test]
async fn the_live_view_receives_new_signals_and_resumes_after_last_event_id() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let endpoint = app.signal_endpoint(&owner, "deploys").await;
    let id = endpoint["id"].as_str().unwrap();
    let (_, secret) = app.endpoint_token(&owner, id, "ci").await;
    app.send_signal("deploys", &secret, &json!({ "n": "before" })).await;

    let live = open(&app, &owner, id, None).await;
    app.send_signal("deploys", &secret, &json!({ "n": 1 })).await;
    app.send_signal("deploys", &secret, &json!({ "n": 2 })).await;
    let events = read_events(live, 2).await;
    assert_eq!(events[0].1["payload"]["n"], 1, "a signal from before the stream opened was sent");
    assert_eq!(events[1].1["payload"]["n"], 2);
    assert_eq!(events[0].0, events[0].1["seq"].to_string());

    // Disconnected after the first; two more arrive meanwhile; the resumed view gets them all.
    app.send_signal("deploys", &secret, &json!({ "n": 3 })).await;
    let resumed = open(&app, &owner, id, Some(&events[0].0)).await;
    let replay = read_events(resumed, 2).await;
    let ns: Vec<_> = replay.iter().map(|(_, s)| s["payload"]["n"].clone()).collect();
    assert_eq!(ns, [json!(2), json!(3)]);
}

#[tokio::test]
async fn a_quiet_live_view_says_it_is_open_at_once() {
    // Firefox reports an EventSource open only when bytes arrive: the stream starts with a
    // comment rather than waiting for the first signal or keep-alive.
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let endpoint = app.signal_endpoint(&owner, "deploys").await;
    let live = open(&app, &owner, endpoint["id"].as_str().unwrap(), None).await;
    let mut body = live.bytes_stream();
    let first = tokio::time::timeout(Duration::from_secs(2), body.next())
        .await
        .expect("bytes at once, before any signal")
        .expect("an open stream")
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&first), ": open\n\n");
}

#[tokio::test]
async fn the_live_view_ends_when_the_server_shuts_down() {
    let mut app = spawn_app().await;
    let owner = app.login_owner().await;
    let endpoint = app.signal_endpoint(&owner, "deploys").await;
    let live = open(&app, &owner, endpoint["id"].as_str().unwrap(), None).await;
    let reader = tokio::spawn(async move {
        let mut body = live.bytes_stream();
        while let Some(chunk) = body.next().await {
            if chunk.is_err() {
                break;
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(10), app.shut_down())
        .await
        .expect("shutdown is not held up by the stream");
    tokio::time::timeout(Duration::from_secs(10), reader).await.expect("the stream ended").unwrap();
}

#[tokio::test]
async fn with_two_servers_on_postgres_a_signal_ingested_on_one_appears_on_the_others_stream() {
    let first = spawn_app().await;
    if !first.on_postgres() {
        return; // One SQLite file has one server.
    }
    let second = first.another_node().await;
    let owner = first.login_owner().await;
    let endpoint = first.signal_endpoint(&owner, "deploys").await;
    let id = endpoint["id"].as_str().unwrap();
    let (_, secret) = first.endpoint_token(&owner, id, "ci").await;

    // The second node has never seen this endpoint: its stream and its ingest cache start
    // cold, and a token created on the first node works on the second at once.
    let live = open(&second, &owner, id, None).await;
    assert_eq!(first.send_signal("deploys", &secret, &json!({ "node": 1 })).await.status, 202);
    assert_eq!(second.send_signal("deploys", &secret, &json!({ "node": 2 })).await.status, 202);
    let events = read_events(live, 2).await;
    let nodes: Vec<_> = events.iter().map(|(_, s)| s["payload"]["node"].clone()).collect();
    assert_eq!(nodes, [json!(1), json!(2)]);

    // A token revoked on one node stops working on the other, through NOTIFY: well before
    // the 5 s cache TTL.
    let token_id = first.get(&format!("/v1/signal-endpoints/{id}"), Some(&owner)).await.body["tokens"][0]["id"].clone();
    let revoked =
        first.delete(&format!("/v1/signal-endpoints/{id}/tokens/{}", token_id.as_str().unwrap()), Some(&owner)).await;
    assert_eq!(revoked.status, 204);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let status = second.send_signal("deploys", &secret, &json!({})).await.status;
        if status == 401 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the revoked token still works on the other node");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
