//! SDK tokens and the Unleash client API (issue 7): shapes as the official SDKs read them,
//! token scoping, ETag/304, segments for old and new SDKs, register and metrics.

use serde_json::{Value, json};

use crate::helpers::{ApiResponse, TestApp, assert_problem, spawn_app};

const FLAGS: &str = "/v1/projects/default/flags";

async fn sdk_token(app: &TestApp, admin: &str, body: Value) -> String {
    let response = app.post_json("/v1/sdk-tokens", Some(admin), &body).await;
    assert_eq!(response.status, 201, "{}", response.text);
    response.body["secret"].as_str().unwrap().to_owned()
}

/// GET with the raw `Authorization: <token>` the SDKs send.
async fn client_get(app: &TestApp, token: &str, path: &str, extra: &[(&str, &str)]) -> ApiResponse {
    let mut request = app.client.get(app.url(path)).header("authorization", token);
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    app.send(request).await
}

async fn flag_with(app: &TestApp, owner: &str, project_flags: &str, key: &str, config: Value) {
    let created = app.post_json(project_flags, Some(owner), &json!({ "key": key, "tags": ["team:web"] })).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let path = format!("{project_flags}/{key}/environments/production");
    let configured = app.put_json(&path, Some(owner), &config).await;
    assert_eq!(configured.status, 200, "{}", configured.text);
}

#[tokio::test]
async fn sdk_tokens_use_unleash_format_are_shown_once_and_revoke_at_once() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    app.post_json("/v1/projects", Some(&owner), &json!({ "key": "mobile" })).await;
    let all =
        sdk_token(&app, &owner, json!({ "name": "backend", "type": "client", "environment": "development" })).await;
    let (prefix, hex) = all.split_once('.').unwrap();
    assert_eq!(prefix, "*:development");
    assert!(hex.len() == 56 && hex.bytes().all(|b| b.is_ascii_hexdigit()), "{all}");
    let one = sdk_token(
        &app,
        &owner,
        json!({ "name": "web", "type": "frontend", "environment": "production", "projects": ["default"] }),
    )
    .await;
    assert!(one.starts_with("default:production."), "{one}");
    let several = sdk_token(
        &app,
        &owner,
        json!({ "name": "both", "type": "client", "environment": "production", "projects": ["default", "mobile"] }),
    )
    .await;
    assert!(several.starts_with("[]:production."), "{several}");

    let before = app.count_rows("sdk_tokens").await;
    for (body, field) in [
        (json!({ "name": "x", "type": "admin", "environment": "production" }), "type"),
        (json!({ "name": "x", "type": "client", "environment": "moon" }), "environment"),
        (json!({ "name": "x", "type": "client", "environment": "production", "projects": ["nope"] }), "projects[0]"),
        (json!({ "name": "x", "type": "client", "environment": "production", "projects": [] }), "projects"),
        (json!({ "name": "", "type": "client", "environment": "production" }), "name"),
        (
            json!({ "name": "x", "type": "frontend", "environment": "production", "cors_origins": ["ftp://x"] }),
            "cors_origins[0]",
        ),
    ] {
        assert_problem(&app.post_json("/v1/sdk-tokens", Some(&owner), &body).await, 422, Some(field));
    }
    assert_eq!(app.count_rows("sdk_tokens").await, before);
    let (_, _, editor) = app.user_with_role(&owner, "editor").await;
    assert_problem(
        &app.post_json(
            "/v1/sdk-tokens",
            Some(&editor),
            &json!({ "name": "x", "type": "client", "environment": "production" }),
        )
        .await,
        403,
        None,
    );

    let listed = app.get("/v1/sdk-tokens", Some(&owner)).await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 3);
    assert!(!listed.text.contains(hex), "no secret in the list");

    assert_eq!(client_get(&app, &all, "/api/client/features", &[]).await.status, 200);
    let id = listed.body["data"][0]["id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("/v1/sdk-tokens/{id}"), Some(&owner)).await.status, 204);
    assert_problem(&client_get(&app, &all, "/api/client/features", &[]).await, 401, None);
}

#[tokio::test]
async fn client_and_frontend_tokens_stay_on_their_own_paths() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let client = sdk_token(&app, &owner, json!({ "name": "c", "type": "client", "environment": "production" })).await;
    let frontend =
        sdk_token(&app, &owner, json!({ "name": "f", "type": "frontend", "environment": "production" })).await;
    assert_eq!(client_get(&app, &client, "/api/client/features", &[]).await.status, 200);
    let bearer = app.send(app.client.get(app.url("/api/client/features")).bearer_auth(&client)).await;
    assert_eq!(bearer.status, 200, "Bearer is accepted too");
    assert_problem(&client_get(&app, &frontend, "/api/client/features", &[]).await, 403, None);
    assert_problem(&client_get(&app, "*:production.0000", "/api/client/features", &[]).await, 401, None);
    assert_problem(&app.get("/api/client/features", None).await, 401, None);
    assert_problem(&client_get(&app, &owner, "/api/client/features", &[]).await, 401, None);
}

#[tokio::test]
async fn features_come_in_unleash_shape_scoped_to_the_token_and_narrowed_by_the_query() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    app.post_json("/v1/projects", Some(&owner), &json!({ "key": "mobile" })).await;
    let strategies = json!([
        { "name": "flexibleRollout", "parameters": { "rollout": "40", "stickiness": "userId", "groupId": "checkout" },
          "constraints": [{ "contextName": "appVersion", "operator": "SEMVER_GTE", "value": "2.0.0" }] },
        { "name": "default", "disabled": true }
    ]);
    flag_with(&app, &owner, FLAGS, "checkout.new", json!({ "enabled": true, "strategies": strategies })).await;
    flag_with(&app, &owner, FLAGS, "checkout.old", json!({ "enabled": false })).await;
    flag_with(&app, &owner, "/v1/projects/mobile/flags", "app.dark", json!({ "enabled": true })).await;
    app.post_json(FLAGS, Some(&owner), &json!({ "key": "archived-one" })).await;
    app.delete(&format!("{FLAGS}/archived-one"), Some(&owner)).await;

    let all = sdk_token(&app, &owner, json!({ "name": "all", "type": "client", "environment": "production" })).await;
    let response = client_get(&app, &all, "/api/client/features", &[]).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["version"], 2);
    let names: Vec<&str> =
        response.body["features"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["app.dark", "checkout.new", "checkout.old"], "archived flags are not served");
    let feature =
        response.body["features"].as_array().unwrap().iter().find(|f| f["name"] == "checkout.new").unwrap().clone();
    for field in [
        "name",
        "type",
        "enabled",
        "project",
        "stale",
        "impressionData",
        "description",
        "strategies",
        "variants",
        "dependencies",
    ] {
        assert!(feature.get(field).is_some(), "{field} missing from {feature}");
    }
    assert_eq!(
        (feature["enabled"].clone(), feature["project"].clone(), feature["type"].clone()),
        (json!(true), json!("default"), json!("release"))
    );
    let strategies = feature["strategies"].as_array().unwrap();
    assert_eq!(strategies.len(), 1, "disabled strategies are not served");
    assert!(strategies[0].get("id").is_none(), "no strategy id");
    assert_eq!(strategies[0]["parameters"]["rollout"], "40");
    assert_eq!(strategies[0]["constraints"][0]["operator"], "SEMVER_GTE");
    assert_eq!(strategies[0]["constraints"][0]["values"], json!([]));
    assert!(response.body["meta"]["revisionId"].is_number() && response.body["meta"]["etag"].is_string());

    let default_only = sdk_token(
        &app,
        &owner,
        json!({ "name": "d", "type": "client", "environment": "production", "projects": ["default"] }),
    )
    .await;
    let scoped = client_get(&app, &default_only, "/api/client/features", &[]).await;
    assert_eq!(scoped.body["features"].as_array().unwrap().len(), 2);
    let widened = client_get(&app, &default_only, "/api/client/features?project=mobile", &[]).await;
    assert!(widened.body["features"].as_array().unwrap().is_empty(), "a query narrows, never widens");
    let narrowed = client_get(&app, &all, "/api/client/features?project=mobile", &[]).await;
    assert_eq!(narrowed.body["features"][0]["name"], "app.dark");
    let prefixed = client_get(&app, &all, "/api/client/features?namePrefix=checkout.", &[]).await;
    assert_eq!(prefixed.body["features"].as_array().unwrap().len(), 2);
    let tagged = client_get(&app, &all, "/api/client/features?tag=team:web&project=mobile", &[]).await;
    assert_eq!(tagged.body["features"].as_array().unwrap().len(), 1);
    assert_problem(&client_get(&app, &all, "/api/client/features?tag=nocolon", &[]).await, 422, Some("tag"));

    let one = client_get(&app, &all, "/api/client/features/checkout.new", &[]).await;
    assert_eq!((one.status, one.body["name"].clone()), (200, json!("checkout.new")));
    assert_problem(&client_get(&app, &default_only, "/api/client/features/app.dark", &[]).await, 404, None);
}

#[tokio::test]
async fn the_etag_changes_only_with_visible_changes_and_if_none_match_answers_304() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    app.post_json("/v1/projects", Some(&owner), &json!({ "key": "other" })).await;
    flag_with(&app, &owner, FLAGS, "watched", json!({ "enabled": false })).await;
    let token = sdk_token(
        &app,
        &owner,
        json!({ "name": "d", "type": "client", "environment": "production", "projects": ["default"] }),
    )
    .await;
    let first = client_get(&app, &token, "/api/client/features", &[]).await;
    let etag = first.header("etag").unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let cached = client_get(&app, &token, "/api/client/features", &[("if-none-match", &etag)]).await;
    assert_eq!(cached.status, 304);
    assert!(cached.text.is_empty());

    // A change the token cannot see leaves the answer, and so the ETag, as it was.
    flag_with(&app, &owner, "/v1/projects/other/flags", "invisible", json!({ "enabled": true })).await;
    assert_eq!(client_get(&app, &token, "/api/client/features", &[("if-none-match", &etag)]).await.status, 304);

    app.post_json(&format!("{FLAGS}/watched/environments/production/on"), Some(&owner), &json!({})).await;
    let changed = client_get(&app, &token, "/api/client/features", &[("if-none-match", &etag)]).await;
    assert_eq!(changed.status, 200);
    assert_ne!(changed.header("etag").unwrap(), etag);
    assert_eq!(changed.body["features"][0]["enabled"], true);
}

#[tokio::test]
async fn segments_are_sent_beside_features_to_new_sdks_and_inlined_for_old_ones() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let body =
        json!({ "name": "beta", "constraints": [{ "contextName": "userId", "operator": "IN", "values": ["7"] }] });
    let segment = app.post_json("/v1/segments", Some(&owner), &body).await.body["id"].as_i64().unwrap();
    let strategies = json!([{ "name": "default", "segments": [segment], "constraints": [{ "contextName": "region", "operator": "IN", "values": ["eu"] }] }]);
    flag_with(&app, &owner, FLAGS, "segmented", json!({ "enabled": true, "strategies": strategies })).await;
    let token = sdk_token(&app, &owner, json!({ "name": "c", "type": "client", "environment": "production" })).await;

    let new = client_get(&app, &token, "/api/client/features", &[("unleash-client-spec", "5.0.2")]).await;
    assert_eq!(new.body["features"][0]["strategies"][0]["segments"], json!([segment]));
    assert_eq!(new.body["segments"][0]["id"], segment);
    assert_eq!(new.body["segments"][0]["constraints"][0]["values"], json!(["7"]));

    let old = client_get(&app, &token, "/api/client/features", &[]).await;
    let strategy = &old.body["features"][0]["strategies"][0];
    assert_eq!(strategy["segments"], json!([]));
    let contexts: Vec<&str> =
        strategy["constraints"].as_array().unwrap().iter().map(|c| c["contextName"].as_str().unwrap()).collect();
    assert_eq!(contexts, vec!["region", "userId"], "the segment's constraints are inlined after the strategy's own");
    assert!(old.body.get("segments").is_none());
    let below = client_get(&app, &token, "/api/client/features", &[("unleash-client-spec", "4.1.9")]).await;
    assert_eq!(below.body["features"][0]["strategies"][0]["constraints"].as_array().unwrap().len(), 2);
    assert_problem(
        &client_get(&app, &token, "/api/client/features", &[("unleash-client-spec", "latest")]).await,
        400,
        None,
    );
}

#[tokio::test]
async fn register_and_metrics_answer_exactly_202_and_are_recorded() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let token = sdk_token(&app, &owner, json!({ "name": "c", "type": "client", "environment": "production" })).await;
    let register = json!({ "appName": "checkout-service", "instanceId": "pod-1", "sdkVersion": "unleash-client-node:6.1.0",
                           "strategies": ["default", "flexibleRollout"], "interval": 15000, "started": "2026-11-29T10:00:00Z" });
    let registered = app
        .send(
            app.client
                .post(app.url("/api/client/register"))
                .header("authorization", &token)
                .header("unleash-interval", "undefined")
                .json(&register),
        )
        .await;
    assert_eq!(registered.status, 202, "{}", registered.text);
    let metrics = json!({ "appName": "checkout-service", "instanceId": "pod-1",
                          "bucket": { "start": "2026-11-29T10:00:00Z", "stop": "2026-11-29T10:01:00Z",
                                      "toggles": { "checkout.new": { "yes": 5, "no": 2, "variants": { "blue": 3 } } } } });
    for _ in 0..2 {
        let sent = app
            .send(
                app.client
                    .post(app.url("/api/client/metrics"))
                    .header("authorization", &token)
                    .header("UNLEASH-APPNAME", "checkout-service")
                    .json(&metrics),
            )
            .await;
        assert_eq!(sent.status, 202, "{}", sent.text);
    }
    // A body the server cannot make sense of is still accepted (SDKs retry on anything else).
    let odd = app
        .send(app.client.post(app.url("/api/client/metrics")).header("authorization", &token).body("not json"))
        .await;
    assert_eq!(odd.status, 202);
    assert_eq!(app.count_rows("client_instances").await, 1);
    let apps = app.get("/v1/applications", Some(&owner)).await;
    assert_eq!(apps.body["data"][0]["app_name"], "checkout-service", "{}", apps.text);
    let instance = &apps.body["data"][0]["instances"][0];
    assert_eq!(
        (instance["instance_id"].clone(), instance["sdk_version"].clone()),
        (json!("pod-1"), json!("unleash-client-node:6.1.0"))
    );
    assert_eq!(instance["environment"], "production");
    app.post_json(FLAGS, Some(&owner), &json!({ "key": "checkout.new" })).await;
    let flag = app.get(&format!("{FLAGS}/checkout.new"), Some(&owner)).await;
    let usage = &flag.body["usage"][0];
    assert_eq!((usage["yes"].clone(), usage["no"].clone()), (json!(10), json!(4)), "two reports added up");
    assert_eq!(usage["variants"]["blue"], 6);
    assert_eq!(
        (usage["hour"].clone(), usage["app_name"].clone()),
        (json!("2026-11-29T10:00:00.000000Z"), json!("checkout-service"))
    );
}

async fn frontend_get(app: &TestApp, token: &str, query: &str, extra: &[(&str, &str)]) -> ApiResponse {
    client_get(app, token, &format!("/api/frontend{query}"), extra).await
}

fn toggle_names(response: &ApiResponse) -> Vec<String> {
    response.body["toggles"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn the_frontend_api_evaluates_each_flag_for_the_context_and_answers_those_that_are_on() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    flag_with(
        &app,
        &owner,
        FLAGS,
        "for-user-1",
        json!({ "enabled": true, "strategies": [{ "name": "userWithId", "parameters": { "userIds": "1, 7" } }] }),
    )
    .await;
    flag_with(&app, &owner, FLAGS, "everyone", json!({ "enabled": true, "strategies": [{ "name": "flexibleRollout", "parameters": { "rollout": "100", "stickiness": "default", "groupId": "everyone" } }] })).await;
    flag_with(&app, &owner, FLAGS, "no-one", json!({ "enabled": true, "strategies": [{ "name": "flexibleRollout", "parameters": { "rollout": "0", "stickiness": "default", "groupId": "no-one" } }] })).await;
    flag_with(&app, &owner, FLAGS, "off", json!({ "enabled": false })).await;
    let eu = json!({ "enabled": true, "strategies": [{ "name": "default", "constraints": [{ "contextName": "region", "operator": "IN", "values": ["eu"] }] }] });
    flag_with(&app, &owner, FLAGS, "eu-only", eu).await;
    flag_with(
        &app,
        &owner,
        FLAGS,
        "local",
        json!({ "enabled": true, "strategies": [{ "name": "remoteAddress", "parameters": { "IPs": "127.0.0.1" } }] }),
    )
    .await;
    let token =
        sdk_token(&app, &owner, json!({ "name": "web", "type": "frontend", "environment": "production" })).await;

    let user_1 = frontend_get(&app, &token, "?userId=1", &[]).await;
    assert_eq!(user_1.status, 200, "{}", user_1.text);
    assert_eq!(
        toggle_names(&user_1),
        vec!["everyone", "for-user-1", "local"],
        "the peer address counts as remoteAddress"
    );
    let toggle = &user_1.body["toggles"][0];
    assert_eq!(toggle["enabled"], true);
    assert_eq!(
        toggle["variant"],
        json!({ "name": "disabled", "enabled": false, "feature_enabled": true, "featureEnabled": true })
    );
    assert_eq!(toggle["impressionData"], false);
    assert_eq!(
        toggle_names(&frontend_get(&app, &token, "?userId=2&remoteAddress=10.1.1.1", &[]).await),
        vec!["everyone"]
    );
    assert!(
        toggle_names(&frontend_get(&app, &token, "?properties[region]=eu", &[]).await).contains(&"eu-only".to_owned())
    );
    assert!(
        toggle_names(&frontend_get(&app, &token, "?region=eu", &[]).await).contains(&"eu-only".to_owned()),
        "other keys are properties"
    );

    let posted = app
        .send(
            app.client
                .post(app.url("/api/frontend"))
                .header("authorization", &token)
                .json(&json!({ "context": { "userId": "7", "properties": { "region": "eu" } } })),
        )
        .await;
    assert_eq!(posted.status, 200, "{}", posted.text);
    let names = toggle_names(&posted);
    assert!(names.contains(&"for-user-1".to_owned()) && names.contains(&"eu-only".to_owned()), "{names:?}");

    let client =
        sdk_token(&app, &owner, json!({ "name": "backend", "type": "client", "environment": "production" })).await;
    assert_problem(&frontend_get(&app, &client, "", &[]).await, 403, None);
    for path in ["/api/frontend/client/metrics", "/api/frontend/client/register"] {
        let answer = app
            .send(app.client.post(app.url(path)).header("authorization", &token).json(&json!({ "appName": "web" })))
            .await;
        assert_eq!(answer.status, 200, "{path}");
    }
}

#[tokio::test]
async fn frontend_variants_follow_the_unleash_hash_and_overrides() {
    use signalbox_core::flags::eval::{VARIANT_SEED, normalized};
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let variants = json!([
        { "name": "blue", "weight": 500, "weightType": "fix", "stickiness": "default", "payload": { "type": "string", "value": "b" } },
        { "name": "green", "weight": 500, "weightType": "fix", "stickiness": "default",
          "overrides": [{ "contextName": "userId", "values": ["vip"] }] }
    ]);
    flag_with(&app, &owner, FLAGS, "colours", json!({ "enabled": true, "variants": variants })).await;
    let token =
        sdk_token(&app, &owner, json!({ "name": "web", "type": "frontend", "environment": "production" })).await;
    for user in ["1", "2", "3", "42", "alice"] {
        let expected = if normalized(user, "colours", 1000, VARIANT_SEED) <= 500 { "blue" } else { "green" };
        let answer = frontend_get(&app, &token, &format!("?userId={user}"), &[]).await;
        assert_eq!(answer.body["toggles"][0]["variant"]["name"], expected, "user {user}");
        if expected == "blue" {
            assert_eq!(answer.body["toggles"][0]["variant"]["payload"], json!({ "type": "string", "value": "b" }));
        }
    }
    let vip = frontend_get(&app, &token, "?userId=vip", &[]).await;
    assert_eq!(vip.body["toggles"][0]["variant"]["name"], "green", "overrides win");
}

#[tokio::test]
async fn a_frontend_token_allows_only_its_cors_origins() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let token = sdk_token(&app, &owner, json!({ "name": "web", "type": "frontend", "environment": "production", "cors_origins": ["https://app.example.com"] })).await;
    let allowed = frontend_get(&app, &token, "", &[("origin", "https://app.example.com")]).await;
    assert_eq!(allowed.header("access-control-allow-origin"), Some("https://app.example.com"));
    let other = frontend_get(&app, &token, "", &[("origin", "https://evil.example.com")]).await;
    assert_eq!(other.header("access-control-allow-origin"), None);

    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/frontend"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
    };
    let asked = app.send(preflight("https://app.example.com")).await;
    assert_eq!(asked.status, 204);
    assert_eq!(asked.header("access-control-allow-origin"), Some("https://app.example.com"));
    assert!(asked.header("access-control-allow-headers").unwrap().contains("authorization"));
    let refused = app.send(preflight("https://evil.example.com")).await;
    assert_eq!(refused.header("access-control-allow-origin"), None);
}

/// Reads SSE events (event name, data) from a stream, keeping the stream for more.
struct EventReader {
    body: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<axum::body::Bytes>> + Send>>,
    buffer: String,
}

impl EventReader {
    fn new(response: reqwest::Response) -> Self {
        Self { body: Box::pin(response.bytes_stream()), buffer: String::new() }
    }

    async fn next(&mut self) -> (String, Value) {
        use futures_util::StreamExt;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let event = block.lines().find_map(|l| l.strip_prefix("event:")).map(|s| s.trim().to_owned());
                let data = block.lines().find_map(|l| l.strip_prefix("data:")).map(|s| s.trim().to_owned());
                if let (Some(event), Some(data)) = (event, data) {
                    return (event, serde_json::from_str(&data).unwrap());
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next())
                .await
                .expect("an event within 5 s")
                .expect("an open stream");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        }
    }
}

#[tokio::test]
async fn the_stream_hydrates_then_sends_each_change_as_it_happens() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    flag_with(&app, &owner, FLAGS, "streamed", json!({ "enabled": false })).await;
    let token = sdk_token(&app, &owner, json!({ "name": "c", "type": "client", "environment": "production" })).await;
    let response =
        app.client.get(app.url("/api/client/streaming")).header("authorization", &token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut events = EventReader::new(response);

    let (name, data) = events.next().await;
    assert_eq!(name, "unleash-connected");
    assert_eq!(data["events"][0]["type"], "hydration");
    assert_eq!(data["events"][0]["features"][0]["name"], "streamed");
    assert_eq!(data["events"][0]["features"][0]["enabled"], false);

    let started = std::time::Instant::now();
    app.post_json(&format!("{FLAGS}/streamed/kill"), Some(&owner), &json!({ "reason": "test" })).await;
    app.post_json(&format!("{FLAGS}/streamed/revive"), Some(&owner), &json!({})).await;
    app.post_json(&format!("{FLAGS}/streamed/environments/production/on"), Some(&owner), &json!({})).await;
    let (name, data) = loop {
        let (name, data) = events.next().await;
        if data["events"][0]["feature"]["enabled"] == true {
            break (name, data);
        }
    };
    assert_eq!(name, "unleash-updated");
    assert_eq!(data["events"][0]["type"], "feature-updated");
    assert!(started.elapsed() < std::time::Duration::from_secs(1), "a change reaches a stream within a second");

    app.delete(&format!("{FLAGS}/streamed"), Some(&owner)).await;
    let (_, data) = events.next().await;
    assert_eq!(
        data["events"][0],
        json!({ "eventId": data["events"][0]["eventId"], "type": "feature-removed", "featureName": "streamed", "project": "default" })
    );
}

#[tokio::test]
async fn delta_polling_answers_304_until_something_changes() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    flag_with(&app, &owner, FLAGS, "polled", json!({ "enabled": true })).await;
    let token = sdk_token(&app, &owner, json!({ "name": "c", "type": "client", "environment": "production" })).await;
    let first = client_get(&app, &token, "/api/client/delta", &[]).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body["events"][0]["type"], "hydration");
    let etag = first.header("etag").unwrap().to_owned();
    assert_eq!(client_get(&app, &token, "/api/client/delta", &[("if-none-match", &etag)]).await.status, 304);
    app.post_json(&format!("{FLAGS}/polled/environments/production/off"), Some(&owner), &json!({})).await;
    let changed = client_get(&app, &token, "/api/client/delta", &[("if-none-match", &etag)]).await;
    assert_eq!(changed.status, 200);
    assert_eq!(changed.body["events"][0]["features"][0]["enabled"], false);
}

#[tokio::test]
async fn an_unleash_export_imports_faithfully_including_what_our_own_api_refuses() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let state = json!({
        "version": 2,
        "features": [
            { "name": "Føature.ünïcode", "type": "release", "enabled": true, "description": null, "impressionData": true,
              "strategies": [
                { "name": "flexibleRollout", "parameters": { "rollout": 100, "stickiness": "default", "groupId": "g" },
                  "constraints": [{ "contextName": "userId", "operator": "STR_SOUNDS_LIKE", "values": ["x"] }] },
                { "name": "myOwnStrategy", "parameters": { "x": "1" }, "constraints": [] },
                { "name": "default", "segments": [1, 99] }
              ],
              "variants": [{ "name": "a", "weight": 1000, "weightType": "variable", "stickiness": "default" }] },
            { "name": "plain", "enabled": true, "strategies": [] }
        ],
        "segments": [{ "id": 1, "name": "one", "constraints": [{ "contextName": "userId", "operator": "IN", "values": ["1"] }] }]
    });
    let path = "/v1/import/unleash?project=default&environment=production";
    let imported = app.post_json(path, Some(&owner), &state).await;
    assert_eq!(imported.status, 200, "{}", imported.text);
    assert_eq!(imported.body, json!({ "features": 2, "segments": 1 }));
    assert_problem(
        &app.post_json("/v1/import/unleash?project=nope&environment=production", Some(&owner), &state).await,
        422,
        Some("project"),
    );

    let token = sdk_token(&app, &owner, json!({ "name": "c", "type": "client", "environment": "production" })).await;
    let served = client_get(&app, &token, "/api/client/features", &[("unleash-client-spec", "5.0.0")]).await;
    let feature =
        served.body["features"].as_array().unwrap().iter().find(|f| f["name"] == "Føature.ünïcode").unwrap().clone();
    assert!(feature["description"].is_null());
    assert_eq!(feature["impressionData"], true);
    let strategies = feature["strategies"].as_array().unwrap();
    let names: Vec<&str> = strategies.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["flexibleRollout", "myOwnStrategy", "default"], "order kept");
    assert_eq!(strategies[0]["parameters"]["rollout"], "100", "parameters become strings");
    assert_eq!(strategies[0]["constraints"][0]["operator"], "STR_SOUNDS_LIKE", "unknown operators verbatim");
    let segments = strategies[2]["segments"].as_array().unwrap();
    assert_eq!(segments.len(), 2);
    let defined = segments[0].as_i64().unwrap();
    assert!(served.body["segments"].as_array().unwrap().iter().any(|s| s["id"] == defined));
    assert!(
        !served.body["segments"].as_array().unwrap().iter().any(|s| s["id"] == segments[1]),
        "the dangling id stays dangling"
    );

    // Evaluated as the SDKs would: the unknown operator and strategy are false, and the
    // default strategy needs segment 1 and the missing one, so the flag is off.
    let frontend =
        sdk_token(&app, &owner, json!({ "name": "f", "type": "frontend", "environment": "production" })).await;
    let toggles = frontend_get(&app, &frontend, "?userId=1", &[]).await;
    assert_eq!(toggle_names(&toggles), vec!["plain"]);

    // A delta is folded in order.
    let delta = json!({ "events": [
        { "eventId": 1, "type": "hydration", "features": [{ "name": "from-delta", "enabled": false, "strategies": [] }], "segments": [] },
        { "eventId": 2, "type": "feature-updated", "feature": { "name": "from-delta", "enabled": true, "strategies": [] } },
        { "eventId": 3, "type": "feature-updated", "feature": { "name": "removed-later", "enabled": true, "strategies": [] } },
        { "eventId": 4, "type": "feature-removed", "featureName": "removed-later", "project": "default" }
    ] });
    let folded = app.post_json(path, Some(&owner), &delta).await;
    assert_eq!(folded.body["features"], 1, "{}", folded.text);
    assert_eq!(client_get(&app, &token, "/api/client/features/from-delta", &[]).await.body["enabled"], true);
    assert_problem(&client_get(&app, &token, "/api/client/features/removed-later", &[]).await, 404, None);
}

#[tokio::test]
async fn dependent_features_are_served_and_evaluated_as_the_sdks_do() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let state = json!({ "features": [
        { "name": "parent", "enabled": true, "strategies": [{ "name": "userWithId", "parameters": { "userIds": "1" } }],
          "variants": [{ "name": "red", "weight": 1000, "stickiness": "default" }] },
        { "name": "child", "enabled": true, "strategies": [], "dependencies": [{ "feature": "parent" }] },
        { "name": "child-of-red", "enabled": true, "strategies": [], "dependencies": [{ "feature": "parent", "variants": ["red"] }] },
        { "name": "child-of-blue", "enabled": true, "strategies": [], "dependencies": [{ "feature": "parent", "variants": ["blue"] }] },
        { "name": "when-parent-off", "enabled": true, "strategies": [], "dependencies": [{ "feature": "parent", "enabled": false }] },
        { "name": "orphan", "enabled": true, "strategies": [], "dependencies": [{ "feature": "missing" }] }
    ] });
    let imported =
        app.post_json("/v1/import/unleash?project=default&environment=production", Some(&owner), &state).await;
    assert_eq!(imported.status, 200, "{}", imported.text);
    let client = sdk_token(&app, &owner, json!({ "name": "c", "type": "client", "environment": "production" })).await;
    let child = client_get(&app, &client, "/api/client/features/child-of-red", &[]).await;
    assert_eq!(child.body["dependencies"], json!([{ "feature": "parent", "variants": ["red"] }]));

    let frontend =
        sdk_token(&app, &owner, json!({ "name": "f", "type": "frontend", "environment": "production" })).await;
    assert_eq!(
        toggle_names(&frontend_get(&app, &frontend, "?userId=1", &[]).await),
        vec!["child", "child-of-red", "parent"]
    );
    assert_eq!(toggle_names(&frontend_get(&app, &frontend, "?userId=2", &[]).await), vec!["when-parent-off"]);
}
