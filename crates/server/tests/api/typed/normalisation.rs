//! Identities are stored in one canonical form, so every spelling of a person or company
//! resolves to the same lead.

use serde_json::json;

use super::support::{about, capture, lead};
use crate::helpers::spawn_app;

#[tokio::test]
async fn the_lead_keeps_the_canonical_email_linkedin_url_and_domain() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let identity = json!({
        "email": "  Ada.Lovelace@Example.COM ",
        "linkedin_url": "uk.linkedin.com/in/Ada-L/?trk=x",
        "company_domain": "https://www.Example.com/pricing?plan=pro",
    });
    let captured = capture(&app, &owner, &about(identity, 1), 201).await;
    let row = lead(&app, captured.body["matched_record_id"].as_str().unwrap()).await;
    assert_eq!(row.email.as_deref(), Some("ada.lovelace@example.com"));
    assert_eq!(row.linkedin_url.as_deref(), Some("https://www.linkedin.com/in/ada-l"));
    assert_eq!(row.company_domain.as_deref(), Some("example.com"));
    assert_eq!(row.capture_count, 1);
}

#[tokio::test]
async fn every_spelling_of_an_identity_resolves_to_one_lead() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let lead_of = |identity: serde_json::Value, n: u32| {
        let app = &app;
        let owner = owner.clone();
        async move {
            let response = capture(app, &owner, &about(identity, n), 201).await;
            response.body["matched_record_id"].as_str().unwrap().to_owned()
        }
    };

    let by_email = lead_of(json!({ "email": "Grace@Example.com" }), 1).await;
    assert_eq!(lead_of(json!({ "email": "grace@example.com" }), 2).await, by_email);
    assert_eq!(lead_of(json!({ "email": "GRACE@EXAMPLE.COM" }), 3).await, by_email);

    let by_linkedin = lead_of(json!({ "linkedin_url": "uk.linkedin.com/in/Ada-L/?trk=x" }), 4).await;
    assert_ne!(by_linkedin, by_email);
    assert_eq!(lead_of(json!({ "linkedin_url": "http://linkedin.com/in/ada-l/" }), 5).await, by_linkedin);
    assert_eq!(lead_of(json!({ "linkedin_url": "https://www.linkedin.com/in/ADA-L#about" }), 6).await, by_linkedin);

    let by_domain = lead_of(json!({ "company_domain": "acme.io" }), 7).await;
    assert_eq!(lead_of(json!({ "company_domain": "https://www.acme.io/about" }), 8).await, by_domain);
    assert_eq!(lead_of(json!({ "company_domain": "WWW.ACME.IO." }), 9).await, by_domain);
    assert_eq!(lead_of(json!({ "company_domain": "http://acme.io:8080" }), 10).await, by_domain);

    assert_eq!(app.count_rows("leads").await, 3);
    assert_eq!(lead(&app, &by_email).await.capture_count, 3);
    assert_eq!(lead(&app, &by_linkedin).await.capture_count, 3);
    assert_eq!(lead(&app, &by_domain).await.capture_count, 4);
}
