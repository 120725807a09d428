//! A typed signal with bad fields is refused with `422` naming every bad field at once, and
//! writes nothing; unknown top-level fields are ignored and reported as warnings.

use serde_json::{Value, json};

use super::support::{assert_nothing_written, capture, fields, signal};
use crate::helpers::{assert_problem, spawn_app};

const AT: &str = "2026-05-26T14:30:00Z";

/// A change that makes a valid body invalid.
type Change = Box<dyn Fn(&mut Value)>;

fn assert_fields(response: &crate::helpers::ApiResponse, expected: &[&str]) {
    assert_problem(response, 422, None);
    let mut listed = fields(response);
    listed.sort();
    listed.dedup();
    let mut expected: Vec<String> = expected.iter().map(|f| (*f).to_owned()).collect();
    expected.sort();
    assert_eq!(listed, expected, "{}", response.text);
}

#[tokio::test]
async fn every_bad_field_is_listed_at_once_and_nothing_is_written() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let bad = json!({
        "signal_type": "no_such_type",
        "source": "s".repeat(201),
        "occurred_at": "yesterday",
        "identity": { "email": "not an email", "linkedin_url": "https://example.com/in/ada",
                      "company_domain": "not a domain" },
        "context": "a string"
    });
    let response = app.post_json("/signals", Some(&owner), &bad).await;
    assert_fields(
        &response,
        &[
            "signal_type",
            "source",
            "occurred_at",
            "identity.email",
            "identity.linkedin_url",
            "identity.company_domain",
            "context",
        ],
    );
    assert_nothing_written(&app, &owner).await;
}

#[tokio::test]
async fn missing_fields_are_each_listed() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let response = app.post_json("/signals", Some(&owner), &json!({})).await;
    assert_fields(&response, &["signal_type", "source", "occurred_at", "identity"]);

    assert_nothing_written(&app, &owner).await;
}

#[tokio::test]
async fn null_fields_are_refused_like_missing_ones() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let nulls = json!({ "signal_type": null, "source": null, "occurred_at": null, "identity": null });
    let response = app.post_json("/signals", Some(&owner), &nulls).await;
    assert_fields(&response, &["signal_type", "source", "occurred_at", "identity"]);
    assert_nothing_written(&app, &owner).await;
}

#[tokio::test]
async fn a_null_signal_type_in_an_otherwise_valid_body_is_a_422_not_a_server_error() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let mut body = signal("ada@example.com", AT);
    body["signal_type"] = json!(null);
    // Sent without the harness's `send`, which would panic on a dropped connection before
    // the status could be checked.
    let sent = app.client.post(app.url("/signals")).bearer_auth(&owner).json(&body).send().await;
    let status = sent.as_ref().map(|r| r.status().as_u16()).map_err(|e| e.to_string());
    assert_eq!(status, Ok(422), "a null signal_type must be refused as a field error");
    assert_nothing_written(&app, &owner).await;
}

#[tokio::test]
async fn identity_fields_of_the_wrong_json_type_are_each_named() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let mut body = signal("ada@example.com", AT);
    body["identity"] = json!({ "email": 5, "linkedin_url": ["linkedin.com/in/ada"], "company_domain": "acme.io" });
    let response = app.post_json("/signals", Some(&owner), &body).await;
    assert_fields(&response, &["identity.email", "identity.linkedin_url"]);
    assert_nothing_written(&app, &owner).await;
}

#[tokio::test]
async fn each_field_is_refused_on_its_own_with_its_name() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let cases: Vec<(&str, Change)> = vec![
        ("signal_type", Box::new(|b| b["signal_type"] = json!("no_such_type"))),
        ("signal_type", Box::new(|b| b["signal_type"] = json!(7))),
        ("source", Box::new(|b| b["source"] = json!(""))),
        ("source", Box::new(|b| b["source"] = json!("   "))),
        ("source", Box::new(|b| b["source"] = json!("s".repeat(201)))),
        ("source", Box::new(|b| _ = b.as_object_mut().unwrap().remove("source"))),
        ("occurred_at", Box::new(|b| _ = b.as_object_mut().unwrap().remove("occurred_at"))),
        ("occurred_at", Box::new(|b| b["occurred_at"] = json!("2026-05-26T14:30:00"))),
        ("occurred_at", Box::new(|b| b["occurred_at"] = json!("2026-05-26"))),
        ("occurred_at", Box::new(|b| b["occurred_at"] = json!("not a time"))),
        ("occurred_at", Box::new(|b| b["occurred_at"] = json!(1_780_000_000))),
        ("identity", Box::new(|b| _ = b.as_object_mut().unwrap().remove("identity"))),
        ("identity", Box::new(|b| b["identity"] = json!({}))),
        ("identity", Box::new(|b| b["identity"] = json!({ "first_name": "Ada", "title": "CTO" }))),
        ("identity", Box::new(|b| b["identity"] = json!({ "email": "", "linkedin_url": " " }))),
        ("identity", Box::new(|b| b["identity"] = json!("ada@example.com"))),
        ("identity.email", Box::new(|b| b["identity"] = json!({ "email": "ada@" }))),
        ("identity.linkedin_url", Box::new(|b| b["identity"] = json!({ "linkedin_url": "https://twitter.com/ada" }))),
        ("identity.linkedin_url", Box::new(|b| b["identity"] = json!({ "linkedin_url": "linkedin.com/feed/" }))),
        ("identity.company_domain", Box::new(|b| b["identity"] = json!({ "company_domain": "localhost" }))),
        ("identity.company_domain", Box::new(|b| b["identity"] = json!({ "company_domain": "10.0.0.1" }))),
        ("context", Box::new(|b| b["context"] = json!([1, 2]))),
        ("context", Box::new(|b| b["context"] = json!("team_size=12"))),
        ("context", Box::new(|b| b["context"] = json!(12))),
    ];
    for (field, change) in cases {
        let mut body = signal("ada@example.com", AT);
        change(&mut body);
        let response = app.post_json("/signals", Some(&owner), &body).await;
        assert_eq!(response.status, 422, "{body}: {}", response.text);
        assert_fields(&response, &[field]);
    }
    assert_nothing_written(&app, &owner).await;

    // The edges that are accepted.
    let mut edge = signal("ada@example.com", AT);
    edge["source"] = json!("s".repeat(200));
    edge["context"] = json!(null);
    edge["occurred_at"] = json!("2026-05-26T14:30:00.123456-05:30");
    capture(&app, &owner, &edge, 201).await;
}

#[tokio::test]
async fn a_disabled_type_is_refused_on_signal_type() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let disable = app.put_json("/v1/signal-types/custom_event", Some(&owner), &json!({ "enabled": false })).await;
    assert_eq!(disable.status, 200, "{}", disable.text);
    let response = app.post_json("/signals", Some(&owner), &signal("ada@example.com", AT)).await;
    assert_fields(&response, &["signal_type"]);
    assert_nothing_written(&app, &owner).await;

    let enable = app.put_json("/v1/signal-types/custom_event", Some(&owner), &json!({ "enabled": true })).await;
    assert_eq!(enable.status, 200, "{}", enable.text);
    capture(&app, &owner, &signal("ada@example.com", AT), 201).await;
}

#[tokio::test]
async fn unknown_top_level_fields_are_ignored_and_listed_as_warnings() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let plain = capture(&app, &owner, &signal("ada@example.com", AT), 201).await;
    assert!(plain.body.get("warnings").is_none(), "{}", plain.text);

    let mut body = signal("bob@example.com", AT);
    body["zeta"] = json!(1);
    body["alpha"] = json!({ "nested": true });
    let warned = capture(&app, &owner, &body, 201).await;
    let warnings: Vec<&str> = warned.body["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("\"alpha\""), "{warnings:?}");
    assert!(warnings[1].contains("\"zeta\""), "{warnings:?}");
    // Unknown fields do not hide bad known ones.
    let mut bad = signal("carol@example.com", AT);
    bad["extra"] = json!(true);
    bad["source"] = json!("");
    assert_fields(&app.post_json("/signals", Some(&owner), &bad).await, &["source"]);
}
