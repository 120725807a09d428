//! Identity resolution: email first, then LinkedIn, then — only for an identity with neither —
//! the oldest domain-only lead of the company; conflicts attach to the email's lead and are
//! recorded; newer signals fill what a lead lacks. Every capture emits `signal.captured`.

use serde_json::{Value, json};

use super::support::{about, capture, capture_row, captured_events, lead};
use crate::helpers::{TestApp, spawn_app};

struct Sent {
    capture_id: String,
    lead_id: String,
}

async fn send(app: &TestApp, owner: &str, identity: Value, n: u32) -> Sent {
    let response = capture(app, owner, &about(identity, n), 201).await;
    Sent {
        capture_id: response.body["signal_capture_id"].as_str().unwrap().to_owned(),
        lead_id: response.body["matched_record_id"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test]
async fn an_email_or_a_linkedin_url_finds_the_lead_that_has_it() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let ada = send(&app, &owner, json!({ "email": "ada@acme.io", "linkedin_url": "linkedin.com/in/ada" }), 1).await;
    assert!(ada.lead_id.starts_with("lead_"), "{}", ada.lead_id);
    assert_eq!(send(&app, &owner, json!({ "email": "ada@acme.io" }), 2).await.lead_id, ada.lead_id);
    assert_eq!(send(&app, &owner, json!({ "linkedin_url": "linkedin.com/in/ada" }), 3).await.lead_id, ada.lead_id);
    // An email the lead lacks, with its LinkedIn URL: still Ada, and she gains nothing (she has an email).
    let other_email =
        send(&app, &owner, json!({ "email": "ada@home.example", "linkedin_url": "linkedin.com/in/ada" }), 4).await;
    assert_eq!(other_email.lead_id, ada.lead_id);
    let row = lead(&app, &ada.lead_id).await;
    assert_eq!(row.email.as_deref(), Some("ada@acme.io"));
    assert_eq!(row.capture_count, 4);
    assert_eq!(app.count_rows("leads").await, 1);
    assert!(capture_row(&app, &other_email.capture_id).await.conflict.is_none());

    // Someone else is someone else.
    let bob = send(&app, &owner, json!({ "email": "bob@acme.io" }), 5).await;
    assert_ne!(bob.lead_id, ada.lead_id);
}

#[tokio::test]
async fn colleagues_are_never_merged_through_their_company_domain() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let ada = send(&app, &owner, json!({ "email": "ada@acme.io", "company_domain": "acme.io" }), 1).await;
    let bob = send(&app, &owner, json!({ "email": "bob@acme.io", "company_domain": "acme.io" }), 2).await;
    assert_ne!(ada.lead_id, bob.lead_id);
    let carol =
        send(&app, &owner, json!({ "linkedin_url": "linkedin.com/in/carol", "company_domain": "acme.io" }), 3).await;
    assert_ne!(carol.lead_id, ada.lead_id);
    assert_ne!(carol.lead_id, bob.lead_id);

    // A domain alone matches none of them: it makes a company lead ...
    let company = send(&app, &owner, json!({ "company_domain": "acme.io" }), 4).await;
    assert!(![&ada.lead_id, &bob.lead_id, &carol.lead_id].contains(&&company.lead_id));
    // ... which the next domain-only signal finds.
    let again = send(&app, &owner, json!({ "company_domain": "https://www.acme.io/team" }), 5).await;
    assert_eq!(again.lead_id, company.lead_id);
    // A person at the company is still a new lead, not the company's.
    let dave = send(&app, &owner, json!({ "email": "dave@acme.io", "company_domain": "acme.io" }), 6).await;
    assert_ne!(dave.lead_id, company.lead_id);
    assert_eq!(app.count_rows("leads").await, 5);
    assert_eq!(lead(&app, &company.lead_id).await.capture_count, 2);
    assert_eq!(lead(&app, &ada.lead_id).await.capture_count, 1);
}

#[tokio::test]
async fn an_email_and_a_linkedin_url_of_two_leads_attach_to_the_email_lead_and_record_the_conflict() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let a = send(&app, &owner, json!({ "email": "ada@acme.io" }), 1).await;
    let b = send(&app, &owner, json!({ "linkedin_url": "linkedin.com/in/someone" }), 2).await;
    assert_ne!(a.lead_id, b.lead_id);
    assert!(capture_row(&app, &a.capture_id).await.conflict.is_none());

    let both =
        send(&app, &owner, json!({ "email": "ADA@acme.io", "linkedin_url": "uk.linkedin.com/in/Someone/" }), 3).await;
    assert_eq!(both.lead_id, a.lead_id);
    let row = capture_row(&app, &both.capture_id).await;
    assert_eq!(row.lead_id, a.lead_id);
    let conflict = row.conflict.expect("the conflict is recorded on the capture");
    assert!(conflict.contains(&a.lead_id) && conflict.contains(&b.lead_id), "{conflict}");

    // Neither lead takes the other's identity.
    let lead_a = lead(&app, &a.lead_id).await;
    assert_eq!((lead_a.linkedin_url, lead_a.capture_count), (None, 2));
    let lead_b = lead(&app, &b.lead_id).await;
    assert_eq!((lead_b.email, lead_b.capture_count), (None, 1));
    assert_eq!(lead_b.linkedin_url.as_deref(), Some("https://www.linkedin.com/in/someone"));
}

#[tokio::test]
async fn newer_signals_fill_the_identity_fields_a_lead_lacks() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let first = send(&app, &owner, json!({ "linkedin_url": "linkedin.com/in/grace", "first_name": "Grace" }), 1).await;
    let row = lead(&app, &first.lead_id).await;
    assert_eq!((row.email, row.company_domain), (None, None));

    let second = send(
        &app,
        &owner,
        json!({ "linkedin_url": "linkedin.com/in/grace", "email": "Grace@Navy.mil", "company_domain": "navy.mil" }),
        2,
    )
    .await;
    assert_eq!(second.lead_id, first.lead_id);
    let row = lead(&app, &first.lead_id).await;
    assert_eq!(row.email.as_deref(), Some("grace@navy.mil"));
    assert_eq!(row.company_domain.as_deref(), Some("navy.mil"));
    assert_eq!(row.capture_count, 2);

    // The email it gained now finds it on its own.
    assert_eq!(send(&app, &owner, json!({ "email": "grace@navy.mil" }), 3).await.lead_id, first.lead_id);
    // A lead found by email gains a LinkedIn URL it lacks.
    let hopper = send(&app, &owner, json!({ "email": "hopper@navy.mil" }), 4).await;
    send(&app, &owner, json!({ "email": "hopper@navy.mil", "linkedin_url": "linkedin.com/in/hopper" }), 5).await;
    assert_eq!(lead(&app, &hopper.lead_id).await.linkedin_url.as_deref(), Some("https://www.linkedin.com/in/hopper"));
    assert_eq!(
        send(&app, &owner, json!({ "linkedin_url": "linkedin.com/in/hopper" }), 6).await.lead_id,
        hopper.lead_id
    );
    assert_eq!(app.count_rows("leads").await, 2);
    assert_eq!(lead(&app, &first.lead_id).await.capture_count, 3);
}

#[tokio::test]
async fn every_capture_emits_signal_captured_with_its_id_type_and_lead() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let first = send(&app, &owner, json!({ "email": "ada@acme.io" }), 1).await;
    let mut visit = about(json!({ "email": "ada@acme.io" }), 2);
    visit["signal_type"] = json!("website_visit");
    let second = capture(&app, &owner, &visit, 201).await;
    // A replay emits nothing.
    capture(&app, &owner, &visit, 200).await;

    let events = captured_events(&app, &owner).await;
    assert_eq!(events.len(), 2, "{events:?}");
    let newest = &events[0];
    assert_eq!(newest["type"], "signal.captured");
    assert_eq!(newest["data"]["id"], second.body["signal_capture_id"]);
    assert_eq!(newest["data"]["type"], "website_visit");
    assert_eq!(newest["data"]["lead_id"], json!(first.lead_id));
    assert_eq!(events[1]["data"]["id"], json!(first.capture_id));
    assert_eq!(events[1]["data"]["type"], "custom_event");
    assert_eq!(events[1]["data"]["lead_id"], json!(first.lead_id));
}

#[tokio::test]
async fn a_known_lead_seen_again_spans_every_occurred_at_and_keeps_its_latest_qualification() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let response = app.put_json("/v1/signal-types/custom_event", Some(&owner), &json!({ "autoqualify": true })).await;
    assert_eq!(response.status, 200, "{}", response.text);
    let rules = json!([{ "condition": "lead.capture_count >= 2", "weight": 1 }]);
    let response =
        app.post_json("/v1/icp-profiles", Some(&owner), &json!({ "code": "Returning", "rules": rules })).await;
    assert_eq!(response.status, 201, "{}", response.text);

    // Minute 10, then an earlier one (minute 5) and a later one (minute 20): the lead is stored
    // after the first, and the next two only count on it (its identity gains nothing).
    let first = send(&app, &owner, json!({ "email": "ada@acme.io" }), 600).await;
    let earlier = capture(&app, &owner, &about(json!({ "email": "ada@acme.io" }), 300), 201).await;
    assert_eq!(earlier.body["qualification"]["icp_score"], 100, "scored with the count it brought the lead to");
    // A type that does not autoqualify leaves the lead's latest qualification as it was.
    let mut visit = about(json!({ "email": "ada@acme.io" }), 1200);
    visit["signal_type"] = json!("website_visit");
    let later = capture(&app, &owner, &visit, 201).await;
    assert_eq!(later.body["qualification"]["icp_score"], Value::Null);

    let stored = app.get(&format!("/v1/leads/{}", first.lead_id), Some(&owner)).await;
    assert_eq!(stored.status, 200, "{}", stored.text);
    assert_eq!(stored.body["capture_count"], 3, "{}", stored.text);
    assert_eq!(stored.body["first_seen_at"], "2026-05-26T14:05:00.000000Z", "{}", stored.text);
    assert_eq!(stored.body["last_seen_at"], "2026-05-26T14:20:00.000000Z", "{}", stored.text);
    assert_eq!(stored.body["qualification"]["icp_code"], "Returning", "{}", stored.text);
    assert_eq!(stored.body["qualification"]["icp_score"], 100, "{}", stored.text);
    assert_eq!(stored.body["email"], "ada@acme.io");
}
