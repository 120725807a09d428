//! Outgoing webhooks: the API's shapes and validation, delivery to real receivers on
//! loopback, signatures checked with the real `standardwebhooks` crate, retries, the SSRF
//! guard.

mod api;
mod cluster;
mod delivery;
pub mod receiver;
mod ssrf;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{ApiResponse, TestApp};

/// Creates a webhook; returns its body.
pub async fn create_webhook(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app.post_json("/v1/webhooks", Some(token), &body).await;
    assert_eq!(response.status, 201, "create webhook: {}", response.text);
    response.body
}

/// A webhook to `url` for every default type, no retries unless given.
pub async fn webhook_to(app: &TestApp, token: &str, url: &str, extra: Value) -> Value {
    let mut body = json!({ "name": "receiver", "url": url });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    create_webhook(app, token, body).await
}

/// The webhook's deliveries, newest first (first page).
pub async fn deliveries(app: &TestApp, token: &str, webhook_id: &str) -> Vec<Value> {
    let response = app.get(&format!("/v1/webhooks/{webhook_id}/deliveries?limit=100"), Some(token)).await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.body["data"].as_array().cloned().unwrap_or_default()
}

pub async fn delivery(app: &TestApp, token: &str, webhook_id: &str, delivery_id: &str) -> ApiResponse {
    app.get(&format!("/v1/webhooks/{webhook_id}/deliveries/{delivery_id}"), Some(token)).await
}

/// Polls the delivery until `done` holds for its detail (10 s at most).
pub async fn wait_for_delivery(
    app: &TestApp,
    token: &str,
    webhook_id: &str,
    delivery_id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = delivery(app, token, webhook_id, delivery_id).await;
        assert_eq!(response.status, 200, "{}", response.text);
        if done(&response.body) {
            return response.body;
        }
        assert!(Instant::now() < deadline, "the delivery never got there: {}", response.text);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Polls the webhook's delivery list until one of `event_type` exists; returns it.
pub async fn wait_for_delivery_of(app: &TestApp, token: &str, webhook_id: &str, event_type: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = deliveries(app, token, webhook_id).await.into_iter().find(|d| d["event_type"] == event_type);
        if let Some(found) = found {
            return found;
        }
        assert!(Instant::now() < deadline, "no {event_type} delivery");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
