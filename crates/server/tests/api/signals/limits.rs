use std::time::Duration;

use serde_json::json;

use crate::helpers::{assert_problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after_per_endpoint() {
    let app = spawn_app_with(|c| c.signals.signal_rate_limit = 1).await;
    let owner = app.login_owner().await;
    let deploys = app.signal_endpoint(&owner, "deploys").await;
    let alerts = app.signal_endpoint(&owner, "alerts").await;
    let (_, deploys_secret) = app.endpoint_token(&owner, deploys["id"].as_str().unwrap(), "ci").await;
    let (_, alerts_secret) = app.endpoint_token(&owner, alerts["id"].as_str().unwrap(), "pager").await;

    assert_eq!(app.send_signal("deploys", &deploys_secret, &json!({})).await.status, 202);
    let limited = app.send_signal("deploys", &deploys_secret, &json!({})).await;
    assert_problem(&limited, 429, None);
    assert_eq!(limited.header("retry-after"), Some("1"));
    // Another endpoint has its own budget.
    assert_eq!(app.send_signal("alerts", &alerts_secret, &json!({})).await.status, 202);
    // Unauthenticated requests do not use up the budget.
    app.clock.advance(Duration::from_secs(1));
    for _ in 0..5 {
        assert_problem(&app.send_signal("deploys", "sbx_sig_flood", &json!({})).await, 401, None);
    }
    assert_eq!(app.send_signal("deploys", &deploys_secret, &json!({})).await.status, 202);
    assert_eq!(app.count_rows("signals").await, 3);
    let fetched = app.get(&format!("/v1/signal-endpoints/{}", deploys["id"].as_str().unwrap()), Some(&owner)).await;
    assert_eq!(fetched.body["counters"]["rate_limited"], 1);
}

#[tokio::test]
async fn a_rate_limit_of_zero_means_none() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let secret = app.endpoint_with_token(&owner, "deploys", "ci").await;
    for _ in 0..20 {
        assert_eq!(app.send_signal("deploys", &secret, &json!({})).await.status, 202);
    }
}

#[tokio::test]
async fn the_endpoint_count_limit_is_a_409_limit_exceeded_on_v1() {
    let app = spawn_app_with(|c| c.signals.max_signal_endpoints = 2).await;
    let owner = app.login_owner().await;
    app.signal_endpoint(&owner, "one").await;
    app.signal_endpoint(&owner, "two").await;
    let third = app.post_json("/v1/signal-endpoints", Some(&owner), &json!({ "name": "three" })).await;
    assert_problem(&third, 409, None);
    assert!(third.body["type"].as_str().unwrap().ends_with("limit-exceeded"), "{}", third.text);
    assert_eq!(third.body["limit"], json!({ "name": "max_signal_endpoints", "value": 2 }));
    assert_eq!(app.count_rows("signal_endpoints").await, 2);
}

#[tokio::test]
async fn the_token_count_limit_is_a_409_limit_exceeded_on_v1() {
    let app = spawn_app_with(|c| c.signals.max_tokens_per_endpoint = 1).await;
    let owner = app.login_owner().await;
    let endpoint = app.signal_endpoint(&owner, "deploys").await;
    let id = endpoint["id"].as_str().unwrap();
    app.endpoint_token(&owner, id, "first").await;
    let second =
        app.post_json(&format!("/v1/signal-endpoints/{id}/tokens"), Some(&owner), &json!({ "name": "second" })).await;
    assert_problem(&second, 409, None);
    assert_eq!(second.body["limit"], json!({ "name": "max_tokens_per_endpoint", "value": 1 }));
    assert_eq!(app.count_rows("signal_endpoint_tokens").await, 1);
}

#[tokio::test]
async fn count_limits_of_zero_mean_none() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    for n in 0..7 {
        let endpoint = app.signal_endpoint(&owner, &format!("e{n}")).await;
        if n == 0 {
            for t in 0..7 {
                app.endpoint_token(&owner, endpoint["id"].as_str().unwrap(), &format!("t{t}")).await;
            }
        }
    }
    assert_eq!(app.count_rows("signal_endpoints").await, 7);
}

#[tokio::test]
async fn the_payload_limit_of_zero_means_none() {
    let app = spawn_app_with(|c| c.signals.max_signal_payload_bytes = 0).await;
    let owner = app.login_owner().await;
    let secret = app.endpoint_with_token(&owner, "deploys", "ci").await;
    let big = json!({ "text": "x".repeat(300_000) });
    assert_eq!(app.send_signal("deploys", &secret, &big).await.status, 202);
}

#[tokio::test]
async fn a_workspace_lowers_its_limits_within_the_server_caps() {
    let app = spawn_app_with(|c| {
        c.signals.max_signal_endpoints = 5;
        c.signals.max_signal_payload_bytes = 1000;
    })
    .await;
    let owner = app.login_owner().await;
    let over = app.put_json("/v1/workspace/settings", Some(&owner), &json!({ "max_signal_endpoints": 6 })).await;
    assert_problem(&over, 422, Some("max_signal_endpoints"));
    let zero = app.put_json("/v1/workspace/settings", Some(&owner), &json!({ "max_signal_endpoints": 0 })).await;
    assert_problem(&zero, 422, Some("max_signal_endpoints"));
    let lowered = app
        .put_json(
            "/v1/workspace/settings",
            Some(&owner),
            &json!({ "max_signal_endpoints": 1, "max_signal_payload_bytes": 20, "signal_rate_limit": 1 }),
        )
        .await;
    assert_eq!(lowered.status, 200, "{}", lowered.text);
    assert_eq!(lowered.body["caps"]["max_signal_endpoints"], 5);

    let endpoint = app.signal_endpoint(&owner, "one").await;
    let second = app.post_json("/v1/signal-endpoints", Some(&owner), &json!({ "name": "two" })).await;
    assert_problem(&second, 409, None);
    let (_, secret) = app.endpoint_token(&owner, endpoint["id"].as_str().unwrap(), "ci").await;
    assert_eq!(app.send_signal("one", &secret, &json!({})).await.status, 202);
    // The workspace's own rate limit applies although the server has none.
    assert_problem(&app.send_signal("one", &secret, &json!({})).await, 429, None);
    app.clock.advance(Duration::from_secs(1));
    assert_problem(&app.send_signal("one", &secret, &json!({ "text": "more than twenty bytes" })).await, 413, None);
}

#[tokio::test]
async fn retention_deletes_old_signals_and_events_in_batches() {
    use signalbox_core::Clock;
    use signalbox_server::ops::maintenance::{Retention, prune_once};
    let app = spawn_app_with(|c| {
        c.signals.signal_retention = Some(Duration::from_secs(3600));
        c.signals.event_retention = Some(Duration::from_secs(7200));
    })
    .await;
    let owner = app.login_owner().await;
    let secret = app.endpoint_with_token(&owner, "deploys", "ci").await;
    for _ in 0..3 {
        app.send_signal("deploys", &secret, &json!({})).await;
    }
    let retention = Retention::from_config(&app.config);
    let events_before = app.count_rows("events").await;
    app.clock.advance(Duration::from_secs(3601));
    app.send_signal("deploys", &secret, &json!({ "newer": true })).await;
    let pruned = prune_once(&app.db, app.clock.now(), retention).await.unwrap();
    assert_eq!((pruned.signals, pruned.events), (3, 0));
    assert_eq!(app.count_rows("signals").await, 1, "the newer signal is kept");
    app.clock.advance(Duration::from_secs(3600));
    let pruned = prune_once(&app.db, app.clock.now(), retention).await.unwrap();
    assert_eq!(pruned.events as i64, events_before);
    assert_eq!(app.count_rows("events").await, 1, "the newer signal's event is kept");
}
