//! The SSRF guard through the API and at delivery time: DESIGN's table, odd spellings, the
//! allow-list, and a name that turns internal after it was accepted (rebinding). No test
//! here resolves a real name or sends to a public address.

use serde_json::json;

use super::{wait_for_delivery, wait_for_delivery_of, webhook_to};
use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn every_forbidden_destination_is_refused_at_create_naming_the_url() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    app.resolver.set("internal.invalid", vec!["10.1.2.3".parse().unwrap()]);
    app.resolver.set("metadata.invalid", vec!["169.254.169.254".parse().unwrap()]);
    let refused = [
        "http://localhost/",
        "http://LocalHost:8080/",
        "http://api.localhost/",
        "http://printer.local/",
        "http://0.0.0.0/",
        "http://10.0.0.1/",
        "http://100.64.0.1/",
        "http://127.0.0.2/",
        "http://2130706434/",
        "http://0x7f.0.0.2/",
        "http://0177.0.0.2/",
        "http://127.2/",
        "http://169.254.169.254/latest/meta-data/",
        "http://172.16.0.1/",
        "http://192.0.0.1/",
        "http://192.0.2.1/",
        "http://192.168.1.1/",
        "http://198.18.0.1/",
        "http://198.51.100.1/",
        "http://203.0.113.1/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://255.255.255.255/",
        "http://[::]/",
        "http://[::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[::ffff:a00:1]/",
        "http://[64:ff9b::a00:1]/",
        "http://[2002:a00:1::]/",
        "http://[2001:db8::1]/",
        "http://[fc00::1]/",
        "http://[fd12::1]/",
        "http://[fe80::1]/",
        "http://[ff02::1]/",
        "http://internal.invalid/",
        "http://metadata.invalid/",
    ];
    for url in refused {
        let response = app.post_json("/v1/webhooks", Some(&owner), &json!({ "name": "x", "url": url })).await;
        assert_problem(&response, 422, Some("url"));
    }
    assert_eq!(app.count_rows("webhooks").await, 0);

    // Loopback is allowed only as the allow-list says (127.0.0.1/32 in tests).
    let allowed =
        app.post_json("/v1/webhooks", Some(&owner), &json!({ "name": "x", "url": "http://127.0.0.1:9/" })).await;
    assert_eq!(allowed.status, 201, "{}", allowed.text);
    // A name that does not resolve now is accepted; its attempts fail until it does.
    let unresolved =
        app.post_json("/v1/webhooks", Some(&owner), &json!({ "name": "x", "url": "https://later.invalid/" })).await;
    assert_eq!(unresolved.status, 201, "{}", unresolved.text);
}

#[tokio::test]
async fn a_name_that_turns_internal_after_it_was_accepted_fails_the_attempt() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    // Public when the webhook is created (documentation address: never contacted)…
    app.resolver.set("rebinding.invalid", vec!["93.184.216.34".parse().unwrap()]);
    let webhook = webhook_to(
        &app,
        &owner,
        "http://rebinding.invalid/hook",
        json!({ "events": ["signal_endpoint.created"], "retry_schedule": [] }),
    )
    .await;
    // …internal when the delivery is attempted.
    app.resolver.set("rebinding.invalid", vec!["10.0.0.7".parse().unwrap()]);
    app.signal_endpoint(&owner, "rebound").await;
    let id = webhook["id"].as_str().unwrap();
    let delivery = wait_for_delivery_of(&app, &owner, id, "signal_endpoint.created").await;
    let dead = wait_for_delivery(&app, &owner, id, delivery["id"].as_str().unwrap(), |d| d["status"] == "dead").await;
    let error = dead["attempt_log"][0]["error"].as_str().unwrap();
    assert!(error.contains("10.0.0.7") && error.contains("private"), "a clear reason: {error}");
    assert!(dead["attempt_log"][0]["response_status"].is_null());
}
