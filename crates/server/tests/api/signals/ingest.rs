use serde_json::json;

use crate::helpers::{TestApp, assert_problem, spawn_app, spawn_app_with};

/// An app with endpoint `deploys` and one token; returns (app, owner session, endpoint id, secret).
async fn with_endpoint() -> (TestApp, String, String, String) {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let endpoint = app.signal_endpoint(&owner, "deploys").await;
    let id = endpoint["id"].as_str().unwrap().to_owned();
    let (_, secret) = app.endpoint_token(&owner, &id, "github").await;
    (app, owner, id, secret)
}

fn raw_post(app: &TestApp, name: &str) -> reqwest::RequestBuilder {
    app.client.post(app.url(&format!("/api/signal-endpoint/{name}")))
}

#[tokio::test]
async fn a_signal_is_committed_before_the_202_and_stored_verbatim() {
    let (app, owner, id, secret) = with_endpoint().await;
    let body = r#"{"type":"deploy","data":{"z":1,"a":[true,null]},"note":"ünïcode"}"#;
    let request = raw_post(&app, "deploys").bearer_auth(&secret).header("content-type", "application/json").body(body);
    let accepted = app.send(request).await;
    assert_eq!(accepted.status, 202, "{}", accepted.text);
    assert!(accepted.body["id"].is_string());
    assert!(accepted.body["received_at"].as_str().unwrap().ends_with('Z'));

    let signals = app.get(&format!("/v1/signal-endpoints/{id}/signals"), Some(&owner)).await;
    assert_eq!(signals.body["total"], 1);
    let signal = &signals.body["data"][0];
    assert_eq!(signal["id"], accepted.body["id"]);
    assert_eq!(signal["token_name"], "github");
    // Key order and spelling are kept: the payload comes back as it was sent.
    assert!(signals.text.contains(body), "{}", signals.text);

    let events = app.get("/v1/events?type=signal.received", Some(&owner)).await;
    let event = &events.body["data"][0];
    assert_eq!(event["data"]["signal_id"], accepted.body["id"]);
    assert_eq!(event["data"]["endpoint_name"], "deploys");
    assert_eq!(event["data"]["token_name"], "github");
    assert_eq!(event["seq"], signal["seq"]);
}

#[tokio::test]
async fn an_empty_body_is_stored_as_an_empty_object_and_content_type_may_be_absent() {
    let (app, owner, id, secret) = with_endpoint().await;
    assert_eq!(app.send(raw_post(&app, "deploys").bearer_auth(&secret)).await.status, 202);
    let with_parameters = raw_post(&app, "deploys")
        .bearer_auth(&secret)
        .header("content-type", "application/vnd.acme+json; charset=utf-8")
        .body("[1,2]");
    assert_eq!(app.send(with_parameters).await.status, 202);
    let scalar = raw_post(&app, "deploys").bearer_auth(&secret).body("42");
    assert_eq!(app.send(scalar).await.status, 202);
    let signals = app.get(&format!("/v1/signal-endpoints/{id}/signals"), Some(&owner)).await;
    let payloads: Vec<String> =
        signals.body["data"].as_array().unwrap().iter().map(|s| s["payload"].to_string()).collect();
    assert_eq!(payloads, ["42", "[1,2]", "{}"]);
}

#[tokio::test]
async fn the_token_may_be_sent_raw_or_as_bearer_in_any_case() {
    let (app, _, _, secret) = with_endpoint().await;
    for header in [secret.clone(), format!("Bearer {secret}"), format!("bearer {secret}"), format!("BEARER {secret}")] {
        let request = raw_post(&app, "deploys").header("authorization", header.clone()).json(&json!({}));
        assert_eq!(app.send(request).await.status, 202, "{header}");
    }
}

#[tokio::test]
async fn an_unknown_name_is_a_404_even_with_a_valid_token() {
    let (app, _, _, secret) = with_endpoint().await;
    let response = app.send_signal("nope", &secret, &json!({})).await;
    assert_problem(&response, 404, None);
    let anonymous = app.send(raw_post(&app, "nope")).await;
    assert_problem(&anonymous, 404, None);
    assert_eq!(app.count_rows("signals").await, 0);
}

#[tokio::test]
async fn a_missing_malformed_or_other_endpoints_token_is_a_401_with_www_authenticate() {
    let (app, owner, _, _) = with_endpoint().await;
    let other = app.signal_endpoint(&owner, "alerts").await;
    let (_, other_secret) = app.endpoint_token(&owner, other["id"].as_str().unwrap(), "pager").await;
    let api_token = app.api_token(&owner, "admin").await;
    let cases = [
        None,
        Some(String::new()),
        Some("Bearer ".to_owned()),
        Some("sbx_sig_not-a-real-token".to_owned()),
        Some(format!("Bearer {other_secret}")),
        Some(format!("Bearer {api_token}")),
        Some(format!("Bearer {owner}")),
    ];
    for header in cases {
        let mut request = raw_post(&app, "deploys").json(&json!({}));
        if let Some(header) = &header {
            request = request.header("authorization", header.clone());
        }
        let response = app.send(request).await;
        assert_problem(&response, 401, None);
        assert_eq!(response.header("www-authenticate"), Some("Bearer"), "{header:?}");
    }
    assert_eq!(app.count_rows("signals").await, 0);
}

#[tokio::test]
async fn tokens_do_not_cross_workspaces_with_the_same_endpoint_name() {
    let (app, owner, _, secret) = with_endpoint().await;
    let (_, elsewhere) = app.new_workspace_session(&owner, "Other").await;
    let twin = app.signal_endpoint(&elsewhere, "deploys").await;
    let (_, twin_secret) = app.endpoint_token(&elsewhere, twin["id"].as_str().unwrap(), "twin").await;
    // Both work, and each signal lands in its own workspace's endpoint.
    assert_eq!(app.send_signal("deploys", &secret, &json!({ "from": "first" })).await.status, 202);
    assert_eq!(app.send_signal("deploys", &twin_secret, &json!({ "from": "second" })).await.status, 202);
    let twin_signals =
        app.get(&format!("/v1/signal-endpoints/{}/signals", twin["id"].as_str().unwrap()), Some(&elsewhere)).await;
    assert_eq!(twin_signals.body["total"], 1);
    assert_eq!(twin_signals.body["data"][0]["payload"]["from"], "second");
}

#[tokio::test]
async fn a_disabled_endpoint_answers_403_after_authentication() {
    let (app, owner, id, secret) = with_endpoint().await;
    app.put_json(&format!("/v1/signal-endpoints/{id}"), Some(&owner), &json!({ "enabled": false })).await;
    assert_problem(&app.send_signal("deploys", &secret, &json!({})).await, 403, None);
    // A wrong token still gets 401, not 403: authentication comes first.
    assert_problem(&app.send_signal("deploys", "sbx_sig_wrong", &json!({})).await, 401, None);
    assert_eq!(app.count_rows("signals").await, 0);
    app.put_json(&format!("/v1/signal-endpoints/{id}"), Some(&owner), &json!({ "enabled": true })).await;
    assert_eq!(app.send_signal("deploys", &secret, &json!({})).await.status, 202);
}

#[tokio::test]
async fn another_content_type_is_a_415_and_invalid_json_a_400() {
    let (app, _, _, secret) = with_endpoint().await;
    let text = raw_post(&app, "deploys").bearer_auth(&secret).header("content-type", "text/plain").body("{}");
    assert_problem(&app.send(text).await, 415, None);
    let form = raw_post(&app, "deploys")
        .bearer_auth(&secret)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("a=b");
    assert_problem(&app.send(form).await, 415, None);
    for body in ["{", "{\"a\":1} trailing", "nope"] {
        let request =
            raw_post(&app, "deploys").bearer_auth(&secret).header("content-type", "application/json").body(body);
        assert_problem(&app.send(request).await, 400, None);
    }
    assert_eq!(app.count_rows("signals").await, 0);
}

#[tokio::test]
async fn an_over_limit_content_length_is_refused_with_413_before_the_body_is_read() {
    let app = spawn_app_with(|c| c.signals.max_signal_payload_bytes = 100).await;
    let owner = app.login_owner().await;
    let secret = app.endpoint_with_token(&owner, "deploys", "ci").await;
    let body = json!({ "text": "x".repeat(200) });
    let response = app.send_signal("deploys", &secret, &body).await;
    assert_problem(&response, 413, None);
    let at_limit = json!({ "text": "x".repeat(80) });
    assert_eq!(app.send_signal("deploys", &secret, &at_limit).await.status, 202);
    assert_eq!(app.count_rows("signals").await, 1);
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_cut_off_with_413() {
    let app = spawn_app_with(|c| c.signals.max_signal_payload_bytes = 100).await;
    let owner = app.login_owner().await;
    let endpoint = app.signal_endpoint(&owner, "deploys").await;
    let (_, secret) = app.endpoint_token(&owner, endpoint["id"].as_str().unwrap(), "ci").await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let chunk = format!(r#"{{"text":"{}"}}"#, "y".repeat(300));
    let request = format!(
        "POST /api/signal-endpoint/deploys HTTP/1.1\r\nHost: {address}\r\nAuthorization: {secret}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         {:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    let response = app.send_raw(request).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.to_ascii_lowercase().contains("application/problem+json"), "{response}");
    assert_eq!(app.count_rows("signals").await, 0);
}

#[tokio::test]
async fn counters_show_accepted_and_refused_requests() {
    let app = spawn_app_with(|c| c.signals.max_signal_payload_bytes = 50).await;
    let owner = app.login_owner().await;
    let endpoint = app.signal_endpoint(&owner, "deploys").await;
    let id = endpoint["id"].as_str().unwrap();
    let (_, secret) = app.endpoint_token(&owner, id, "ci").await;
    app.send_signal("deploys", &secret, &json!({})).await;
    app.send_signal("deploys", &secret, &json!({})).await;
    app.send_signal("deploys", "sbx_sig_wrong", &json!({})).await;
    app.send_signal("deploys", &secret, &json!({ "big": "x".repeat(100) })).await;
    let fetched = app.get(&format!("/v1/signal-endpoints/{id}"), Some(&owner)).await;
    assert_eq!(
        fetched.body["counters"],
        json!({ "accepted": 2, "unauthorized": 1, "too_large": 1, "rate_limited": 0 })
    );
    assert!(fetched.body["tokens"][0]["last_used_at"].is_string(), "{}", fetched.text);

    // The counters survive a restart: they are written at shutdown.
    let app = app.restart().await;
    let owner = app.login_owner().await;
    let fetched = app.get(&format!("/v1/signal-endpoints/{id}"), Some(&owner)).await;
    assert_eq!(fetched.body["counters"]["accepted"], 2, "{}", fetched.text);
}

#[tokio::test]
async fn signals_sent_at_once_are_committed_together_each_with_its_own_event() {
    let (app, owner, id, secret) = with_endpoint().await;
    // Enough at once for the writer's batches to take multi-row INSERTs of several sizes.
    const SENT: usize = 90;
    let bodies: Vec<_> = (0..SENT).map(|n| json!({ "n": n })).collect();
    let sends = bodies.iter().map(|body| app.send_signal("deploys", &secret, body));
    let accepted = futures_util::future::join_all(sends).await;
    assert!(accepted.iter().all(|a| a.status == 202), "every signal is accepted");

    let signals = app.get(&format!("/v1/signal-endpoints/{id}/signals?limit=100"), Some(&owner)).await;
    let events = app.get("/v1/events?type=signal.received&limit=100", Some(&owner)).await;
    assert_eq!(signals.body["total"], SENT);
    let event_of_seq: std::collections::HashMap<i64, &str> = events.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["seq"].as_i64().unwrap(), e["data"]["signal_id"].as_str().unwrap()))
        .collect();
    assert_eq!(event_of_seq.len(), SENT, "one event per signal");
    let mut payloads = Vec::new();
    for signal in signals.body["data"].as_array().unwrap() {
        let seq = signal["seq"].as_i64().unwrap();
        assert_eq!(event_of_seq.get(&seq).copied(), signal["id"].as_str(), "the signal at seq {seq} is its event's");
        payloads.push(signal["payload"]["n"].as_u64().unwrap());
    }
    payloads.sort_unstable();
    assert_eq!(payloads, (0..SENT as u64).collect::<Vec<_>>(), "every payload stored once");
}
