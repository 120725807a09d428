//! The `/v1` action-set API: create, read, list, change, turn on and off, delete; validation
//! of every field, the count limits, who may do what, the events written, what deleting a
//! signal endpoint does, the action catalogue and the run log's cursor paging.

use std::time::Duration;

use serde_json::{Value, json};

use super::{FLAGS, Fixture, SETS, flag, service_account, toggle};
use crate::helpers::{ApiResponse, TestApp, assert_problem};

const NO_SET: &str = "00000000-0000-4000-8000-000000000000";

async fn events_of(app: &TestApp, owner: &str, event_type: &str) -> Vec<Value> {
    let response = app.get(&format!("/v1/events?type={event_type}&limit=100"), Some(owner)).await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.body["data"].as_array().unwrap().clone()
}

async fn my_id(app: &TestApp, session: &str) -> String {
    let me = app.get("/v1/me", Some(session)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    me.body["principal"]["id"].as_str().unwrap().to_owned()
}

fn id_of(set: &Value) -> String {
    set["id"].as_str().expect("a set id").to_owned()
}

/// A set that enables `checkout` in development on a critical signal.
fn critical(f: &Fixture, name: &str) -> Value {
    f.set_body(
        name,
        json!({ "labels.severity": { "operator": "IN", "values": ["critical"] } }),
        json!([toggle("TOGGLE_FEATURE_ON", "checkout", "development")]),
    )
}

/// A copy of `base` with the field at the JSON pointer set to `value`, or removed when `None`.
fn changed(base: &Value, pointer: &str, value: Option<Value>) -> Value {
    let mut body = base.clone();
    let (parent, key) = pointer.rsplit_once('/').expect("a JSON pointer");
    let target = if parent.is_empty() { &mut body } else { body.pointer_mut(parent).expect("the parent exists") };
    match (target, value) {
        (Value::Object(map), Some(value)) => {
            map.insert(key.to_owned(), value);
        }
        (Value::Object(map), None) => {
            map.remove(key);
        }
        (Value::Array(items), Some(value)) => items[key.parse::<usize>().unwrap()] = value,
        (other, _) => panic!("cannot change {pointer} in {other}"),
    }
    body
}

/// Posts each bad body and checks a 422 naming `field`, and that no set was stored.
async fn refused(f: &Fixture, cases: Vec<(&str, Value, &str)>) {
    for (what, body, field) in cases {
        let response = f.app.post_json(SETS, Some(&f.owner), &body).await;
        assert_eq!(response.status, 422, "{what}: {}", response.text);
        assert_problem(&response, 422, Some(field));
        assert_eq!(f.app.count_rows("action_sets").await, 0, "{what}: nothing is stored");
    }
}

// ---- create and read ----

#[tokio::test]
async fn an_owner_creates_an_action_set_and_reads_it_back_as_created() {
    let f = Fixture::new().await;
    let owner_id = my_id(&f.app, &f.owner).await;
    let mut body = critical(&f, "enable on critical");
    body["description"] = json!("turns checkout on when things are on fire");
    body["condition"] = json!("payload.errors > 10");
    body["match"]["payload"]["service.name"] =
        json!({ "operator": "STR_STARTS_WITH", "values": ["Checkout"], "case_insensitive": true });
    let created = f.app.post_json(SETS, Some(&f.owner), &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let set = &created.body;
    let id = id_of(set);
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "a UUID id: {id}");
    assert_eq!(set["project"], "default");
    assert_eq!(set["name"], "enable on critical");
    assert_eq!(set["description"], "turns checkout on when things are on fire");
    assert_eq!(set["enabled"], true, "a set is enabled unless it says otherwise");
    assert_eq!(set["actor_id"], f.actor_id.as_str());
    assert_eq!(set["match"]["source"], "signal-endpoint");
    assert_eq!(set["match"]["source_id"], f.endpoint_id.as_str());
    assert_eq!(
        set["match"]["payload"],
        json!({
            "labels.severity": { "operator": "IN", "values": ["critical"], "inverted": false, "case_insensitive": false },
            "service.name": {
                "operator": "STR_STARTS_WITH", "values": ["Checkout"], "inverted": false, "case_insensitive": true
            },
        })
    );
    assert_eq!(set["condition"], "payload.errors > 10");
    assert_eq!(
        set["actions"],
        json!([{ "action": "TOGGLE_FEATURE_ON", "execution_params": { "feature_name": "checkout", "environment": "development" } }])
    );
    assert_eq!(set["created_by"], owner_id.as_str());
    assert!(set["created_at"].as_str().unwrap().ends_with('Z'), "{set}");
    assert_eq!(set["created_at"], set["updated_at"]);

    let read = f.app.get(&format!("{SETS}/{id}"), Some(&f.owner)).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body, *set, "GET answers what POST answered");
    assert_eq!(f.app.count_rows("action_sets").await, 1);
}

#[tokio::test]
async fn a_set_may_be_created_disabled_and_without_filters_description_or_condition() {
    let f = Fixture::new().await;
    let mut body = f.set_body("quiet", json!({}), json!([toggle("TOGGLE_FEATURE_OFF", "checkout", "production")]));
    body["enabled"] = json!(false);
    body.as_object_mut().unwrap().remove("match").unwrap();
    body["match"] = json!({ "source": "signal-endpoint", "source_id": f.endpoint_id });
    let set = f.action_set(&body).await;
    assert_eq!(set["enabled"], false);
    assert_eq!(set["match"]["payload"], json!({}), "no filters: every signal of the source");
    assert_eq!(set["description"], Value::Null);
    assert_eq!(set["condition"], Value::Null);

    f.signal(&json!({ "anything": 1 })).await;
    f.settled().await;
    assert!(f.runs(&id_of(&set)).await.is_empty(), "a disabled set does not run");
}

#[tokio::test]
async fn names_are_trimmed_and_unique_within_a_project_but_not_across_projects() {
    let f = Fixture::new().await;
    let set = f.action_set(&critical(&f, "  deploy guard  ")).await;
    assert_eq!(set["name"], "deploy guard");

    let taken = f.app.post_json(SETS, Some(&f.owner), &critical(&f, "deploy guard ")).await;
    assert_problem(&taken, 409, None);
    assert!(taken.body["detail"].as_str().unwrap().contains("deploy guard"), "{}", taken.text);
    assert_eq!(f.app.count_rows("action_sets").await, 1);

    let project = f.app.post_json("/v1/projects", Some(&f.owner), &json!({ "key": "mobile" })).await;
    assert_eq!(project.status, 201, "{}", project.text);
    let flag_in_mobile =
        f.app.post_json("/v1/projects/mobile/flags", Some(&f.owner), &json!({ "key": "checkout" })).await;
    assert_eq!(flag_in_mobile.status, 201, "{}", flag_in_mobile.text);
    let elsewhere =
        f.app.post_json("/v1/projects/mobile/action-sets", Some(&f.owner), &critical(&f, "deploy guard")).await;
    assert_eq!(elsewhere.status, 201, "{}", elsewhere.text);
    assert_eq!(elsewhere.body["project"], "mobile");
    assert_eq!(f.app.count_rows("action_sets").await, 2);
}

#[tokio::test]
async fn the_list_is_oldest_first_and_offset_paged_with_a_total() {
    let f = Fixture::new().await;
    for name in ["first", "second", "third"] {
        f.action_set(&critical(&f, name)).await;
    }
    let page = f.app.get(&format!("{SETS}?limit=2"), Some(&f.owner)).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let names: Vec<&str> = page.body["data"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["first", "second"]);
    assert_eq!(page.body["total"], 3);
    assert_eq!(page.body["limit"], 2);
    assert_eq!(page.body["offset"], 0);
    assert_eq!(page.body["has_more"], true);

    let rest = f.app.get(&format!("{SETS}?limit=2&offset=2"), Some(&f.owner)).await;
    assert_eq!(rest.status, 200, "{}", rest.text);
    assert_eq!(rest.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(rest.body["data"][0]["name"], "third");
    assert_eq!(rest.body["has_more"], false);

    assert_problem(&f.app.get(&format!("{SETS}?limit=0"), Some(&f.owner)).await, 422, Some("limit"));
    assert_problem(&f.app.get(&format!("{SETS}?limit=101"), Some(&f.owner)).await, 422, Some("limit"));
}

#[tokio::test]
async fn an_unknown_project_or_set_is_not_found() {
    let f = Fixture::new().await;
    let set = f.action_set(&critical(&f, "known")).await;
    let id = id_of(&set);
    let other = "/v1/projects/nope/action-sets";
    assert_problem(&f.app.get(other, Some(&f.owner)).await, 404, None);
    assert_problem(&f.app.post_json(other, Some(&f.owner), &critical(&f, "elsewhere")).await, 404, None);
    assert_problem(&f.app.get(&format!("{other}/config"), Some(&f.owner)).await, 404, None);
    assert_problem(&f.app.get(&format!("{other}/{id}"), Some(&f.owner)).await, 404, None);
    assert_eq!(f.app.count_rows("action_sets").await, 1);

    for path in [format!("{SETS}/{NO_SET}"), format!("{SETS}/{NO_SET}/runs")] {
        assert_problem(&f.app.get(&path, Some(&f.owner)).await, 404, None);
    }
    assert_problem(
        &f.app.put_json(&format!("{SETS}/{NO_SET}"), Some(&f.owner), &json!({ "name": "x" })).await,
        404,
        None,
    );
    assert_problem(&f.app.post_json(&format!("{SETS}/{NO_SET}/on"), Some(&f.owner), &json!({})).await, 404, None);
    assert_problem(&f.app.post_json(&format!("{SETS}/{NO_SET}/off"), Some(&f.owner), &json!({})).await, 404, None);
    assert_problem(&f.app.delete(&format!("{SETS}/{NO_SET}"), Some(&f.owner)).await, 404, None);

    // A set is found only under its own project.
    let project = f.app.post_json("/v1/projects", Some(&f.owner), &json!({ "key": "mobile" })).await;
    assert_eq!(project.status, 201, "{}", project.text);
    let mobile = format!("/v1/projects/mobile/action-sets/{id}");
    assert_problem(&f.app.get(&mobile, Some(&f.owner)).await, 404, None);
    assert_problem(&f.app.delete(&mobile, Some(&f.owner)).await, 404, None);
    assert_eq!(f.app.count_rows("action_sets").await, 1);
}

// ---- validation ----

#[tokio::test]
async fn a_bad_name_description_or_actor_is_refused_naming_the_field_and_nothing_is_stored() {
    let f = Fixture::new().await;
    let (user_id, _, _) = f.app.user_with_role(&f.owner, "admin").await;
    let other_workspace_account = {
        let (_, session) = f.app.new_workspace_session(&f.owner, "elsewhere").await;
        service_account(&f.app, &session, "stranger", "editor").await
    };
    let good = critical(&f, "good");
    refused(
        &f,
        vec![
            ("an empty name", changed(&good, "/name", Some(json!(""))), "name"),
            ("a blank name", changed(&good, "/name", Some(json!("   "))), "name"),
            ("a name of 101 characters", changed(&good, "/name", Some(json!("n".repeat(101)))), "name"),
            ("no name", changed(&good, "/name", None), "name"),
            ("a name that is not text", changed(&good, "/name", Some(json!(7))), "name"),
            (
                "a description of 1001 characters",
                changed(&good, "/description", Some(json!("d".repeat(1001)))),
                "description",
            ),
            ("an actor id that is not a UUID", changed(&good, "/actor_id", Some(json!("responder"))), "actor_id"),
            ("an unknown actor", changed(&good, "/actor_id", Some(json!(NO_SET))), "actor_id"),
            ("a user as the actor", changed(&good, "/actor_id", Some(json!(user_id))), "actor_id"),
            (
                "a service account of another workspace",
                changed(&good, "/actor_id", Some(json!(other_workspace_account))),
                "actor_id",
            ),
            ("no actor", changed(&good, "/actor_id", None), "actor_id"),
            ("enabled that is not a boolean", changed(&good, "/enabled", Some(json!("yes"))), "enabled"),
        ],
    )
    .await;
    // The boundaries are accepted.
    let mut longest = changed(&good, "/name", Some(json!("n".repeat(100))));
    longest["description"] = json!("d".repeat(1000));
    f.action_set(&longest).await;
}

#[tokio::test]
async fn a_bad_match_is_refused_naming_the_field_and_nothing_is_stored() {
    let f = Fixture::new().await;
    let good = critical(&f, "good");
    refused(
        &f,
        vec![
            ("another kind of source", changed(&good, "/match/source", Some(json!("webhook"))), "match.source"),
            (
                "a signal-type source naming an endpoint instead of a type",
                changed(&good, "/match/source", Some(json!("signal-type"))),
                "match.source_id",
            ),
            (
                "a source id that is not a UUID",
                changed(&good, "/match/source_id", Some(json!("alerts"))),
                "match.source_id",
            ),
            ("an unknown endpoint", changed(&good, "/match/source_id", Some(json!(NO_SET))), "match.source_id"),
            ("no match", changed(&good, "/match", None), "match"),
        ],
    )
    .await;
    let other = f.app.post_json(SETS, Some(&f.owner), &changed(&good, "/match/source", Some(json!("webhook")))).await;
    let message = other.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("signal-type") && message.contains("signal-endpoint"), "names both sources: {message}");
}

#[tokio::test]
async fn an_endpoint_of_another_workspace_is_an_unknown_source() {
    let f = Fixture::new().await;
    let (_, session) = f.app.new_workspace_session(&f.owner, "elsewhere").await;
    let foreign = f.app.signal_endpoint(&session, "foreign").await;
    let body = changed(&critical(&f, "good"), "/match/source_id", Some(foreign["id"].clone()));
    refused(&f, vec![("a foreign endpoint", body, "match.source_id")]).await;
}

#[tokio::test]
async fn a_bad_filter_is_refused_naming_the_path_and_field_and_nothing_is_stored() {
    let f = Fixture::new().await;
    let good = critical(&f, "good");
    let with_filter = |filter: Value| changed(&good, "/match/payload", Some(json!({ "labels.severity": filter })));
    let at = |field: &str| format!("match.payload.labels.severity.{field}");
    let (operator, values, value) = (at("operator"), at("values"), at("value"));
    let long_path = format!("match.payload.{}", "p".repeat(201));
    refused(
        &f,
        vec![
            ("an unknown operator", with_filter(json!({ "operator": "LIKE", "values": ["x"] })), &operator),
            (
                "a constraint operator actions lack (REGEX)",
                with_filter(json!({ "operator": "REGEX", "value": "x" })),
                &operator,
            ),
            (
                "a constraint operator actions lack (SEMVER_GTE)",
                with_filter(json!({ "operator": "SEMVER_GTE", "value": "1.0.0" })),
                &operator,
            ),
            (
                "a constraint operator actions lack (IN_CIDR)",
                with_filter(json!({ "operator": "IN_CIDR", "values": ["10.0.0.0/8"] })),
                &operator,
            ),
            ("a lower-case operator", with_filter(json!({ "operator": "in", "values": ["x"] })), &operator),
            ("IN without values", with_filter(json!({ "operator": "IN" })), &values),
            ("IN with an empty list", with_filter(json!({ "operator": "IN", "values": [] })), &values),
            ("NOT_IN with an empty list", with_filter(json!({ "operator": "NOT_IN", "values": [] })), &values),
            (
                "STR_CONTAINS with an empty list",
                with_filter(json!({ "operator": "STR_CONTAINS", "values": [] })),
                &values,
            ),
            ("NUM_GT without a value", with_filter(json!({ "operator": "NUM_GT" })), &value),
            ("NUM_EQ with a word", with_filter(json!({ "operator": "NUM_EQ", "value": "many" })), &value),
            ("NUM_LTE with an empty value", with_filter(json!({ "operator": "NUM_LTE", "value": "" })), &value),
            ("DATE_AFTER with a word", with_filter(json!({ "operator": "DATE_AFTER", "value": "yesterday" })), &value),
            (
                "DATE_BEFORE with a date only",
                with_filter(json!({ "operator": "DATE_BEFORE", "value": "2026-12-01" })),
                &value,
            ),
            ("SEMVER_EQ with a word", with_filter(json!({ "operator": "SEMVER_EQ", "value": "latest" })), &value),
            ("SEMVER_LT without a value", with_filter(json!({ "operator": "SEMVER_LT" })), &value),
            (
                "NUM_GT with a list instead of a value",
                with_filter(json!({ "operator": "NUM_GT", "values": ["1"] })),
                &values,
            ),
            (
                "a path of 201 characters",
                changed(
                    &good,
                    "/match/payload",
                    Some(json!({ "p".repeat(201): { "operator": "IN", "values": ["x"] } })),
                ),
                &long_path,
            ),
            (
                "an empty path segment",
                changed(&good, "/match/payload", Some(json!({ "a..b": { "operator": "IN", "values": ["x"] } }))),
                "match.payload.a..b",
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_bad_condition_is_refused_naming_the_field_and_nothing_is_stored() {
    let f = Fixture::new().await;
    let good = critical(&f, "good");
    refused(
        &f,
        vec![
            ("invalid CEL", changed(&good, "/condition", Some(json!("payload.errors >"))), "condition"),
            ("another variable", changed(&good, "/condition", Some(json!("signal.errors > 1"))), "condition"),
            ("an empty condition", changed(&good, "/condition", Some(json!(""))), "condition"),
            ("a condition that is not text", changed(&good, "/condition", Some(json!(true))), "condition"),
            (
                "a condition of 2001 characters",
                changed(&good, "/condition", Some(json!(format!("payload.a == '{}'", "x".repeat(1986))))),
                "condition",
            ),
        ],
    )
    .await;
    let other =
        f.app.post_json(SETS, Some(&f.owner), &changed(&good, "/condition", Some(json!("env == 'prod'")))).await;
    assert!(other.body["errors"][0]["message"].as_str().unwrap().contains("payload"), "{}", other.text);
    // Comprehension variables are the condition's own.
    let exists = changed(&good, "/condition", Some(json!("payload.items.exists(i, i.sku == 'a')")));
    f.action_set(&exists).await;
}

#[tokio::test]
async fn bad_actions_are_refused_naming_the_action_and_parameter_and_nothing_is_stored() {
    let f = Fixture::new().await;
    flag(&f.app, &f.owner, "legacy").await;
    let archived = f.app.put_json(&format!("{FLAGS}/legacy"), Some(&f.owner), &json!({ "archived": true })).await;
    assert_eq!(archived.status, 200, "{}", archived.text);
    // A flag of another project is not the set's.
    let project = f.app.post_json("/v1/projects", Some(&f.owner), &json!({ "key": "mobile" })).await;
    assert_eq!(project.status, 201, "{}", project.text);
    let elsewhere = f.app.post_json("/v1/projects/mobile/flags", Some(&f.owner), &json!({ "key": "app-banner" })).await;
    assert_eq!(elsewhere.status, 201, "{}", elsewhere.text);

    let good = critical(&f, "good");
    let with = |actions: Value| changed(&good, "/actions", Some(actions));
    let on = |params: Value| with(json!([{ "action": "TOGGLE_FEATURE_ON", "execution_params": params }]));
    let kill = |params: Value| with(json!([{ "action": "KILL_FEATURE", "execution_params": params }]));
    let p = "actions[0].execution_params";
    let field = |name: &str| format!("{p}.{name}");
    refused(
        &f,
        vec![
            ("no actions", with(json!([])), "actions"),
            ("no actions field", changed(&good, "/actions", None), "actions"),
            (
                "an unknown action",
                with(json!([{ "action": "RESTART_SERVICE", "execution_params": {} }])),
                "actions[0].action",
            ),
            (
                "a lower-case action",
                with(json!([{ "action": "toggle_feature_on", "execution_params": {} }])),
                "actions[0].action",
            ),
            (
                "an unknown parameter",
                on(json!({ "feature_name": "checkout", "environment": "development", "bogus": 1 })),
                &field("bogus"),
            ),
            (
                "an Unleash parameter name on /v1",
                on(json!({ "featureName": "checkout", "environment": "development" })),
                &field("featureName"),
            ),
            ("no feature_name", on(json!({ "environment": "development" })), &field("feature_name")),
            (
                "a feature_name that is not text",
                on(json!({ "feature_name": 5, "environment": "development" })),
                &field("feature_name"),
            ),
            (
                "a blank feature_name",
                on(json!({ "feature_name": " ", "environment": "development" })),
                &field("feature_name"),
            ),
            (
                "a flag not in the project",
                on(json!({ "feature_name": "nope", "environment": "development" })),
                &field("feature_name"),
            ),
            (
                "a flag of another project",
                on(json!({ "feature_name": "app-banner", "environment": "development" })),
                &field("feature_name"),
            ),
            (
                "an archived flag",
                on(json!({ "feature_name": "legacy", "environment": "development" })),
                &field("feature_name"),
            ),
            ("no environment", on(json!({ "feature_name": "checkout" })), &field("environment")),
            (
                "an unknown environment",
                on(json!({ "feature_name": "checkout", "environment": "staging" })),
                &field("environment"),
            ),
            (
                "another project",
                on(json!({ "feature_name": "checkout", "environment": "development", "project": "mobile" })),
                &field("project"),
            ),
            ("a kill without feature_name", kill(json!({})), &field("feature_name")),
            (
                "a kill with an environment (singular)",
                kill(json!({ "feature_name": "checkout", "environment": "development" })),
                &field("environment"),
            ),
            (
                "a kill with no environments",
                kill(json!({ "feature_name": "checkout", "environments": [] })),
                &field("environments"),
            ),
            (
                "a kill with environments as text",
                kill(json!({ "feature_name": "checkout", "environments": "development" })),
                &field("environments"),
            ),
            (
                "a kill with an unknown environment",
                kill(json!({ "feature_name": "checkout", "environments": ["development", "staging"] })),
                &field("environments[1]"),
            ),
            (
                "a kill with a number as environment",
                kill(json!({ "feature_name": "checkout", "environments": [1] })),
                &field("environments[0]"),
            ),
            (
                "a kill with an empty reason",
                kill(json!({ "feature_name": "checkout", "reason": "" })),
                &field("reason"),
            ),
            (
                "a kill with a reason of 501 characters",
                kill(json!({ "feature_name": "checkout", "reason": "r".repeat(501) })),
                &field("reason"),
            ),
            (
                "a bad second action",
                with(json!([
                    toggle("TOGGLE_FEATURE_ON", "checkout", "development"),
                    toggle("TOGGLE_FEATURE_OFF", "checkout", "qa")
                ])),
                "actions[1].execution_params.environment",
            ),
            (
                "an action without its name",
                with(json!([{ "execution_params": { "feature_name": "checkout" } }])),
                "actions[0].action",
            ),
        ],
    )
    .await;

    // What is valid: the set's own project named, a kill with all its parameters at their limits.
    let fine = with(json!([
        { "action": "TOGGLE_FEATURE_ON", "execution_params": { "feature_name": "checkout", "environment": "development", "project": "default" } },
        { "action": "KILL_FEATURE", "execution_params": { "feature_name": "checkout", "environments": ["production"], "reason": "r".repeat(500) } },
        { "action": "KILL_FEATURE", "execution_params": { "feature_name": "checkout" } },
    ]));
    let set = f.action_set(&fine).await;
    assert_eq!(set["actions"].as_array().unwrap().len(), 3);
    assert_eq!(set["actions"][1]["execution_params"]["environments"], json!(["production"]));
}

// ---- limits ----

#[tokio::test]
async fn the_sixth_action_set_in_a_project_is_refused_as_a_reached_limit() {
    let f = Fixture::new().await;
    for n in 0..5 {
        f.action_set(&critical(&f, &format!("set {n}"))).await;
    }
    let sixth = f.app.post_json(SETS, Some(&f.owner), &critical(&f, "set 5")).await;
    assert_problem(&sixth, 409, None);
    assert_eq!(sixth.body["type"], "/problems/limit-exceeded", "{}", sixth.text);
    assert_eq!(sixth.body["limit"], json!({ "name": "max_action_sets_per_project", "value": 5 }), "{}", sixth.text);
    assert_eq!(f.app.count_rows("action_sets").await, 5);
    assert_eq!(events_of(&f.app, &f.owner, "action_set.created").await.len(), 5, "no event for the refused set");

    // The limit is per project.
    let project = f.app.post_json("/v1/projects", Some(&f.owner), &json!({ "key": "mobile" })).await;
    assert_eq!(project.status, 201, "{}", project.text);
    assert_eq!(
        f.app.post_json("/v1/projects/mobile/flags", Some(&f.owner), &json!({ "key": "checkout" })).await.status,
        201
    );
    let other = f.app.post_json("/v1/projects/mobile/action-sets", Some(&f.owner), &critical(&f, "set 5")).await;
    assert_eq!(other.status, 201, "{}", other.text);

    // Deleting one makes room.
    let first = f.app.get(&format!("{SETS}?limit=1"), Some(&f.owner)).await.body["data"][0]["id"].clone();
    assert_eq!(f.app.delete(&format!("{SETS}/{}", first.as_str().unwrap()), Some(&f.owner)).await.status, 204);
    f.action_set(&critical(&f, "set 5")).await;
}

#[tokio::test]
async fn filters_values_and_actions_are_limited_per_set_and_the_limits_themselves_are_allowed() {
    let f = Fixture::new().await;
    let good = critical(&f, "good");
    let filters = |n: usize| -> Value {
        (0..n)
            .map(|i| (format!("p{i}"), json!({ "operator": "IN", "values": ["x"] })))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let values = |n: usize| json!({ "level": { "operator": "IN", "values": (0..n).map(|i| format!("v{i}")).collect::<Vec<_>>() } });
    let actions =
        |n: usize| json!((0..n).map(|_| toggle("TOGGLE_FEATURE_ON", "checkout", "development")).collect::<Vec<_>>());
    refused(
        &f,
        vec![
            ("six filters", changed(&good, "/match/payload", Some(filters(6))), "match.payload"),
            ("26 values", changed(&good, "/match/payload", Some(values(26))), "match.payload.level.values"),
            ("11 actions", changed(&good, "/actions", Some(actions(11))), "actions"),
        ],
    )
    .await;
    for (name, pointer, at_limit) in [
        ("five filters", "/match/payload", filters(5)),
        ("25 values", "/match/payload", values(25)),
        ("ten actions", "/actions", actions(10)),
    ] {
        f.action_set(&changed(&changed(&good, pointer, Some(at_limit)), "/name", Some(json!(name)))).await;
    }
    assert_eq!(f.app.count_rows("action_sets").await, 3);
}

#[tokio::test]
async fn a_limit_of_zero_means_no_limit() {
    let f = Fixture::with(|c| {
        c.actions.max_action_sets_per_project = 0;
        c.actions.max_action_filters = 0;
        c.actions.max_action_filter_values = 0;
        c.actions.max_actions_per_set = 0;
    })
    .await;
    let filters: serde_json::Map<String, Value> =
        (0..8).map(|i| (format!("p{i}"), json!({ "operator": "IN", "values": ["x"] }))).collect();
    let values: Vec<String> = (0..40).map(|i| format!("v{i}")).collect();
    let mut payload = filters;
    payload.insert("level".into(), json!({ "operator": "IN", "values": values }));
    let actions: Vec<Value> = (0..12).map(|_| toggle("TOGGLE_FEATURE_ON", "checkout", "development")).collect();
    for n in 0..7 {
        f.action_set(&f.set_body(&format!("set {n}"), Value::Object(payload.clone()), json!(actions))).await;
    }
    assert_eq!(f.app.count_rows("action_sets").await, 7);
}

#[tokio::test]
async fn limits_apply_to_changes_too() {
    let f = Fixture::new().await;
    let set = f.action_set(&critical(&f, "grows")).await;
    let path = format!("{SETS}/{}", id_of(&set));
    let too_many_filters: serde_json::Map<String, Value> =
        (0..6).map(|i| (format!("p{i}"), json!({ "operator": "IN", "values": ["x"] }))).collect();
    let changes = [
        (
            json!({ "match": { "source": "signal-endpoint", "source_id": f.endpoint_id, "payload": too_many_filters } }),
            "match.payload",
        ),
        (
            json!({ "actions": (0..11).map(|_| toggle("TOGGLE_FEATURE_ON", "checkout", "development")).collect::<Vec<_>>() }),
            "actions",
        ),
    ];
    for (change, field) in changes {
        assert_problem(&f.app.put_json(&path, Some(&f.owner), &change).await, 422, Some(field));
        assert_eq!(f.app.get(&path, Some(&f.owner)).await.body, set, "unchanged after {field}");
    }
}

// ---- change, on/off, delete ----

#[tokio::test]
async fn a_partial_change_keeps_what_it_leaves_out_and_null_clears_description_and_condition() {
    let f = Fixture::new().await;
    let mut body = critical(&f, "original");
    body["description"] = json!("first words");
    body["condition"] = json!("payload.errors > 1");
    let set = f.action_set(&body).await;
    let path = format!("{SETS}/{}", id_of(&set));
    f.app.advance(Duration::from_secs(5));

    let renamed = f.app.put_json(&path, Some(&f.owner), &json!({ "name": "  renamed " })).await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.body["name"], "renamed");
    for field in
        ["id", "description", "condition", "match", "actions", "actor_id", "enabled", "created_at", "created_by"]
    {
        assert_eq!(renamed.body[field], set[field], "{field} is unchanged");
    }
    assert_ne!(renamed.body["updated_at"], set["updated_at"], "updated_at moves");

    let cleared = f.app.put_json(&path, Some(&f.owner), &json!({ "description": null, "condition": null })).await;
    assert_eq!(cleared.status, 200, "{}", cleared.text);
    assert_eq!(cleared.body["description"], Value::Null);
    assert_eq!(cleared.body["condition"], Value::Null);
    assert_eq!(cleared.body["name"], "renamed");

    let other_actor = service_account(&f.app, &f.owner, "night shift", "admin").await;
    let replaced = f
        .app
        .put_json(
            &path,
            Some(&f.owner),
            &json!({
                "actor_id": other_actor,
                "enabled": false,
                "description": "second words",
                "condition": "payload.level == 'high'",
                "match": { "source": "signal-endpoint", "source_id": f.endpoint_id, "payload": {
                    "kind": { "operator": "NUM_GT", "value": "3", "inverted": true } } },
                "actions": [{ "action": "KILL_FEATURE", "execution_params": { "feature_name": "checkout" } }],
            }),
        )
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    let b = &replaced.body;
    assert_eq!(b["actor_id"], other_actor.as_str());
    assert_eq!(b["enabled"], false);
    assert_eq!(b["description"], "second words");
    assert_eq!(b["condition"], "payload.level == 'high'");
    assert_eq!(
        b["match"]["payload"],
        json!({ "kind": { "operator": "NUM_GT", "value": "3", "inverted": true, "case_insensitive": false } }),
        "match is replaced whole"
    );
    assert_eq!(b["actions"], json!([{ "action": "KILL_FEATURE", "execution_params": { "feature_name": "checkout" } }]));
    assert_eq!(f.app.get(&path, Some(&f.owner)).await.body, *b, "what PUT answered is stored");
}

#[tokio::test]
async fn a_bad_change_is_refused_naming_the_field_and_leaves_the_set_as_it_was() {
    let f = Fixture::new().await;
    let set = f.action_set(&critical(&f, "steady")).await;
    f.action_set(&critical(&f, "neighbour")).await;
    let path = format!("{SETS}/{}", id_of(&set));
    let events_before = events_of(&f.app, &f.owner, "action_set.updated").await.len();
    let cases = [
        (json!({ "name": null }), 422, Some("name")),
        (json!({ "name": "" }), 422, Some("name")),
        (json!({ "enabled": null }), 422, Some("enabled")),
        (json!({ "actor_id": null }), 422, Some("actor_id")),
        (json!({ "match": null }), 422, Some("match")),
        (json!({ "actions": null }), 422, Some("actions")),
        (json!({ "actions": [] }), 422, Some("actions")),
        (json!({ "description": "d".repeat(1001) }), 422, Some("description")),
        (json!({ "actor_id": NO_SET }), 422, Some("actor_id")),
        (json!({ "condition": "payload.x >" }), 422, Some("condition")),
        (json!({ "match": { "source": "signal-type", "source_id": f.endpoint_id } }), 422, Some("match.source_id")),
        (json!({ "match": { "source": "signal-endpoint", "source_id": NO_SET } }), 422, Some("match.source_id")),
        (
            json!({ "match": { "source": "signal-endpoint", "source_id": f.endpoint_id,
                               "payload": { "n": { "operator": "NUM_GT", "value": "x" } } } }),
            422,
            Some("match.payload.n.value"),
        ),
        (
            json!({ "actions": [toggle("TOGGLE_FEATURE_ON", "nope", "development")] }),
            422,
            Some("actions[0].execution_params.feature_name"),
        ),
        (json!({ "name": "neighbour" }), 409, None),
        (json!({ "name": "valid", "actions": [] }), 422, Some("actions")),
    ];
    for (change, status, field) in cases {
        let response = f.app.put_json(&path, Some(&f.owner), &change).await;
        assert_problem(&response, status, field);
        assert_eq!(f.app.get(&path, Some(&f.owner)).await.body, set, "unchanged after {change}");
    }
    assert_eq!(events_of(&f.app, &f.owner, "action_set.updated").await.len(), events_before, "no event for a refusal");
}

#[tokio::test]
async fn turning_a_set_off_stops_its_runs_and_turning_it_on_resumes_them() {
    let f = Fixture::new().await;
    let set = f
        .action_set(&f.set_body(
            "every signal",
            json!({}),
            json!([toggle("TOGGLE_FEATURE_ON", "checkout", "development")]),
        ))
        .await;
    let id = id_of(&set);
    let off = f.app.post_json(&format!("{SETS}/{id}/off"), Some(&f.owner), &json!({})).await;
    assert_eq!(off.status, 200, "{}", off.text);
    assert_eq!(off.body["enabled"], false);
    assert_eq!(off.body["name"], "every signal", "answers the whole set");
    assert_eq!(f.app.get(&format!("{SETS}/{id}"), Some(&f.owner)).await.body["enabled"], false);

    f.signal(&json!({ "n": 1 })).await;
    f.settled().await;
    assert!(f.runs(&id).await.is_empty(), "a disabled set does not run");
    assert!(!f.enabled("checkout", "development").await);

    let on = f.app.post_json(&format!("{SETS}/{id}/on"), Some(&f.owner), &json!({})).await;
    assert_eq!(on.status, 200, "{}", on.text);
    assert_eq!(on.body["enabled"], true);
    f.signal(&json!({ "n": 2 })).await;
    let runs = f.finished_runs(&id, 1).await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["signal"]["payload"]["n"], 2);
    assert!(f.enabled("checkout", "development").await);

    let updated = events_of(&f.app, &f.owner, "action_set.updated").await;
    let states: Vec<&Value> = updated.iter().map(|e| &e["data"]["enabled"]).collect();
    assert_eq!(states, [&json!(true), &json!(false)], "newest first: on, then off");
}

#[tokio::test]
async fn deleting_a_set_removes_it_and_its_run_log() {
    let f = Fixture::new().await;
    let set = f.action_set(&critical(&f, "short lived")).await;
    let keep = f.action_set(&critical(&f, "keeper")).await;
    let id = id_of(&set);
    f.signal(&json!({ "labels": { "severity": "critical" } })).await;
    f.finished_runs(&id, 1).await;
    f.finished_runs(&id_of(&keep), 1).await;
    assert_eq!(f.app.count_rows("action_runs").await, 2);

    let deleted = f.app.delete(&format!("{SETS}/{id}"), Some(&f.owner)).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert!(deleted.text.is_empty());
    assert_problem(&f.app.get(&format!("{SETS}/{id}"), Some(&f.owner)).await, 404, None);
    assert_problem(&f.app.get(&format!("{SETS}/{id}/runs"), Some(&f.owner)).await, 404, None);
    assert_problem(&f.app.delete(&format!("{SETS}/{id}"), Some(&f.owner)).await, 404, None);
    let list = f.app.get(SETS, Some(&f.owner)).await;
    assert_eq!(list.body["total"], 1);
    assert_eq!(list.body["data"][0]["name"], "keeper");
    assert_eq!(f.app.count_rows("action_sets").await, 1);
    assert_eq!(f.app.count_rows("action_runs").await, 1, "the run log goes with the set");
}

#[tokio::test]
async fn changing_the_match_moves_the_set_to_another_endpoint() {
    let f = Fixture::new().await;
    let set = f
        .action_set(&f.set_body("mover", json!({}), json!([toggle("TOGGLE_FEATURE_ON", "checkout", "development")])))
        .await;
    let id = id_of(&set);
    let deploys = f.app.signal_endpoint(&f.owner, "deploys").await;
    let deploys_id = deploys["id"].as_str().unwrap();
    let (_, deploy_token) = f.app.endpoint_token(&f.owner, deploys_id, "ci").await;
    let moved = f
        .app
        .put_json(
            &format!("{SETS}/{id}"),
            Some(&f.owner),
            &json!({ "match": { "source": "signal-endpoint", "source_id": deploys_id } }),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(moved.body["match"]["source_id"], deploys_id);
    assert_eq!(moved.body["match"]["payload"], json!({}));

    f.signal(&json!({ "from": "alerts" })).await;
    f.settled().await;
    assert!(f.runs(&id).await.is_empty(), "the old endpoint's signals no longer start runs");
    let sent = f.app.send_signal("deploys", &deploy_token, &json!({ "from": "deploys" })).await;
    assert_eq!(sent.status, 202, "{}", sent.text);
    let runs = f.finished_runs(&id, 1).await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["signal"]["payload"], json!({ "from": "deploys" }));
    assert_eq!(runs[0]["signal"]["source_id"], deploys_id);
    assert_eq!(runs[0]["signal"]["source_name"], "deploys");
    assert_eq!(runs[0]["signal"]["token_name"], "ci");
}

// ---- events ----

#[tokio::test]
async fn creating_changing_and_deleting_a_set_write_events_by_whoever_did_it() {
    let f = Fixture::new().await;
    let (admin_id, _, admin) = f.app.user_with_role(&f.owner, "admin").await;
    let owner_id = my_id(&f.app, &f.owner).await;
    let created = f.app.post_json(SETS, Some(&admin), &critical(&f, "watched")).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = id_of(&created.body);
    assert_eq!(created.body["created_by"], admin_id.as_str());
    let path = format!("{SETS}/{id}");
    assert_eq!(f.app.put_json(&path, Some(&f.owner), &json!({ "name": "watched closely" })).await.status, 200);
    assert_eq!(f.app.delete(&path, Some(&admin)).await.status, 204);

    let expect = [
        ("action_set.created", &admin_id, "watched"),
        ("action_set.updated", &owner_id, "watched closely"),
        ("action_set.deleted", &admin_id, "watched closely"),
    ];
    for (event_type, actor, name) in expect {
        let events = events_of(&f.app, &f.owner, event_type).await;
        assert_eq!(events.len(), 1, "{event_type}: {events:?}");
        let event = &events[0];
        assert_eq!(event["type"], event_type);
        assert_eq!(event["actor_id"], actor.as_str(), "{event}");
        assert_eq!(event["data"]["id"], id.as_str(), "{event}");
        assert_eq!(event["data"]["name"], name, "{event}");
        assert_eq!(event["data"]["project"], "default", "{event}");
    }
}

// ---- roles ----

#[tokio::test]
async fn only_owners_and_admins_may_see_or_change_action_sets() {
    let f = Fixture::new().await;
    let set = f.action_set(&critical(&f, "guarded")).await;
    let id = id_of(&set);
    let (_, _, editor) = f.app.user_with_role(&f.owner, "editor").await;
    let (_, _, viewer) = f.app.user_with_role(&f.owner, "viewer").await;
    let admin_token_of_editor = f.app.api_token(&editor, "editor").await;
    let path = format!("{SETS}/{id}");
    for token in [&editor, &viewer, &admin_token_of_editor] {
        let answers: Vec<(&str, ApiResponse)> = vec![
            ("list", f.app.get(SETS, Some(token)).await),
            ("create", f.app.post_json(SETS, Some(token), &critical(&f, "sneaky")).await),
            ("config", f.app.get(&format!("{SETS}/config"), Some(token)).await),
            ("get", f.app.get(&path, Some(token)).await),
            ("change", f.app.put_json(&path, Some(token), &json!({ "name": "taken over" })).await),
            ("off", f.app.post_json(&format!("{path}/off"), Some(token), &json!({})).await),
            ("on", f.app.post_json(&format!("{path}/on"), Some(token), &json!({})).await),
            ("runs", f.app.get(&format!("{path}/runs"), Some(token)).await),
            ("delete", f.app.delete(&path, Some(token)).await),
        ];
        for (what, answer) in answers {
            assert_eq!(answer.status, 403, "{what}: {}", answer.text);
            assert_problem(&answer, 403, None);
        }
    }
    assert_problem(&f.app.get(SETS, None).await, 401, None);
    assert_eq!(f.app.count_rows("action_sets").await, 1);
    assert_eq!(f.app.get(&path, Some(&f.owner)).await.body, set, "nothing changed");

    let (_, _, admin) = f.app.user_with_role(&f.owner, "admin").await;
    assert_eq!(f.app.get(&path, Some(&admin)).await.status, 200);
    assert_eq!(f.app.put_json(&path, Some(&admin), &json!({ "name": "admin's" })).await.status, 200);
    let admin_token = f.app.api_token(&admin, "admin").await;
    assert_eq!(f.app.get(SETS, Some(&admin_token)).await.status, 200);
}

// ---- the signal endpoint ----

#[tokio::test]
async fn deleting_the_signal_endpoint_disables_the_sets_that_use_it_and_says_so_in_events() {
    let f = Fixture::new().await;
    let on_alerts = f.action_set(&critical(&f, "on alerts")).await;
    let mut already_off = critical(&f, "already off");
    already_off["enabled"] = json!(false);
    let already_off = f.action_set(&already_off).await;
    let deploys = f.app.signal_endpoint(&f.owner, "deploys").await;
    let other = changed(&critical(&f, "on deploys"), "/match/source_id", Some(deploys["id"].clone()));
    let on_deploys = f.action_set(&other).await;
    let before = events_of(&f.app, &f.owner, "action_set.updated").await.len();

    let deleted = f.app.delete(&format!("/v1/signal-endpoints/{}", f.endpoint_id), Some(&f.owner)).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);

    let read = |set: &Value| format!("{SETS}/{}", id_of(set));
    let disabled = f.app.get(&read(&on_alerts), Some(&f.owner)).await;
    assert_eq!(disabled.status, 200, "the set itself stays: {}", disabled.text);
    assert_eq!(disabled.body["enabled"], false);
    assert_eq!(f.app.get(&read(&already_off), Some(&f.owner)).await.body["enabled"], false);
    assert_eq!(
        f.app.get(&read(&on_deploys), Some(&f.owner)).await.body["enabled"],
        true,
        "other endpoints' sets stay on"
    );

    let updated = events_of(&f.app, &f.owner, "action_set.updated").await;
    assert_eq!(updated.len(), before + 1, "one event, for the set that was on: {updated:?}");
    let event = &updated[0];
    assert_eq!(event["data"]["id"], on_alerts["id"]);
    assert_eq!(event["data"]["enabled"], false);
    assert_eq!(event["data"]["name"], "on alerts");
    assert!(event["data"]["reason"].as_str().unwrap().contains("endpoint"), "{event}");

    // Enabling it again is refused until it points at an endpoint that exists.
    let on = f.app.post_json(&format!("{}/on", read(&on_alerts)), Some(&f.owner), &json!({})).await;
    assert_problem(&on, 409, None);
    assert!(on.body["detail"].as_str().unwrap().contains("match.source_id"), "{}", on.text);
    assert_eq!(f.app.get(&read(&on_alerts), Some(&f.owner)).await.body["enabled"], false);
    let moved = json!({ "enabled": true,
                        "match": { "source": "signal-endpoint", "source_id": deploys["id"], "payload": {} } });
    let moved = f.app.put_json(&read(&on_alerts), Some(&f.owner), &moved).await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(moved.body["enabled"], true);
}

// ---- the catalogue ----

#[tokio::test]
async fn the_catalogue_lists_each_action_with_its_parameters() {
    let f = Fixture::new().await;
    let response = f.app.get(&format!("{SETS}/config"), Some(&f.owner)).await;
    assert_eq!(response.status, 200, "{}", response.text);
    let data = response.body["data"].as_array().unwrap();
    let actions: Vec<&str> = data.iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["TOGGLE_FEATURE_ON", "TOGGLE_FEATURE_OFF", "KILL_FEATURE"]);
    let params = |action: &str| -> Vec<(String, bool)> {
        let entry = data.iter().find(|a| a["action"] == action).unwrap();
        assert!(entry["label"].as_str().is_some_and(|l| !l.is_empty()), "{entry}");
        assert!(entry["description"].as_str().is_some_and(|d| !d.is_empty()), "{entry}");
        entry["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                assert!(p["description"].as_str().is_some_and(|d| !d.is_empty()), "{p}");
                (p["name"].as_str().unwrap().to_owned(), p["required"].as_bool().unwrap())
            })
            .collect()
    };
    let toggle_params = vec![("feature_name".into(), true), ("environment".into(), true), ("project".into(), false)];
    assert_eq!(params("TOGGLE_FEATURE_ON"), toggle_params);
    assert_eq!(params("TOGGLE_FEATURE_OFF"), toggle_params);
    assert_eq!(
        params("KILL_FEATURE"),
        vec![
            ("feature_name".into(), true),
            ("environments".into(), false),
            ("reason".into(), false),
            ("project".into(), false)
        ]
    );
}

// ---- the run log ----

#[tokio::test]
async fn the_run_log_is_newest_first_and_pages_by_cursor_without_gaps_or_repeats() {
    let f = Fixture::new().await;
    let set = f
        .action_set(&f.set_body("logged", json!({}), json!([toggle("TOGGLE_FEATURE_ON", "checkout", "development")])))
        .await;
    let id = id_of(&set);
    for n in 0..5 {
        f.signal(&json!({ "n": n })).await;
    }
    let all = f.finished_runs(&id, 5).await;
    let order: Vec<i64> = all.iter().map(|r| r["signal"]["payload"]["n"].as_i64().unwrap()).collect();
    assert_eq!(order, [4, 3, 2, 1, 0], "newest first");
    let first = &all[0];
    assert_eq!(first["action_set_id"], id.as_str());
    assert!(first["started_at"].is_string() && first["finished_at"].is_string() && first["created_at"].is_string());

    let mut seen = Vec::new();
    let mut path = format!("{SETS}/{id}/runs?limit=2");
    let mut pages = 0;
    loop {
        let page = f.app.get(&path, Some(&f.owner)).await;
        assert_eq!(page.status, 200, "{}", page.text);
        pages += 1;
        assert_eq!(page.body["limit"], 2);
        assert!(page.body.get("total").is_none(), "a cursor page has no total: {}", page.text);
        let data = page.body["data"].as_array().unwrap();
        seen.extend(data.iter().map(|r| r["id"].as_str().unwrap().to_owned()));
        if page.body["has_more"] == true {
            assert_eq!(data.len(), 2);
            let cursor = page.body["next_cursor"].as_str().expect("a cursor while there is more");
            path = format!("{SETS}/{id}/runs?limit=2&before={cursor}");
        } else {
            assert_eq!(page.body["next_cursor"], Value::Null);
            break;
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = all.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(seen, expected, "the pages together are the whole log, in order");

    // A signal arriving while someone pages does not shift the older pages.
    let page_one = f.app.get(&format!("{SETS}/{id}/runs?limit=2"), Some(&f.owner)).await;
    let cursor = page_one.body["next_cursor"].as_str().unwrap().to_owned();
    f.signal(&json!({ "n": 5 })).await;
    f.finished_runs(&id, 6).await;
    let page_two = f.app.get(&format!("{SETS}/{id}/runs?limit=2&before={cursor}"), Some(&f.owner)).await;
    let ids: Vec<&str> = page_two.body["data"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [expected[2].as_str(), expected[3].as_str()]);

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=x", "limit"),
        ("before=abc", "before"),
        ("before=-1", "before"),
    ] {
        assert_problem(&f.app.get(&format!("{SETS}/{id}/runs?{query}"), Some(&f.owner)).await, 422, Some(field));
    }
}

#[tokio::test]
async fn a_run_keeps_the_set_as_it_was_when_the_run_started() {
    let f = Fixture::new().await;
    let set = f.action_set(&critical(&f, "before")).await;
    let id = id_of(&set);
    f.signal(&json!({ "labels": { "severity": "critical" } })).await;
    f.finished_runs(&id, 1).await;
    let renamed = f.app.put_json(&format!("{SETS}/{id}"), Some(&f.owner), &json!({ "name": "after" })).await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    let runs = f.runs(&id).await;
    assert_eq!(runs[0]["action_set"]["name"], "before");
    assert_eq!(runs[0]["action_set"]["actions"][0]["action"], "TOGGLE_FEATURE_ON");
    assert_eq!(runs[0]["action_set"]["actions"][0]["execution_params"]["feature_name"], "checkout");
}

#[tokio::test]
async fn creates_racing_for_the_last_places_never_pass_the_limit() {
    let f = Fixture::new().await;
    for n in 0..3 {
        f.action_set(&critical(&f, &format!("set {n}"))).await;
    }
    let bodies: Vec<Value> = (0..8).map(|n| critical(&f, &format!("racer {n}"))).collect();
    let answers =
        futures_util::future::join_all(bodies.iter().map(|body| f.app.post_json(SETS, Some(&f.owner), body))).await;
    let created = answers.iter().filter(|a| a.status == 201).count();
    for answer in answers.iter().filter(|a| a.status != 201) {
        assert_problem(answer, 409, None);
        assert_eq!(answer.body["type"], "/problems/limit-exceeded", "{}", answer.text);
    }
    assert_eq!(f.app.count_rows("action_sets").await, 5, "the limit holds under concurrency");
    assert_eq!(created, 2, "exactly the two free places are taken");
}
