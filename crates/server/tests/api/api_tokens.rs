use serde_json::json;

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn a_created_token_is_shown_once_and_then_authenticates() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let created = app.post_json("/v1/api-tokens", Some(&owner), &json!({ "name": "deploy", "role": "editor" })).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let secret = created.body["token"].as_str().unwrap();
    assert!(secret.starts_with("sbx_") && secret.len() >= 40, "{secret}");
    assert_eq!(created.body["role"], "editor");
    assert_eq!(created.body["scope"], serde_json::Value::Null);
    assert!(created.body["created_at"].as_str().unwrap().ends_with('Z'));

    let me = app.get("/v1/me", Some(secret)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["role"], "editor");
    assert_eq!(me.body["credential"], "api_token");

    let listed = app.get("/v1/api-tokens", Some(&owner)).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["total"], 1);
    assert_eq!(listed.body["data"][0]["name"], "deploy");
    assert!(listed.body["data"][0].get("token").is_none(), "the secret is listed: {}", listed.text);
    assert!(!listed.text.contains(secret));
    assert!(listed.body["data"][0]["last_used_at"].as_str().is_some(), "{}", listed.text);
}

#[tokio::test]
async fn the_secret_is_stored_only_as_a_sha256_digest() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let secret = app.api_token(&owner, "viewer").await;
    let stored: String = match &app.db {
        signalbox_server::db::Db::Sqlite { read, .. } => {
            sqlx::query_scalar("SELECT token_hash FROM api_tokens").fetch_one(read).await.unwrap()
        }
        signalbox_server::db::Db::Postgres(pool) => {
            sqlx::query_scalar("SELECT token_hash FROM api_tokens").fetch_one(pool).await.unwrap()
        }
    };
    assert_eq!(stored.len(), 64);
    assert_ne!(stored, secret);
    assert_eq!(stored, signalbox_server::auth::token::hash_secret(&secret));
}

#[tokio::test]
async fn a_revoked_token_is_refused_at_once() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let created = app.post_json("/v1/api-tokens", Some(&owner), &json!({ "name": "ci", "role": "viewer" })).await;
    let secret = created.body["token"].as_str().unwrap();
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(app.get("/v1/me", Some(secret)).await.status, 200);

    assert_eq!(app.delete(&format!("/v1/api-tokens/{id}"), Some(&owner)).await.status, 204);
    let refused = app.get("/v1/me", Some(secret)).await;
    assert_problem(&refused, 401, None);
    assert_eq!(refused.header("www-authenticate"), Some("Bearer"));
    assert_problem(&app.delete(&format!("/v1/api-tokens/{id}"), Some(&owner)).await, 404, None);
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let expires_at = app.clock_now_plus(120);
    let created = app
        .post_json(
            "/v1/api-tokens",
            Some(&owner),
            &json!({ "name": "short", "role": "viewer", "expires_at": expires_at }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let secret = created.body["token"].as_str().unwrap();
    assert_eq!(app.get("/v1/me", Some(secret)).await.status, 200);
    app.clock.advance(std::time::Duration::from_secs(121));
    assert_problem(&app.get("/v1/me", Some(secret)).await, 401, None);
}

#[tokio::test]
async fn invalid_token_requests_name_the_field_and_write_nothing() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let past = "2001-01-01T00:00:00Z";
    let cases = [
        (json!({ "role": "viewer" }), "name"),
        (json!({ "name": "", "role": "viewer" }), "name"),
        (json!({ "name": "x" }), "role"),
        (json!({ "name": "x", "role": "root" }), "role"),
        (json!({ "name": "x", "role": "viewer", "scope": "ingest" }), "scope"),
        (json!({ "name": "x", "scope": "everything" }), "scope"),
        (json!({ "name": "x", "role": "viewer", "expires_at": "tomorrow" }), "expires_at"),
        (json!({ "name": "x", "role": "viewer", "expires_at": past }), "expires_at"),
        (json!({ "name": "x", "role": "viewer", "service_account_id": "nope" }), "service_account_id"),
        (json!({ "name": 7, "role": "viewer" }), "name"),
    ];
    for (body, field) in cases {
        let response = app.post_json("/v1/api-tokens", Some(&owner), &body).await;
        assert_problem(&response, 422, Some(field));
    }
    assert_eq!(app.count_rows("api_tokens").await, 0);
}

#[tokio::test]
async fn users_below_admin_see_and_revoke_only_their_own_tokens() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let owner_token =
        app.post_json("/v1/api-tokens", Some(&owner), &json!({ "name": "owner's", "role": "viewer" })).await;
    let (_, _, editor) = app.user_with_role(&owner, "editor").await;
    app.api_token(&editor, "editor").await;

    let editor_view = app.get("/v1/api-tokens", Some(&editor)).await;
    assert_eq!(editor_view.body["total"], 1, "{}", editor_view.text);
    let owner_view = app.get("/v1/api-tokens", Some(&owner)).await;
    assert_eq!(owner_view.body["total"], 2, "{}", owner_view.text);

    let owners_id = owner_token.body["id"].as_str().unwrap();
    assert_problem(&app.delete(&format!("/v1/api-tokens/{owners_id}"), Some(&editor)).await, 404, None);
    assert_eq!(app.count_rows("api_tokens").await, 2);
}

#[tokio::test]
async fn admins_mint_tokens_for_service_accounts() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let account =
        app.post_json("/v1/service-accounts", Some(&owner), &json!({ "name": "deployer", "role": "editor" })).await;
    assert_eq!(account.status, 201, "{}", account.text);
    let account_id = account.body["id"].as_str().unwrap();
    let created = app
        .post_json(
            "/v1/api-tokens",
            Some(&owner),
            &json!({ "name": "deploy", "role": "admin", "service_account_id": account_id }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["principal_id"], account_id);
    let me = app.get("/v1/me", Some(created.body["token"].as_str().unwrap())).await;
    assert_eq!(me.body["principal"]["kind"], "service_account");
    // The token asked for admin, but the account is an editor: it acts as an editor.
    assert_eq!(me.body["role"], "editor");

    // Deleting the account revokes its tokens at once.
    assert_eq!(app.delete(&format!("/v1/service-accounts/{account_id}"), Some(&owner)).await.status, 204);
    assert_eq!(app.get("/v1/me", Some(created.body["token"].as_str().unwrap())).await.status, 401);
}

#[tokio::test]
async fn last_used_at_is_written_at_most_once_a_minute() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let secret = app.api_token(&owner, "viewer").await;
    let last_used = || async { app.get("/v1/api-tokens", Some(&owner)).await.body["data"][0]["last_used_at"].clone() };
    assert_eq!(last_used().await, serde_json::Value::Null);

    app.get("/v1/me", Some(&secret)).await;
    let first = last_used().await;
    assert!(first.is_string(), "{first}");

    app.clock.advance(std::time::Duration::from_secs(59));
    app.get("/v1/me", Some(&secret)).await;
    assert_eq!(last_used().await, first, "written again within the minute");

    app.clock.advance(std::time::Duration::from_secs(1));
    app.get("/v1/me", Some(&secret)).await;
    let later = last_used().await;
    assert!(later.as_str().unwrap() > first.as_str().unwrap(), "{first} then {later}");
}

// Tokens are resolved from memory once used (auth::api_tokens::cache): every change to what a
// token may do must still take effect on the very next request.

#[tokio::test]
async fn a_used_token_follows_its_owners_role_change_and_disabling_at_once() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (user_id, _, admin_session) = app.user_with_role(&owner, "admin").await;
    let secret = app.api_token(&admin_session, "admin").await;
    assert_eq!(app.get("/v1/me", Some(&secret)).await.body["role"], "admin");

    let demoted = app.put_json(&format!("/v1/users/{user_id}"), Some(&owner), &json!({ "role": "viewer" })).await;
    assert_eq!(demoted.status, 200, "{}", demoted.text);
    assert_eq!(app.get("/v1/me", Some(&secret)).await.body["role"], "viewer", "the token acts with the new role");
    assert_problem(&app.get("/v1/webhooks", Some(&secret)).await, 403, None);

    let disabled = app.put_json(&format!("/v1/users/{user_id}"), Some(&owner), &json!({ "disabled": true })).await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    assert_problem(&app.get("/v1/me", Some(&secret)).await, 401, None);
}

#[tokio::test]
async fn a_used_token_of_a_removed_user_is_refused_at_once() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (user_id, _, session) = app.user_with_role(&owner, "editor").await;
    let secret = app.api_token(&session, "editor").await;
    assert_eq!(app.get("/v1/me", Some(&secret)).await.status, 200);

    assert_eq!(app.delete(&format!("/v1/users/{user_id}"), Some(&owner)).await.status, 204);
    assert_problem(&app.get("/v1/me", Some(&secret)).await, 401, None);
}

#[tokio::test]
async fn with_two_servers_on_postgres_a_token_revoked_on_one_is_refused_by_the_other_at_once() {
    let first = spawn_app().await;
    if !first.on_postgres() {
        return; // One SQLite file has one server.
    }
    let second = first.another_node().await;
    let owner = first.login_owner().await;
    let created = first.post_json("/v1/api-tokens", Some(&owner), &json!({ "name": "ci", "role": "viewer" })).await;
    let secret = created.body["token"].as_str().unwrap();
    // The second node has resolved the token now, and holds it.
    assert_eq!(second.get("/v1/me", Some(secret)).await.status, 200);

    let id = created.body["id"].as_str().unwrap();
    assert_eq!(first.delete(&format!("/v1/api-tokens/{id}"), Some(&owner)).await.status, 204);
    // Through NOTIFY: well before the cache's 5 s expiry.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
    while second.get("/v1/me", Some(secret)).await.status == 200 {
        assert!(tokio::time::Instant::now() < deadline, "the other node still accepts a revoked token");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_problem(&second.get("/v1/me", Some(secret)).await, 401, None);
}
