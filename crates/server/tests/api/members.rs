use serde_json::json;

use crate::helpers::{OWNER_EMAIL, TEST_PASSWORD, assert_problem, spawn_app};

#[tokio::test]
async fn an_owner_adds_a_user_who_can_then_log_in() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let created = app
        .post_json(
            "/v1/users",
            Some(&owner),
            &json!({ "email": "Ada@Example.test", "role": "editor", "name": "Ada", "password": TEST_PASSWORD }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["email"], "ada@example.test");
    assert_eq!(created.body["role"], "editor");
    assert_eq!(created.body["kind"], "user");
    assert_eq!(created.body["disabled"], false);
    assert!(created.body.get("initial_password").is_none());
    let session = app.login("ada@example.test", TEST_PASSWORD).await;
    assert_eq!(app.get("/v1/me", Some(&session)).await.body["role"], "editor");

    let id = created.body["id"].as_str().unwrap();
    let fetched = app.get(&format!("/v1/users/{id}"), Some(&owner)).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body["name"], "Ada");
    let listed = app.get("/v1/users", Some(&owner)).await;
    assert_eq!(listed.body["total"], 2);
}

#[tokio::test]
async fn a_user_added_without_a_password_gets_a_generated_one_shown_once() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let created =
        app.post_json("/v1/users", Some(&owner), &json!({ "email": "bo@example.test", "role": "viewer" })).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let password = created.body["initial_password"].as_str().unwrap();
    assert!(password.len() >= 12);
    app.login("bo@example.test", password).await;
    let id = created.body["id"].as_str().unwrap();
    let fetched = app.get(&format!("/v1/users/{id}"), Some(&owner)).await;
    assert!(fetched.body.get("initial_password").is_none());
}

#[tokio::test]
async fn adding_a_member_twice_is_a_conflict() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let body = json!({ "email": OWNER_EMAIL, "role": "viewer" });
    assert_problem(&app.post_json("/v1/users", Some(&owner), &body).await, 409, None);
    assert_eq!(app.count_rows("memberships").await, 1);
}

#[tokio::test]
async fn invalid_users_name_the_field_and_write_nothing() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let cases = [
        (json!({ "role": "viewer" }), "email"),
        (json!({ "email": "not an email", "role": "viewer" }), "email"),
        (json!({ "email": "x@example.test" }), "role"),
        (json!({ "email": "x@example.test", "role": "superuser" }), "role"),
        (json!({ "email": "x@example.test", "role": "viewer", "password": "short" }), "password"),
        (json!({ "email": "x@example.test", "role": "viewer", "name": "" }), "name"),
        (json!({ "email": OWNER_EMAIL, "role": "viewer", "password": TEST_PASSWORD }), "password"),
    ];
    for (body, field) in cases {
        assert_problem(&app.post_json("/v1/users", Some(&owner), &body).await, 422, Some(field));
    }
    assert_eq!(app.count_rows("principals").await, 1);
    assert_eq!(app.count_rows("memberships").await, 1);
}

#[tokio::test]
async fn the_last_owner_cannot_be_demoted_disabled_or_removed() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let me = app.get("/v1/me", Some(&owner)).await;
    let owner_id = me.body["principal"]["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/users/{owner_id}");
    assert_problem(&app.put_json(&path, Some(&owner), &json!({ "role": "admin" })).await, 409, None);
    assert_problem(&app.put_json(&path, Some(&owner), &json!({ "disabled": true })).await, 409, None);
    assert_problem(&app.delete(&path, Some(&owner)).await, 409, None);
    assert_eq!(app.get(&path, Some(&owner)).await.body["role"], "owner");

    // With a second owner, the first may step down.
    let (second_id, _, second) = app.user_with_role(&owner, "owner").await;
    let stepped_down = app.put_json(&path, Some(&owner), &json!({ "role": "admin" })).await;
    assert_eq!(stepped_down.status, 200, "{}", stepped_down.text);
    // Now the second is the last owner.
    assert_problem(&app.delete(&format!("/v1/users/{second_id}"), Some(&second)).await, 409, None);
}

#[tokio::test]
async fn removing_a_user_ends_their_sessions_and_tokens_in_the_workspace() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (id, email, session) = app.user_with_role(&owner, "editor").await;
    let token = app.api_token(&session, "editor").await;
    assert_eq!(app.delete(&format!("/v1/users/{id}"), Some(&owner)).await.status, 204);
    assert_problem(&app.get("/v1/me", Some(&session)).await, 401, None);
    assert_problem(&app.get("/v1/me", Some(&token)).await, 401, None);
    assert_problem(&app.get(&format!("/v1/users/{id}"), Some(&owner)).await, 404, None);
    // The account is not a member anywhere, so it cannot log in.
    let login = app.post_json("/v1/auth/login", None, &json!({ "email": email, "password": TEST_PASSWORD })).await;
    assert_problem(&login, 401, None);
}

#[tokio::test]
async fn invalid_member_updates_are_refused() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (id, _, _) = app.user_with_role(&owner, "editor").await;
    let path = format!("/v1/users/{id}");
    assert_problem(&app.put_json(&path, Some(&owner), &json!({ "role": null })).await, 422, Some("role"));
    assert_problem(&app.put_json(&path, Some(&owner), &json!({ "role": "boss" })).await, 422, Some("role"));
    assert_problem(&app.put_json(&path, Some(&owner), &json!({ "disabled": "yes" })).await, 422, Some("disabled"));
    assert_eq!(app.get(&path, Some(&owner)).await.body["role"], "editor");
    // An absent field is unchanged.
    let unchanged = app.put_json(&path, Some(&owner), &json!({})).await;
    assert_eq!((unchanged.status, unchanged.body["role"].as_str()), (200, Some("editor")));
    let missing = "/v1/users/00000000-0000-7000-8000-000000000000";
    assert_problem(&app.put_json(missing, Some(&owner), &json!({ "role": "viewer" })).await, 404, None);
}

#[tokio::test]
async fn service_accounts_are_created_listed_and_deleted_by_admins() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let (_, _, admin) = app.user_with_role(&owner, "admin").await;
    let created = app.post_json("/v1/service-accounts", Some(&admin), &json!({ "name": "ci", "role": "editor" })).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["kind"], "service_account");
    assert_eq!(created.body["email"], serde_json::Value::Null);
    let listed = app.get("/v1/service-accounts", Some(&admin)).await;
    assert_eq!(listed.body["total"], 1);
    // Service accounts are not users.
    let id = created.body["id"].as_str().unwrap();
    assert_problem(&app.get(&format!("/v1/users/{id}"), Some(&admin)).await, 404, None);
    assert_eq!(app.get(&format!("/v1/service-accounts/{id}"), Some(&admin)).await.status, 200);

    let above = app.post_json("/v1/service-accounts", Some(&admin), &json!({ "name": "boss", "role": "owner" })).await;
    assert_problem(&above, 403, None);
    for (body, field) in [(json!({ "role": "viewer" }), "name"), (json!({ "name": "x", "role": "god" }), "role")] {
        assert_problem(&app.post_json("/v1/service-accounts", Some(&admin), &body).await, 422, Some(field));
    }
    assert_eq!(app.count_rows("principals").await, 3);

    assert_eq!(app.delete(&format!("/v1/service-accounts/{id}"), Some(&admin)).await.status, 204);
    assert_eq!(app.get("/v1/service-accounts", Some(&admin)).await.body["total"], 0);
}

#[tokio::test]
async fn a_service_account_with_the_owner_role_does_not_count_as_the_last_owner() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let account =
        app.post_json("/v1/service-accounts", Some(&owner), &json!({ "name": "root-bot", "role": "owner" })).await;
    assert_eq!(account.status, 201, "{}", account.text);
    let owner_id = app.get("/v1/me", Some(&owner)).await.body["principal"]["id"].as_str().unwrap().to_owned();
    let demote = app.put_json(&format!("/v1/users/{owner_id}"), Some(&owner), &json!({ "role": "admin" })).await;
    assert_problem(&demote, 409, None);
    // The service account itself may go at any time.
    let id = account.body["id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("/v1/service-accounts/{id}"), Some(&owner)).await.status, 204);
}
