//! The admin UI's Flags pages (issue 10) through the real server on either backend: toggles
//! per environment, the kill switch with its reason and confirmation, roles, CSRF, errors next
//! to their fields, and the change requests inbox. The API is the judge of what changed.

use serde_json::{Value, json};

use crate::helpers::{TEST_PASSWORD, TestApp, spawn_app};
use crate::ui_browser::Browser;

const FLAGS: &str = "/v1/projects/default/flags";

async fn create_flag(app: &TestApp, token: &str, key: &str) {
    let response = app.post_json(FLAGS, Some(token), &json!({ "key": key })).await;
    assert_eq!(response.status, 201, "create flag: {}", response.text);
}

async fn config(app: &TestApp, token: &str, flag: &str, environment: &str) -> Value {
    let response = app.get(&format!("{FLAGS}/{flag}/environments/{environment}"), Some(token)).await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.body
}

#[tokio::test]
async fn a_flag_is_toggled_killed_with_a_reason_and_then_refuses_to_turn_on() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    create_flag(&app, &owner, "checkout").await;
    let mut browser = Browser::owner(&app).await;

    let list = browser.get("/ui/flags").await;
    assert_eq!(list.status, 200, "{}", list.html);
    assert!(list.html.contains("<title>Flags · Signalbox</title>"));
    assert_eq!(list.html.matches("<h1").count(), 1);
    assert!(list.html.contains("href=\"/ui/flags/default/checkout\""), "{}", list.html);
    assert!(list.html.contains("aria-label=\"Turn on checkout in development\""), "{}", list.html);
    let csrf = list.csrf();

    let toggle = "/ui/flags/default/checkout/toggle";
    let on = [("environment", "development"), ("enabled", "on"), ("back", "list:default"), ("csrf", &csrf)];
    let page = browser.post(toggle, &on).await;
    assert_eq!((page.status, page.location.as_deref()), (303, Some("/ui/flags?project=default")), "{}", page.html);
    assert_eq!(config(&app, &owner, "checkout", "development").await["enabled"], true);
    assert_eq!(config(&app, &owner, "checkout", "production").await["enabled"], false);
    let list = browser.get("/ui/flags").await;
    assert!(list.html.contains("aria-label=\"Turn off checkout in development\""), "{}", list.html);

    // CSRF missing: refused, nothing changed.
    let off = [("environment", "development"), ("enabled", "off")];
    assert_eq!(browser.post(toggle, &off).await.status, 403);
    let kill = "/ui/flags/default/checkout/kill";
    let no_csrf = [("reason", "broken"), ("confirm", "yes")];
    assert_eq!(browser.post(kill, &no_csrf).await.status, 403);
    let dev = config(&app, &owner, "checkout", "development").await;
    assert_eq!((dev["enabled"].clone(), dev["killed"].clone()), (json!(true), Value::Null));

    // A missing reason: 422 next to its field, nothing changed.
    let page = browser.post(kill, &[("reason", "  "), ("csrf", &csrf)]).await;
    assert_eq!(page.status, 422, "{}", page.html);
    assert!(page.html.contains("id=\"kill-reason-error\""), "{}", page.html);
    assert!(page.html.contains("aria-invalid=\"true\""));
    let page = browser.post(kill, &[("reason", ""), ("confirm", "yes"), ("csrf", &csrf)]).await;
    assert_eq!(page.status, 422, "{}", page.html);
    assert!(page.html.contains("id=\"kill-reason-error\""), "{}", page.html);
    assert!(config(&app, &owner, "checkout", "development").await["killed"].is_null());

    // The first step asks for confirmation and changes nothing.
    let reason = "payments double-charging";
    let confirm = browser.post(kill, &[("reason", reason), ("csrf", &csrf)]).await;
    assert_eq!(confirm.status, 200, "{}", confirm.html);
    assert!(confirm.html.contains("Kill checkout?") && confirm.html.contains("name=\"confirm\" value=\"yes\""));
    assert!(config(&app, &owner, "checkout", "development").await["killed"].is_null());

    let killed = browser.post(kill, &[("reason", reason), ("confirm", "yes"), ("csrf", &csrf)]).await;
    assert_eq!((killed.status, killed.location.as_deref()), (303, Some("/ui/flags/default/checkout")));
    for environment in ["development", "production"] {
        let c = config(&app, &owner, "checkout", environment).await;
        assert_eq!((c["enabled"].clone(), c["killed"]["reason"].clone()), (json!(false), json!(reason)), "{c}");
    }
    let page = browser.get("/ui/flags/default/checkout").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains(reason) && page.html.contains("killed by you"), "{}", page.html);
    assert!(page.html.contains("id=\"revive-flag\""));
    assert!(!page.html.contains("id=\"kill-flag\""), "killed everywhere: nothing more to kill");

    // Toggling on is refused with the flag-killed message shown.
    let on = [("environment", "development"), ("enabled", "on"), ("back", "flag"), ("csrf", &csrf)];
    let refused = browser.post(toggle, &on).await;
    assert_eq!(refused.status, 409, "{}", refused.html);
    assert!(refused.html.contains("the flag is killed in development; revive it first"), "{}", refused.html);
    assert_eq!(config(&app, &owner, "checkout", "development").await["enabled"], false);

    // Revive lifts the kill; the flag stays off and can be turned on again.
    let revived = browser.post("/ui/flags/default/checkout/revive", &[("csrf", &csrf)]).await;
    assert_eq!(revived.status, 303, "{}", revived.html);
    let dev = config(&app, &owner, "checkout", "development").await;
    assert_eq!((dev["enabled"].clone(), dev["killed"].clone()), (json!(false), Value::Null));
    assert_eq!(browser.post(toggle, &on).await.status, 303);
    assert_eq!(config(&app, &owner, "checkout", "development").await["enabled"], true);
}

#[tokio::test]
async fn a_flag_created_in_the_ui_shows_its_strategies_and_errors_stay_next_to_the_key() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let mut browser = Browser::owner(&app).await;
    let list = browser.get("/ui/flags").await;
    assert!(list.html.contains("No flags in this project yet"), "{}", list.html);
    let csrf = list.csrf();

    let bad = browser.post("/ui/flags", &[("project", "default"), ("key", "no spaces"), ("csrf", &csrf)]).await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    assert!(bad.html.contains("id=\"flag-key-error\"") && bad.html.contains("value=\"no spaces\""), "{}", bad.html);
    let created = browser
        .post("/ui/flags", &[("project", "default"), ("key", "new-search"), ("type", "experiment"), ("csrf", &csrf)])
        .await;
    assert_eq!((created.status, created.location.as_deref()), (303, Some("/ui/flags/default/new-search")));
    let flag = app.get(&format!("{FLAGS}/new-search"), Some(&owner)).await;
    assert_eq!(flag.body["type"], "experiment");
    let taken = browser.post("/ui/flags", &[("project", "default"), ("key", "new-search"), ("csrf", &csrf)]).await;
    assert_eq!(taken.status, 409);

    let strategies = json!({ "strategies": [{ "name": "flexibleRollout", "title": "Beta users",
        "parameters": { "rollout": "25", "stickiness": "userId", "groupId": "new-search" },
        "constraints": [{ "contextName": "country", "operator": "IN", "values": ["NL", "BE"] }] }] });
    let put = app.put_json(&format!("{FLAGS}/new-search/environments/development"), Some(&owner), &strategies).await;
    assert_eq!(put.status, 200, "{}", put.text);
    let page = browser.get("/ui/flags/default/new-search").await;
    assert_eq!(page.status, 200);
    for shown in ["Beta users", "flexibleRollout", "rollout", "country", "NL, BE", "Raw JSON"] {
        assert!(page.html.contains(shown), "{shown}: {}", page.html);
    }
    assert_eq!(browser.get("/ui/flags/default/nothing-here").await.status, 404);
    assert_eq!(browser.get("/ui/flags?project=nothing-here").await.status, 404);
}

#[tokio::test]
async fn a_viewer_sees_no_toggle_or_kill_controls_and_is_refused_when_posting() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    create_flag(&app, &owner, "checkout").await;
    let (_, email, _) = app.user_with_role(&owner, "viewer").await;
    let mut browser = Browser::new(&app);
    browser.log_in(&email, TEST_PASSWORD).await;

    let list = browser.get("/ui/flags").await;
    assert_eq!(list.status, 200);
    assert!(list.html.contains("checkout"));
    assert!(!list.html.contains("/toggle") && !list.html.contains("create-flag"), "{}", list.html);
    let page = browser.get("/ui/flags/default/checkout").await;
    assert_eq!(page.status, 200);
    assert!(!page.html.contains("/toggle") && !page.html.contains("kill-flag"), "{}", page.html);
    let csrf = page.csrf();

    let on = [("environment", "development"), ("enabled", "on"), ("csrf", &csrf)];
    assert_eq!(browser.post("/ui/flags/default/checkout/toggle", &on).await.status, 403);
    let kill = [("reason", "no"), ("confirm", "yes"), ("csrf", &csrf)];
    assert_eq!(browser.post("/ui/flags/default/checkout/kill", &kill).await.status, 403);
    assert_eq!(browser.post("/ui/flags", &[("key", "mine"), ("csrf", &csrf)]).await.status, 403);
    let dev = config(&app, &owner, "checkout", "development").await;
    assert_eq!((dev["enabled"].clone(), dev["killed"].clone()), (json!(false), Value::Null));
    assert_eq!(app.get(&format!("{FLAGS}/mine"), Some(&owner)).await.status, 404);
}

#[tokio::test]
async fn a_toggle_where_approval_is_required_waits_in_the_inbox_for_an_admin() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    create_flag(&app, &owner, "checkout").await;
    let approval = json!({ "requires_approval": true, "approvals_required": 1 });
    let put = app.put_json("/v1/environments/production", Some(&owner), &approval).await;
    assert_eq!(put.status, 200, "{}", put.text);
    let (_, admin_email, _) = app.user_with_role(&owner, "admin").await;

    let mut browser = Browser::owner(&app).await;
    let inbox = browser.get("/ui/flags/change-requests").await;
    assert_eq!(inbox.status, 200);
    assert!(inbox.html.contains("No pending change requests"), "{}", inbox.html);
    let csrf = inbox.csrf();
    let on = [("environment", "production"), ("enabled", "on"), ("back", "flag"), ("csrf", &csrf)];
    let filed = browser.post("/ui/flags/default/checkout/toggle", &on).await;
    assert_eq!(filed.location.as_deref(), Some("/ui/flags/default/checkout?requested=production"));
    assert_eq!(config(&app, &owner, "checkout", "production").await["enabled"], false, "waiting for approval");
    let id = app.get("/v1/change-requests", Some(&owner)).await.body["data"][0]["id"].as_str().unwrap().to_owned();

    let inbox = browser.get("/ui/flags/change-requests").await;
    assert!(inbox.html.contains(&format!("id=\"cr-{id}\"")), "{}", inbox.html);
    assert!(!inbox.html.contains(&format!("/{id}/approve")), "its author cannot approve it");
    let own = browser.post(&format!("/ui/flags/change-requests/{id}/approve"), &[("csrf", &csrf)]).await;
    assert_eq!(own.status, 403);

    let mut admin = Browser::new(&app);
    admin.log_in(&admin_email, TEST_PASSWORD).await;
    let inbox = admin.get("/ui/flags/change-requests").await;
    let admin_csrf = inbox.csrf();
    assert!(inbox.html.contains(&format!("/{id}/approve")), "{}", inbox.html);
    let empty = admin.post(&format!("/ui/flags/change-requests/{id}/reject"), &[("csrf", &admin_csrf)]).await;
    assert_eq!(empty.status, 422);
    assert!(empty.html.contains(&format!("id=\"comment-{id}-error\"")), "{}", empty.html);
    let approved = admin.post(&format!("/ui/flags/change-requests/{id}/approve"), &[("csrf", &admin_csrf)]).await;
    assert_eq!(approved.status, 303, "{}", approved.html);

    let applied = browser.post(&format!("/ui/flags/change-requests/{id}/apply"), &[("csrf", &csrf)]).await;
    assert_eq!(applied.status, 303, "{}", applied.html);
    assert_eq!(config(&app, &owner, "checkout", "production").await["enabled"], true);
    assert!(browser.get("/ui/flags/change-requests").await.html.contains("No pending change requests"));
}

async fn sdk_token(app: &TestApp, owner: &str, body: Value) -> String {
    let response = app.post_json("/v1/sdk-tokens", Some(owner), &body).await;
    assert_eq!(response.status, 201, "{}", response.text);
    response.body["secret"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_flags_page_shows_the_sdk_usage_per_environment_with_the_apps_that_reported_it() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    create_flag(&app, &owner, "checkout.new").await;
    let mut browser = Browser::owner(&app).await;
    let page = browser.get("/ui/flags/default/checkout.new").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("No SDK has reported this flag yet"), "{}", page.html);

    let token = sdk_token(&app, &owner, json!({ "name": "c", "type": "client", "environment": "production" })).await;
    let register = json!({ "appName": "checkout-service", "instanceId": "pod-1", "sdkVersion": "unleash-client-node:6.1.0",
                           "strategies": ["default"], "interval": 15000, "started": "2026-11-29T10:00:00Z" });
    let client = |path: &str| app.client.post(app.url(path)).header("authorization", &token);
    let registered = app.send(client("/api/client/register").json(&register)).await;
    assert_eq!(registered.status, 202, "{}", registered.text);
    let metrics = json!({ "appName": "checkout-service", "instanceId": "pod-1",
                          "bucket": { "start": "2026-11-29T10:00:00Z", "stop": "2026-11-29T10:01:00Z",
                                      "toggles": { "checkout.new": { "yes": 5, "no": 2, "variants": { "blue": 3 } } } } });
    let sent =
        app.send(client("/api/client/metrics").header("UNLEASH-APPNAME", "checkout-service").json(&metrics)).await;
    assert_eq!(sent.status, 202, "{}", sent.text);
    let usage = &app.get(&format!("{FLAGS}/checkout.new"), Some(&owner)).await.body["usage"][0];
    assert_eq!((usage["yes"].clone(), usage["no"].clone()), (json!(5), json!(2)), "{usage}");

    let page = browser.get("/ui/flags/default/checkout.new").await;
    assert_eq!(page.status, 200);
    assert!(!page.html.contains("No SDK has reported this flag yet"), "{}", page.html);
    let row = page.html.split("<tr data-environment=\"production\">").nth(1).expect("a production row");
    let row = row.split("</tr>").next().unwrap();
    for shown in
        ["<td class=\"yes\">5</td>", "<td class=\"no\">2</td>", "blue: 3", "checkout-service", "<time datetime="]
    {
        assert!(row.contains(shown), "{shown}: {row}");
    }
    // A viewer sees the usage too (read-only).
    let (_, email, _) = app.user_with_role(&owner, "viewer").await;
    let mut viewer = Browser::new(&app);
    viewer.log_in(&email, TEST_PASSWORD).await;
    assert!(viewer.get("/ui/flags/default/checkout.new").await.html.contains("checkout-service"));
}

#[tokio::test]
async fn sdk_tokens_are_created_with_the_secret_shown_once_and_revoked_after_confirming() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let mut browser = Browser::owner(&app).await;
    let list = browser.get("/ui/flags").await;
    assert!(list.html.contains("href=\"/ui/flags/sdk-tokens\""), "{}", list.html);
    let page = browser.get("/ui/flags/sdk-tokens").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("<title>SDK tokens · Signalbox</title>") && page.html.contains("No SDK tokens yet"));
    let csrf = page.csrf();

    let fields = [
        ("name", "web"),
        ("type", "frontend"),
        ("environment", "development"),
        ("projects", "*"),
        ("cors_origins", "https://app.example.com"),
    ];
    // CSRF missing: refused, nothing written.
    assert_eq!(browser.post("/ui/flags/sdk-tokens", &fields).await.status, 403);
    assert_eq!(app.get("/v1/sdk-tokens", Some(&owner)).await.body["data"], json!([]));
    // The API's errors, next to their fields.
    let bad =
        [("name", "web"), ("type", "frontend"), ("environment", "development"), ("projects", "nope"), ("csrf", &csrf)];
    let refused = browser.post("/ui/flags/sdk-tokens", &bad).await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(refused.html.contains("id=\"sdk-token-projects-error\"") && refused.html.contains("value=\"nope\""));
    assert_eq!(app.get("/v1/sdk-tokens", Some(&owner)).await.body["data"], json!([]));

    let mut with_csrf = fields.to_vec();
    with_csrf.push(("csrf", &csrf));
    let created = browser.post("/ui/flags/sdk-tokens", &with_csrf).await;
    assert_eq!(created.status, 200, "{}", created.html);
    let start = created.html.find("id=\"sdk-token-secret\">").expect("the secret is shown") + 22;
    let secret = created.html[start..].split('<').next().unwrap().to_owned();
    assert!(secret.starts_with("*:development."), "{secret}");
    assert!(created.html.contains("data-copy=\"#sdk-token-secret\""));
    let tokens = app.get("/v1/sdk-tokens", Some(&owner)).await.body["data"].clone();
    assert_eq!(tokens.as_array().unwrap().len(), 1, "{tokens}");
    let token = &tokens[0];
    assert_eq!((token["name"].clone(), token["type"].clone()), (json!("web"), json!("frontend")));
    assert_eq!(token["cors_origins"], json!(["https://app.example.com"]));
    let id = token["id"].as_str().unwrap().to_owned();
    let frontend = app.send(app.client.get(app.url("/api/frontend")).header("authorization", &secret)).await;
    assert_eq!(frontend.status, 200, "the secret works: {}", frontend.text);
    let again = browser.get("/ui/flags/sdk-tokens").await;
    assert!(!again.html.contains(&secret), "shown only once");
    assert!(again.html.contains(&format!("data-token=\"{id}\"")));

    // Revoke: the first step asks, without CSRF refused; then it is gone.
    let revoke = format!("/ui/flags/sdk-tokens/{id}/revoke");
    assert_eq!(browser.post(&revoke, &[("confirm", "yes")]).await.status, 403);
    let confirm = browser.post(&revoke, &[("csrf", &csrf)]).await;
    assert_eq!(confirm.status, 200, "{}", confirm.html);
    assert!(confirm.html.contains("Revoke web?") && confirm.html.contains("id=\"confirm-revoke\""));
    assert_eq!(app.get("/v1/sdk-tokens", Some(&owner)).await.body["data"].as_array().unwrap().len(), 1);
    let revoked = browser.post(&revoke, &[("confirm", "yes"), ("csrf", &csrf)]).await;
    assert_eq!((revoked.status, revoked.location.as_deref()), (303, Some("/ui/flags/sdk-tokens")));
    assert_eq!(app.get("/v1/sdk-tokens", Some(&owner)).await.body["data"], json!([]));
    assert_eq!(browser.post(&revoke, &[("confirm", "yes"), ("csrf", &csrf)]).await.status, 404);
}

#[tokio::test]
async fn sdk_tokens_are_for_admins_as_in_the_api() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    sdk_token(&app, &owner, json!({ "name": "c", "type": "client", "environment": "production" })).await;
    let id = app.get("/v1/sdk-tokens", Some(&owner)).await.body["data"][0]["id"].as_str().unwrap().to_owned();
    for role in ["viewer", "editor"] {
        let (_, email, _) = app.user_with_role(&owner, role).await;
        let mut browser = Browser::new(&app);
        browser.log_in(&email, TEST_PASSWORD).await;
        let list = browser.get("/ui/flags").await;
        assert!(!list.html.contains("/ui/flags/sdk-tokens"), "{role}: {}", list.html);
        let csrf = list.csrf();
        assert_eq!(browser.get("/ui/flags/sdk-tokens").await.status, 403, "{role}");
        let fields = [("name", "mine"), ("type", "client"), ("environment", "production"), ("csrf", &csrf)];
        assert_eq!(browser.post("/ui/flags/sdk-tokens", &fields).await.status, 403, "{role}");
        let revoke = format!("/ui/flags/sdk-tokens/{id}/revoke");
        assert_eq!(browser.post(&revoke, &[("confirm", "yes"), ("csrf", &csrf)]).await.status, 403, "{role}");
    }
    let tokens = app.get("/v1/sdk-tokens", Some(&owner)).await.body["data"].clone();
    assert_eq!(tokens.as_array().unwrap().len(), 1, "nothing created or revoked: {tokens}");
}

#[tokio::test]
async fn a_flag_is_promoted_between_environments_or_filed_where_approval_is_required() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    create_flag(&app, &owner, "checkout").await;
    let strategies = json!({ "enabled": true, "strategies": [{ "name": "flexibleRollout", "title": "Beta",
        "parameters": { "rollout": "25", "stickiness": "default", "groupId": "checkout" } }] });
    let put = app.put_json(&format!("{FLAGS}/checkout/environments/development"), Some(&owner), &strategies).await;
    assert_eq!(put.status, 200, "{}", put.text);
    let mut browser = Browser::owner(&app).await;
    let page = browser.get("/ui/flags/default/checkout").await;
    assert!(page.html.contains("id=\"promote-flag\""), "{}", page.html);
    let csrf = page.csrf();
    let promote = "/ui/flags/default/checkout/promote";

    // CSRF missing: refused, nothing changed.
    assert_eq!(browser.post(promote, &[("from", "development"), ("to", "production")]).await.status, 403);
    assert_eq!(config(&app, &owner, "checkout", "production").await["strategies"], json!([]));
    // The same environment twice: the API's error next to its field.
    let same = browser.post(promote, &[("from", "development"), ("to", "development"), ("csrf", &csrf)]).await;
    assert_eq!(same.status, 422, "{}", same.html);
    assert!(same.html.contains("id=\"promote-to-error\""), "{}", same.html);

    let done = browser.post(promote, &[("from", "development"), ("to", "production"), ("csrf", &csrf)]).await;
    assert_eq!((done.status, done.location.as_deref()), (303, Some("/ui/flags/default/checkout")), "{}", done.html);
    let production = config(&app, &owner, "checkout", "production").await;
    assert_eq!(production["enabled"], true, "{production}");
    assert_eq!(production["strategies"][0]["title"], "Beta", "{production}");

    // Where approval is required it becomes a change request, and the page says so.
    let approval = json!({ "requires_approval": true, "approvals_required": 1 });
    assert_eq!(app.put_json("/v1/environments/production", Some(&owner), &approval).await.status, 200);
    let off = app
        .put_json(&format!("{FLAGS}/checkout/environments/development"), Some(&owner), &json!({ "enabled": false }))
        .await;
    assert_eq!(off.status, 200, "{}", off.text);
    let filed = browser.post(promote, &[("from", "development"), ("to", "production"), ("csrf", &csrf)]).await;
    assert_eq!(filed.location.as_deref(), Some("/ui/flags/default/checkout?requested=production"), "{}", filed.html);
    assert_eq!(config(&app, &owner, "checkout", "production").await["enabled"], true, "waiting for approval");
    let requests = app.get("/v1/change-requests", Some(&owner)).await.body["data"].clone();
    assert_eq!(requests[0]["kind"], "promotion", "{requests}");
    let page = browser.get(filed.location.as_deref().unwrap()).await;
    assert!(page.html.contains("your change was filed as a change request"), "{}", page.html);
    assert!(page.html.contains("promotion in "), "{}", page.html);

    // A viewer sees no promote form and is refused.
    let (_, email, _) = app.user_with_role(&owner, "viewer").await;
    let mut viewer = Browser::new(&app);
    viewer.log_in(&email, TEST_PASSWORD).await;
    let page = viewer.get("/ui/flags/default/checkout").await;
    assert!(!page.html.contains("promote-flag"), "{}", page.html);
    let csrf = page.csrf();
    let refused = viewer.post(promote, &[("from", "production"), ("to", "development"), ("csrf", &csrf)]).await;
    assert_eq!(refused.status, 403);
    assert_eq!(config(&app, &owner, "checkout", "development").await["enabled"], false);
}

#[tokio::test]
async fn a_toggle_scheduled_in_the_form_is_listed_by_the_api_and_can_be_cancelled() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    create_flag(&app, &owner, "timed").await;
    let schedules = format!("{FLAGS}/timed/schedules");
    let stored = async || app.get(&schedules, Some(&owner)).await.body["data"].as_array().unwrap().clone();
    let mut browser = Browser::owner(&app).await;
    let page = browser.get("/ui/flags/default/timed").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("id=\"schedule-flag\"") && page.html.contains("for=\"schedule-at\""), "{}", page.html);
    let csrf = page.csrf();
    let path = "/ui/flags/default/timed/schedules";

    // CSRF missing: refused, nothing stored.
    let at = app.clock_now_plus(3600);
    let no_csrf = [("environment", "production"), ("enabled", "on"), ("at", at.as_str())];
    assert_eq!(browser.post(path, &no_csrf).await.status, 403);
    // A bad time, and one in the past: 422 next to the field, the input kept, nothing stored.
    for bad in ["next tuesday", "2020-01-01T00:00:00Z"] {
        let page =
            browser.post(path, &[("environment", "production"), ("enabled", "on"), ("at", bad), ("csrf", &csrf)]).await;
        assert_eq!(page.status, 422, "{}", page.html);
        assert!(page.html.contains("id=\"schedule-at-error\""), "{}", page.html);
        assert!(page.html.contains(&format!("value=\"{bad}\"")), "{}", page.html);
    }
    assert!(stored().await.is_empty());

    let made =
        browser.post(path, &[("environment", "production"), ("enabled", "on"), ("at", &at), ("csrf", &csrf)]).await;
    assert_eq!((made.status, made.location.as_deref()), (303, Some("/ui/flags/default/timed")), "{}", made.html);
    let listed = stored().await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(
        (listed[0]["environment"].clone(), listed[0]["enabled"].clone(), listed[0]["state"].clone()),
        (json!("production"), json!(true), json!("pending"))
    );
    assert_eq!(listed[0]["at"], json!(at));
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    let page = browser.get("/ui/flags/default/timed").await;
    let cancel = format!("{path}/{id}/cancel");
    assert!(page.html.contains(&format!("action=\"{cancel}\"")), "{}", page.html);

    // Cancel: CSRF missing refused; the first step asks for confirmation and changes nothing.
    assert_eq!(browser.post(&cancel, &[("confirm", "yes")]).await.status, 403);
    let confirm = browser.post(&cancel, &[("csrf", &csrf)]).await;
    assert_eq!(confirm.status, 200, "{}", confirm.html);
    assert!(confirm.html.contains("id=\"confirm-cancel-schedule\""), "{}", confirm.html);
    assert_eq!(stored().await[0]["state"], "pending");
    let cancelled = browser.post(&cancel, &[("confirm", "yes"), ("csrf", &csrf)]).await;
    assert_eq!((cancelled.status, cancelled.location.as_deref()), (303, Some("/ui/flags/default/timed")));
    assert_eq!(stored().await[0]["state"], "cancelled");
    let again = browser.post(&cancel, &[("confirm", "yes"), ("csrf", &csrf)]).await;
    assert_eq!(again.status, 409, "{}", again.html);
    assert!(again.html.contains(&format!("id=\"cancel-{id}-error\"")), "{}", again.html);
    assert!(!again.html.contains(&format!("action=\"{cancel}\"")), "a cancelled schedule has no Cancel button");

    // A viewer sees the schedules but no form and no Cancel, and is refused when posting.
    let live = app
        .post_json(&schedules, Some(&owner), &json!({ "environment": "development", "enabled": true, "at": at }))
        .await;
    assert_eq!(live.status, 201, "{}", live.text);
    let live_id = live.body["id"].as_str().unwrap().to_owned();
    let (_, email, _) = app.user_with_role(&owner, "viewer").await;
    let mut viewer = Browser::new(&app);
    viewer.log_in(&email, TEST_PASSWORD).await;
    let page = viewer.get("/ui/flags/default/timed").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains(&format!("data-schedule=\"{live_id}\"")), "{}", page.html);
    assert!(!page.html.contains("schedule-flag") && !page.html.contains("/cancel"), "{}", page.html);
    let viewer_csrf = page.csrf();
    let fields = [("environment", "production"), ("enabled", "off"), ("at", at.as_str()), ("csrf", &viewer_csrf)];
    assert_eq!(viewer.post(path, &fields).await.status, 403);
    let live_cancel = format!("{path}/{live_id}/cancel");
    assert_eq!(viewer.post(&live_cancel, &[("confirm", "yes"), ("csrf", &viewer_csrf)]).await.status, 403);
    let states: Vec<Value> = stored().await.iter().map(|s| s["state"].clone()).collect();
    assert_eq!(states.len(), 2, "{states:?}");
    assert!(states.contains(&json!("pending")) && states.contains(&json!("cancelled")), "{states:?}");
}

#[tokio::test]
async fn a_toggle_scheduled_where_approval_is_required_files_a_change_request() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    create_flag(&app, &owner, "planned").await;
    let approval = json!({ "requires_approval": true, "approvals_required": 1 });
    assert_eq!(app.put_json("/v1/environments/production", Some(&owner), &approval).await.status, 200);
    let mut browser = Browser::owner(&app).await;
    let csrf = browser.get("/ui/flags/default/planned").await.csrf();
    let at = app.clock_now_plus(3600);
    let fields = [("environment", "production"), ("enabled", "on"), ("at", at.as_str()), ("csrf", &csrf)];
    let filed = browser.post("/ui/flags/default/planned/schedules", &fields).await;
    assert_eq!(filed.location.as_deref(), Some("/ui/flags/default/planned?requested=production"), "{}", filed.html);
    let listed = app.get(&format!("{FLAGS}/planned/schedules"), Some(&owner)).await;
    assert_eq!(listed.body["data"][0]["state"], "awaiting_approval", "{}", listed.text);
    let requests = app.get("/v1/change-requests", Some(&owner)).await;
    assert_eq!(requests.body["data"][0]["kind"], "schedule", "{}", requests.text);
}

// ---------------------------------------------------------------------------------------
// Editing strategies, constraints, segments and variants

const DEV: &str = "/ui/flags/default/checkout/environments/development";

async fn create_segment(app: &TestApp, token: &str, name: &str) -> i64 {
    let body = json!({ "name": name, "constraints": [{ "contextName": "plan", "operator": "IN", "values": ["pro"] }] });
    let response = app.post_json("/v1/segments", Some(token), &body).await;
    assert_eq!(response.status, 201, "create segment: {}", response.text);
    response.body["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_strategy_added_in_the_form_with_a_constraint_and_a_segment_is_what_the_api_serves() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    create_flag(&app, &owner, "checkout").await;
    let segment = create_segment(&app, &owner, "pro users").await;
    let segment_text = segment.to_string();
    let mut browser = Browser::owner(&app).await;

    let page = browser.get("/ui/flags/default/checkout").await;
    assert!(page.html.contains(&format!("action=\"{DEV}/strategies/new\"")), "{}", page.html);
    assert!(
        page.html.contains(&format!("href=\"{DEV}/variants\"")) && page.html.contains(&format!("href=\"{DEV}/json\""))
    );
    let csrf = page.csrf();
    let form = browser.get(&format!("{DEV}/strategies/new?name=flexibleRollout")).await;
    assert_eq!(form.status, 200, "{}", form.html);
    assert_eq!(form.html.matches("<h1").count(), 1);
    assert!(form.html.contains("<title>New strategy for checkout in Development · Signalbox</title>"), "{}", form.html);
    for shown in [
        "name=\"param:rollout\"",
        "name=\"c0_operator\"",
        "<option value=\"SEMVER_GTE\"",
        "pro users",
        "label for=\"c0-context\"",
    ] {
        assert!(form.html.contains(shown), "{shown}: {}", form.html);
    }

    // "Add another constraint row" saves nothing and shows one more row.
    let version = config(&app, &owner, "checkout", "development").await["version"].to_string();
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("version", version.as_str()),
        ("name", "flexibleRollout"),
        ("title", "Dutch and Belgian pros"),
        ("param:rollout", "40"),
        ("param:stickiness", "userId"),
        ("param:groupId", "checkout"),
        ("param_rows", "1"),
        ("pn_0", ""),
        ("pv_0", ""),
        ("constraint_rows", "2"),
        ("c0_context", ""),
        ("c0_operator", "IN"),
        ("c0_values", ""),
        ("c1_context", "country"),
        ("c1_operator", "IN"),
        ("c1_values", "NL, BE"),
        ("c1_inverted", "on"),
        ("segment", segment_text.as_str()),
    ];
    let more = browser.post(&format!("{DEV}/strategies"), &[fields.clone(), vec![("action", "more")]].concat()).await;
    assert_eq!(more.status, 200, "{}", more.html);
    assert!(more.html.contains("name=\"c2_context\"") && more.html.contains("value=\"NL, BE\""), "{}", more.html);
    assert_eq!(config(&app, &owner, "checkout", "development").await["strategies"], json!([]));

    // Another strategy chosen in the form: its parameters are shown, nothing is saved.
    let switch = [("shown_name", "flexibleRollout"), ("name", "userWithId")];
    let switched = browser.post(&format!("{DEV}/strategies"), &[&fields[..2], &switch[..]].concat()).await;
    assert_eq!(switched.status, 200, "{}", switched.html);
    assert!(
        switched.html.contains("name=\"param:userIds\"") && !switched.html.contains("param:rollout"),
        "{}",
        switched.html
    );
    assert_eq!(config(&app, &owner, "checkout", "development").await["strategies"], json!([]));

    // An unknown operator: 422 next to its row (the second; the first is blank), nothing written.
    fields[15] = ("c1_operator", "LIKE");
    let bad = browser.post(&format!("{DEV}/strategies"), &fields).await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    assert!(bad.html.contains("id=\"c1-operator-error\"") && bad.html.contains("must be one of IN"), "{}", bad.html);
    assert!(bad.html.contains("<option value=\"LIKE\" selected"), "{}", bad.html);
    assert_eq!(config(&app, &owner, "checkout", "development").await["strategies"], json!([]));
    // A rollout over 100: next to the rollout.
    fields[15] = ("c1_operator", "IN");
    fields[4] = ("param:rollout", "150");
    let bad = browser.post(&format!("{DEV}/strategies"), &fields).await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    assert!(bad.html.contains("id=\"param-rollout-error\""), "{}", bad.html);
    // No CSRF token: 403, nothing written.
    fields[4] = ("param:rollout", "40");
    let without: Vec<(&str, &str)> = fields.iter().filter(|(k, _)| *k != "csrf").copied().collect();
    assert_eq!(browser.post(&format!("{DEV}/strategies"), &without).await.status, 403);
    assert_eq!(config(&app, &owner, "checkout", "development").await["strategies"], json!([]));

    let added = browser.post(&format!("{DEV}/strategies"), &fields).await;
    assert_eq!((added.status, added.location.as_deref()), (303, Some("/ui/flags/default/checkout")), "{}", added.html);
    let dev = config(&app, &owner, "checkout", "development").await;
    let strategy = &dev["strategies"][0];
    assert_eq!(strategy["name"], "flexibleRollout", "{dev}");
    assert_eq!(strategy["title"], "Dutch and Belgian pros");
    assert_eq!(strategy["parameters"], json!({ "rollout": "40", "stickiness": "userId", "groupId": "checkout" }));
    assert_eq!(
        strategy["constraints"],
        json!([{ "contextName": "country", "operator": "IN", "values": ["NL", "BE"], "inverted": true, "caseInsensitive": false }])
    );
    assert_eq!(strategy["segments"], json!([segment]));
    assert_eq!(config(&app, &owner, "checkout", "production").await["strategies"], json!([]));
    let page = browser.get("/ui/flags/default/checkout").await;
    assert!(
        page.html.contains("pro users") && page.html.contains(&format!("href=\"{DEV}/strategies/0\"")),
        "{}",
        page.html
    );

    // Edit it: the form shows what is stored; a save changes the rollout and drops the constraint.
    let edit = browser.get(&format!("{DEV}/strategies/0")).await;
    assert_eq!(edit.status, 200, "{}", edit.html);
    assert!(edit.html.contains("value=\"40\"") && edit.html.contains("value=\"country\""), "{}", edit.html);
    let current = dev["version"].to_string();
    let save = [
        ("csrf", csrf.as_str()),
        ("version", current.as_str()),
        ("name", "flexibleRollout"),
        ("param:rollout", "60"),
        ("param:stickiness", "default"),
        ("constraint_rows", "1"),
        ("c0_context", "country"),
        ("c0_operator", "IN"),
        ("c0_values", "NL"),
        ("c0_remove", "on"),
    ];
    let saved = browser.post(&format!("{DEV}/strategies/0"), &save).await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let dev = config(&app, &owner, "checkout", "development").await;
    assert_eq!(dev["strategies"][0]["parameters"], json!({ "rollout": "60", "stickiness": "default" }), "{dev}");
    assert_eq!(dev["strategies"][0]["constraints"], json!([]));
    assert_eq!(dev["strategies"][0]["segments"], json!([]), "no segment ticked");
    assert_eq!(dev["strategies"][0]["id"], strategy["id"], "the same strategy");
    // The form from before that save is stale now: refused, nothing written.
    let stale_fields: Vec<(&str, &str)> =
        save.iter().map(|&(k, v)| if k == "version" { (k, version.as_str()) } else { (k, v) }).collect();
    let stale = browser.post(&format!("{DEV}/strategies/0"), &stale_fields).await;
    assert_eq!(stale.status, 412, "{}", stale.html);
    assert_eq!(config(&app, &owner, "checkout", "development").await["version"], dev["version"]);

    // Remove: a confirmation first, then gone.
    let remove = format!("{DEV}/strategies/0/remove");
    let confirm = browser.post(&remove, &[("csrf", &csrf)]).await;
    assert_eq!(confirm.status, 200, "{}", confirm.html);
    assert!(confirm.html.contains("Remove strategy 1 of checkout?"), "{}", confirm.html);
    assert_eq!(config(&app, &owner, "checkout", "development").await["strategies"].as_array().unwrap().len(), 1);
    let removed = browser.post(&remove, &[("csrf", &csrf), ("confirm", "yes")]).await;
    assert_eq!(removed.status, 303, "{}", removed.html);
    assert_eq!(config(&app, &owner, "checkout", "development").await["strategies"], json!([]));
}

#[tokio::test]
async fn variants_are_edited_in_rows_with_weights_and_payloads_checked_by_the_api() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    create_flag(&app, &owner, "checkout").await;
    let mut browser = Browser::owner(&app).await;
    let form = browser.get(&format!("{DEV}/variants")).await;
    assert_eq!(form.status, 200, "{}", form.html);
    assert!(
        form.html.contains("label for=\"v0-name\"") && form.html.contains("<title>Variants of checkout in Development")
    );
    let csrf = form.csrf();
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("variant_rows", "3"),
        ("v0_name", "blue"),
        ("v0_weight_type", "fix"),
        ("v0_weight", "600"),
        ("v0_stickiness", "userId"),
        ("v0_payload_type", "json"),
        ("v0_payload_value", "{\"color\": \"#00f\"}"),
        ("v1_name", "green"),
        ("v1_weight_type", "fix"),
        ("v1_weight", "300"),
        ("v1_payload_type", ""),
        ("v2_name", ""),
        ("v2_weight_type", "variable"),
    ];
    // Fixed weights that do not add up to 1000: the list's error, nothing written.
    let bad = browser.post(&format!("{DEV}/variants"), &fields).await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    assert!(bad.html.contains("id=\"variants-error\"") && bad.html.contains("add up to 1000"), "{}", bad.html);
    assert_eq!(config(&app, &owner, "checkout", "development").await["variants"], json!([]));
    // A json payload that is not JSON: next to it.
    fields[4] = ("v0_weight", "700");
    fields[7] = ("v0_payload_value", "{\"color\":");
    let bad = browser.post(&format!("{DEV}/variants"), &fields).await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    assert!(bad.html.contains("id=\"v0-payload-value-error\""), "{}", bad.html);
    // A weight that is not a number: next to it.
    fields[7] = ("v0_payload_value", "{\"color\": \"#00f\"}");
    fields[10] = ("v1_weight", "lots");
    let bad = browser.post(&format!("{DEV}/variants"), &fields).await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    assert!(bad.html.contains("id=\"v1-weight-error\""), "{}", bad.html);
    let without: Vec<(&str, &str)> = fields.iter().filter(|(k, _)| *k != "csrf").copied().collect();
    assert_eq!(browser.post(&format!("{DEV}/variants"), &without).await.status, 403);
    assert_eq!(config(&app, &owner, "checkout", "development").await["variants"], json!([]));

    fields[10] = ("v1_weight", "300");
    let saved = browser.post(&format!("{DEV}/variants"), &fields).await;
    assert_eq!((saved.status, saved.location.as_deref()), (303, Some("/ui/flags/default/checkout")), "{}", saved.html);
    let variants = config(&app, &owner, "checkout", "development").await["variants"].clone();
    assert_eq!(variants.as_array().unwrap().len(), 2, "the blank row is skipped: {variants}");
    assert_eq!((variants[0]["name"].clone(), variants[0]["weight"].clone()), (json!("blue"), json!(700)));
    assert_eq!(variants[0]["payload"], json!({ "type": "json", "value": "{\"color\": \"#00f\"}" }));
    assert_eq!(variants[0]["stickiness"], "userId");
    assert_eq!(variants[1]["weight"], 300);

    // Remove green and make blue variable: it takes the whole 1000.
    let again = browser.get(&format!("{DEV}/variants")).await;
    assert!(again.html.contains("value=\"blue\"") && again.html.contains("name=\"v1_remove\""), "{}", again.html);
    let fields = [
        ("csrf", csrf.as_str()),
        ("variant_rows", "2"),
        ("v0_name", "blue"),
        ("v0_weight_type", "variable"),
        ("v1_name", "green"),
        ("v1_weight_type", "fix"),
        ("v1_weight", "300"),
        ("v1_remove", "on"),
    ];
    assert_eq!(browser.post(&format!("{DEV}/variants"), &fields).await.status, 303);
    let variants = config(&app, &owner, "checkout", "development").await["variants"].clone();
    assert_eq!(variants, json!([{ "name": "blue", "weight": 1000, "weightType": "variable" }]));
}

#[tokio::test]
async fn the_json_editor_saves_through_the_api_and_names_the_field_at_fault() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    create_flag(&app, &owner, "checkout").await;
    let put = json!({ "strategies": [{ "name": "default" }] });
    assert_eq!(
        app.put_json(&format!("{FLAGS}/checkout/environments/development"), Some(&owner), &put).await.status,
        200
    );
    let mut browser = Browser::owner(&app).await;
    let form = browser.get(&format!("{DEV}/json")).await;
    assert_eq!(form.status, 200, "{}", form.html);
    assert!(
        form.html.contains("label for=\"config-json\"") && form.html.contains("&quot;name&quot;: &quot;default&quot;"),
        "{}",
        form.html
    );
    let csrf = form.csrf();
    let before = config(&app, &owner, "checkout", "development").await;

    let not_json = browser.post(&format!("{DEV}/json"), &[("csrf", &csrf), ("config", "{\"strategies\": [")]).await;
    assert_eq!(not_json.status, 422, "{}", not_json.html);
    assert!(not_json.html.contains("id=\"config-json-error\""), "{}", not_json.html);
    let bad =
        json!({ "strategies": [{ "name": "default", "constraints": [{ "contextName": "x", "operator": "LIKE" }] }] });
    let bad = browser.post(&format!("{DEV}/json"), &[("csrf", &csrf), ("config", &bad.to_string())]).await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    assert!(bad.html.contains("strategies[0].constraints[0].operator"), "{}", bad.html);
    assert!(bad.html.contains("LIKE"), "the text is kept: {}", bad.html);
    let good = json!({ "strategies": [{ "name": "userWithId", "parameters": { "userIds": "1,2" } }],
                       "variants": [{ "name": "a" }, { "name": "b" }] });
    assert_eq!(browser.post(&format!("{DEV}/json"), &[("config", &good.to_string())]).await.status, 403);
    assert_eq!(config(&app, &owner, "checkout", "development").await, before);

    let saved = browser.post(&format!("{DEV}/json"), &[("csrf", &csrf), ("config", &good.to_string())]).await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let dev = config(&app, &owner, "checkout", "development").await;
    assert_eq!(dev["strategies"][0]["parameters"]["userIds"], "1,2", "{dev}");
    assert_eq!((dev["variants"][0]["weight"].clone(), dev["variants"][1]["weight"].clone()), (json!(500), json!(500)));
}

#[tokio::test]
async fn a_viewer_sees_no_strategy_or_variant_editing_and_is_refused_when_posting() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    create_flag(&app, &owner, "checkout").await;
    let put = json!({ "strategies": [{ "name": "default" }] });
    assert_eq!(
        app.put_json(&format!("{FLAGS}/checkout/environments/development"), Some(&owner), &put).await.status,
        200
    );
    let before = config(&app, &owner, "checkout", "development").await;
    let (_, email, _) = app.user_with_role(&owner, "viewer").await;
    let mut viewer = Browser::new(&app);
    viewer.log_in(&email, TEST_PASSWORD).await;

    let page = viewer.get("/ui/flags/default/checkout").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("default"), "the strategy is shown: {}", page.html);
    for hidden in ["/strategies", "/variants", "/json", "Add a strategy"] {
        assert!(!page.html.contains(hidden), "{hidden}: {}", page.html);
    }
    let csrf = page.csrf();
    for path in ["/strategies/new", "/strategies/0", "/variants", "/json"] {
        assert_eq!(viewer.get(&format!("{DEV}{path}")).await.status, 403, "{path}");
    }
    let strategy = [("csrf", csrf.as_str()), ("name", "default"), ("constraint_rows", "0")];
    assert_eq!(viewer.post(&format!("{DEV}/strategies"), &strategy).await.status, 403);
    assert_eq!(viewer.post(&format!("{DEV}/strategies/0"), &strategy).await.status, 403);
    assert_eq!(
        viewer.post(&format!("{DEV}/strategies/0/remove"), &[("csrf", &csrf), ("confirm", "yes")]).await.status,
        403
    );
    let variants = [("csrf", csrf.as_str()), ("variant_rows", "1"), ("v0_name", "a"), ("v0_weight_type", "variable")];
    assert_eq!(viewer.post(&format!("{DEV}/variants"), &variants).await.status, 403);
    let json = [("csrf", csrf.as_str()), ("config", "{\"strategies\": []}")];
    assert_eq!(viewer.post(&format!("{DEV}/json"), &json).await.status, 403);
    assert_eq!(config(&app, &owner, "checkout", "development").await, before);
}

#[tokio::test]
async fn a_strategy_added_where_approval_is_required_is_filed_as_a_change_request() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    create_flag(&app, &owner, "checkout").await;
    let approval = json!({ "requires_approval": true, "approvals_required": 1 });
    assert_eq!(app.put_json("/v1/environments/production", Some(&owner), &approval).await.status, 200);
    let mut browser = Browser::owner(&app).await;
    let csrf = browser.get("/ui/flags/default/checkout").await.csrf();
    let fields = [
        ("csrf", csrf.as_str()),
        ("name", "userWithId"),
        ("param:userIds", "42"),
        ("constraint_rows", "1"),
        ("c0_context", "appName"),
        ("c0_operator", "STR_STARTS_WITH"),
        ("c0_values", "web"),
    ];
    let filed = browser.post("/ui/flags/default/checkout/environments/production/strategies", &fields).await;
    assert_eq!(filed.location.as_deref(), Some("/ui/flags/default/checkout?requested=production"), "{}", filed.html);
    assert_eq!(config(&app, &owner, "checkout", "production").await["strategies"], json!([]), "waiting for approval");
    let requests = app.get("/v1/change-requests", Some(&owner)).await;
    assert_eq!(requests.body["data"].as_array().unwrap().len(), 1, "{}", requests.text);
    let after = &requests.body["data"][0]["diff"]["after"]["strategies"][0];
    assert_eq!(
        (after["name"].clone(), after["parameters"]["userIds"].clone()),
        (json!("userWithId"), json!("42")),
        "{}",
        requests.text
    );
    assert_eq!(after["constraints"][0]["operator"], "STR_STARTS_WITH");
    let page = browser.get("/ui/flags/default/checkout?requested=production").await;
    assert!(page.html.contains("requires approval"), "{}", page.html);
}
