//! The Unleash admin paths for action sets: integer ids, camelCase, the raw `Authorization`
//! token, Unleash's `400` for a reached count limit, and the run log as Unleash shows it. One
//! domain record behind both kinds of paths: what one path writes the other shows.

use serde_json::{Value, json};

use super::{FLAGS, Fixture, SETS, flag, toggle};
use crate::helpers::{ApiResponse, TestApp, assert_problem};

const ACTIONS: &str = "/api/admin/projects/default/actions";

/// `METHOD path` with the raw `Authorization: <token>` Unleash clients send.
async fn unleash(app: &TestApp, method: &str, path: &str, token: &str, body: Option<&Value>) -> ApiResponse {
    let mut request = app.client.request(method.parse().unwrap(), app.url(path)).header("authorization", token);
    if let Some(body) = body {
        request = request.json(body);
    }
    app.send(request).await
}

async fn principal_int_id(app: &TestApp, id: &str) -> i64 {
    let sql = "SELECT int_id FROM principals WHERE id = $1";
    match &app.db {
        signalbox_server::db::Db::Sqlite { read, .. } => {
            sqlx::query_scalar(sql).bind(id).fetch_one(read).await.unwrap()
        }
        signalbox_server::db::Db::Postgres(pool) => sqlx::query_scalar(sql).bind(id).fetch_one(pool).await.unwrap(),
    }
}

/// The fixture seen from the Unleash paths: an admin token and the integer ids.
struct Unleash {
    f: Fixture,
    token: String,
    actor: i64,
    endpoint: i64,
    owner: i64,
}

impl Unleash {
    async fn new() -> Self {
        Self::on(Fixture::new().await).await
    }

    async fn on(f: Fixture) -> Self {
        let token = f.app.api_token(&f.owner, "admin").await;
        let endpoints = unleash(&f.app, "GET", "/api/admin/signal-endpoints", &token, None).await;
        assert_eq!(endpoints.status, 200, "{}", endpoints.text);
        let endpoint = endpoints.body["signalEndpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "alerts")
            .expect("the fixture's endpoint")["id"]
            .as_i64()
            .expect("an integer id");
        let actor = principal_int_id(&f.app, &f.actor_id).await;
        let me = f.app.get("/v1/me", Some(&f.owner)).await;
        let owner = principal_int_id(&f.app, me.body["principal"]["id"].as_str().unwrap()).await;
        Self { f, token, actor, endpoint, owner }
    }

    async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> ApiResponse {
        unleash(&self.f.app, method, path, &self.token, body).await
    }

    /// An Unleash body: enable `checkout` in development on a critical signal.
    fn body(&self, name: &str) -> Value {
        json!({
            "name": name,
            "actorId": self.actor,
            "match": {
                "source": "signal-endpoint",
                "sourceId": self.endpoint,
                "payload": { "labels.severity": { "operator": "IN", "values": ["critical"] } },
            },
            "actions": [{ "action": "TOGGLE_FEATURE_ON", "sortOrder": 1,
                          "executionParams": { "featureName": "checkout", "environment": "development" } }],
        })
    }

    async fn create(&self, body: &Value) -> Value {
        let created = self.call("POST", ACTIONS, Some(body)).await;
        assert_eq!(created.status, 201, "{}", created.text);
        created.body
    }

    async fn list(&self) -> Vec<Value> {
        let listed = self.call("GET", ACTIONS, None).await;
        assert_eq!(listed.status, 200, "{}", listed.text);
        listed.body["actions"].as_array().expect("{\"actions\": [...]}").clone()
    }

    /// The `/v1` id of a set known by its name.
    async fn v1_id(&self, name: &str) -> String {
        let list = self.f.app.get(SETS, Some(&self.f.owner)).await;
        let set = list.body["data"].as_array().unwrap().iter().find(|s| s["name"] == name).expect("the set on /v1");
        set["id"].as_str().unwrap().to_owned()
    }

    async fn events(&self, set: i64, query: &str) -> Vec<Value> {
        let response = self.call("GET", &format!("{ACTIONS}/{set}/events{query}"), None).await;
        assert_eq!(response.status, 200, "{}", response.text);
        response.body["actionSetEvents"].as_array().expect("{\"actionSetEvents\": [...]}").clone()
    }
}

#[tokio::test]
async fn an_action_set_created_on_the_unleash_path_has_integer_ids_and_camel_case() {
    let u = Unleash::new().await;
    let mut body = u.body("enable on critical");
    body["description"] = json!("from Unleash");
    body["match"]["payload"]["service"] =
        json!({ "operator": "STR_ENDS_WITH", "values": ["-API"], "caseInsensitive": true, "inverted": false });
    let set = u.create(&body).await;
    let id = set["id"].as_i64().expect("an integer id");
    assert_eq!(set["enabled"], true);
    assert_eq!(set["name"], "enable on critical");
    assert_eq!(set["description"], "from Unleash");
    assert_eq!(set["project"], "default");
    assert_eq!(set["actorId"], u.actor);
    assert_eq!(set["match"]["source"], "signal-endpoint");
    assert_eq!(set["match"]["sourceId"], u.endpoint);
    assert_eq!(
        set["match"]["payload"],
        json!({
            "labels.severity": { "operator": "IN", "values": ["critical"], "inverted": false, "caseInsensitive": false },
            "service": { "operator": "STR_ENDS_WITH", "values": ["-API"], "inverted": false, "caseInsensitive": true },
        })
    );
    let actions = set["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 1);
    let action = &actions[0];
    assert!(action["id"].is_i64(), "{action}");
    assert_eq!(action["actionSetId"], id);
    assert!(action["sortOrder"].is_i64(), "{action}");
    assert_eq!(action["action"], "TOGGLE_FEATURE_ON");
    assert_eq!(action["executionParams"], json!({ "featureName": "checkout", "environment": "development" }));
    assert!(action["createdAt"].as_str().unwrap().ends_with('Z'), "{action}");
    assert_eq!(action["createdByUserId"], u.owner);
    assert!(set["createdAt"].as_str().unwrap().ends_with('Z'), "{set}");
    assert_eq!(set["createdByUserId"], u.owner, "the token's owner created it");
    assert!(set.get("created_at").is_none() && set.get("actor_id").is_none(), "no snake_case: {set}");

    let listed = u.list().await;
    assert_eq!(listed, std::slice::from_ref(&set), "the list shows what POST answered");

    // The same set on /v1, with UUIDs and snake_case.
    let v1 = u.f.app.get(&format!("{SETS}/{}", u.v1_id("enable on critical").await), Some(&u.f.owner)).await;
    assert_eq!(v1.status, 200, "{}", v1.text);
    assert_eq!(v1.body["actor_id"], u.f.actor_id.as_str());
    assert_eq!(v1.body["match"]["source_id"], u.f.endpoint_id.as_str());
    assert_eq!(v1.body["match"]["payload"]["service"]["case_insensitive"], true);
    assert_eq!(
        v1.body["actions"][0]["execution_params"],
        json!({ "feature_name": "checkout", "environment": "development" })
    );
    assert_eq!(v1.body["description"], "from Unleash");
    assert_eq!(v1.body["created_at"], set["createdAt"]);
}

#[tokio::test]
async fn a_set_created_on_v1_shows_the_same_data_on_the_unleash_path() {
    let u = Unleash::new().await;
    let f = &u.f;
    let mut body = f.set_body(
        "kill payments",
        json!({
            "service.name": { "operator": "STR_CONTAINS", "values": ["Pay"], "case_insensitive": true },
            "errors": { "operator": "NUM_GTE", "value": "10", "inverted": true },
        }),
        json!([
            toggle("TOGGLE_FEATURE_OFF", "checkout", "production"),
            { "action": "KILL_FEATURE", "execution_params": {
                "feature_name": "checkout", "environments": ["production"], "reason": "incident" } },
        ]),
    );
    body["description"] = json!("made on /v1");
    body["condition"] = json!("payload.errors > 3");
    body["enabled"] = json!(false);
    let created = f.action_set(&body).await;

    let listed = u.list().await;
    assert_eq!(listed.len(), 1);
    let set = &listed[0];
    assert!(set["id"].is_i64(), "{set}");
    assert_eq!(set["name"], "kill payments");
    assert_eq!(set["description"], "made on /v1");
    assert_eq!(set["enabled"], false);
    assert_eq!(set["project"], "default");
    assert_eq!(set["actorId"], u.actor);
    assert_eq!(set["condition"], "payload.errors > 3");
    assert_eq!(
        set["match"],
        json!({ "source": "signal-endpoint", "sourceId": u.endpoint, "payload": {
            "service.name": { "operator": "STR_CONTAINS", "values": ["Pay"], "inverted": false, "caseInsensitive": true },
            "errors": { "operator": "NUM_GTE", "value": "10", "inverted": true, "caseInsensitive": false },
        } })
    );
    let actions = set["actions"].as_array().unwrap();
    let orders: Vec<i64> = actions.iter().map(|a| a["sortOrder"].as_i64().unwrap()).collect();
    assert!(orders[0] < orders[1], "sortOrder follows the order: {orders:?}");
    assert_eq!(actions[0]["action"], "TOGGLE_FEATURE_OFF");
    assert_eq!(actions[0]["executionParams"], json!({ "featureName": "checkout", "environment": "production" }));
    assert_eq!(actions[1]["action"], "KILL_FEATURE");
    assert_eq!(
        actions[1]["executionParams"],
        json!({ "featureName": "checkout", "environments": ["production"], "reason": "incident" })
    );
    assert_ne!(actions[0]["id"], actions[1]["id"], "each action has its own id");
    assert!(actions.iter().all(|a| a["actionSetId"] == set["id"]));
    assert_eq!(set["createdAt"], created["created_at"]);
    assert_eq!(set["createdByUserId"], u.owner);
}

#[tokio::test]
async fn actions_are_kept_in_sort_order_whatever_order_they_arrive_in() {
    let u = Unleash::new().await;
    flag(&u.f.app, &u.f.owner, "banner").await;
    let mut body = u.body("ordered");
    body["actions"] = json!([
        { "action": "TOGGLE_FEATURE_ON", "sortOrder": 5, "executionParams": { "featureName": "checkout", "environment": "development" } },
        { "action": "TOGGLE_FEATURE_OFF", "sortOrder": 2, "executionParams": { "featureName": "banner", "environment": "production" } },
    ]);
    let set = u.create(&body).await;
    let names: Vec<&str> = set["actions"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(names, ["TOGGLE_FEATURE_OFF", "TOGGLE_FEATURE_ON"]);
    let v1 = u.f.app.get(&format!("{SETS}/{}", u.v1_id("ordered").await), Some(&u.f.owner)).await;
    assert_eq!(v1.body["actions"][0]["execution_params"]["feature_name"], "banner", "runs in sortOrder");
}

#[tokio::test]
async fn unleash_paths_take_the_raw_token_or_a_bearer_token_and_refuse_no_token() {
    let u = Unleash::new().await;
    let raw = u.call("GET", ACTIONS, None).await;
    assert_eq!(raw.status, 200, "{}", raw.text);
    let bearer = u.f.app.get(ACTIONS, Some(&u.token)).await;
    assert_eq!(bearer.status, 200, "{}", bearer.text);
    assert_eq!(raw.body, bearer.body);
    let none = u.f.app.send(u.f.app.client.get(u.f.app.url(ACTIONS))).await;
    assert_problem(&none, 401, None);
    let bad = unleash(&u.f.app, "POST", ACTIONS, "not-a-token", Some(&u.body("sneaky"))).await;
    assert_problem(&bad, 401, None);
    assert_eq!(u.f.app.count_rows("action_sets").await, 0);
}

#[tokio::test]
async fn editor_and_viewer_tokens_are_refused_on_every_unleash_path() {
    let u = Unleash::new().await;
    let set = u.create(&u.body("guarded")).await;
    let id = set["id"].as_i64().unwrap();
    for role in ["editor", "viewer"] {
        let token = u.f.app.api_token(&u.f.owner, role).await;
        let body = u.body("sneaky");
        let calls: [(&str, String, Option<&Value>); 8] = [
            ("GET", ACTIONS.to_owned(), None),
            ("POST", ACTIONS.to_owned(), Some(&body)),
            ("GET", format!("{ACTIONS}/config"), None),
            ("PUT", format!("{ACTIONS}/{id}"), Some(&body)),
            ("POST", format!("{ACTIONS}/{id}/off"), None),
            ("POST", format!("{ACTIONS}/{id}/on"), None),
            ("GET", format!("{ACTIONS}/{id}/events"), None),
            ("DELETE", format!("{ACTIONS}/{id}"), None),
        ];
        for (method, path, body) in calls {
            let answer = unleash(&u.f.app, method, &path, &token, body).await;
            assert_eq!(answer.status, 403, "{role} {method} {path}: {}", answer.text);
            assert_problem(&answer, 403, None);
        }
    }
    assert_eq!(u.list().await, [set], "nothing changed");
}

#[tokio::test]
async fn unleash_put_changes_what_it_names_and_on_off_and_delete_answer_200() {
    let u = Unleash::new().await;
    let mut body = u.body("original");
    body["description"] = json!("first");
    let set = u.create(&body).await;
    let id = set["id"].as_i64().unwrap();
    let path = format!("{ACTIONS}/{id}");

    let renamed = u.call("PUT", &path, Some(&json!({ "name": "renamed" }))).await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.body["name"], "renamed");
    assert_eq!(renamed.body["id"], id);
    for field in ["description", "actorId", "match", "enabled", "createdAt", "createdByUserId"] {
        assert_eq!(renamed.body[field], set[field], "{field} is unchanged");
    }

    let replaced = u
        .call(
            "PUT",
            &path,
            Some(&json!({
                "description": null,
                "match": { "source": "signal-endpoint", "sourceId": u.endpoint,
                           "payload": { "n": { "operator": "NUM_LT", "value": "5" } } },
                "actions": [{ "action": "KILL_FEATURE", "sortOrder": 0, "executionParams": { "featureName": "checkout" } }],
            })),
        )
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    assert_eq!(replaced.body["description"], Value::Null);
    assert_eq!(
        replaced.body["match"]["payload"],
        json!({ "n": { "operator": "NUM_LT", "value": "5", "inverted": false, "caseInsensitive": false } })
    );
    assert_eq!(replaced.body["actions"][0]["executionParams"], json!({ "featureName": "checkout" }));
    assert_eq!(u.list().await, std::slice::from_ref(&replaced.body));

    let off = u.call("POST", &format!("{path}/off"), None).await;
    assert_eq!(off.status, 200, "{}", off.text);
    assert_eq!(u.list().await[0]["enabled"], false);
    let on = u.call("POST", &format!("{path}/on"), None).await;
    assert_eq!(on.status, 200, "{}", on.text);
    assert_eq!(u.list().await[0]["enabled"], true);

    let deleted = u.call("DELETE", &path, None).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert!(u.list().await.is_empty());
    assert_eq!(u.f.app.count_rows("action_sets").await, 0);
    let types: Vec<String> = {
        let events = u.f.app.get("/v1/events?limit=100", Some(&u.f.owner)).await;
        events.body["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
    };
    let set_events: Vec<&str> = types.iter().map(String::as_str).filter(|t| t.starts_with("action_set.")).collect();
    assert_eq!(
        set_events,
        [
            "action_set.deleted",
            "action_set.updated",
            "action_set.updated",
            "action_set.updated",
            "action_set.updated",
            "action_set.created"
        ]
    );
}

#[tokio::test]
async fn unknown_projects_and_sets_are_not_found_on_the_unleash_paths() {
    let u = Unleash::new().await;
    let elsewhere = "/api/admin/projects/nope/actions";
    assert_problem(&u.call("GET", elsewhere, None).await, 404, None);
    assert_problem(&u.call("POST", elsewhere, Some(&u.body("x"))).await, 404, None);
    assert_problem(&u.call("GET", &format!("{elsewhere}/config"), None).await, 404, None);
    assert_eq!(u.f.app.count_rows("action_sets").await, 0);
    let missing = format!("{ACTIONS}/999999");
    assert_problem(&u.call("PUT", &missing, Some(&json!({ "name": "x" }))).await, 404, None);
    assert_problem(&u.call("DELETE", &missing, None).await, 404, None);
    assert_problem(&u.call("POST", &format!("{missing}/on"), None).await, 404, None);
    assert_problem(&u.call("POST", &format!("{missing}/off"), None).await, 404, None);
    assert_problem(&u.call("GET", &format!("{missing}/events"), None).await, 404, None);
}

#[tokio::test]
async fn the_sixth_set_on_the_unleash_path_is_refused_with_400_as_unleash_does() {
    let u = Unleash::new().await;
    for n in 0..5 {
        u.create(&u.body(&format!("set {n}"))).await;
    }
    let sixth = u.call("POST", ACTIONS, Some(&u.body("set 5"))).await;
    assert_problem(&sixth, 400, None);
    assert_eq!(sixth.body["type"], "/problems/limit-exceeded", "{}", sixth.text);
    assert_eq!(sixth.body["status"], 400);
    assert_eq!(u.f.app.count_rows("action_sets").await, 5);
    // /v1 answers the same limit with 409.
    assert_problem(
        &u.f.app
            .post_json(
                SETS,
                Some(&u.f.owner),
                &json!({
                    "name": "set 5", "actor_id": u.f.actor_id,
                    "match": { "source": "signal-endpoint", "source_id": u.f.endpoint_id },
                    "actions": [toggle("TOGGLE_FEATURE_ON", "checkout", "development")],
                }),
            )
            .await,
        409,
        None,
    );
}

#[tokio::test]
async fn bad_unleash_input_is_refused_naming_the_unleash_field_and_nothing_is_stored() {
    let u = Unleash::new().await;
    let (user_id, _, _) = u.f.app.user_with_role(&u.f.owner, "admin").await;
    let user = principal_int_id(&u.f.app, &user_id).await;
    let good = u.body("good");
    let with = |key: &str, value: Value| {
        let mut body = good.clone();
        body[key] = value;
        body
    };
    let without = |key: &str| {
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(key);
        body
    };
    let match_with = |key: &str, value: Value| {
        let mut body = good.clone();
        body["match"][key] = value;
        body
    };
    let cases = vec![
        ("no name", without("name"), "name"),
        ("an empty name", with("name", json!(" ")), "name"),
        ("no actor", without("actorId"), "actorId"),
        ("an unknown actor", with("actorId", json!(999_999)), "actorId"),
        ("a user as the actor", with("actorId", json!(user)), "actorId"),
        ("an actor id that is not a number", with("actorId", json!("responder")), "actorId"),
        ("no match", without("match"), "match"),
        ("an unknown endpoint", match_with("sourceId", json!(999_999)), "match.sourceId"),
        ("a signal-type source naming an endpoint", match_with("source", json!("signal-type")), "match.sourceId"),
        (
            "a bad operator",
            match_with("payload", json!({ "level": { "operator": "REGEX", "value": "x" } })),
            "match.payload.level.operator",
        ),
        (
            "a bad number",
            match_with("payload", json!({ "level": { "operator": "NUM_GT", "value": "x" } })),
            "match.payload.level.value",
        ),
        ("no actions", with("actions", json!([])), "actions"),
        (
            "an unknown action",
            with("actions", json!([{ "action": "RESTART", "sortOrder": 0, "executionParams": {} }])),
            "actions[0].action",
        ),
        ("a bad condition", with("condition", json!("payload.a >")), "condition"),
    ];
    for (what, body, field) in cases {
        let response = u.call("POST", ACTIONS, Some(&body)).await;
        assert_eq!(response.status, 422, "{what}: {}", response.text);
        assert_problem(&response, 422, Some(field));
        assert_eq!(u.f.app.count_rows("action_sets").await, 0, "{what}: nothing is stored");
    }

    // Parameters are checked as on /v1: an unknown flag or environment is refused.
    let params = |params: Value| {
        with("actions", json!([{ "action": "TOGGLE_FEATURE_ON", "sortOrder": 0, "executionParams": params }]))
    };
    for (what, body, field) in [
        (
            "an unknown flag",
            params(json!({ "featureName": "nope", "environment": "development" })),
            "actions[0].executionParams.featureName",
        ),
        (
            "an unknown environment",
            params(json!({ "featureName": "checkout", "environment": "staging" })),
            "actions[0].executionParams.environment",
        ),
        ("no featureName", params(json!({ "environment": "development" })), "actions[0].executionParams.featureName"),
        (
            "another project",
            params(json!({ "featureName": "checkout", "environment": "development", "project": "x" })),
            "actions[0].executionParams.project",
        ),
    ] {
        let response = u.call("POST", ACTIONS, Some(&body)).await;
        assert_problem(&response, 422, Some(field));
        assert_eq!(u.f.app.count_rows("action_sets").await, 0, "{what}: nothing is stored");
    }

    // Errors name the action by its place in the request, whatever its sortOrder.
    let sorted = with(
        "actions",
        json!([
            { "action": "TOGGLE_FEATURE_ON", "sortOrder": 9, "executionParams": { "featureName": "nope", "environment": "development" } },
            { "action": "TOGGLE_FEATURE_ON", "sortOrder": 1, "executionParams": { "featureName": "checkout", "environment": "development" } },
        ]),
    );
    let response = u.call("POST", ACTIONS, Some(&sorted)).await;
    assert_problem(&response, 422, Some("actions[0].executionParams.featureName"));
    assert_eq!(u.f.app.count_rows("action_sets").await, 0);

    // A bad change leaves the set as it was.
    let set = u.create(&good).await;
    let path = format!("{ACTIONS}/{}", set["id"]);
    for (change, field) in [
        (json!({ "actorId": 999_999 }), "actorId"),
        (json!({ "match": { "source": "signal-endpoint", "sourceId": 999_999 } }), "match.sourceId"),
        (json!({ "name": "" }), "name"),
    ] {
        assert_problem(&u.call("PUT", &path, Some(&change)).await, 422, Some(field));
        assert_eq!(u.list().await, std::slice::from_ref(&set));
    }
}

#[tokio::test]
async fn the_unleash_config_lists_actions_by_name_with_camel_case_parameters() {
    let u = Unleash::new().await;
    let config = u.call("GET", &format!("{ACTIONS}/config"), None).await;
    assert_eq!(config.status, 200, "{}", config.text);
    let body = config.body.as_object().expect("an object keyed by action");
    let mut names: Vec<&str> = body.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["KILL_FEATURE", "TOGGLE_FEATURE_OFF", "TOGGLE_FEATURE_ON"]);
    for (name, entry) in body {
        assert!(entry["label"].as_str().is_some_and(|l| !l.is_empty()), "{name}: {entry}");
        assert!(entry["description"].as_str().is_some_and(|d| !d.is_empty()), "{name}: {entry}");
    }
    for toggle in ["TOGGLE_FEATURE_ON", "TOGGLE_FEATURE_OFF"] {
        assert_eq!(body[toggle]["required"], json!(["featureName", "environment"]));
        assert_eq!(body[toggle]["optional"], json!(["project"]));
    }
    assert_eq!(body["KILL_FEATURE"]["required"], json!(["featureName"]));
    assert_eq!(body["KILL_FEATURE"]["optional"], json!(["environments", "reason", "project"]));
}

#[tokio::test]
async fn a_set_created_on_the_unleash_path_runs_and_its_runs_appear_as_unleash_events() {
    let u = Unleash::new().await;
    let set = u.create(&u.body("enable on critical")).await;
    let id = set["id"].as_i64().unwrap();
    let v1_id = u.v1_id("enable on critical").await;

    u.f.signal(&json!({ "labels": { "severity": "info" } })).await;
    for n in 0..3 {
        u.f.signal(&json!({ "labels": { "severity": "critical" }, "n": n })).await;
    }
    u.f.finished_runs(&v1_id, 3).await;
    u.f.settled().await;
    assert!(u.f.enabled("checkout", "development").await, "the set ran");

    let events = u.events(id, "").await;
    assert_eq!(events.len(), 3, "a signal that does not match leaves no run: {events:?}");
    let newest = &events[0];
    assert!(newest["id"].is_i64(), "{newest}");
    assert_eq!(newest["actionSetId"], id);
    assert_eq!(newest["state"], "success");
    assert!(newest["createdAt"].as_str().unwrap().ends_with('Z'), "{newest}");

    // The signal as Unleash lists it on its endpoint.
    let signals = u.call("GET", &format!("/api/admin/signal-endpoints/{}/signals?limit=1", u.endpoint), None).await;
    assert_eq!(signals.status, 200, "{}", signals.text);
    let listed = &signals.body["signalEndpointSignals"][0];
    assert_eq!(listed["payload"]["n"], 2);
    let signal = &newest["signal"];
    assert_eq!(newest["signalId"], listed["id"], "the run names the signal by its integer id");
    assert_eq!(signal["id"], listed["id"]);
    assert_eq!(signal["source"], "signal-endpoint");
    assert_eq!(signal["sourceId"], u.endpoint);
    assert_eq!(signal["tokenName"], "monitoring");
    assert_eq!(signal["payload"], json!({ "labels": { "severity": "critical" }, "n": 2 }));
    assert!(signal["createdAt"].is_string());

    let snapshot = &newest["actionSet"];
    assert_eq!(snapshot["id"], id);
    assert_eq!(snapshot["name"], "enable on critical");
    assert_eq!(snapshot["actorId"], u.actor);
    let action = &snapshot["actions"][0];
    assert_eq!(action["actionSetId"], id);
    assert_eq!(action["action"], "TOGGLE_FEATURE_ON");
    assert_eq!(action["executionParams"], json!({ "featureName": "checkout", "environment": "development" }));
    assert_eq!(action["state"], "success");
    assert_eq!(action["details"], "checkout enabled in development");
    assert!(action["sortOrder"].is_i64() && action["id"].is_i64(), "{action}");

    let ns: Vec<i64> = events.iter().map(|e| e["signal"]["payload"]["n"].as_i64().unwrap()).collect();
    assert_eq!(ns, [2, 1, 0], "newest first");
    let middle = u.events(id, "?limit=1&offset=1").await;
    assert_eq!(middle.len(), 1);
    assert_eq!(middle[0]["signal"]["payload"]["n"], 1);
    assert!(u.events(id, "?offset=3").await.is_empty());
    for (query, field) in [("?limit=0", "limit"), ("?limit=101", "limit"), ("?offset=-1", "offset")] {
        let response = u.call("GET", &format!("{ACTIONS}/{id}/events{query}"), None).await;
        assert_problem(&response, 422, Some(field));
    }
}

#[tokio::test]
async fn a_failed_run_shows_the_failed_action_and_those_not_started_on_the_unleash_path() {
    let u = Unleash::new().await;
    flag(&u.f.app, &u.f.owner, "banner").await;
    let killed =
        u.f.app.post_json(&format!("{FLAGS}/checkout/kill"), Some(&u.f.owner), &json!({ "reason": "incident" })).await;
    assert_eq!(killed.status, 200, "{}", killed.text);
    let mut body = u.body("two steps");
    body["match"]["payload"] = json!({});
    body["actions"] = json!([
        { "action": "TOGGLE_FEATURE_ON", "sortOrder": 0, "executionParams": { "featureName": "checkout", "environment": "development" } },
        { "action": "TOGGLE_FEATURE_ON", "sortOrder": 1, "executionParams": { "featureName": "banner", "environment": "development" } },
    ]);
    let set = u.create(&body).await;
    let id = set["id"].as_i64().unwrap();
    u.f.signal(&json!({})).await;
    u.f.finished_runs(&u.v1_id("two steps").await, 1).await;

    let events = u.events(id, "").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["state"], "failed");
    let actions = events[0]["actionSet"]["actions"].as_array().unwrap();
    assert_eq!(actions[0]["state"], "failed");
    assert!(actions[0]["details"].as_str().unwrap().starts_with("flag-killed"), "{}", actions[0]);
    assert_eq!(actions[1]["state"], "not started");
    assert_eq!(actions[1]["details"], Value::Null);
    assert!(!u.f.enabled("banner", "development").await);
}
