//! Delivery through the outbox to real receivers on 127.0.0.1 (allow-listed): bodies and
//! headers, both signatures, filters, retries, dead, redeliver/recover, 410, timeouts,
//! redirects, cancelling.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::receiver::{Reply, TestReceiver};
use super::{deliveries, wait_for_delivery, wait_for_delivery_of, webhook_to};
use crate::helpers::{assert_problem, spawn_app, spawn_app_with};

fn attempts_are(n: usize) -> impl Fn(&Value) -> bool {
    move |d: &Value| d["attempt_log"].as_array().is_some_and(|a| a.len() >= n)
}

#[tokio::test]
async fn an_event_arrives_signed_both_ways_with_the_documented_headers_and_body() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let receiver = TestReceiver::start().await;
    for secret in ["a plain secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"] {
        let webhook = webhook_to(
            &app,
            &owner,
            &receiver.url(),
            json!({ "secret": secret, "events": ["signal_endpoint.created"] }),
        )
        .await;
        let webhook_id = webhook["id"].as_str().unwrap().to_owned();
        let before = receiver.received().len();
        let endpoint = app.signal_endpoint(&owner, &format!("deploys-{}", before)).await;
        let request = receiver.wait_for(before + 1).await.pop().unwrap();
        let delivery = wait_for_delivery_of(&app, &owner, &webhook_id, "signal_endpoint.created").await;

        assert_eq!(request.path, "/hook");
        assert_eq!(request.header("content-type"), "application/json");
        assert!(request.header("user-agent").starts_with("Signalbox/"), "{}", request.header("user-agent"));
        assert_eq!(request.header("webhook-id"), delivery["id"].as_str().unwrap(), "webhook-id is the delivery id");
        let body = request.json();
        assert_eq!(body["type"], "signal_endpoint.created");
        assert_eq!(body["id"], delivery["event_id"], "the body's id is the event's");
        assert_eq!(body["data"]["id"], endpoint["id"]);
        assert!(body["workspace_id"].is_string() && body["timestamp"].as_str().unwrap().ends_with('Z'));

        // Standard Webhooks, with the reference verifier (a whsec_ secret is base64).
        let verifier = match secret.strip_prefix("whsec_") {
            Some(_) => standardwebhooks::Webhook::new(secret).unwrap(),
            None => standardwebhooks::Webhook::from_bytes(secret.as_bytes().to_vec()).unwrap(),
        };
        verifier.verify(&request.body, &request.headers).expect("the webhook-signature verifies");
        // FeatureSignals: hex HMAC-SHA256 of the body with the secret's UTF-8 bytes.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(&request.body);
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(request.header("x-featuresignals-signature"), expected);

        let done =
            wait_for_delivery(&app, &owner, &webhook_id, delivery["id"].as_str().unwrap(), |d| d["success"] == true)
                .await;
        assert_eq!(done["status"], "succeeded");
        assert_eq!(done["response_status"], 200);
        assert_eq!(done["attempts"], 1);
        assert!(done["delivered_at"].is_string());
        assert_eq!(done["attempt_log"][0]["response_body"], "answer from the test receiver");
        app.delete(&format!("/v1/webhooks/{webhook_id}"), Some(&owner)).await;
    }
}

#[tokio::test]
async fn without_a_secret_there_are_no_signature_headers() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let receiver = TestReceiver::start().await;
    webhook_to(&app, &owner, &receiver.url(), json!({ "events": ["signal_endpoint.created"] })).await;
    app.signal_endpoint(&owner, "unsigned").await;
    let request = receiver.wait_for(1).await.remove(0);
    assert!(request.headers.get("webhook-signature").is_none());
    assert!(request.headers.get("x-featuresignals-signature").is_none());
    assert!(!request.header("webhook-id").is_empty() && !request.header("webhook-timestamp").is_empty());
}

#[tokio::test]
async fn signal_received_goes_only_to_webhooks_that_name_it_with_the_payload() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let named = TestReceiver::start().await;
    let wildcard = TestReceiver::start().await;
    let named_hook = webhook_to(&app, &owner, &named.url(), json!({ "events": ["signal.received"] })).await;
    let wildcard_hook = webhook_to(&app, &owner, &wildcard.url(), json!({ "events": ["*"] })).await;
    let endpoint = app.signal_endpoint(&owner, "orders").await;
    let (_, token) = app.endpoint_token(&owner, endpoint["id"].as_str().unwrap(), "shop").await;
    let raw = r#"{"order": 42, "nested": { "b": 1, "a": 2 }}"#;
    let request = app.client.post(app.url("/api/signal-endpoint/orders")).bearer_auth(&token).body(raw);
    let sent = app.send(request.header("content-type", "application/json")).await;
    assert_eq!(sent.status, 202, "{}", sent.text);

    let request = named.wait_for(1).await.remove(0);
    let body = request.json();
    assert_eq!(body["type"], "signal.received");
    assert_eq!(body["data"]["signal_id"], sent.body["id"]);
    assert_eq!(body["data"]["endpoint_name"], "orders");
    assert_eq!(body["data"]["token_name"], "shop");
    let text = String::from_utf8(request.body.to_vec()).unwrap();
    assert!(text.contains(&format!(r#""payload":{raw}}}"#)), "the payload verbatim, key order and spaces kept: {text}");

    // The deliveries were written with the signal, so their absence is already final.
    let wildcard_types: Vec<Value> = deliveries(&app, &owner, wildcard_hook["id"].as_str().unwrap())
        .await
        .into_iter()
        .map(|d| d["event_type"].clone())
        .collect();
    assert!(wildcard_types.contains(&json!("signal_endpoint.created")), "{wildcard_types:?}");
    assert!(!wildcard_types.contains(&json!("signal.received")), "* does not include signal.received");
    let named_types: Vec<Value> = deliveries(&app, &owner, named_hook["id"].as_str().unwrap())
        .await
        .into_iter()
        .map(|d| d["event_type"].clone())
        .collect();
    assert_eq!(named_types, vec![json!("signal.received")], "a named filter gets only what it names");
}

#[tokio::test]
async fn every_webhook_that_names_signal_received_gets_the_payload() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let receivers = [TestReceiver::start().await, TestReceiver::start().await, TestReceiver::start().await];
    for receiver in &receivers {
        webhook_to(&app, &owner, &receiver.url(), json!({ "events": ["signal.received"] })).await;
    }
    let endpoint = app.signal_endpoint(&owner, "fanned").await;
    let (_, token) = app.endpoint_token(&owner, endpoint["id"].as_str().unwrap(), "shop").await;
    let raw = r#"{"order": 7}"#;
    let request = app.client.post(app.url("/api/signal-endpoint/fanned")).bearer_auth(&token).body(raw);
    let sent = app.send(request.header("content-type", "application/json")).await;
    assert_eq!(sent.status, 202, "{}", sent.text);

    // The three deliveries share one event and are claimed together: each carries the payload.
    for receiver in &receivers {
        let request = receiver.wait_for(1).await.remove(0);
        let text = String::from_utf8(request.body.to_vec()).unwrap();
        assert!(text.contains(&format!(r#""payload":{raw}}}"#)), "{text}");
    }
}

#[tokio::test]
async fn failed_attempts_are_retried_on_the_schedule_with_the_same_webhook_id() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let receiver = TestReceiver::start().await;
    receiver.script([Reply::Status(500), Reply::With(503, vec![("retry-after", "0".into())])]);
    let webhook = webhook_to(
        &app,
        &owner,
        &receiver.url(),
        json!({ "events": ["signal_endpoint.created"], "retry_schedule": ["250ms", "2s"] }),
    )
    .await;
    let webhook_id = webhook["id"].as_str().unwrap();
    app.signal_endpoint(&owner, "retried").await;
    let delivery = wait_for_delivery_of(&app, &owner, webhook_id, "signal_endpoint.created").await;
    let delivery_id = delivery["id"].as_str().unwrap();

    let first = wait_for_delivery(&app, &owner, webhook_id, delivery_id, attempts_are(1)).await;
    assert_eq!(first["status"], "pending");
    assert_eq!(first["response_status"], 500);
    let attempted_at =
        signalbox_core::Timestamp::parse(first["attempt_log"][0]["attempted_at"].as_str().unwrap()).unwrap();
    assert_eq!(first["next_attempt_at"], attempted_at.plus(Duration::from_millis(250)).to_string());

    app.advance(Duration::from_millis(250));
    let second = wait_for_delivery(&app, &owner, webhook_id, delivery_id, attempts_are(2)).await;
    assert_eq!(second["response_status"], 503);
    let retried_at =
        signalbox_core::Timestamp::parse(second["attempt_log"][1]["attempted_at"].as_str().unwrap()).unwrap();
    assert_eq!(second["next_attempt_at"], retried_at.plus(Duration::from_secs(2)).to_string());

    app.advance(Duration::from_secs(2));
    let third = wait_for_delivery(&app, &owner, webhook_id, delivery_id, |d| d["status"] == "succeeded").await;
    assert_eq!(third["attempts"], 3);
    let requests = receiver.received();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.header("webhook-id") == delivery_id), "one webhook-id for every retry");
    let statuses: Vec<Value> =
        third["attempt_log"].as_array().unwrap().iter().map(|a| a["response_status"].clone()).collect();
    assert_eq!(statuses, vec![json!(500), json!(503), json!(200)]);
    let health = app.get(&format!("/v1/webhooks/{webhook_id}"), Some(&owner)).await.body;
    assert_eq!(health["consecutive_failures"], 0);
    assert!(health["last_success_at"].is_string() && health["last_failure_at"].is_string());
}

#[tokio::test]
async fn a_delivery_dies_after_its_last_attempt_and_can_be_redelivered_and_recovered() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let receiver = TestReceiver::start().await;
    receiver.script([Reply::Status(500), Reply::Status(502)]);
    let webhook = webhook_to(
        &app,
        &owner,
        &receiver.url(),
        json!({ "events": ["signal_endpoint.created"], "retry_schedule": ["1ms"] }),
    )
    .await;
    let webhook_id = webhook["id"].as_str().unwrap();
    app.signal_endpoint(&owner, "doomed").await;
    let delivery = wait_for_delivery_of(&app, &owner, webhook_id, "signal_endpoint.created").await;
    let delivery_id = delivery["id"].as_str().unwrap();
    wait_for_delivery(&app, &owner, webhook_id, delivery_id, attempts_are(1)).await;
    app.advance(Duration::from_millis(1));
    let dead = wait_for_delivery(&app, &owner, webhook_id, delivery_id, |d| d["status"] == "dead").await;
    assert_eq!((dead["attempts"].clone(), dead["success"].clone()), (json!(2), json!(false)));
    assert!(dead["delivered_at"].is_null() && dead["next_attempt_at"].is_null());
    let health = app.get(&format!("/v1/webhooks/{webhook_id}"), Some(&owner)).await.body;
    assert_eq!(health["consecutive_failures"], 2);
    let filtered = app.get(&format!("/v1/webhooks/{webhook_id}/deliveries?status=dead"), Some(&owner)).await;
    assert_eq!(filtered.body["total"], 1);
    let none = app.get(&format!("/v1/webhooks/{webhook_id}/deliveries?status=succeeded"), Some(&owner)).await;
    assert_eq!(none.body["total"], 0);

    // Redeliver: pending again, same id, the receiver (now healthy) gets it, attempts appended.
    let path = format!("/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver");
    let redelivered = app.post_json(&path, Some(&owner), &json!({})).await;
    assert_eq!(redelivered.status, 202, "{}", redelivered.text);
    assert_eq!(redelivered.body["id"], delivery_id);
    let done = wait_for_delivery(&app, &owner, webhook_id, delivery_id, |d| d["status"] == "succeeded").await;
    assert_eq!(done["attempts"], 3);
    assert_eq!(receiver.received()[2].header("webhook-id"), delivery_id);
    assert_problem(
        &app.post_json(
            &format!("/v1/webhooks/{webhook_id}/deliveries/{}/redeliver", uuid::Uuid::now_v7()),
            Some(&owner),
            &json!({}),
        )
        .await,
        404,
        None,
    );

    // Recover: every dead delivery since a time becomes pending again.
    receiver.script([Reply::Status(500), Reply::Status(500), Reply::Status(500), Reply::Status(500)]);
    app.signal_endpoint(&owner, "doomed-2").await;
    app.signal_endpoint(&owner, "doomed-3").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        app.advance(Duration::from_millis(1));
        let dead = deliveries(&app, &owner, webhook_id).await.into_iter().filter(|d| d["status"] == "dead").count();
        if dead == 2 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "two deliveries should die");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let recover = format!("/v1/webhooks/{webhook_id}/recover");
    assert_problem(&app.post_json(&recover, Some(&owner), &json!({ "since": "yesterday" })).await, 422, Some("since"));
    let since = app.clock_now_plus(0);
    let since = signalbox_core::Timestamp::parse(&since).unwrap().minus(Duration::from_secs(3600)).to_string();
    let recovered = app.post_json(&recover, Some(&owner), &json!({ "since": since })).await;
    assert_eq!(recovered.status, 202, "{}", recovered.text);
    assert_eq!(recovered.body["redelivered"], 2);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while deliveries(&app, &owner, webhook_id).await.iter().any(|d| d["status"] != "succeeded") {
        assert!(std::time::Instant::now() < deadline, "recovered deliveries should succeed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn gone_disables_the_webhook_and_cancels_what_is_pending() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let receiver = TestReceiver::start().await;
    receiver.script([Reply::Status(410)]);
    let webhook = webhook_to(&app, &owner, &receiver.url(), json!({ "events": ["signal_endpoint.created"] })).await;
    let webhook_id = webhook["id"].as_str().unwrap();
    app.signal_endpoint(&owner, "gone").await;
    let delivery = wait_for_delivery_of(&app, &owner, webhook_id, "signal_endpoint.created").await;
    let dead =
        wait_for_delivery(&app, &owner, webhook_id, delivery["id"].as_str().unwrap(), |d| d["status"] == "dead").await;
    assert_eq!(dead["attempts"], 1, "410 is not retried");
    let disabled = app.get(&format!("/v1/webhooks/{webhook_id}"), Some(&owner)).await.body;
    assert_eq!(disabled["enabled"], false);
    assert!(disabled["disabled_reason"].as_str().unwrap().contains("410"), "{disabled}");
    let events = app.get("/v1/events?type=webhook.disabled", Some(&owner)).await;
    assert_eq!(events.body["data"][0]["data"]["id"], webhook_id);

    app.signal_endpoint(&owner, "after-gone").await;
    assert_eq!(deliveries(&app, &owner, webhook_id).await.len(), 1, "a disabled webhook gets no deliveries");
    assert_problem(
        &app.post_json(&format!("/v1/webhooks/{webhook_id}/test"), Some(&owner), &json!({})).await,
        409,
        None,
    );

    let enabled = app.put_json(&format!("/v1/webhooks/{webhook_id}"), Some(&owner), &json!({ "enabled": true })).await;
    assert_eq!(enabled.body["enabled"], true);
    assert!(enabled.body["disabled_reason"].is_null());
}

#[tokio::test]
async fn a_slow_receiver_times_out_and_a_redirect_is_not_followed() {
    let app = spawn_app_with(|config| config.webhooks.webhook_timeout = Duration::from_millis(300)).await;
    let owner = app.login_owner().await;
    let receiver = TestReceiver::start().await;
    let elsewhere = format!("{}/elsewhere", receiver.base);
    receiver.script([Reply::After(Duration::from_secs(3), 200), Reply::With(302, vec![("location", elsewhere)])]);
    let webhook = webhook_to(
        &app,
        &owner,
        &receiver.url(),
        json!({ "events": ["signal_endpoint.created"], "retry_schedule": ["1ms"] }),
    )
    .await;
    let webhook_id = webhook["id"].as_str().unwrap();
    app.signal_endpoint(&owner, "slow").await;
    let delivery = wait_for_delivery_of(&app, &owner, webhook_id, "signal_endpoint.created").await;
    let delivery_id = delivery["id"].as_str().unwrap();
    let first = wait_for_delivery(&app, &owner, webhook_id, delivery_id, attempts_are(1)).await;
    let attempt = &first["attempt_log"][0];
    assert!(attempt["response_status"].is_null());
    assert!(attempt["error"].as_str().unwrap().contains("no answer within"), "{attempt}");

    app.advance(Duration::from_millis(1));
    let second = wait_for_delivery(&app, &owner, webhook_id, delivery_id, attempts_are(2)).await;
    assert_eq!(second["attempt_log"][1]["response_status"], 302);
    assert_eq!(second["status"], "dead", "a redirect is a failure, and this was the last attempt: {second}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(receiver.received().iter().all(|r| r.path == "/hook"), "the redirect was not followed");
}

#[tokio::test]
async fn disabling_cancels_pending_deliveries_and_deleting_stops_them() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let receiver = TestReceiver::start().await;
    receiver.script([Reply::Status(500), Reply::Status(500)]);
    let events = json!({ "events": ["signal_endpoint.created"], "retry_schedule": ["1h"] });
    let disabled = webhook_to(&app, &owner, &receiver.url(), events.clone()).await;
    let deleted = webhook_to(&app, &owner, &receiver.url(), events).await;
    app.signal_endpoint(&owner, "cancel-me").await;
    receiver.wait_for(2).await;
    for webhook in [&disabled, &deleted] {
        let id = webhook["id"].as_str().unwrap();
        let delivery = wait_for_delivery_of(&app, &owner, id, "signal_endpoint.created").await;
        wait_for_delivery(&app, &owner, id, delivery["id"].as_str().unwrap(), attempts_are(1)).await;
    }
    let disabled_id = disabled["id"].as_str().unwrap();
    app.put_json(&format!("/v1/webhooks/{disabled_id}"), Some(&owner), &json!({ "enabled": false })).await;
    let cancelled = deliveries(&app, &owner, disabled_id).await;
    assert_eq!(cancelled[0]["status"], "cancelled");
    assert!(cancelled[0]["next_attempt_at"].is_null());
    assert_eq!(
        app.delete(&format!("/v1/webhooks/{}", deleted["id"].as_str().unwrap()), Some(&owner)).await.status,
        204
    );

    app.advance(Duration::from_secs(7200));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 2, "neither the cancelled nor the deleted delivery was attempted again");
}

#[tokio::test]
async fn the_test_endpoint_sends_webhook_test_to_that_webhook_only() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let target = TestReceiver::start().await;
    let bystander = TestReceiver::start().await;
    let webhook = webhook_to(&app, &owner, &target.url(), json!({ "events": ["flag.created"] })).await;
    webhook_to(&app, &owner, &bystander.url(), json!({ "events": [] })).await;
    let id = webhook["id"].as_str().unwrap();
    let sent = app.post_json(&format!("/v1/webhooks/{id}/test"), Some(&owner), &json!({})).await;
    assert_eq!(sent.status, 202, "{}", sent.text);
    let request = target.wait_for(1).await.remove(0);
    assert_eq!(request.json()["type"], "webhook.test");
    assert_eq!(request.json()["data"]["webhook_id"], id);
    assert_eq!(request.header("webhook-id"), sent.body["delivery_id"].as_str().unwrap());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        bystander.received().iter().all(|r| r.json()["type"] != "webhook.test"),
        "[] does not include webhook.test"
    );
}

#[tokio::test]
async fn deliveries_page_by_offset_and_cursor_newest_first_and_filter_by_type() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let receiver = TestReceiver::start().await;
    let webhook = webhook_to(
        &app,
        &owner,
        &receiver.url(),
        json!({ "events": ["signal_endpoint.created", "signal_endpoint.deleted"] }),
    )
    .await;
    let id = webhook["id"].as_str().unwrap();
    for n in 0..3 {
        let endpoint = app.signal_endpoint(&owner, &format!("paged-{n}")).await;
        if n == 2 {
            app.delete(&format!("/v1/signal-endpoints/{}", endpoint["id"].as_str().unwrap()), Some(&owner)).await;
        }
    }
    let all = deliveries(&app, &owner, id).await;
    assert_eq!(all.len(), 4);
    assert_eq!(all[0]["event_type"], "signal_endpoint.deleted", "newest first");
    let typed =
        app.get(&format!("/v1/webhooks/{id}/deliveries?event_type=signal_endpoint.created"), Some(&owner)).await;
    assert_eq!(typed.body["total"], 3);
    let page = app.get(&format!("/v1/webhooks/{id}/deliveries?limit=2&before=999999999"), Some(&owner)).await;
    assert_eq!(page.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(page.body["has_more"], true);
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let rest = app.get(&format!("/v1/webhooks/{id}/deliveries?limit=2&before={cursor}"), Some(&owner)).await;
    assert_eq!(rest.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(rest.body["has_more"], false);
    assert_eq!(rest.body["data"][1]["id"], all[3]["id"]);
    assert_problem(
        &app.get(&format!("/v1/webhooks/{id}/deliveries?status=lost"), Some(&owner)).await,
        422,
        Some("status"),
    );
    assert_problem(
        &app.get(&format!("/v1/webhooks/{id}/deliveries?before=x"), Some(&owner)).await,
        422,
        Some("before"),
    );
}

#[tokio::test]
async fn after_a_secret_change_both_secrets_sign_until_the_grace_period_ends() {
    let app = spawn_app_with(|config| config.webhooks.webhook_secret_grace = Duration::from_secs(60)).await;
    let owner = app.login_owner().await;
    let receiver = TestReceiver::start().await;
    let (old, new) = ("the old secret", "whsec_bmV3IHNlY3JldCBieXRlcw==");
    let webhook =
        webhook_to(&app, &owner, &receiver.url(), json!({ "secret": old, "events": ["signal_endpoint.created"] }))
            .await;
    let path = format!("/v1/webhooks/{}", webhook["id"].as_str().unwrap());
    assert_eq!(app.put_json(&path, Some(&owner), &json!({ "secret": new })).await.status, 200);

    app.signal_endpoint(&owner, "rotating").await;
    let during = receiver.wait_for(1).await.remove(0);
    assert_eq!(during.header("webhook-signature").split(' ').count(), 2, "one signature per secret");
    standardwebhooks::Webhook::from_bytes(old.as_bytes().to_vec())
        .unwrap()
        .verify(&during.body, &during.headers)
        .expect("the old secret still verifies");
    standardwebhooks::Webhook::new(new)
        .unwrap()
        .verify(&during.body, &during.headers)
        .expect("the new secret verifies");
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(new.as_bytes()).unwrap();
    mac.update(&during.body);
    assert_eq!(
        during.header("x-featuresignals-signature"),
        format!("sha256={}", hex::encode(mac.finalize().into_bytes())),
        "the FeatureSignals header uses the new secret only"
    );

    app.advance(Duration::from_secs(61));
    app.signal_endpoint(&owner, "rotated").await;
    let after = receiver.wait_for(2).await.remove(1);
    assert_eq!(after.header("webhook-signature").split(' ').count(), 1);
    assert!(
        standardwebhooks::Webhook::from_bytes(old.as_bytes().to_vec())
            .unwrap()
            .verify(&after.body, &after.headers)
            .is_err()
    );
    standardwebhooks::Webhook::new(new).unwrap().verify(&after.body, &after.headers).expect("the new secret verifies");
}

#[tokio::test]
async fn auto_disable_stops_a_webhook_after_that_many_dead_deliveries_in_a_row() {
    let app = spawn_app_with(|config| config.webhooks.webhook_auto_disable_after = 2).await;
    let owner = app.login_owner().await;
    let receiver = TestReceiver::start().await;
    receiver.script([Reply::Status(500), Reply::Status(500)]);
    let webhook = webhook_to(
        &app,
        &owner,
        &receiver.url(),
        json!({ "events": ["signal_endpoint.created"], "retry_schedule": [] }),
    )
    .await;
    let id = webhook["id"].as_str().unwrap();
    app.signal_endpoint(&owner, "dies-1").await;
    receiver.wait_for(1).await;
    let health = wait_webhook(&app, &owner, id, |w| w["consecutive_failures"] == 1).await;
    assert_eq!(health["enabled"], true, "one dead delivery is not enough");
    app.signal_endpoint(&owner, "dies-2").await;
    let disabled = wait_webhook(&app, &owner, id, |w| w["enabled"] == false).await;
    assert_eq!(disabled["disabled_reason"], "2 deliveries in a row died");
}

async fn wait_webhook(app: &crate::helpers::TestApp, token: &str, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let webhook = app.get(&format!("/v1/webhooks/{id}"), Some(token)).await.body;
        if done(&webhook) {
            return webhook;
        }
        assert!(std::time::Instant::now() < deadline, "the webhook never got there: {webhook}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_slow_receiver_does_not_delay_another_webhooks_deliveries() {
    let app = spawn_app_with(|config| config.webhooks.webhook_concurrency_per_webhook = 2).await;
    let owner = app.login_owner().await;
    let slow = TestReceiver::start().await;
    slow.script((0..10).map(|_| Reply::After(Duration::from_secs(2), 200)));
    let fast = TestReceiver::start().await;
    let events = json!({ "events": ["signal_endpoint.created"] });
    webhook_to(&app, &owner, &slow.url(), events.clone()).await;
    webhook_to(&app, &owner, &fast.url(), events).await;
    let started = std::time::Instant::now();
    for n in 0..10 {
        app.signal_endpoint(&owner, &format!("busy-{n}")).await;
    }
    fast.wait_for(10).await;
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "the fast receiver waited on the slow one: {:?}",
        started.elapsed()
    );
    assert!(slow.received().len() <= 2, "the slow receiver holds at most its own two slots");
}

#[tokio::test]
async fn a_backlog_at_the_head_of_the_queue_does_not_starve_another_webhook() {
    // Four slots in all, two per webhook: a claim looks at a handful of due deliveries at a
    // time, fewer than the slow webhook's backlog in front of the fast one's.
    let app = spawn_app_with(|config| {
        config.webhooks.webhook_concurrency = 4;
        config.webhooks.webhook_concurrency_per_webhook = 2;
    })
    .await;
    let owner = app.login_owner().await;
    let slow = TestReceiver::start().await;
    slow.script((0..12).map(|_| Reply::After(Duration::from_secs(2), 200)));
    let slow_hook = webhook_to(&app, &owner, &slow.url(), json!({ "events": ["flag.created"] })).await;
    let slow_id = slow_hook["id"].as_str().unwrap();
    for _ in 0..12 {
        let sent = app.post_json(&format!("/v1/webhooks/{slow_id}/test"), Some(&owner), &json!({})).await;
        assert_eq!(sent.status, 202, "{}", sent.text);
    }
    let fast = TestReceiver::start().await;
    let fast_hook = webhook_to(&app, &owner, &fast.url(), json!({ "events": ["flag.created"] })).await;
    let fast_id = fast_hook["id"].as_str().unwrap();
    let started = std::time::Instant::now();
    for _ in 0..3 {
        let sent = app.post_json(&format!("/v1/webhooks/{fast_id}/test"), Some(&owner), &json!({})).await;
        assert_eq!(sent.status, 202, "{}", sent.text);
    }
    fast.wait_for(3).await;
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "the fast webhook waited behind the slow one's backlog: {:?}",
        started.elapsed()
    );
    assert!(slow.received().len() <= 2, "the slow receiver holds at most its own two slots");
}

#[tokio::test]
async fn metrics_count_attempts_by_outcome_and_show_the_pending_backlog() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let receiver = TestReceiver::start().await;
    receiver.script([Reply::Status(500)]);
    let webhook = webhook_to(
        &app,
        &owner,
        &receiver.url(),
        json!({ "events": ["signal_endpoint.created"], "retry_schedule": ["1h"] }),
    )
    .await;
    app.signal_endpoint(&owner, "measured").await;
    let delivery = wait_for_delivery_of(&app, &owner, webhook["id"].as_str().unwrap(), "signal_endpoint.created").await;
    wait_for_delivery(&app, &owner, webhook["id"].as_str().unwrap(), delivery["id"].as_str().unwrap(), attempts_are(1))
        .await;
    let metrics = app.get("/metrics", None).await.text;
    assert!(metrics.contains(r#"signalbox_webhook_delivery_attempts_total{outcome="retrying"} 1"#), "{metrics}");
    assert!(metrics.contains("signalbox_webhook_deliveries_pending 1"), "{metrics}");
    assert!(metrics.contains("signalbox_webhook_attempt_duration_seconds_count 1"), "{metrics}");
    assert!(metrics.contains("signalbox_webhook_oldest_pending_seconds"), "{metrics}");
}

#[tokio::test]
async fn finished_deliveries_past_their_retention_are_pruned_with_their_attempts_pending_ones_are_kept() {
    use signalbox_server::ops::maintenance::{Retention, prune_once};
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let receiver = TestReceiver::start().await;
    receiver.script([Reply::Status(200), Reply::Status(500)]);
    let events = json!({ "events": ["signal_endpoint.created"], "retry_schedule": ["1h"] });
    let done = webhook_to(&app, &owner, &receiver.url(), events.clone()).await;
    let stuck = webhook_to(&app, &owner, &receiver.url(), events).await;
    app.signal_endpoint(&owner, "old").await;
    for webhook in [&done, &stuck] {
        let id = webhook["id"].as_str().unwrap();
        let delivery = wait_for_delivery_of(&app, &owner, id, "signal_endpoint.created").await;
        wait_for_delivery(&app, &owner, id, delivery["id"].as_str().unwrap(), attempts_are(1)).await;
    }
    assert_eq!(app.count_rows("deliveries").await, 2);
    let day = Duration::from_secs(24 * 3600);
    let retention =
        Retention { login_window: day, signals: None, events: Some(day), deliveries: Some(day), action_runs: None };
    use signalbox_core::Clock;
    let later = app.clock.now().plus(2 * day);
    let pruned = prune_once(&app.db, later, retention).await.unwrap();
    assert_eq!(pruned.deliveries, 1, "the finished delivery");
    assert_eq!(app.count_rows("deliveries").await, 1, "the pending one stays");
    assert_eq!(app.count_rows("delivery_attempts").await, 1, "attempts went with their delivery");
    let pending_event = app.count_rows("events").await;
    assert!(pending_event >= 1, "the event of a pending delivery is kept for its next attempt");
}
