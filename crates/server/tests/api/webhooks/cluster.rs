//! Two servers on one Postgres database share the delivery work: every event arrives, and
//! without crashes each delivery arrives once (leases with `FOR UPDATE SKIP LOCKED`).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::json;

use super::receiver::TestReceiver;
use super::webhook_to;
use crate::helpers::spawn_app;

const EVENTS: usize = 1000;

#[tokio::test]
async fn two_servers_on_postgres_deliver_a_thousand_events_each_exactly_once() {
    let first = spawn_app().await;
    if !first.on_postgres() {
        return; // several nodes share a Postgres database; SQLite has one node
    }
    let second = first.another_node().await;
    let owner = first.login_owner().await;
    let receiver = TestReceiver::start().await;
    webhook_to(&first, &owner, &receiver.url(), json!({ "events": ["signal.received"] })).await;
    let endpoint = first.signal_endpoint(&owner, "cluster").await;
    let (_, token) = first.endpoint_token(&owner, endpoint["id"].as_str().unwrap(), "both").await;

    let mut sent = HashSet::new();
    for chunk in 0..EVENTS / 50 {
        let bodies: Vec<_> = (0..50).map(|n| json!({ "n": chunk * 50 + n })).collect();
        let mut batch = Vec::new();
        for (n, body) in bodies.iter().enumerate() {
            // Half the signals arrive at each node.
            let node = if n % 2 == 0 { &first } else { &second };
            batch.push(node.send_signal("cluster", &token, body));
        }
        for response in futures_util::future::join_all(batch).await {
            assert_eq!(response.status, 202, "{}", response.text);
            sent.insert(response.body["id"].as_str().unwrap().to_owned());
        }
    }

    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen: HashMap<String, usize> = HashMap::new();
    loop {
        let received = receiver.received();
        seen.clear();
        for request in &received {
            *seen.entry(request.json()["data"]["signal_id"].as_str().unwrap().to_owned()).or_default() += 1;
        }
        if seen.len() == EVENTS || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let arrived: HashSet<String> = seen.keys().cloned().collect();
    assert_eq!(arrived, sent, "every event arrives");
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    assert_eq!(duplicates, 0, "without crashes no delivery is sent twice");
    let ids: HashSet<String> = receiver.received().iter().map(|r| r.header("webhook-id").to_owned()).collect();
    assert_eq!(ids.len(), EVENTS);
}
