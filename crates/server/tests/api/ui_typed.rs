//! The admin UI's Typed signals and Actions pages (issue 10) through the real server on either
//! backend: declaring a signal type and a profile with forms, the CEL check as you type,
//! leads and their scores, roles and CSRF, and the action sets' run log.

use serde_json::json;

use crate::actions::{Fixture, toggle};
use crate::helpers::{TEST_PASSWORD, TestApp, spawn_app};
use crate::ui_browser::{Browser, form};

async fn custom_types(app: &TestApp, owner: &str) -> Vec<serde_json::Value> {
    let listed = app.get("/v1/signal-types", Some(owner)).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    listed.body.as_array().unwrap().iter().filter(|t| t["builtin"] == false).cloned().collect()
}

#[tokio::test]
async fn a_custom_type_declared_with_the_form_is_listed_by_the_api_with_its_slug() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let mut browser = Browser::owner(&app).await;
    let page = browser.get("/ui/typed").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("<title>Typed signals · Signalbox</title>"), "{}", page.html);
    assert!(page.html.contains("custom_event"), "built-in types are listed");
    assert!(page.html.contains("No custom signal types yet"), "the empty state says what to do");
    let csrf = page.csrf();

    let fields = [("name", "Demo Request!"), ("source_description", "The website's form"), ("autoqualify", "on")];
    assert_eq!(browser.post("/ui/typed", &fields).await.status, 403, "no CSRF token");
    assert!(custom_types(&app, &owner).await.is_empty());

    let created = browser.post("/ui/typed", &[fields.as_slice(), &[("csrf", &csrf)]].concat()).await;
    assert_eq!(created.status, 303, "{}", created.html);
    let location = created.location.unwrap();
    assert_eq!(location, "/ui/typed?created=demo_request");
    let shown = browser.get(&location).await;
    assert!(shown.html.contains("<code id=\"created-slug\">demo_request</code>"), "{}", shown.html);

    let types = custom_types(&app, &owner).await;
    assert_eq!(types.len(), 1);
    assert_eq!(types[0]["slug"], "demo_request");
    assert_eq!(types[0]["name"], "Demo Request!");
    assert_eq!(types[0]["source_description"], "The website's form");
    assert_eq!((types[0]["autoqualify"].clone(), types[0]["enabled"].clone()), (json!(true), json!(true)));

    let duplicate = browser.post("/ui/typed", &[("name", "demo request"), ("csrf", &csrf)]).await;
    assert_eq!(duplicate.status, 409, "{}", duplicate.html);
    assert!(duplicate.html.contains("a signal type with the slug"), "{}", duplicate.html);
    assert!(duplicate.html.contains("value=\"demo request\""), "what was typed is kept");
    assert_eq!(custom_types(&app, &owner).await.len(), 1, "nothing stored");

    let empty = browser.post("/ui/typed", &[("name", "  "), ("csrf", &csrf)]).await;
    assert_eq!(empty.status, 422, "{}", empty.html);
    assert!(empty.html.contains("id=\"type-name-error\""), "next to its field: {}", empty.html);

    // The toggles change the type through the API's operation.
    let off = browser.post("/ui/typed/types/demo_request", &[("enabled", "false"), ("csrf", &csrf)]).await;
    assert_eq!(off.status, 303, "{}", off.html);
    let off = browser.post("/ui/typed/types/demo_request", &[("autoqualify", "false"), ("csrf", &csrf)]).await;
    assert_eq!(off.status, 303, "{}", off.html);
    let types = custom_types(&app, &owner).await;
    assert_eq!((types[0]["autoqualify"].clone(), types[0]["enabled"].clone()), (json!(false), json!(false)));
    assert_eq!(browser.post("/ui/typed/types/demo_request", &[("enabled", "true")]).await.status, 403);
}

#[tokio::test]
async fn a_viewer_sees_no_controls_and_is_refused_when_posting_anyway() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (_, email, _) = app.user_with_role(&owner, "viewer").await;
    let mut browser = Browser::new(&app);
    browser.log_in(&email, TEST_PASSWORD).await;

    let page = browser.get("/ui/typed").await;
    assert_eq!(page.status, 200);
    assert!(!page.html.contains("create-type"), "{}", page.html);
    assert!(!page.html.contains("/ui/typed/types/"), "no toggles");
    assert!(page.html.contains("managed by owners and admins"));
    let csrf = page.csrf();
    let profiles = browser.get("/ui/typed/profiles").await;
    assert!(!profiles.html.contains("create-profile"), "{}", profiles.html);
    let actions = browser.get("/ui/actions").await;
    assert!(actions.html.contains("managed by owners and admins"), "{}", actions.html);

    assert_eq!(browser.post("/ui/typed", &[("name", "Demo"), ("csrf", &csrf)]).await.status, 403);
    assert_eq!(
        browser.post("/ui/typed/types/custom_event", &[("enabled", "false"), ("csrf", &csrf)]).await.status,
        403
    );
    let profile = [("kind", "icp"), ("code", "SaaS"), ("condition_0", "true"), ("weight_0", "1"), ("csrf", &csrf)];
    assert_eq!(browser.post("/ui/typed/profiles", &profile).await.status, 403);
    assert_eq!(browser.post("/ui/typed/profiles/check", &profile).await.status, 403);
    assert!(custom_types(&app, &owner).await.is_empty());
    assert_eq!(app.count_rows("qualification_profiles").await, 0);

    // Leads are for any member, as on the API.
    let leads = browser.get("/ui/typed/leads").await;
    assert_eq!(leads.status, 200);
    assert!(leads.html.contains("No leads yet"), "{}", leads.html);
}

#[tokio::test]
async fn the_cel_check_answers_valid_or_the_error_with_its_line_and_column() {
    let app = spawn_app().await;
    let mut browser = Browser::owner(&app).await;
    let page = browser.get("/ui/typed/profiles").await;
    assert!(page.html.contains("hx-post=\"/ui/typed/profiles/check\""), "{}", page.html);
    assert!(page.html.contains("hx-trigger=\"keyup changed delay:400ms\""));
    let csrf = page.csrf();

    let check = |condition: &'static str, csrf: Option<String>| {
        let mut fields = vec![("rule".to_owned(), "1".to_owned()), ("condition_1".to_owned(), condition.to_owned())];
        fields.extend(csrf.map(|c| ("csrf".to_owned(), c)));
        fields
    };
    let send = |fields: Vec<(String, String)>| {
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        form(&pairs)
    };
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let post = |body: String, header: Option<&str>| {
        let mut request = client
            .post(app.url("/ui/typed/profiles/check"))
            .header(reqwest::header::COOKIE, browser.cookie.clone().unwrap())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(token) = header {
            request = request.header("x-csrf-token", token);
        }
        request.send()
    };

    let valid = post(send(check("signals.context.team_size > 10", Some(csrf.clone()))), None).await.unwrap();
    assert_eq!(valid.status(), 200);
    let html = valid.text().await.unwrap();
    assert!(html.contains("valid") && !html.contains("error"), "{html}");

    let invalid = post(send(check("signals.context.team_size >\n  && true", None)), Some(&csrf)).await.unwrap();
    assert_eq!(invalid.status(), 200, "the header carries the token");
    let html = invalid.text().await.unwrap();
    assert!(html.contains("class=\"error\""), "{html}");
    assert!(html.contains("line ") && html.contains(", column "), "{html}");

    let empty = post(send(check("", Some(csrf.clone()))), None).await.unwrap().text().await.unwrap();
    assert!(empty.contains("line 1, column 1: must not be empty"), "{empty}");

    assert_eq!(post(send(check("true", None)), None).await.unwrap().status(), 403, "no CSRF token");
}

#[tokio::test]
async fn a_profile_from_the_form_scores_a_typed_signal_and_the_lead_page_shows_it() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let mut browser = Browser::owner(&app).await;
    let page = browser.get("/ui/typed/profiles").await;
    assert!(page.html.contains("None yet."), "{}", page.html);
    let csrf = page.csrf();

    let mut fields = vec![
        ("kind", "icp"),
        ("code", "Mid-market SaaS"),
        ("condition_0", "identity.company_domain.endsWith('.io')"),
        ("weight_0", "30"),
        ("condition_1", "signals.context.team_size >"),
        ("weight_1", "50"),
        ("condition_2", "signals.context.missing_field > 1"),
        ("weight_2", "20"),
        ("csrf", &csrf),
    ];
    let invalid = browser.post("/ui/typed/profiles", &fields).await;
    assert_eq!(invalid.status, 422, "{}", invalid.html);
    let at = invalid.html.find("id=\"condition-1-check\"").expect("the second row's message");
    assert!(invalid.html[at..].contains("is not valid CEL at line 1, column"), "{}", invalid.html);
    assert!(invalid.html.contains("value=\"Mid-market SaaS\""), "what was typed is kept");
    assert_eq!(app.count_rows("qualification_profiles").await, 0);

    fields[4] = ("condition_1", "signals.context.team_size > 10");
    let created = browser.post("/ui/typed/profiles", &fields).await;
    assert_eq!((created.status, created.location.as_deref()), (303, Some("/ui/typed/profiles")), "{}", created.html);
    let icp = app.get("/v1/icp-profiles", Some(&owner)).await;
    assert_eq!(icp.body[0]["code"], "Mid-market SaaS", "{}", icp.text);
    assert_eq!(icp.body[0]["rules"].as_array().unwrap().len(), 3);
    assert!(browser.get("/ui/typed/profiles").await.html.contains("Mid-market SaaS"));

    let on = browser.post("/ui/typed/types/custom_event", &[("autoqualify", "true"), ("csrf", &csrf)]).await;
    assert_eq!(on.status, 303);

    let empty = browser.get("/ui/typed/leads").await;
    assert!(empty.html.contains("No leads yet"), "{}", empty.html);
    let signal = json!({
        "signal_type": "custom_event",
        "source": "product",
        "event_name": "user_invited_teammate",
        "occurred_at": "2026-05-26T14:00:00Z",
        "identity": { "email": "ada@acme.io", "company_domain": "acme.io", "first_name": "Ada", "last_name": "Lovelace" },
        "context": { "team_size": 12 }
    });
    let captured = app.post_json("/signals", Some(&owner), &signal).await;
    assert_eq!(captured.status, 201, "{}", captured.text);
    assert_eq!(captured.body["qualification"]["icp_score"], 80, "{}", captured.text);
    let lead_id = captured.body["matched_record_id"].as_str().unwrap();

    let leads = browser.get("/ui/typed/leads").await;
    assert!(leads.html.contains(&format!("href=\"/ui/typed/leads/{lead_id}\"")), "{}", leads.html);
    assert!(leads.html.contains("Ada Lovelace"));
    for (q, found) in [("ACME", true), ("lovelace", true), ("nobody", false)] {
        let searched = browser.get(&format!("/ui/typed/leads?q={q}")).await;
        assert_eq!(searched.html.contains("Ada Lovelace"), found, "{q}: {}", searched.html);
    }
    assert!(browser.get("/ui/typed/leads?q=nobody").await.html.contains("No lead matches"));

    let lead = browser.get(&format!("/ui/typed/leads/{lead_id}")).await;
    assert_eq!(lead.status, 200, "{}", lead.html);
    assert!(lead.html.contains("<h1>Ada Lovelace</h1>"), "{}", lead.html);
    assert!(lead.html.contains("ada@acme.io"));
    let at = lead.html.find("id=\"latest-qualification\"").unwrap();
    assert!(lead.html[at..].contains("Mid-market SaaS <strong>80</strong>"), "{}", lead.html);
    assert!(lead.html.contains("user_invited_teammate"), "the capture timeline");
    assert_eq!(browser.get("/ui/typed/leads/no-such-lead").await.status, 404);
}

#[tokio::test]
async fn the_actions_page_lists_the_sets_and_a_sets_run_log_shows_each_actions_state() {
    let f = Fixture::new().await;
    let mut browser = Browser::owner(&f.app).await;
    let empty = browser.get("/ui/actions").await;
    assert!(empty.html.contains("No action sets yet"), "{}", empty.html);

    assert!(empty.html.contains("id=\"create-action-set\""), "{}", empty.html);
    assert!(empty.html.contains(&format!("value=\"signal-endpoint:{}\"", f.endpoint_id)), "the endpoint is offered");
    assert!(empty.html.contains("value=\"signal-type:custom_event\""), "signal types are offered");
    let csrf = empty.csrf();
    let source = format!("signal-endpoint:{}", f.endpoint_id);
    let mut fields = vec![
        ("name", "enable on critical"),
        ("actor_id", f.actor_id.as_str()),
        ("source", source.as_str()),
        ("filter_rows", "1"),
        ("f0_path", "labels.severity"),
        ("f0_operator", "IN"),
        ("f0_values", "critical, major"),
        ("action_rows", "1"),
        ("a0_action", "TOGGLE_FEATURE_ON"),
        ("a0_feature_name", "checkout"),
        ("a0_environment", ""),
        ("csrf", csrf.as_str()),
    ];
    let refused = browser.post("/ui/actions", &fields[..11]).await;
    assert_eq!(refused.status, 403, "no CSRF token");
    let invalid = browser.post("/ui/actions", &fields).await;
    assert_eq!(invalid.status, 422, "{}", invalid.html);
    assert!(invalid.html.contains("id=\"a0-environment-error\""), "next to its field: {}", invalid.html);
    assert!(invalid.html.contains("value=\"labels.severity\""), "what was typed is kept");
    assert_eq!(f.app.count_rows("action_sets").await, 0);

    fields[10] = ("a0_environment", "development");
    let created = browser.post("/ui/actions", &fields).await;
    assert_eq!(created.status, 303, "{}", created.html);
    let listed = f.app.get("/v1/projects/default/action-sets", Some(&f.owner)).await;
    let set = listed.body["data"][0].clone();
    let set_id = set["id"].as_str().unwrap();
    assert_eq!(created.location.unwrap(), format!("/ui/actions/{set_id}"));
    assert_eq!(set["match"]["payload"]["labels.severity"]["values"], json!(["critical", "major"]), "{set}");
    assert_eq!(set["actions"], json!([toggle("TOGGLE_FEATURE_ON", "checkout", "development")]));
    let list = browser.get("/ui/actions").await;
    assert!(list.html.contains(&format!("href=\"/ui/actions/{set_id}\"")), "{}", list.html);
    assert!(list.html.contains("TOGGLE_FEATURE_ON"));

    f.signal(&json!({ "labels": { "severity": "critical" } })).await;
    f.finished_runs(set_id, 1).await;
    let log = browser.get(&format!("/ui/actions/{set_id}")).await;
    assert_eq!(log.status, 200, "{}", log.html);
    assert!(log.html.contains("data-state=\"success\""), "{}", log.html);
    assert!(log.html.contains("<td>success</td>"), "the action's own state: {}", log.html);

    let csrf = log.csrf();
    assert_eq!(browser.post(&format!("/ui/actions/{set_id}/enabled"), &[("enabled", "false")]).await.status, 403);
    let off = browser.post(&format!("/ui/actions/{set_id}/enabled"), &[("enabled", "false"), ("csrf", &csrf)]).await;
    assert_eq!(off.status, 303, "{}", off.html);
    let shown = f.app.get(&format!("/v1/projects/default/action-sets/{set_id}"), Some(&f.owner)).await;
    assert_eq!(shown.body["enabled"], false);
}

// ---------------------------------------------------------------------------------------
// Editing types and profiles in place

#[tokio::test]
async fn a_signal_type_is_edited_in_place_with_sub_rules_and_bad_cel_is_refused_next_to_its_row() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let body = json!({ "name": "Demo request", "source_description": "The website" });
    assert_eq!(app.post_json("/v1/signal-types", Some(&owner), &body).await.status, 201);
    let stored = || async { app.get("/v1/signal-types/demo_request", Some(&owner)).await.body };
    let mut browser = Browser::owner(&app).await;
    let list = browser.get("/ui/typed").await;
    assert!(list.html.contains("href=\"/ui/typed/types/demo_request/edit\""), "{}", list.html);
    let page = browser.get("/ui/typed/types/demo_request/edit").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(
        page.html.contains("<title>Signal type Demo request · Signalbox</title>")
            && page.html.contains("value=\"The website\"")
    );
    assert!(page.html.contains("label for=\"rule-condition-0\""), "{}", page.html);
    let csrf = page.csrf();
    let path = "/ui/typed/types/demo_request/edit";
    let before = stored().await;
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("source_description", "Demo form on the pricing page"),
        ("autoqualify", "on"),
        ("sub_rule_rows", "3"),
        ("rule_name_0", ""),
        ("rule_condition_0", ""),
        ("rule_name_1", "enterprise"),
        ("rule_condition_1", "identity.company_domain.endsWith("),
        ("rule_name_2", ""),
        ("rule_condition_2", ""),
    ];
    let bad = browser.post(path, &fields).await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    assert!(bad.html.contains("id=\"rule-condition-1-error\"") && bad.html.contains("line 1"), "{}", bad.html);
    assert_eq!(stored().await, before, "nothing written");
    fields[7] = ("rule_condition_1", "identity.company_domain.endsWith('.com')");
    assert_eq!(browser.post(path, &fields[1..]).await.status, 403, "no CSRF token");
    assert_eq!(stored().await, before);

    let saved = browser.post(path, &fields).await;
    assert_eq!((saved.status, saved.location.as_deref()), (303, Some("/ui/typed")), "{}", saved.html);
    let after = stored().await;
    assert_eq!(after["source_description"], "Demo form on the pricing page", "{after}");
    assert_eq!(
        (after["autoqualify"].clone(), after["enabled"].clone()),
        (json!(true), json!(false)),
        "unticked: disabled"
    );
    assert_eq!(
        after["sub_rules"],
        json!([{ "name": "enterprise", "condition": "identity.company_domain.endsWith('.com')" }])
    );
    let again = browser.get(path).await;
    assert!(again.html.contains("value=\"enterprise\""), "{}", again.html);

    // A built-in type: no description field; its sub-rules and switches are editable.
    let builtin = browser.get("/ui/typed/types/website_visit/edit").await;
    assert_eq!(builtin.status, 200, "{}", builtin.html);
    assert!(!builtin.html.contains("name=\"source_description\""), "{}", builtin.html);
}

#[tokio::test]
async fn a_profile_is_edited_in_place_through_the_apis_update() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let body =
        json!({ "code": "saas", "rules": [{ "condition": "identity.company_domain.endsWith('.io')", "weight": 10 }] });
    let created = app.post_json("/v1/icp-profiles", Some(&owner), &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let stored = || async { app.get(&format!("/v1/icp-profiles/{id}"), Some(&owner)).await.body };
    let mut browser = Browser::owner(&app).await;
    let list = browser.get("/ui/typed/profiles").await;
    let path = format!("/ui/typed/profiles/icp/{id}/edit");
    assert!(list.html.contains(&format!("href=\"{path}\"")), "{}", list.html);
    let page = browser.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(
        page.html.contains("<title>ICP profile saas · Signalbox</title>") && page.html.contains("value=\"10\""),
        "{}",
        page.html
    );
    let csrf = page.csrf();
    let before = stored().await;
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("code", "saas-eu"),
        ("rule_rows", "3"),
        ("condition_0", "identity.company_domain.endsWith('.io')"),
        ("weight_0", "10"),
        ("condition_1", ""),
        ("weight_1", ""),
        ("condition_2", "lead.title.contains("),
        ("weight_2", "5"),
    ];
    let bad = browser.post(&path, &fields).await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    let check = bad.html.find("id=\"condition-2-check\"").expect("the row's check");
    assert!(bad.html[check..check + 120].contains("<span class=\"error\">"), "{}", bad.html);
    assert!(bad.html.contains("value=\"saas-eu\""), "{}", bad.html);
    assert_eq!(stored().await, before, "nothing written");
    fields[7] = ("condition_2", "lead.title.contains('CTO')");
    assert_eq!(browser.post(&path, &fields[1..]).await.status, 403, "no CSRF token");
    assert_eq!(stored().await, before);

    let saved = browser.post(&path, &fields).await;
    assert_eq!((saved.status, saved.location.as_deref()), (303, Some("/ui/typed/profiles")), "{}", saved.html);
    let after = stored().await;
    assert_eq!(after["code"], "saas-eu", "{after}");
    assert_eq!(after["rules"][1], json!({ "condition": "lead.title.contains('CTO')", "weight": 5 }));
}

#[tokio::test]
async fn editors_and_viewers_get_no_type_or_profile_editing_and_are_refused() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    assert_eq!(app.post_json("/v1/signal-types", Some(&owner), &json!({ "name": "Demo request" })).await.status, 201);
    let body = json!({ "code": "saas", "rules": [{ "condition": "true", "weight": 1 }] });
    let id = app.post_json("/v1/icp-profiles", Some(&owner), &body).await.body["id"].as_str().unwrap().to_owned();
    for role in ["viewer", "editor"] {
        let (_, email, _) = app.user_with_role(&owner, role).await;
        let mut browser = Browser::new(&app);
        browser.log_in(&email, TEST_PASSWORD).await;
        let page = browser.get("/ui/typed").await;
        assert!(!page.html.contains("/edit"), "{role}: {}", page.html);
        let csrf = page.csrf();
        assert_eq!(browser.get("/ui/typed/types/demo_request/edit").await.status, 403, "{role}");
        assert_eq!(browser.get(&format!("/ui/typed/profiles/icp/{id}/edit")).await.status, 403, "{role}");
        let fields =
            [("csrf", csrf.as_str()), ("source_description", "mine"), ("enabled", "on"), ("sub_rule_rows", "0")];
        assert_eq!(browser.post("/ui/typed/types/demo_request/edit", &fields).await.status, 403, "{role}");
        let fields = [("csrf", csrf.as_str()), ("code", "mine"), ("condition_0", "true"), ("weight_0", "1")];
        assert_eq!(browser.post(&format!("/ui/typed/profiles/icp/{id}/edit"), &fields).await.status, 403, "{role}");
    }
    let t = app.get("/v1/signal-types/demo_request", Some(&owner)).await.body;
    assert_eq!(t["source_description"], serde_json::Value::Null);
    assert_eq!(app.get(&format!("/v1/icp-profiles/{id}"), Some(&owner)).await.body["code"], "saas");
}
