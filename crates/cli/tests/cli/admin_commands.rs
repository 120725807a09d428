//! The operator commands that work on the database directly: `migrate`, `user`, `token`.

use crate::support::{FAST_HASHING, OWNER_EMAIL, OWNER_PASSWORD, Sandbox};

/// `signalbox ARGS --argon2-… < stdin` in `sandbox`, asserting success; returns stdout.
fn run_hashing(sandbox: &Sandbox, args: &[&str], stdin: &str) -> String {
    let mut args = args.to_vec();
    args.extend(FAST_HASHING);
    sandbox.run_with(&args, &[], Some(stdin)).succeeded().to_owned()
}

#[tokio::test]
async fn migrate_creates_a_new_sqlite_database_and_prints_the_schema_version_serve_then_reports() {
    let sandbox = Sandbox::new();

    let outcome = sandbox.run(&["migrate", "--database-url", "sqlite://data/new.db"]);

    let stdout = outcome.succeeded();
    let version: i64 = stdout
        .trim()
        .strip_prefix("schema at version ")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("unexpected migrate output {stdout:?}"));
    assert!(sandbox.file("data/new.db").is_file(), "migrate did not create data/new.db");
    let server = sandbox.serve(&["--database-url", "sqlite://data/new.db"]).await;
    let readiness = server.api().get("/readyz", None).await;
    assert_eq!(readiness.body["schema_version"], version, "{}", readiness.text);
}

#[test]
fn user_create_before_the_first_serve_says_to_start_serve_once() {
    let sandbox = Sandbox::new();
    sandbox.run(&["migrate"]).succeeded();
    let mut args = vec!["user", "create", "--email", "x@example.test", "--role", "admin", "--password-stdin"];
    args.extend(FAST_HASHING);

    let outcome = sandbox.run_with(&args, &[], Some("a long enough password\n"));

    let line = outcome.refused_in_one_line();
    assert!(line.contains("signalbox serve"), "{line}");
}

#[tokio::test]
async fn user_create_adds_an_admin_who_can_log_in_to_the_running_server() {
    let sandbox = Sandbox::new();
    let server = sandbox.serve(&[]).await;

    let stdout = run_hashing(
        &sandbox,
        &["user", "create", "--email", "x@example.test", "--role", "admin", "--password-stdin"],
        "a password from stdin\n",
    );

    assert!(stdout.contains("is admin of workspace"), "{stdout:?}");
    assert!(!stdout.contains("a password from stdin"), "the password was echoed: {stdout:?}");
    let login = server.api().login("x@example.test", "a password from stdin").await;
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.body["role"], "admin", "{}", login.text);
}

#[tokio::test]
async fn user_create_adds_an_existing_account_to_a_workspace_without_touching_its_password() {
    let sandbox = Sandbox::new();
    let server = sandbox.serve(&[]).await;
    let owner = server.api().session(OWNER_EMAIL, OWNER_PASSWORD).await;
    let second = server.api().post_json("/v1/workspaces", Some(&owner), &serde_json::json!({ "name": "Second" })).await;
    let second_id = second.body["id"].as_str().expect("a workspace id").to_owned();
    let ada = serde_json::json!({ "email": "ada@example.test", "role": "editor", "password": "ada's own password" });
    assert_eq!(server.api().post_json("/v1/users", Some(&owner), &ada).await.status, 201);

    let stdout = run_hashing(
        &sandbox,
        &["user", "create", "--email", "ada@example.test", "--role", "viewer", "--workspace-id", &second_id],
        "",
    );
    assert!(stdout.contains("is viewer of workspace"), "{stdout:?}");
    assert!(!stdout.contains("password"), "a password that was never set was printed: {stdout:?}");

    let mut args = vec!["user", "create", "--email", "ada@example.test", "--role", "viewer", "--password-stdin"];
    args.extend(FAST_HASHING);
    let refused = sandbox.run_with(&args, &[], Some("a different password\n"));
    assert!(refused.refused_in_one_line().contains("keeps its own password"));
    server.api().session("ada@example.test", "ada's own password").await;
}

#[tokio::test]
async fn user_set_password_lets_the_owner_in_with_the_new_password_only_and_ends_their_sessions() {
    let sandbox = Sandbox::new();
    let server = sandbox.serve(&[]).await;
    let api = server.api();
    let old_session = api.session(OWNER_EMAIL, OWNER_PASSWORD).await;
    let new_password = "a brand new passphrase";

    let stdout = run_hashing(
        &sandbox,
        &["user", "set-password", "--email", OWNER_EMAIL, "--password-stdin"],
        &format!("{new_password}\n"),
    );

    assert!(stdout.contains(OWNER_EMAIL), "{stdout:?}");
    assert_eq!(api.login(OWNER_EMAIL, new_password).await.status, 200, "the new password does not work");
    assert_eq!(api.login(OWNER_EMAIL, OWNER_PASSWORD).await.status, 401, "the old password still works");
    let me = api.get("/v1/me", Some(&old_session)).await;
    assert_eq!(me.status, 401, "a session from before the reset still works: {}", me.text);
}

#[tokio::test]
async fn token_create_prints_an_sbx_token_that_acts_with_the_requested_role() {
    let sandbox = Sandbox::new();
    let server = sandbox.serve(&[]).await;

    let outcome = sandbox.run(&["token", "create", "--email", OWNER_EMAIL, "--name", "ci", "--role", "viewer"]);

    let token = outcome.succeeded().trim();
    assert!(token.starts_with("sbx_") && !token.contains(char::is_whitespace), "{token:?}");
    let me = server.api().get("/v1/me", Some(token)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["role"], "viewer", "{}", me.text);
    assert_eq!(me.body["credential"], "api_token", "{}", me.text);
    assert_eq!(me.body["principal"]["email"], OWNER_EMAIL, "{}", me.text);
}
