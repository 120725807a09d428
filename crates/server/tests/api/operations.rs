use std::path::PathBuf;

use serde_json::json;

use crate::helpers::{TestApp, assert_problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn healthz_and_readyz_answer_when_the_database_is_migrated() {
    let app = spawn_app().await;
    let health = app.get("/healthz", None).await;
    assert_eq!((health.status, health.body["status"].as_str()), (200, Some("ok")));
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    assert_eq!(ready.body["status"], "ready");
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite")).unwrap().count();
    assert_eq!(ready.body["schema_version"], migrations);
}

#[tokio::test]
async fn readyz_is_503_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.db.close().await;
    let ready = app.get("/readyz", None).await;
    crate::helpers::assert_problem(&ready, 503, None);
}

/// On SQLite (`None` on Postgres, which has no WAL of ours): a server that acknowledged a
/// signal and then had its WAL removed from under it, so that its next fsync finds no file and
/// fails; with the owner's session, the endpoint `alerts`'s token and the WAL's path.
async fn server_whose_wal_is_removed() -> Option<(TestApp, String, String, PathBuf)> {
    let app = spawn_app().await;
    let wal = PathBuf::from(format!("{}-wal", app.db.sqlite_path()?.display()));
    let owner = app.login_owner().await;
    let token = app.endpoint_with_token(&owner, "alerts", "ci").await;
    // The writer opens the WAL with its first commit.
    assert_eq!(app.send_signal("alerts", &token, &json!({"n": 1})).await.status, 202);
    std::fs::remove_file(&wal).unwrap();
    Some((app, owner, token, wal))
}

#[tokio::test]
async fn once_the_wal_cannot_be_synced_readyz_is_503_and_no_signal_is_acknowledged_until_restart() {
    let Some((app, owner, token, wal)) = server_whose_wal_is_removed().await else { return };
    assert_not_durable(&app.send_signal("alerts", &token, &json!({"n": 2})).await);
    // A file at the WAL's path again could be synced, but what the failure lost cannot be known.
    std::fs::write(&wal, b"").unwrap();
    assert_not_durable(&app.send_signal("alerts", &token, &json!({"n": 3})).await);
    // Typed ingest commits through the same syncer.
    let capture = json!({"signal_type": "custom_event", "source": "product", "event_name": "invited",
                         "occurred_at": "2026-05-26T14:30:00Z", "identity": {"email": "ada@example.com"}});
    assert_not_durable(&app.post_json("/signals", Some(&owner), &capture).await);
    let ready = app.get("/readyz", None).await;
    assert_problem(&ready, 503, None);
    let detail = ready.body["detail"].as_str().unwrap();
    assert!(detail.contains("no write is acknowledged until the server restarts"), "{detail}");
}

#[tokio::test]
async fn once_the_wal_cannot_be_synced_admin_writes_are_refused_with_503_and_nothing_is_stored() {
    let Some((app, owner, token, _)) = server_whose_wal_is_removed().await else { return };
    assert_not_durable(&app.send_signal("alerts", &token, &json!({"n": 2})).await);
    // The pool's connection still has the removed WAL open: without the guard its own fsync
    // succeeds and the endpoint would be acknowledged into a file no restart reads.
    assert_not_durable(&app.post_json("/v1/signal-endpoints", Some(&owner), &json!({"name": "later"})).await);
    assert_eq!(app.count_rows("signal_endpoints").await, 1);
}

/// A 503 problem saying that the write was not acknowledged until a restart.
fn assert_not_durable(response: &crate::helpers::ApiResponse) {
    assert_problem(response, 503, None);
    let detail = response.body["detail"].as_str().unwrap();
    assert!(detail.contains("no write is acknowledged until the server restarts"), "{detail}");
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_status() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    app.get("/v1/users/00000000-0000-7000-8000-000000000000", Some(&owner)).await;
    app.get("/v1/me", None).await;
    let metrics = app.get("/metrics", None).await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.header("content-type").unwrap().starts_with("text/plain"));
    let text = metrics.text;
    assert!(
        text.contains(r#"signalbox_http_requests_total{route="/v1/users/{id}",method="GET",status="404"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"signalbox_http_requests_total{route="/v1/me",method="GET",status="401"} 1"#), "{text}");
    assert!(text.contains("signalbox_http_request_duration_seconds_bucket"), "{text}");
    assert!(text.contains("signalbox_db_pool_connections"), "{text}");
    assert!(text.contains(&format!(r#"signalbox_build_info{{version="{}"}} 1"#, env!("CARGO_PKG_VERSION"))), "{text}");
}

#[tokio::test]
async fn shutdown_returns_cleanly_and_then_refuses_connections() {
    let mut app = spawn_app().await;
    assert_eq!(app.get("/healthz", None).await.status, 200);
    app.shut_down().await;
    assert!(app.client.get(app.url("/healthz")).send().await.is_err(), "still accepting after shutdown");
}

#[tokio::test]
async fn bootstrap_happens_once_across_restarts() {
    let app = spawn_app().await;
    assert_eq!(app.count_rows("workspaces").await, 1);
    assert_eq!(app.count_rows("principals").await, 1);
    let app = app.restart().await;
    assert_eq!(app.count_rows("workspaces").await, 1);
    assert_eq!(app.count_rows("principals").await, 1);
    app.login_owner().await;
}

#[tokio::test]
async fn a_request_that_takes_too_long_gets_a_503_problem() {
    // Expensive password hashing makes the login slower than the 50 ms limit, which the
    // other requests here stay well within even on a loaded machine (at 5 ms, `/metrics`
    // itself sometimes got the 503 under a Postgres run).
    let app = spawn_app_with(|c| {
        c.request_timeout = std::time::Duration::from_millis(50);
        c.password_hashing.argon2_memory_kib = 128 * 1024;
        c.password_hashing.argon2_iterations = 3;
    })
    .await;
    let body = serde_json::json!({ "email": crate::helpers::OWNER_EMAIL, "password": crate::helpers::OWNER_PASSWORD });
    let response = app.post_json("/v1/auth/login", None, &body).await;
    crate::helpers::assert_problem(&response, 503, None);
    // The answer the time limit gave is still tagged and counted like any other.
    assert_eq!(response.header("x-request-id").map(str::len), Some(36));
    let metrics = app.get("/metrics", None).await.text;
    assert!(
        metrics.contains(r#"signalbox_http_requests_total{route="/v1/auth/login",method="POST",status="503"} 1"#),
        "{metrics}"
    );
    assert_eq!(app.get("/healthz", None).await.status, 200);
}

#[tokio::test]
async fn housekeeping_deletes_old_sessions_and_login_failures_only() {
    use signalbox_core::Clock;
    use signalbox_server::ops::maintenance::{Pruned, Retention, prune_once};
    let app = spawn_app_with(|c| c.login_max_failures = 10).await;
    let ended = app.login_owner().await;
    app.post_json("/v1/auth/logout", Some(&ended), &serde_json::json!({})).await;
    let wrong = serde_json::json!({ "email": crate::helpers::OWNER_EMAIL, "password": "not the password" });
    app.post_json("/v1/auth/login", None, &wrong).await;

    // Nothing is old enough yet.
    let window = Retention::from_config(&app.config);
    assert_eq!(prune_once(&app.db, app.clock.now(), window).await.unwrap(), Pruned::default());

    app.clock.advance(std::time::Duration::from_secs(25 * 3600));
    let pruned = prune_once(&app.db, app.clock.now(), window).await.unwrap();
    // One session and one failure row each for the email and for the address.
    assert_eq!(pruned, Pruned { sessions: 1, login_failures: 2, ..Pruned::default() });
    assert_eq!(app.count_rows("sessions").await, 0);
    assert_eq!(app.count_rows("login_failures").await, 0);
    let current = app.login_owner().await;
    assert_eq!(prune_once(&app.db, app.clock.now(), window).await.unwrap(), Pruned::default());
    assert_eq!(app.get("/v1/me", Some(&current)).await.status, 200);
}
