//! More of the admin UI: an action set's preview on the latest signal, deleting action sets,
//! signal types and profiles, and users in Settings.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::actions::{Fixture, flag, toggle};
use crate::helpers::{TEST_PASSWORD, spawn_app};
use crate::ui_browser::{Browser, Page};

/// Reloads `path` until its page contains `text` (signals are written in batches).
async fn until(browser: &mut Browser<'_>, path: &str, text: &str) -> Page {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = browser.get(path).await;
        if page.html.contains(text) {
            return page;
        }
        assert!(Instant::now() < deadline, "never showed {text}: {}", page.html);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An action set that turns `checkout` on in development for a critical alert.
async fn critical_set(f: &Fixture) -> Value {
    let filters = json!({ "labels.severity": { "operator": "IN", "values": ["critical"] } });
    let actions = json!([toggle("TOGGLE_FEATURE_ON", "checkout", "development")]);
    f.action_set(&f.set_body("on critical", filters, actions)).await
}

#[tokio::test]
async fn the_preview_says_whether_the_latest_signal_would_match_and_which_filter_failed() {
    let f = Fixture::new().await;
    let set = critical_set(&f).await;
    let path = format!("/ui/actions/{}", set["id"].as_str().unwrap());
    let mut browser = Browser::owner(&f.app).await;
    let empty = browser.get(&path).await;
    assert_eq!(empty.status, 200, "{}", empty.html);
    assert!(empty.html.contains("No signal from this source yet"), "{}", empty.html);

    f.signal(&json!({ "labels": { "severity": "minor" } })).await;
    let miss = until(&mut browser, &path, "data-match=").await;
    assert!(miss.html.contains("data-match=\"false\""), "{}", miss.html);
    assert!(miss.html.contains("Filter failed: <code>labels.severity</code>"), "{}", miss.html);

    f.signal(&json!({ "labels": { "severity": "critical" } })).await;
    let hit = until(&mut browser, &path, "data-match=\"true\"").await;
    assert!(hit.html.contains("Match</strong>"), "{}", hit.html);
    // The runner agrees: the matching signal ran the set.
    let runs = f.finished_runs(set["id"].as_str().unwrap(), 1).await;
    assert_eq!(runs.len(), 1, "{runs:?}");

    // A viewer sees no action sets, and the page with the preview is refused.
    let (_, email, _) = f.app.user_with_role(&f.owner, "viewer").await;
    let mut viewer = Browser::new(&f.app);
    viewer.log_in(&email, TEST_PASSWORD).await;
    assert!(!viewer.get("/ui/actions").await.html.contains(&path));
    assert_eq!(viewer.get(&path).await.status, 403);
}

#[tokio::test]
async fn an_action_set_is_deleted_after_confirming_and_not_without_its_csrf_token_or_as_a_viewer() {
    let f = Fixture::new().await;
    let set = f
        .action_set(&f.set_body(
            "to delete",
            json!({}),
            json!([toggle("TOGGLE_FEATURE_ON", "checkout", "development")]),
        ))
        .await;
    let id = set["id"].as_str().unwrap();
    let path = format!("/ui/actions/{id}");
    let mut browser = Browser::owner(&f.app).await;
    let page = browser.get(&path).await;
    assert!(page.html.contains(&format!("action=\"/ui/actions/{id}/delete\"")), "{}", page.html);
    assert!(page.html.contains("return confirm('Delete the action set to delete?"), "{}", page.html);
    let csrf = page.csrf();

    let refused = browser.post(&format!("{path}/delete"), &[]).await;
    assert_eq!(refused.status, 403);
    assert_eq!(f.app.count_rows("action_sets").await, 1, "nothing deleted");

    let (_, email, _) = f.app.user_with_role(&f.owner, "viewer").await;
    let mut viewer = Browser::new(&f.app);
    viewer.log_in(&email, TEST_PASSWORD).await;
    let list = viewer.get("/ui/actions").await;
    assert!(!list.html.contains("/delete"), "{}", list.html);
    let viewer_csrf = list.csrf();
    assert_eq!(viewer.post(&format!("{path}/delete"), &[("csrf", &viewer_csrf)]).await.status, 403);
    assert_eq!(f.app.count_rows("action_sets").await, 1, "nothing deleted");

    let deleted = browser.post(&format!("{path}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(deleted.status, 303, "{}", deleted.html);
    assert_eq!(deleted.location.as_deref(), Some("/ui/actions"));
    let gone = f.app.get(&format!("/v1/projects/default/action-sets/{id}"), Some(&f.owner)).await;
    assert_eq!(gone.status, 404, "{}", gone.text);
}

#[tokio::test]
async fn custom_types_and_profiles_are_deleted_with_the_apis_code_and_built_in_types_show_no_delete() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let created = app.post_json("/v1/signal-types", Some(&owner), &json!({ "name": "Demo request" })).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let body = json!({ "code": "SaaS", "rules": [{ "condition": "true", "weight": 1 }] });
    let profile = app.post_json("/v1/icp-profiles", Some(&owner), &body).await;
    assert_eq!(profile.status, 201, "{}", profile.text);
    let profile_id = profile.body["id"].as_str().unwrap().to_owned();

    let mut browser = Browser::owner(&app).await;
    let page = browser.get("/ui/typed").await;
    assert!(page.html.contains("action=\"/ui/typed/types/demo_request/delete\""), "{}", page.html);
    assert!(page.html.contains("return confirm('Delete the signal type demo_request?"), "{}", page.html);
    assert!(!page.html.contains("/ui/typed/types/custom_event/delete"), "built-in types show no delete");
    let csrf = page.csrf();

    assert_eq!(browser.post("/ui/typed/types/demo_request/delete", &[]).await.status, 403);
    let profile_path = format!("/ui/typed/profiles/icp/{profile_id}/delete");
    assert_eq!(browser.post(&profile_path, &[]).await.status, 403);
    assert_eq!(app.get("/v1/signal-types/demo_request", Some(&owner)).await.status, 200, "nothing deleted");
    assert_eq!(app.get(&format!("/v1/icp-profiles/{profile_id}"), Some(&owner)).await.status, 200);

    let (_, email, _) = app.user_with_role(&owner, "viewer").await;
    let mut viewer = Browser::new(&app);
    viewer.log_in(&email, TEST_PASSWORD).await;
    let seen = viewer.get("/ui/typed").await;
    assert!(!seen.html.contains("/delete"), "{}", seen.html);
    let profiles = viewer.get("/ui/typed/profiles").await;
    assert!(!profiles.html.contains("/delete"), "{}", profiles.html);
    let viewer_csrf = seen.csrf();
    assert_eq!(viewer.post("/ui/typed/types/demo_request/delete", &[("csrf", &viewer_csrf)]).await.status, 403);
    assert_eq!(viewer.post(&profile_path, &[("csrf", &viewer_csrf)]).await.status, 403);
    assert_eq!(app.get("/v1/signal-types/demo_request", Some(&owner)).await.status, 200, "nothing deleted");

    let builtin = browser.post("/ui/typed/types/custom_event/delete", &[("csrf", &csrf)]).await;
    assert_eq!(builtin.status, 409, "{}", builtin.html);

    let profiles = browser.get("/ui/typed/profiles").await;
    assert!(profiles.html.contains(&format!("action=\"{profile_path}\"")), "{}", profiles.html);
    let deleted = browser.post(&profile_path, &[("csrf", &csrf)]).await;
    assert_eq!(deleted.status, 303, "{}", deleted.html);
    assert_eq!(app.get(&format!("/v1/icp-profiles/{profile_id}"), Some(&owner)).await.status, 404);

    let deleted = browser.post("/ui/typed/types/demo_request/delete", &[("csrf", &csrf)]).await;
    assert_eq!(deleted.status, 303, "{}", deleted.html);
    assert_eq!(app.get("/v1/signal-types/demo_request", Some(&owner)).await.status, 404);
}

#[tokio::test]
async fn an_owner_adds_a_user_and_changes_their_role_and_disables_them_in_settings() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let mut browser = Browser::owner(&app).await;
    let page = browser.get("/ui/settings").await;
    assert!(page.html.contains("id=\"add-user\""), "{}", page.html);
    let csrf = page.csrf();
    let users = || async { app.get("/v1/users", Some(&owner)).await.body["data"].as_array().unwrap().clone() };

    let fields = [("email", "new@example.test"), ("name", "New Person"), ("role", "editor"), ("password", "")];
    assert_eq!(browser.post("/ui/settings/users", &fields).await.status, 403, "no CSRF token");
    assert_eq!(users().await.len(), 1, "nothing written");

    let invalid =
        browser.post("/ui/settings/users", &[("email", "not an email"), ("role", "editor"), ("csrf", &csrf)]).await;
    assert_eq!(invalid.status, 422, "{}", invalid.html);
    assert!(invalid.html.contains("id=\"user-email-error\""), "next to its field: {}", invalid.html);
    assert!(invalid.html.contains("value=\"not an email\""), "what was typed is kept");

    let added = browser.post("/ui/settings/users", &[fields.as_slice(), &[("csrf", &csrf)]].concat()).await;
    assert_eq!(added.status, 200, "{}", added.html);
    let start = added.html.find("id=\"user-initial-password\">").expect("the generated password is shown") + 27;
    let password = added.html[start..].split('<').next().unwrap().to_owned();
    let listed = users().await;
    let user = listed.iter().find(|u| u["email"] == "new@example.test").expect("listed by the API");
    assert_eq!((user["name"].as_str(), user["role"].as_str()), (Some("New Person"), Some("editor")));
    let id = user["id"].as_str().unwrap().to_owned();
    app.login("new@example.test", &password).await;

    let path = format!("/ui/settings/users/{id}");
    assert_eq!(browser.post(&path, &[("role", "admin")]).await.status, 403, "no CSRF token");
    let changed = browser.post(&path, &[("role", "admin"), ("csrf", &csrf)]).await;
    assert_eq!(changed.status, 303, "{}", changed.html);
    let shown = app.get(&format!("/v1/users/{id}"), Some(&owner)).await;
    assert_eq!(shown.body["role"], "admin", "{}", shown.text);

    let settings = browser.get("/ui/settings").await;
    assert!(settings.html.contains("return confirm('Disable New Person?"), "{}", settings.html);
    assert_eq!(browser.post(&path, &[("disabled", "true")]).await.status, 403, "no CSRF token");
    assert_eq!(app.get(&format!("/v1/users/{id}"), Some(&owner)).await.body["disabled"], false);
    let disabled = browser.post(&path, &[("disabled", "true"), ("csrf", &csrf)]).await;
    assert_eq!(disabled.status, 303, "{}", disabled.html);
    assert_eq!(app.get(&format!("/v1/users/{id}"), Some(&owner)).await.body["disabled"], true);
}

#[tokio::test]
async fn a_viewer_and_an_admin_see_no_user_controls_and_are_refused() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (viewer_id, viewer_email, _) = app.user_with_role(&owner, "viewer").await;
    let (_, admin_email, _) = app.user_with_role(&owner, "admin").await;
    for email in [&viewer_email, &admin_email] {
        let mut browser = Browser::new(&app);
        browser.log_in(email, TEST_PASSWORD).await;
        let page = browser.get("/ui/settings").await;
        assert!(!page.html.contains("id=\"add-user\""), "{}", page.html);
        assert!(!page.html.contains("/ui/settings/users/"), "{}", page.html);
        let csrf = page.csrf();
        let fields = [("email", "sneaky@example.test"), ("role", "viewer"), ("csrf", csrf.as_str())];
        assert_eq!(browser.post("/ui/settings/users", &fields).await.status, 403);
        let path = format!("/ui/settings/users/{viewer_id}");
        assert_eq!(browser.post(&path, &[("role", "owner"), ("csrf", &csrf)]).await.status, 403);
    }
    let listed = app.get("/v1/users", Some(&owner)).await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 3, "nothing written: {}", listed.text);
    assert_eq!(app.get(&format!("/v1/users/{viewer_id}"), Some(&owner)).await.body["role"], "viewer");
}

// ---------------------------------------------------------------------------------------
// Segments under Flags

#[tokio::test]
async fn segments_are_created_edited_and_deleted_after_confirming_through_the_apis_code() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let segments = || async { app.get("/v1/segments", Some(&owner)).await.body["data"].clone() };
    let mut browser = Browser::owner(&app).await;
    let page = browser.get("/ui/flags/segments").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("<title>Segments · Signalbox</title>") && page.html.contains("No segments yet"));
    assert_eq!(page.html.matches("<h1").count(), 1);
    assert!(page.html.contains("label for=\"segment-name\"") && page.html.contains("label for=\"c0-operator\""));
    let csrf = page.csrf();
    let create = "/ui/flags/segments?project=default";
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("name", "beta testers"),
        ("description", "People in the beta"),
        ("scope", "project"),
        ("constraint_rows", "1"),
        ("c0_context", "version"),
        ("c0_operator", "SEMVER_GTE"),
        ("c0_value", "2.x"),
    ];
    // A bad semver: 422 next to the value, nothing written.
    let bad = browser.post(create, &fields).await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    assert!(bad.html.contains("id=\"c0-value-error\"") && bad.html.contains("value=\"beta testers\""), "{}", bad.html);
    assert_eq!(segments().await, json!([]));
    assert_eq!(browser.post(create, &fields[1..]).await.status, 403, "no CSRF token");
    assert_eq!(segments().await, json!([]));

    fields[7] = ("c0_value", "2.1.0");
    let created = browser.post(create, &fields).await;
    assert_eq!((created.status, created.location.as_deref()), (303, Some(create)), "{}", created.html);
    let stored = segments().await;
    assert_eq!(stored[0]["name"], "beta testers", "{stored}");
    assert_eq!(stored[0]["project"], "default");
    assert_eq!(
        stored[0]["constraints"],
        json!([{ "contextName": "version", "operator": "SEMVER_GTE", "value": "2.1.0", "inverted": false, "caseInsensitive": false }])
    );
    let id = stored[0]["id"].as_i64().unwrap();

    // Edit: the form shows what is stored; an unknown operator is refused next to its row.
    let path = format!("/ui/flags/segments/{id}");
    let edit = browser.get(&path).await;
    assert_eq!(edit.status, 200, "{}", edit.html);
    assert!(edit.html.contains("value=\"2.1.0\"") && edit.html.contains("People in the beta"), "{}", edit.html);
    let mut save = vec![
        ("csrf", csrf.as_str()),
        ("name", "beta"),
        ("description", ""),
        ("constraint_rows", "2"),
        ("c0_context", "version"),
        ("c0_operator", "SEMVER_GTE"),
        ("c0_value", "2.1.0"),
        ("c1_context", "country"),
        ("c1_operator", "LIKE"),
        ("c1_values", "NL"),
    ];
    let bad = browser.post(&path, &save).await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    assert!(bad.html.contains("id=\"c1-operator-error\""), "{}", bad.html);
    assert_eq!(segments().await[0]["name"], "beta testers");
    save[8] = ("c1_operator", "IN");
    let saved = browser.post(&path, &save).await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let stored = segments().await;
    assert_eq!((stored[0]["name"].clone(), stored[0]["description"].clone()), (json!("beta"), json!(null)), "{stored}");
    assert_eq!(
        stored[0]["constraints"][1],
        json!({ "contextName": "country", "operator": "IN", "values": ["NL"], "inverted": false, "caseInsensitive": false })
    );

    // Delete: refused while a strategy uses it, then gone after confirming.
    assert_eq!(
        app.post_json("/v1/projects/default/flags", Some(&owner), &json!({ "key": "checkout" })).await.status,
        201
    );
    let uses = json!({ "strategies": [{ "name": "default", "segments": [id] }] });
    let put = app.put_json("/v1/projects/default/flags/checkout/environments/development", Some(&owner), &uses).await;
    assert_eq!(put.status, 200, "{}", put.text);
    let delete = format!("/ui/flags/segments/{id}/delete");
    let confirm = browser.post(&delete, &[("csrf", &csrf)]).await;
    assert_eq!(confirm.status, 200, "{}", confirm.html);
    assert!(confirm.html.contains("Delete segment beta?"), "{}", confirm.html);
    let in_use = browser.post(&delete, &[("csrf", &csrf), ("confirm", "yes")]).await;
    assert_eq!(in_use.status, 409, "{}", in_use.html);
    assert!(in_use.html.contains("checkout"), "{}", in_use.html);
    let unused = json!({ "strategies": [] });
    assert_eq!(
        app.put_json("/v1/projects/default/flags/checkout/environments/development", Some(&owner), &unused)
            .await
            .status,
        200
    );
    assert_eq!(browser.post(&delete, &[("confirm", "yes")]).await.status, 403, "no CSRF token");
    assert_eq!(segments().await.as_array().unwrap().len(), 1);
    let deleted = browser.post(&delete, &[("csrf", &csrf), ("confirm", "yes")]).await;
    assert_eq!(deleted.status, 303, "{}", deleted.html);
    assert_eq!(segments().await, json!([]));
}

#[tokio::test]
async fn a_viewer_sees_segments_without_controls_and_is_refused() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let body = json!({ "name": "staff", "constraints": [{ "contextName": "email", "operator": "STR_ENDS_WITH", "values": ["@example.com"] }] });
    let created = app.post_json("/v1/segments", Some(&owner), &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_i64().unwrap();
    let (_, email, _) = app.user_with_role(&owner, "viewer").await;
    let mut viewer = Browser::new(&app);
    viewer.log_in(&email, TEST_PASSWORD).await;
    let page = viewer.get("/ui/flags/segments").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("staff") && page.html.contains("@example.com"), "{}", page.html);
    assert!(!page.html.contains("create-segment") && !page.html.contains("/delete"), "{}", page.html);
    let csrf = page.csrf();
    assert_eq!(viewer.get(&format!("/ui/flags/segments/{id}")).await.status, 403);
    let fields = [("csrf", csrf.as_str()), ("name", "mine"), ("constraint_rows", "0")];
    assert_eq!(viewer.post("/ui/flags/segments", &fields).await.status, 403);
    assert_eq!(viewer.post(&format!("/ui/flags/segments/{id}"), &fields).await.status, 403);
    assert_eq!(
        viewer.post(&format!("/ui/flags/segments/{id}/delete"), &[("csrf", &csrf), ("confirm", "yes")]).await.status,
        403
    );
    let stored = app.get("/v1/segments", Some(&owner)).await.body["data"].clone();
    assert_eq!((stored.as_array().unwrap().len(), stored[0]["name"].clone()), (1, json!("staff")));
}

// ---------------------------------------------------------------------------------------
// Editing an action set

#[tokio::test]
async fn an_action_set_is_edited_in_its_prefilled_form_through_the_apis_update() {
    let f = Fixture::new().await;
    let set = critical_set(&f).await;
    let id = set["id"].as_str().unwrap();
    let api = format!("/v1/projects/default/action-sets/{id}");
    let stored = || async { f.app.get(&api, Some(&f.owner)).await.body };
    let before = stored().await;
    let path = format!("/ui/actions/{id}/edit");
    let mut browser = Browser::owner(&f.app).await;
    let show = browser.get(&format!("/ui/actions/{id}")).await;
    assert!(show.html.contains(&format!("href=\"{path}\"")), "{}", show.html);
    let page = browser.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("<title>Edit on critical · Signalbox</title>"), "{}", page.html);
    for shown in [
        "value=\"on critical\"",
        "value=\"labels.severity\"",
        "value=\"critical\"",
        "value=\"checkout\"",
        "value=\"development\"",
    ] {
        assert!(page.html.contains(shown), "{shown}: {}", page.html);
    }
    let csrf = page.csrf();
    let source = format!("signal-endpoint:{}", f.endpoint_id);
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("name", "on critical or major"),
        ("actor_id", f.actor_id.as_str()),
        ("source", source.as_str()),
        ("filter_rows", "1"),
        ("f0_path", "labels.severity"),
        ("f0_operator", "IN"),
        ("f0_values", "critical, major"),
        ("action_rows", "1"),
        ("a0_action", "TOGGLE_FEATURE_OFF"),
        ("a0_feature_name", "no-such-flag"),
        ("a0_environment", "production"),
    ];
    let bad = browser.post(&path, &fields).await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    assert!(
        bad.html.contains("id=\"a0-feature-name-error\"") && bad.html.contains("value=\"on critical or major\""),
        "{}",
        bad.html
    );
    assert_eq!(stored().await, before, "nothing written");
    fields[10] = ("a0_feature_name", "checkout");
    assert_eq!(browser.post(&path, &fields[1..]).await.status, 403, "no CSRF token");
    assert_eq!(stored().await, before);

    let saved = browser.post(&path, &fields).await;
    assert_eq!(
        (saved.status, saved.location.as_deref()),
        (303, Some(format!("/ui/actions/{id}").as_str())),
        "{}",
        saved.html
    );
    let after = stored().await;
    assert_eq!(after["name"], "on critical or major", "{after}");
    assert_eq!(after["match"]["payload"]["labels.severity"]["values"], json!(["critical", "major"]));
    assert_eq!(after["actions"][0]["action"], "TOGGLE_FEATURE_OFF");
    assert_eq!(after["actions"][0]["execution_params"]["environment"], "production");

    // An editor (like a viewer) sees no edit link and is refused.
    let (_, email, _) = f.app.user_with_role(&f.owner, "editor").await;
    let mut editor = Browser::new(&f.app);
    editor.log_in(&email, TEST_PASSWORD).await;
    let list = editor.get("/ui/actions").await;
    assert!(!list.html.contains("/edit"), "{}", list.html);
    let editor_csrf = list.csrf();
    assert_eq!(editor.get(&path).await.status, 403);
    let mut theirs = fields.clone();
    theirs[0] = ("csrf", editor_csrf.as_str());
    theirs[1] = ("name", "mine");
    assert_eq!(editor.post(&path, &theirs).await.status, 403);
    assert_eq!(stored().await["name"], "on critical or major");
}

/// The error paragraph with this id, and the text up to its end.
fn error_text<'a>(html: &'a str, id: &str) -> Option<&'a str> {
    let at = html.find(&format!("<p class=\"error\" id=\"{id}\">"))?;
    let rest = &html[at..];
    Some(&rest[..rest.find("</p>")?])
}

#[tokio::test]
async fn an_action_set_with_several_filters_and_actions_is_created_and_edited_in_full() {
    let f = Fixture::new().await;
    flag(&f.app, &f.owner, "banner").await;
    let mut browser = Browser::owner(&f.app).await;
    let page = browser.get("/ui/actions").await;
    for control in
        ["set-description", "set-condition", "f0-path", "f0-operator", "f0-values", "a0-action", "a0-feature-name"]
    {
        assert!(page.html.contains(&format!("<label for=\"{control}\">")), "{control} has a label: {}", page.html);
    }
    assert!(page.html.contains("<label for=\"f0-inverted\"><input id=\"f0-inverted\""), "{}", page.html);
    assert!(page.html.contains("<label for=\"f0-case-insensitive\">"), "{}", page.html);
    let csrf = page.csrf();
    let source = format!("signal-endpoint:{}", f.endpoint_id);
    let base: Vec<(&str, &str)> = vec![
        ("csrf", csrf.as_str()),
        ("name", "incident"),
        ("description", "pages the on-call team"),
        ("actor_id", f.actor_id.as_str()),
        ("source", source.as_str()),
        ("condition", "payload.errors > 10"),
    ];

    // "Add another filter row" shows one more row, keeps what was typed and saves nothing.
    let mut more = base.clone();
    more.extend([
        ("filter_rows", "1"),
        ("f0_path", "labels.severity"),
        ("f0_operator", "IN"),
        ("f0_values", "critical, major"),
        ("action_rows", "1"),
        ("a0_action", "TOGGLE_FEATURE_ON"),
        ("a0_feature_name", "checkout"),
        ("a0_environment", "development"),
        ("add", "filter"),
    ]);
    let shown = browser.post("/ui/actions", &more).await;
    assert_eq!(shown.status, 200, "{}", shown.html);
    assert!(shown.html.contains("name=\"f1_path\"") && !shown.html.contains("name=\"f2_path\""), "{}", shown.html);
    assert!(shown.html.contains("value=\"labels.severity\"") && shown.html.contains("value=\"checkout\""));
    assert!(shown.html.contains("payload.errors &gt; 10</textarea>"), "{}", shown.html);
    *more.last_mut().unwrap() = ("add", "action");
    let shown = browser.post("/ui/actions", &more).await;
    assert_eq!(shown.status, 200, "{}", shown.html);
    assert!(shown.html.contains("name=\"a1_action\"") && !shown.html.contains("name=\"f1_path\""), "{}", shown.html);
    assert_eq!(f.app.count_rows("action_sets").await, 0, "adding a row saves nothing");

    // Two filters, two actions.
    let mut create = base.clone();
    create.extend([
        ("filter_rows", "3"),
        ("f0_path", "labels.severity"),
        ("f0_operator", "IN"),
        ("f0_values", "critical, major"),
        ("f0_case_insensitive", "on"),
        ("f1_path", "errors"),
        ("f1_operator", "NUM_GT"),
        ("f1_values", "5"),
        ("f1_inverted", "on"),
        ("f2_path", ""),
        ("f2_operator", "IN"),
        ("f2_values", ""),
        ("action_rows", "3"),
        ("a0_action", "TOGGLE_FEATURE_ON"),
        ("a0_feature_name", "checkout"),
        ("a0_environment", "development"),
        ("a1_action", "KILL_FEATURE"),
        ("a1_feature_name", "banner"),
        ("a1_environments", "production, development"),
        ("a1_reason", "incident"),
        ("a2_action", "TOGGLE_FEATURE_ON"),
        ("a2_feature_name", ""),
    ]);
    let created = browser.post("/ui/actions", &create).await;
    assert_eq!(created.status, 303, "{}", created.html);
    let listed = f.app.get("/v1/projects/default/action-sets", Some(&f.owner)).await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1, "{}", listed.text);
    let id = listed.body["data"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(created.location.as_deref(), Some(format!("/ui/actions/{id}").as_str()));
    let api = format!("/v1/projects/default/action-sets/{id}");
    let stored = || async { f.app.get(&api, Some(&f.owner)).await.body };
    let set = stored().await;
    assert_eq!(set["description"], "pages the on-call team", "{set}");
    assert_eq!(set["condition"], "payload.errors > 10");
    assert_eq!(
        set["match"]["payload"],
        json!({
            "labels.severity": { "operator": "IN", "values": ["critical", "major"], "inverted": false, "case_insensitive": true },
            "errors": { "operator": "NUM_GT", "value": "5", "inverted": true, "case_insensitive": false },
        }),
        "{set}"
    );
    assert_eq!(
        set["actions"],
        json!([
            toggle("TOGGLE_FEATURE_ON", "checkout", "development"),
            { "action": "KILL_FEATURE", "execution_params": {
                "feature_name": "banner", "environments": ["production", "development"], "reason": "incident" } },
        ]),
        "in order: {set}"
    );

    // The edit form shows every filter and action.
    let path = format!("/ui/actions/{id}/edit");
    let page = browser.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(!page.html.contains("the first of each"), "{}", page.html);
    for shown in [
        "name=\"f0_path\" type=\"text\" value=\"errors\"",
        "name=\"f1_path\" type=\"text\" value=\"labels.severity\"",
        "name=\"f2_path\" type=\"text\" value=\"\"",
        "name=\"a0_feature_name\" type=\"text\" value=\"checkout\"",
        "name=\"a1_feature_name\" type=\"text\" value=\"banner\"",
        "name=\"a1_environments\" type=\"text\" value=\"production, development\"",
        "name=\"a1_reason\" type=\"text\" value=\"incident\"",
        "name=\"a2_feature_name\" type=\"text\" value=\"\"",
        "<option value=\"KILL_FEATURE\" selected>",
        "<option value=\"NUM_GT\" selected>",
        "id=\"f0-inverted\" type=\"checkbox\" name=\"f0_inverted\" value=\"on\" checked",
        "id=\"f1-case-insensitive\" type=\"checkbox\" name=\"f1_case_insensitive\" value=\"on\" checked",
        "pages the on-call team</textarea>",
        "payload.errors &gt; 10</textarea>",
    ] {
        assert!(page.html.contains(shown), "{shown}: {}", page.html);
    }
    let csrf = page.csrf();
    let before = stored().await;
    let edit = |f1_operator: &'static str, a2_flag: &'static str| {
        vec![
            ("csrf", csrf.as_str()),
            ("name", "incident"),
            ("description", ""),
            ("actor_id", f.actor_id.as_str()),
            ("source", source.as_str()),
            ("condition", "payload.errors > 20"),
            ("filter_rows", "3"),
            ("f0_path", "errors"),
            ("f0_operator", "NUM_GT"),
            ("f0_values", "5"),
            ("f0_inverted", "on"),
            ("f0_remove", "on"),
            ("f1_path", "labels.severity"),
            ("f1_operator", f1_operator),
            ("f1_values", "critical"),
            ("f2_path", ""),
            ("f2_operator", "IN"),
            ("f2_values", ""),
            ("action_rows", "3"),
            ("a0_action", "TOGGLE_FEATURE_ON"),
            ("a0_feature_name", "checkout"),
            ("a0_environment", "development"),
            ("a1_action", "KILL_FEATURE"),
            ("a1_feature_name", "banner"),
            ("a1_environments", "production, development"),
            ("a1_reason", "incident"),
            ("a2_action", "TOGGLE_FEATURE_OFF"),
            ("a2_feature_name", a2_flag),
            ("a2_environment", "production"),
        ]
    };

    // A bad operator in the second filter row: 422, its error next to that row's operator.
    let bad = browser.post(&path, &edit("NOPE", "checkout")).await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    let message = error_text(&bad.html, "f1-operator-error").unwrap_or_else(|| panic!("{}", bad.html));
    assert!(message.contains("must be one of"), "{message}");
    assert!(bad.html.contains("aria-describedby=\"f1-operator-error\""), "{}", bad.html);
    assert!(error_text(&bad.html, "f0-operator-error").is_none(), "{}", bad.html);
    assert!(bad.html.contains("<option value=\"NOPE\" selected>"), "what was sent is kept: {}", bad.html);
    assert_eq!(stored().await, before, "nothing written");

    // A bad flag in the third action row: its error next to that row's flag key.
    let bad = browser.post(&path, &edit("IN", "no-such-flag")).await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    assert!(error_text(&bad.html, "a2-feature-name-error").is_some(), "{}", bad.html);
    assert!(error_text(&bad.html, "a0-feature-name-error").is_none(), "{}", bad.html);
    assert_eq!(stored().await, before, "nothing written");

    // Two filters on one path: the second row's error.
    let mut twice = edit("IN", "checkout");
    twice.retain(|(k, _)| *k != "f0_remove");
    for (k, v) in &mut twice {
        if *k == "f0_path" {
            *v = "labels.severity";
        }
    }
    let bad = browser.post(&path, &twice).await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    assert!(error_text(&bad.html, "f1-path-error").is_some(), "{}", bad.html);
    assert_eq!(stored().await, before, "nothing written");

    // No CSRF token: refused, nothing written.
    assert_eq!(browser.post(&path, &edit("IN", "checkout")[1..]).await.status, 403);
    assert_eq!(stored().await, before, "nothing written");

    // "Add another action row" while editing saves nothing.
    let mut more = edit("IN", "checkout");
    more.push(("add", "action"));
    let shown = browser.post(&path, &more).await;
    assert_eq!(shown.status, 200, "{}", shown.html);
    assert!(shown.html.contains("name=\"a3_action\""), "{}", shown.html);
    assert_eq!(stored().await, before, "nothing written");

    // Filter 1 removed, an action added, the condition changed, the description cleared.
    let saved = browser.post(&path, &edit("IN", "checkout")).await;
    assert_eq!(
        (saved.status, saved.location.as_deref()),
        (303, Some(format!("/ui/actions/{id}").as_str())),
        "{}",
        saved.html
    );
    let after = stored().await;
    assert_eq!(after["condition"], "payload.errors > 20", "{after}");
    assert_eq!(after["description"], Value::Null, "{after}");
    assert_eq!(
        after["match"]["payload"],
        json!({ "labels.severity": { "operator": "IN", "values": ["critical"], "inverted": false, "case_insensitive": false } }),
        "{after}"
    );
    assert_eq!(
        after["actions"],
        json!([
            toggle("TOGGLE_FEATURE_ON", "checkout", "development"),
            { "action": "KILL_FEATURE", "execution_params": {
                "feature_name": "banner", "environments": ["production", "development"], "reason": "incident" } },
            toggle("TOGGLE_FEATURE_OFF", "checkout", "production"),
        ]),
        "{after}"
    );

    // Removing an action row: the API's errors still land on the row that sent them.
    let page = browser.get(&path).await;
    let csrf = page.csrf();
    let before = stored().await;
    let fields = [
        ("csrf", csrf.as_str()),
        ("name", "incident"),
        ("actor_id", f.actor_id.as_str()),
        ("source", source.as_str()),
        ("filter_rows", "0"),
        ("action_rows", "3"),
        ("a0_action", "TOGGLE_FEATURE_ON"),
        ("a0_feature_name", "checkout"),
        ("a0_environment", "development"),
        ("a0_remove", "on"),
        ("a1_action", "TOGGLE_FEATURE_ON"),
        ("a1_feature_name", "checkout"),
        ("a1_environment", "development"),
        ("a2_action", "TOGGLE_FEATURE_OFF"),
        ("a2_feature_name", "checkout"),
        ("a2_environment", "staging"),
    ];
    let bad = browser.post(&path, &fields).await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    assert!(error_text(&bad.html, "a2-environment-error").is_some(), "{}", bad.html);
    assert!(error_text(&bad.html, "a1-environment-error").is_none(), "{}", bad.html);
    assert_eq!(stored().await, before, "nothing written");
}
