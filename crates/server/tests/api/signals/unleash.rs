use serde_json::json;

use crate::helpers::{TestApp, assert_problem, spawn_app, spawn_app_with};

/// `METHOD path` on an Unleash path with the raw `Authorization: <token>` Unleash clients send.
async fn unleash(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> crate::helpers::ApiResponse {
    let mut request = app.client.request(method.parse().unwrap(), app.url(path)).header("authorization", token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    app.send(request).await
}

#[tokio::test]
async fn the_unleash_paths_use_integer_ids_and_camel_case() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let admin = app.api_token(&owner, "admin").await;
    let created = unleash(
        &app,
        "POST",
        "/api/admin/signal-endpoints",
        &admin,
        Some(json!({ "name": "deploys", "description": "CI" })),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_i64().expect("an integer id");
    assert_eq!(created.body["enabled"], true);
    assert!(created.body["createdAt"].as_str().unwrap().ends_with('Z'));
    assert!(created.body["createdByUserId"].is_i64(), "{}", created.text);
    assert_eq!(created.body["tokens"], json!([]));

    let token = unleash(
        &app,
        "POST",
        &format!("/api/admin/signal-endpoints/{id}/tokens"),
        &admin,
        Some(json!({ "name": "github" })),
    )
    .await;
    assert_eq!(token.status, 201, "{}", token.text);
    assert_eq!(token.body["signalEndpointId"], id);
    let token_id = token.body["id"].as_i64().expect("an integer token id");
    let secret = token.body["token"].as_str().unwrap().to_owned();

    let listed = unleash(&app, "GET", "/api/admin/signal-endpoints", &admin, None).await;
    assert_eq!(listed.status, 200);
    let endpoint = &listed.body["signalEndpoints"][0];
    assert_eq!(endpoint["id"], id);
    assert_eq!(endpoint["tokens"][0]["id"], token_id);
    assert_eq!(endpoint["tokens"][0]["name"], "github");
    assert!(!listed.text.contains(&secret));

    assert_eq!(app.send_signal("deploys", &secret, &json!({ "kind": "deploy" })).await.status, 202);
    let signals =
        unleash(&app, "GET", &format!("/api/admin/signal-endpoints/{id}/signals?limit=10&offset=0"), &admin, None)
            .await;
    assert_eq!(signals.status, 200, "{}", signals.text);
    let signal = &signals.body["signalEndpointSignals"][0];
    assert!(signal["id"].is_i64());
    assert_eq!(signal["source"], "signal-endpoint");
    assert_eq!(signal["sourceId"], id);
    assert_eq!(signal["tokenName"], "github");
    assert_eq!(signal["payload"], json!({ "kind": "deploy" }));
    assert!(signal["createdAt"].is_string());
}

#[tokio::test]
async fn unleash_paths_turn_endpoints_on_and_off_rename_and_revoke_tokens_and_delete() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let admin = app.api_token(&owner, "admin").await;
    let created =
        unleash(&app, "POST", "/api/admin/signal-endpoints", &admin, Some(json!({ "name": "deploys" }))).await;
    let id = created.body["id"].as_i64().unwrap();
    let token = unleash(
        &app,
        "POST",
        &format!("/api/admin/signal-endpoints/{id}/tokens"),
        &admin,
        Some(json!({ "name": "a" })),
    )
    .await;
    let (token_id, secret) = (token.body["id"].as_i64().unwrap(), token.body["token"].as_str().unwrap().to_owned());

    assert_eq!(unleash(&app, "POST", &format!("/api/admin/signal-endpoints/{id}/off"), &admin, None).await.status, 200);
    assert_problem(&app.send_signal("deploys", &secret, &json!({})).await, 403, None);
    assert_eq!(unleash(&app, "POST", &format!("/api/admin/signal-endpoints/{id}/on"), &admin, None).await.status, 200);
    assert_eq!(app.send_signal("deploys", &secret, &json!({})).await.status, 202);

    let updated = unleash(
        &app,
        "PUT",
        &format!("/api/admin/signal-endpoints/{id}"),
        &admin,
        Some(json!({ "name": "deploys", "description": "changed" })),
    )
    .await;
    assert_eq!((updated.status, updated.body["description"].as_str()), (200, Some("changed")));
    let renamed = unleash(
        &app,
        "PUT",
        &format!("/api/admin/signal-endpoints/{id}/tokens/{token_id}"),
        &admin,
        Some(json!({ "name": "b" })),
    )
    .await;
    assert_eq!(renamed.status, 200);
    let listed = unleash(&app, "GET", "/api/admin/signal-endpoints", &admin, None).await;
    assert_eq!(listed.body["signalEndpoints"][0]["tokens"][0]["name"], "b");

    assert_eq!(
        unleash(&app, "DELETE", &format!("/api/admin/signal-endpoints/{id}/tokens/{token_id}"), &admin, None)
            .await
            .status,
        200
    );
    assert_problem(&app.send_signal("deploys", &secret, &json!({})).await, 401, None);
    assert_eq!(unleash(&app, "DELETE", &format!("/api/admin/signal-endpoints/{id}"), &admin, None).await.status, 200);
    assert_problem(
        &unleash(&app, "DELETE", &format!("/api/admin/signal-endpoints/{id}"), &admin, None).await,
        404,
        None,
    );
}

#[tokio::test]
async fn unleash_paths_answer_count_limits_with_400() {
    let app = spawn_app_with(|c| {
        c.signals.max_signal_endpoints = 1;
        c.signals.max_tokens_per_endpoint = 1;
    })
    .await;
    let owner = app.login_owner().await;
    let admin = app.api_token(&owner, "admin").await;
    let created = unleash(&app, "POST", "/api/admin/signal-endpoints", &admin, Some(json!({ "name": "one" }))).await;
    let id = created.body["id"].as_i64().unwrap();
    let second = unleash(&app, "POST", "/api/admin/signal-endpoints", &admin, Some(json!({ "name": "two" }))).await;
    assert_problem(&second, 400, None);
    unleash(&app, "POST", &format!("/api/admin/signal-endpoints/{id}/tokens"), &admin, Some(json!({ "name": "a" })))
        .await;
    let token = unleash(
        &app,
        "POST",
        &format!("/api/admin/signal-endpoints/{id}/tokens"),
        &admin,
        Some(json!({ "name": "b" })),
    )
    .await;
    assert_problem(&token, 400, None);
    assert_eq!(app.count_rows("signal_endpoints").await, 1);
    assert_eq!(app.count_rows("signal_endpoint_tokens").await, 1);
}

#[tokio::test]
async fn unleash_paths_need_an_admin_credential_raw_or_bearer() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let viewer = app.api_token(&owner, "viewer").await;
    assert_problem(&unleash(&app, "GET", "/api/admin/signal-endpoints", &viewer, None).await, 403, None);
    assert_problem(&unleash(&app, "GET", "/api/admin/signal-endpoints", "sbx_nope", None).await, 401, None);
    assert_problem(&app.get("/api/admin/signal-endpoints", None).await, 401, None);
    assert_eq!(app.get("/api/admin/signal-endpoints", Some(&owner)).await.status, 200);
}
