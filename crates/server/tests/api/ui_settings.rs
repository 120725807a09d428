//! Settings in the admin UI: the workspace's limits (owner) and service accounts with their
//! API tokens (admin).

use crate::helpers::{TEST_PASSWORD, spawn_app};
use crate::ui_browser::Browser;

#[tokio::test]
async fn an_owner_edits_the_workspace_limits_within_the_servers_caps() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let before = app.get("/v1/workspace/settings", Some(&owner)).await;
    let cap = before.body["caps"]["session_lifetime_seconds"].as_u64().unwrap();
    let mut browser = Browser::owner(&app).await;
    let page = browser.get("/ui/settings").await;
    assert!(page.html.contains("id=\"workspace-limits\""), "{}", page.html);
    assert!(
        page.html.contains(&format!("Server&#39;s cap: {cap}")) || page.html.contains(&format!("Server's cap: {cap}"))
    );
    assert!(page.html.contains("for=\"limit-qualification_threshold\""), "labelled: {}", page.html);
    let csrf = page.csrf();
    let settings = || async { app.get("/v1/workspace/settings", Some(&owner)).await.body };

    let fields = [("session_lifetime_seconds", "600"), ("qualification_threshold", "70"), ("signal_rate_limit", "")];
    assert_eq!(browser.post("/ui/settings/limits", &fields).await.status, 403, "no CSRF token");
    assert!(settings().await["qualification_threshold"].is_null(), "nothing written");

    let over = (cap + 1).to_string();
    let invalid = browser
        .post(
            "/ui/settings/limits",
            &[("session_lifetime_seconds", over.as_str()), ("qualification_threshold", "70"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(invalid.status, 422, "{}", invalid.html);
    assert!(
        invalid.html.contains("id=\"limit-session_lifetime_seconds-error\""),
        "next to its field: {}",
        invalid.html
    );
    assert!(invalid.html.contains(&format!("value=\"{over}\"")), "what was typed is kept");
    let unchanged = settings().await;
    assert!(unchanged["session_lifetime_seconds"].is_null() && unchanged["qualification_threshold"].is_null());

    let saved = browser.post("/ui/settings/limits", &[fields.as_slice(), &[("csrf", &csrf)]].concat()).await;
    assert_eq!(saved.status, 200, "{}", saved.html);
    assert!(saved.html.contains("Settings saved."), "{}", saved.html);
    let after = settings().await;
    assert_eq!(after["session_lifetime_seconds"], 600, "{after}");
    assert_eq!(after["qualification_threshold"], 70, "{after}");
    assert!(after["signal_rate_limit"].is_null(), "{after}");

    // Emptying a field restores the server's value.
    let cleared = browser.post("/ui/settings/limits", &[("qualification_threshold", ""), ("csrf", &csrf)]).await;
    assert_eq!(cleared.status, 200, "{}", cleared.html);
    assert!(settings().await["qualification_threshold"].is_null());
}

#[tokio::test]
async fn an_admin_creates_a_service_account_and_mints_its_token_shown_once() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (_, admin_email, _) = app.user_with_role(&owner, "admin").await;
    let mut browser = Browser::new(&app);
    browser.log_in(&admin_email, TEST_PASSWORD).await;
    let page = browser.get("/ui/settings").await;
    assert!(page.html.contains("id=\"create-service-account\""), "{}", page.html);
    assert!(!page.html.contains("id=\"workspace-limits\""), "the limits are the owner's: {}", page.html);
    let csrf = page.csrf();
    let accounts =
        || async { app.get("/v1/service-accounts", Some(&owner)).await.body["data"].as_array().unwrap().clone() };

    let fields = [("name", "ci bot"), ("role", "editor")];
    assert_eq!(browser.post("/ui/settings/service-accounts", &fields).await.status, 403, "no CSRF token");
    assert!(accounts().await.is_empty(), "nothing written");
    let invalid =
        browser.post("/ui/settings/service-accounts", &[("name", ""), ("role", "editor"), ("csrf", &csrf)]).await;
    assert_eq!(invalid.status, 422, "{}", invalid.html);
    assert!(invalid.html.contains("id=\"service-account-name-error\""), "next to its field: {}", invalid.html);
    assert!(accounts().await.is_empty(), "nothing written");
    let above =
        browser.post("/ui/settings/service-accounts", &[("name", "boss"), ("role", "owner"), ("csrf", &csrf)]).await;
    assert_eq!(above.status, 403, "no role above the admin's: {}", above.html);

    let created =
        browser.post("/ui/settings/service-accounts", &[fields.as_slice(), &[("csrf", &csrf)]].concat()).await;
    assert_eq!(created.status, 200, "{}", created.html);
    let listed = accounts().await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!((listed[0]["name"].as_str(), listed[0]["role"].as_str()), (Some("ci bot"), Some("editor")));
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    assert!(created.html.contains("id=\"service-account-token\""), "{}", created.html);

    let token_fields = [("service_account_id", id.as_str()), ("name", "deploys"), ("access", "role:viewer")];
    assert_eq!(browser.post("/ui/settings/service-accounts/tokens", &token_fields).await.status, 403, "no CSRF token");
    let tokens = || async { app.get("/v1/api-tokens", Some(&owner)).await.body["data"].as_array().unwrap().clone() };
    assert!(tokens().await.is_empty(), "nothing written");
    let invalid = browser
        .post(
            "/ui/settings/service-accounts/tokens",
            &[("service_account_id", "nope"), ("name", "deploys"), ("access", "role:viewer"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(invalid.status, 422, "{}", invalid.html);
    assert!(invalid.html.contains("id=\"service-account-token-account-error\""), "{}", invalid.html);
    assert!(tokens().await.is_empty(), "nothing written");

    let minted = browser
        .post("/ui/settings/service-accounts/tokens", &[token_fields.as_slice(), &[("csrf", &csrf)]].concat())
        .await;
    assert_eq!(minted.status, 200, "{}", minted.html);
    let start = minted.html.find("id=\"service-account-token-secret\">").expect("the secret is shown") + 34;
    let secret = minted.html[start..].split('<').next().unwrap().to_owned();
    let listed = tokens().await;
    let token = listed.iter().find(|t| t["name"] == "deploys").expect("listed by the API");
    assert_eq!(token["role"], "viewer", "{token}");
    // The secret works, and it is shown only once.
    assert_eq!(app.get("/v1/api-tokens", Some(&secret)).await.status, 200);
    assert!(!browser.get("/ui/settings").await.html.contains(&secret));
}

#[tokio::test]
async fn a_viewer_sees_no_settings_or_service_account_controls_and_is_refused() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (_, viewer_email, _) = app.user_with_role(&owner, "viewer").await;
    let created = app
        .post_json("/v1/service-accounts", Some(&owner), &serde_json::json!({ "name": "bot", "role": "viewer" }))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let account = created.body["id"].as_str().unwrap().to_owned();
    let mut browser = Browser::new(&app);
    browser.log_in(&viewer_email, TEST_PASSWORD).await;
    let page = browser.get("/ui/settings").await;
    for control in ["id=\"workspace-limits\"", "id=\"create-service-account\"", "id=\"service-account-token\""] {
        assert!(!page.html.contains(control), "{control}: {}", page.html);
    }
    let csrf = page.csrf();
    let limits = browser.post("/ui/settings/limits", &[("qualification_threshold", "70"), ("csrf", &csrf)]).await;
    assert_eq!(limits.status, 403, "{}", limits.html);
    let account_form = [("name", "sneaky"), ("role", "viewer"), ("csrf", csrf.as_str())];
    assert_eq!(browser.post("/ui/settings/service-accounts", &account_form).await.status, 403);
    let token_form =
        [("service_account_id", account.as_str()), ("name", "t"), ("access", "role:viewer"), ("csrf", &csrf)];
    assert_eq!(browser.post("/ui/settings/service-accounts/tokens", &token_form).await.status, 403);

    assert!(app.get("/v1/workspace/settings", Some(&owner)).await.body["qualification_threshold"].is_null());
    assert_eq!(app.get("/v1/service-accounts", Some(&owner)).await.body["total"], 1);
    assert_eq!(app.get("/v1/api-tokens", Some(&owner)).await.body["total"], 0);
}
