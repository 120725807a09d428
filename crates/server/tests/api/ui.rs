//! The admin UI's server side (issue 10) through the real server on either backend: login
//! and its cookie, CSRF, roles, errors next to their fields, token secrets shown once, and
//! logout. The browser itself is driven in `ui-tests/` (headless Chromium).

use serde_json::json;

use crate::helpers::{OWNER_EMAIL, OWNER_PASSWORD, TEST_PASSWORD, spawn_app, spawn_app_with};
use crate::ui_browser::Browser;

#[tokio::test]
async fn logging_in_sets_an_http_only_same_site_cookie_whose_token_is_stored_hashed() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    let page = browser.get("/ui/signal-endpoints").await;
    assert_eq!((page.status, page.location.as_deref()), (303, Some("/ui/login")), "pages need a login");
    assert_eq!(browser.get("/").await.location.as_deref(), Some("/ui/"));

    let forged = browser.post("/ui/login", &[("email", OWNER_EMAIL), ("password", OWNER_PASSWORD)]).await;
    assert_eq!(forged.status, 403, "a login post without the form's token is refused");
    assert_eq!(app.count_rows("ui_sessions").await, 0);
    let token = browser.get("/ui/login").await.form_token();
    let cookie = browser.cookie.clone().unwrap();
    assert!(cookie.starts_with("sbx_login="), "{cookie}");
    let stolen = [("email", OWNER_EMAIL), ("password", OWNER_PASSWORD), ("csrf", "not-the-cookie-s")];
    assert_eq!(browser.post("/ui/login", &stolen).await.status, 403, "the token must match the cookie");
    let wrong = [("email", OWNER_EMAIL), ("password", "not the password"), ("csrf", token.as_str())];
    let wrong = browser.post("/ui/login", &wrong).await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.html.contains("class=\"error\""), "{}", wrong.html);
    assert!(wrong.set_cookie.is_none());

    let page = browser.log_in(OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(page.location.as_deref(), Some("/ui/"));
    let cookie = page.set_cookie.unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "not over plain http: {cookie}");
    let token = browser.cookie.clone().unwrap().split_once('=').unwrap().1.to_owned();
    assert_eq!(app.count_rows("ui_sessions").await, 1);
    assert_eq!(app.count_rows_where("ui_sessions", "token_hash", &token).await, 0, "the token is never stored");
    let hash = signalbox_server::auth::token::hash_secret(&token);
    assert_eq!(app.count_rows_where("ui_sessions", "token_hash", &hash).await, 1, "its SHA-256 is");

    let overview = browser.get("/ui/").await;
    assert_eq!(overview.status, 200);
    assert!(overview.html.contains("<title>Overview · Signalbox</title>"), "{}", overview.html);
    assert_eq!(overview.html.matches("<h1").count(), 1);
}

#[tokio::test]
async fn the_cookie_is_secure_when_the_public_url_is_https() {
    let app = spawn_app_with(|config| config.public_url = Some("https://signalbox.example".into())).await;
    let mut browser = Browser::new(&app);
    let cookie = browser.log_in(OWNER_EMAIL, OWNER_PASSWORD).await.set_cookie.unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test]
async fn a_form_post_without_its_csrf_token_is_refused_and_writes_nothing() {
    let app = spawn_app().await;
    let mut browser = Browser::owner(&app).await;
    let csrf = browser.get("/ui/signal-endpoints").await.csrf();

    assert_eq!(browser.post("/ui/signal-endpoints", &[("name", "deploys")]).await.status, 403);
    assert_eq!(browser.post("/ui/signal-endpoints", &[("name", "deploys"), ("csrf", "forged")]).await.status, 403);
    assert_eq!(browser.post("/ui/logout", &[]).await.status, 403, "logout is a state change too");
    assert_eq!(app.count_rows("signal_endpoints").await, 0);

    let created = browser.post("/ui/signal-endpoints", &[("name", "deploys"), ("csrf", &csrf)]).await;
    assert_eq!(created.status, 303, "{}", created.html);
    assert!(created.location.unwrap().starts_with("/ui/signal-endpoints/"));
    assert_eq!(app.count_rows("signal_endpoints").await, 1);
}

#[tokio::test]
async fn a_viewer_sees_no_admin_controls_and_is_refused_when_posting_anyway() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (_, email, _) = app.user_with_role(&owner, "viewer").await;
    let mut browser = Browser::new(&app);
    browser.log_in(&email, TEST_PASSWORD).await;
    let page = browser.get("/ui/signal-endpoints").await;
    assert_eq!(page.status, 200);
    assert!(!page.html.contains("create-endpoint"), "{}", page.html);
    assert!(page.html.contains("managed by owners and admins"));

    let refused = browser.post("/ui/signal-endpoints", &[("name", "deploys"), ("csrf", &page.csrf())]).await;
    assert_eq!(refused.status, 403);
    assert_eq!(app.count_rows("signal_endpoints").await, 0);

    // An endpoint's page by its URL is refused too, as the API refuses it: no payloads, no forms.
    let endpoint = app.signal_endpoint(&owner, "deploys").await;
    let page = browser.get(&format!("/ui/signal-endpoints/{}", endpoint["id"].as_str().unwrap())).await;
    assert_eq!(page.status, 403, "{}", page.html);
    assert!(!page.html.contains("create-token"), "{}", page.html);
}

#[tokio::test]
async fn an_invalid_name_is_shown_next_to_its_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    let mut browser = Browser::owner(&app).await;
    let csrf = browser.get("/ui/signal-endpoints").await.csrf();
    let page = browser.post("/ui/signal-endpoints", &[("name", "no spaces allowed"), ("csrf", &csrf)]).await;
    assert_eq!(page.status, 422);
    assert!(page.html.contains("id=\"endpoint-name-error\""), "{}", page.html);
    assert!(page.html.contains("aria-invalid=\"true\""));
    assert!(page.html.contains("value=\"no spaces allowed\""), "what was typed is kept");
    assert_eq!(app.count_rows("signal_endpoints").await, 0);
}

#[tokio::test]
async fn the_overview_counts_only_the_signals_of_the_last_hour() {
    let app = spawn_app_with(|config| config.signals.signal_rate_limit = 0).await;
    let owner = app.login_owner().await;
    let secret = app.endpoint_with_token(&owner, "deploys", "ci").await;
    for _ in 0..2 {
        assert_eq!(app.send_signal("deploys", &secret, &json!({ "when": "earlier" })).await.status, 202);
    }
    app.advance(std::time::Duration::from_secs(2 * 3600));
    assert_eq!(app.send_signal("deploys", &secret, &json!({ "when": "now" })).await.status, 202);

    let mut browser = Browser::owner(&app).await;
    let overview = browser.get("/ui/").await;
    assert!(overview.html.contains("id=\"signals-last-hour\">1<"), "only the newest counted: {}", overview.html);
    assert_eq!(app.count_rows("signals").await, 3, "the older ones are still stored");
}

#[tokio::test]
async fn a_new_token_is_shown_once_with_a_curl_command_that_works() {
    let app = spawn_app_with(|config| config.signals.signal_rate_limit = 0).await;
    let mut browser = Browser::owner(&app).await;
    let csrf = browser.get("/ui/signal-endpoints").await.csrf();
    let location =
        browser.post("/ui/signal-endpoints", &[("name", "deploys"), ("csrf", &csrf)]).await.location.unwrap();

    let page = browser.post(&format!("{location}/tokens"), &[("token_name", "ci"), ("csrf", &csrf)]).await;
    assert_eq!(page.status, 200, "{}", page.html);
    let start = page.html.find("id=\"token-secret\">").expect("the secret") + 18;
    let secret = page.html[start..].split('<').next().unwrap().to_owned();
    assert!(page.html.contains(&format!("Authorization: Bearer {secret}")), "the curl command carries it");
    assert!(page.html.contains(&format!("{}/api/signal-endpoint/deploys", app.url(""))), "{}", page.html);
    assert_eq!(app.send_signal("deploys", &secret, &json!({ "from": "ui" })).await.status, 202);

    let overview = browser.get("/ui/").await;
    assert!(overview.html.contains("id=\"signals-last-hour\">1<"), "counted on the overview: {}", overview.html);
    assert!(overview.html.contains("Signals per minute, last hour (1 in all)"), "{}", overview.html);

    let again = browser.get(&location).await;
    assert!(!again.html.contains(&secret), "shown only once");
    assert!(again.html.contains("<pre class=\"json\">"), "the signal is listed: {}", again.html);
}

#[tokio::test]
async fn logging_out_ends_the_session_at_once() {
    let app = spawn_app().await;
    let mut browser = Browser::owner(&app).await;
    let cookie = browser.cookie.clone();
    let csrf = browser.get("/ui/").await.csrf();
    let page = browser.post("/ui/logout", &[("csrf", &csrf)]).await;
    assert_eq!((page.status, page.location.as_deref()), (303, Some("/ui/login")));
    assert!(browser.cookie.is_none(), "the cookie is cleared");

    browser.cookie = cookie; // a copy of the old cookie
    assert_eq!(browser.get("/ui/").await.location.as_deref(), Some("/ui/login"));
}

#[tokio::test]
async fn an_api_token_made_in_settings_is_shown_once_works_and_can_be_revoked() {
    let app = spawn_app().await;
    let mut browser = Browser::owner(&app).await;
    let csrf = browser.get("/ui/settings").await.csrf();
    let page = browser
        .post("/ui/settings/api-tokens", &[("name", "deploy bot"), ("access", "role:editor"), ("csrf", &csrf)])
        .await;
    assert_eq!(page.status, 200, "{}", page.html);
    let start = page.html.find("id=\"api-token-secret\">").expect("the secret") + 22;
    let secret = page.html[start..].split('<').next().unwrap().to_owned();
    let me = app.get("/v1/me", Some(&secret)).await;
    assert_eq!((me.status, me.body["role"].as_str()), (200, Some("editor")), "{}", me.text);
    assert!(!browser.get("/ui/settings").await.html.contains(&secret), "shown only once");

    let missing =
        browser.post("/ui/settings/api-tokens", &[("name", ""), ("access", "role:editor"), ("csrf", &csrf)]).await;
    assert_eq!(missing.status, 422);
    assert!(missing.html.contains("id=\"api-token-name-error\""), "{}", missing.html);
    assert_eq!(app.count_rows("api_tokens").await, 1);

    let id = app.get("/v1/api-tokens", Some(&app.login_owner().await)).await.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(browser.post(&format!("/ui/settings/api-tokens/{id}/revoke"), &[]).await.status, 403, "no csrf");
    let revoked = browser.post(&format!("/ui/settings/api-tokens/{id}/revoke"), &[("csrf", &csrf)]).await;
    assert_eq!(revoked.status, 303);
    assert_eq!(app.get("/v1/me", Some(&secret)).await.status, 401, "revoked at once");

    let audit = browser.get("/ui/settings/audit?type=api_token.created").await;
    assert_eq!(audit.status, 200);
    assert!(audit.html.contains("api_token.created") && !audit.html.contains("api_token.revoked"), "{}", audit.html);
    assert_eq!(browser.get("/ui/settings/audit?since=yesterday").await.status, 422);
}

#[tokio::test]
async fn a_viewer_cannot_make_api_tokens_or_read_the_audit_log() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (_, email, _) = app.user_with_role(&owner, "viewer").await;
    let mut browser = Browser::new(&app);
    browser.log_in(&email, TEST_PASSWORD).await;
    let page = browser.get("/ui/settings").await;
    assert!(!page.html.contains("create-api-token") && !page.html.contains("id=\"users\""), "{}", page.html);
    let refused = browser
        .post("/ui/settings/api-tokens", &[("name", "x"), ("access", "scope:ingest"), ("csrf", &page.csrf())])
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(app.count_rows("api_tokens").await, 0);
    assert_eq!(browser.get("/ui/settings/audit").await.status, 403);
}

#[tokio::test]
async fn the_workspace_switcher_moves_the_browser_to_another_workspace_it_belongs_to() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (other, _) = app.new_workspace_session(&owner, "Second").await;
    let mut browser = Browser::owner(&app).await;
    let page = browser.get("/ui/settings").await;
    assert!(page.html.contains("Second (owner)"), "{}", page.html);
    let csrf = page.csrf();
    let stranger = browser
        .post("/ui/settings/workspace", &[("workspace_id", &uuid::Uuid::nil().to_string()), ("csrf", &csrf)])
        .await;
    assert_eq!(stranger.status, 422);
    let switched = browser.post("/ui/settings/workspace", &[("workspace_id", &other), ("csrf", &csrf)]).await;
    assert_eq!((switched.status, switched.location.as_deref()), (303, Some("/ui/")));
    let csrf = browser.get("/ui/signal-endpoints").await.csrf();
    browser.post("/ui/signal-endpoints", &[("name", "in-second"), ("csrf", &csrf)]).await;
    let listed = app.get("/v1/signal-endpoints", Some(&owner)).await;
    assert_eq!(listed.body["total"], 0, "created in the second workspace, not the first: {}", listed.text);
}

#[tokio::test]
async fn an_endpoint_is_edited_disabled_and_deleted_and_its_tokens_renamed_and_revoked() {
    let app = spawn_app_with(|config| config.signals.signal_rate_limit = 0).await;
    let owner = app.login_owner().await;
    let mut browser = Browser::owner(&app).await;
    let csrf = browser.get("/ui/signal-endpoints").await.csrf();
    let page = browser.post("/ui/signal-endpoints", &[("name", "deploys"), ("csrf", &csrf)]).await;
    let location = page.location.unwrap();
    let id = location.rsplit('/').next().unwrap().to_owned();
    let page = browser.post(&format!("{location}/tokens"), &[("token_name", "ci"), ("csrf", &csrf)]).await;
    let start = page.html.find("id=\"token-secret\">").unwrap() + 18;
    let secret = page.html[start..].split('<').next().unwrap().to_owned();

    let bad = browser.post(&location, &[("name", "has spaces"), ("description", ""), ("csrf", &csrf)]).await;
    assert_eq!(bad.status, 422);
    assert!(bad.html.contains("id=\"edit-name-error\""), "{}", bad.html);
    let saved = browser.post(&location, &[("name", "releases"), ("description", "CD"), ("csrf", &csrf)]).await;
    assert_eq!(saved.status, 303);
    let endpoint = app.get(&format!("/v1/signal-endpoints/{id}"), Some(&owner)).await.body;
    assert_eq!((endpoint["name"].as_str(), endpoint["description"].as_str()), (Some("releases"), Some("CD")));

    browser.post(&format!("{location}/enabled"), &[("enabled", "false"), ("csrf", &csrf)]).await;
    assert_eq!(app.send_signal("releases", &secret, &json!({})).await.status, 403, "disabled");
    browser.post(&format!("{location}/enabled"), &[("enabled", "true"), ("csrf", &csrf)]).await;
    assert_eq!(app.send_signal("releases", &secret, &json!({})).await.status, 202, "enabled again");

    let token_id = app.get(&format!("/v1/signal-endpoints/{id}"), Some(&owner)).await.body["tokens"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let renamed = browser
        .post(&format!("{location}/tokens/{token_id}/rename"), &[("token_name", "deploy-bot"), ("csrf", &csrf)])
        .await;
    assert_eq!(renamed.status, 303);
    let tokens = app.get(&format!("/v1/signal-endpoints/{id}"), Some(&owner)).await.body["tokens"].clone();
    assert_eq!(tokens[0]["name"], "deploy-bot");
    assert_eq!(browser.post(&format!("{location}/tokens/{token_id}/revoke"), &[]).await.status, 403, "no csrf");
    browser.post(&format!("{location}/tokens/{token_id}/revoke"), &[("csrf", &csrf)]).await;
    assert_eq!(app.send_signal("releases", &secret, &json!({})).await.status, 401, "revoked at once");

    let deleted = browser.post(&format!("{location}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!((deleted.status, deleted.location.as_deref()), (303, Some("/ui/signal-endpoints")));
    assert_eq!(app.count_rows("signal_endpoints").await, 0);
}

#[tokio::test]
async fn a_browser_gets_errors_as_pages_and_scripts_get_problems() {
    let app = spawn_app().await;
    let browser = Browser::owner(&app).await;
    let cookie = browser.cookie.clone().unwrap();
    let path = format!("/ui/signal-endpoints/{}", uuid::Uuid::nil());
    let page = app
        .send(
            app.client
                .get(app.url(&path))
                .header("cookie", &cookie)
                .header("accept", "text/html,application/xhtml+xml"),
        )
        .await;
    assert_eq!(page.status, 404);
    assert!(page.headers["content-type"].to_str().unwrap().starts_with("text/html"), "{:?}", page.headers);
    assert!(page.text.contains("<h1>") && page.text.contains("no signal endpoint"), "{}", page.text);
    let problem = app.send(app.client.get(app.url(&path)).header("cookie", &cookie)).await;
    assert_eq!(problem.status, 404);
    assert_eq!(problem.headers["content-type"], "application/problem+json");
}
