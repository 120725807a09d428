use std::time::Duration;

use serde_json::json;

use crate::helpers::{OWNER_EMAIL, OWNER_PASSWORD, assert_problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn login_with_the_right_password_returns_a_session_for_the_workspace() {
    let app = spawn_app().await;
    let response =
        app.post_json("/v1/auth/login", None, &json!({ "email": OWNER_EMAIL, "password": OWNER_PASSWORD })).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["role"], "owner");
    assert!(response.body["workspace_id"].is_string());
    let expires_at = response.body["expires_at"].as_str().unwrap();
    assert!(expires_at.ends_with('Z') && expires_at.split('.').nth(1).unwrap().len() == 7, "{expires_at}");

    let token = response.body["token"].as_str().unwrap();
    let me = app.get("/v1/me", Some(token)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["principal"]["email"], OWNER_EMAIL);
    assert_eq!(me.body["workspace"]["id"], response.body["workspace_id"]);
    assert_eq!(me.body["role"], "owner");
    assert_eq!(me.body["credential"], "session");
}

#[tokio::test]
async fn emails_are_matched_case_insensitively() {
    let app = spawn_app().await;
    let response = app
        .post_json("/v1/auth/login", None, &json!({ "email": "  OWNER@Example.TEST ", "password": OWNER_PASSWORD }))
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_401() {
    let app = spawn_app().await;
    let wrong_password =
        app.post_json("/v1/auth/login", None, &json!({ "email": OWNER_EMAIL, "password": "not the password" })).await;
    let unknown_email = app
        .post_json("/v1/auth/login", None, &json!({ "email": "nobody@example.test", "password": "not the password" }))
        .await;
    assert_problem(&wrong_password, 401, None);
    assert_problem(&unknown_email, 401, None);
    assert_eq!(wrong_password.body["detail"], unknown_email.body["detail"]);
    assert_eq!(app.count_rows("sessions").await, 0);
}

#[tokio::test]
async fn after_five_failures_for_an_email_logins_get_429_with_retry_after() {
    let app = spawn_app_with(|c| c.login_max_failures = 5).await;
    let wrong = json!({ "email": OWNER_EMAIL, "password": "not the password" });
    for _ in 0..5 {
        assert_eq!(app.post_json("/v1/auth/login", None, &wrong).await.status, 401);
    }
    // Even the right password is refused while throttled: the guesser must not learn it.
    let right = json!({ "email": OWNER_EMAIL, "password": OWNER_PASSWORD });
    let throttled = app.post_json("/v1/auth/login", None, &right).await;
    assert_problem(&throttled, 429, None);
    let retry_after: u64 = throttled.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=15 * 60).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(app.count_rows("sessions").await, 0);

    // Once the window has passed, the right password works again.
    app.clock.advance(Duration::from_secs(15 * 60 + 1));
    assert_eq!(app.post_json("/v1/auth/login", None, &right).await.status, 200);
}

#[tokio::test]
async fn failures_are_also_counted_per_address_across_emails() {
    let app = spawn_app_with(|c| c.login_max_failures = 3).await;
    for n in 0..3 {
        let body = json!({ "email": format!("guess{n}@example.test"), "password": "not the password" });
        assert_eq!(app.post_json("/v1/auth/login", None, &body).await.status, 401);
    }
    let right = json!({ "email": OWNER_EMAIL, "password": OWNER_PASSWORD });
    assert_problem(&app.post_json("/v1/auth/login", None, &right).await, 429, None);
}

#[tokio::test]
async fn throttling_survives_a_restart_because_it_is_counted_in_the_database() {
    let app = spawn_app_with(|c| c.login_max_failures = 2).await;
    let wrong = json!({ "email": OWNER_EMAIL, "password": "not the password" });
    for _ in 0..2 {
        assert_eq!(app.post_json("/v1/auth/login", None, &wrong).await.status, 401);
    }
    let app = app.restart().await;
    assert_eq!(app.post_json("/v1/auth/login", None, &wrong).await.status, 429);
}

#[tokio::test]
async fn logout_ends_the_session_at_once() {
    let app = spawn_app().await;
    let token = app.login_owner().await;
    assert_eq!(app.get("/v1/me", Some(&token)).await.status, 200);
    let logout = app.post_json("/v1/auth/logout", Some(&token), &json!({})).await;
    assert_eq!(logout.status, 204, "{}", logout.text);
    assert_problem(&app.get("/v1/me", Some(&token)).await, 401, None);
}

#[tokio::test]
async fn a_session_expires_after_its_lifetime_with_zero_leeway() {
    let app = spawn_app_with(|c| c.jwt_lifetime = Duration::from_secs(600)).await;
    let token = app.login_owner().await;
    app.clock.advance(Duration::from_secs(599));
    assert_eq!(app.get("/v1/me", Some(&token)).await.status, 200);
    app.clock.advance(Duration::from_secs(1));
    let expired = app.get("/v1/me", Some(&token)).await;
    assert_problem(&expired, 401, None);
    assert_eq!(expired.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn a_tampered_or_foreign_jwt_is_refused() {
    let app = spawn_app().await;
    let token = app.login_owner().await;
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert_problem(&app.get("/v1/me", Some(&tampered)).await, 401, None);
    assert_problem(&app.get("/v1/me", Some("not.a.jwt")).await, 401, None);
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_and_required() {
    let app = spawn_app().await;
    let token = app.login_owner().await;
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let request = app.client.get(app.url("/v1/me")).header("authorization", format!("{scheme} {token}"));
        assert_eq!(app.send(request).await.status, 200, "{scheme}");
    }
    let raw = app.client.get(app.url("/v1/me")).header("authorization", token.clone());
    assert_problem(&app.send(raw).await, 401, None);
    assert_problem(&app.get("/v1/me", None).await, 401, None);
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_other_sessions() {
    let app = spawn_app().await;
    let this_session = app.login_owner().await;
    let other_session = app.login_owner().await;

    let wrong = app
        .put_json(
            "/v1/me/password",
            Some(&this_session),
            &json!({ "current_password": "not the password", "new_password": "a brand new password" }),
        )
        .await;
    assert_problem(&wrong, 422, Some("current_password"));

    let short = app
        .put_json(
            "/v1/me/password",
            Some(&this_session),
            &json!({ "current_password": OWNER_PASSWORD, "new_password": "short" }),
        )
        .await;
    assert_problem(&short, 422, Some("new_password"));

    let changed = app
        .put_json(
            "/v1/me/password",
            Some(&this_session),
            &json!({ "current_password": OWNER_PASSWORD, "new_password": "a brand new password" }),
        )
        .await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    assert_eq!(app.get("/v1/me", Some(&this_session)).await.status, 200);
    assert_eq!(app.get("/v1/me", Some(&other_session)).await.status, 401);
    let old = app.post_json("/v1/auth/login", None, &json!({ "email": OWNER_EMAIL, "password": OWNER_PASSWORD })).await;
    assert_eq!(old.status, 401);
    app.login(OWNER_EMAIL, "a brand new password").await;
}

#[tokio::test]
async fn login_names_the_invalid_field() {
    let app = spawn_app().await;
    let before = app.count_rows("sessions").await;
    assert_problem(
        &app.post_json("/v1/auth/login", None, &json!({ "email": "not-an-email", "password": "x" })).await,
        422,
        Some("email"),
    );
    assert_problem(
        &app.post_json("/v1/auth/login", None, &json!({ "email": OWNER_EMAIL })).await,
        422,
        Some("password"),
    );
    assert_problem(
        &app.post_json(
            "/v1/auth/login",
            None,
            &json!({ "email": OWNER_EMAIL, "password": OWNER_PASSWORD, "workspace_id": "nope" }),
        )
        .await,
        422,
        Some("workspace_id"),
    );
    assert_eq!(app.count_rows("sessions").await, before);
}
