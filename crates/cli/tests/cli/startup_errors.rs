//! Configuration and database problems stop the binary with one line that names them, never a
//! panic or a stack of log lines.

use std::time::Duration;

use crate::support::{FAST_HASHING, Outcome, Sandbox, free_port, serve_args};

/// `signalbox serve` on a free port with `extra` arguments, run until it exits.
fn serve(sandbox: &Sandbox, extra: &[&str]) -> Outcome {
    let mut args = serve_args(free_port());
    args.extend(extra.iter().map(|a| a.to_string()));
    sandbox.run(&args)
}

#[test]
fn an_unsupported_database_url_scheme_is_refused_in_one_line_naming_the_scheme() {
    let outcome = serve(&Sandbox::new(), &["--database-url", "mysql://x/y"]);

    let line = outcome.refused_in_one_line();

    assert!(line.contains("\"mysql\""), "{line}");
}

#[test]
fn an_unreachable_postgres_is_refused_in_one_line_once_the_connect_timeout_passes() {
    let sandbox = Sandbox::new();
    let url = "postgres://postgres@127.0.0.1:1/nope";
    let key = "ab".repeat(32);

    let outcome = serve(&sandbox, &["--database-url", url, "--database-connect-timeout", "2s", "--secret-key", &key]);

    let line = outcome.refused_in_one_line();
    assert!(line.contains("cannot connect") && line.contains("127.0.0.1:1/nope"), "{line}");
    assert!(line.to_lowercase().contains("refused"), "the cause is lost: {line}");
    assert!(!sandbox.path().join("signalbox.key").exists(), "a failed start left a key file");
    assert!(outcome.elapsed < Duration::from_secs(20), "took {:?} despite a 2 s connect timeout", outcome.elapsed);
}

#[test]
fn postgres_without_a_shared_server_key_is_refused_before_connecting() {
    let sandbox = Sandbox::new();

    let outcome = serve(&sandbox, &["--database-url", "postgres://postgres@127.0.0.1:1/nope"]);

    let line = outcome.refused_in_one_line();
    assert!(line.contains("--secret-key"), "{line}");
    assert!(!sandbox.path().join("signalbox.key").exists());
}

#[test]
fn an_unparseable_listen_address_is_refused_in_one_line() {
    let outcome = Sandbox::new().run(&["serve", "--listen", "nowhere:port"]);

    let line = outcome.refused_in_one_line();

    assert!(line.contains("--listen") && line.contains("nowhere:port"), "{line}");
}

#[test]
fn a_listen_address_already_in_use_stops_serve_with_an_error_naming_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a port");
    let address = taken.local_addr().expect("a bound address").to_string();
    let mut args = vec!["serve", "--listen", &address];
    args.extend(FAST_HASHING);

    let outcome = Sandbox::new().run(&args);

    assert!(outcome.status.code().is_some_and(|code| code != 0), "{outcome:#?}");
    assert!(!outcome.stderr.contains("panicked"), "{outcome:#?}");
    let last = outcome.stderr.lines().rfind(|line| !line.trim().is_empty()).unwrap_or_default();
    assert!(last.starts_with("error:") && last.contains(&address), "{}", outcome.stderr);
}

#[test]
fn a_malformed_config_file_is_refused_in_one_line_naming_the_file_and_line() {
    let sandbox = Sandbox::new();
    sandbox.write("bad.toml", "log_level = \"info\"\nlisten = \n");

    let outcome = serve(&sandbox, &["--config", "bad.toml"]);

    let line = outcome.refused_in_one_line();
    assert!(line.contains("bad.toml:2"), "{line}");
}

#[test]
fn a_config_file_with_an_unknown_key_is_refused_in_one_line_naming_the_key() {
    let sandbox = Sandbox::new();
    sandbox.write("typo.toml", "lisen = \"127.0.0.1:1\"\n");

    let outcome = serve(&sandbox, &["--config", "typo.toml"]);

    let line = outcome.refused_in_one_line();
    assert!(line.contains("typo.toml") && line.contains("\"lisen\""), "{line}");
}

#[test]
fn a_config_file_value_is_checked_like_the_flag_it_stands_for() {
    let sandbox = Sandbox::new();
    sandbox.write("signalbox.toml", "jwt_leeway = \"soon\"\n");

    let outcome = serve(&sandbox, &["--config", "signalbox.toml"]);

    let line = outcome.refused_in_one_line();
    assert!(line.contains("--jwt-leeway") && line.contains("soon"), "{line}");
}

#[test]
fn a_body_limit_of_zero_is_refused_in_one_line_naming_the_option() {
    let outcome = serve(&Sandbox::new(), &["--max-body-bytes", "0"]);

    let line = outcome.refused_in_one_line();
    assert!(line.contains("--max-body-bytes") && line.contains("at least 1"), "{line}");
}

#[test]
fn a_missing_config_file_is_refused_in_one_line_naming_it() {
    let outcome = serve(&Sandbox::new(), &["--config", "absent.toml"]);

    let line = outcome.refused_in_one_line();

    assert!(line.contains("absent.toml"), "{line}");
}

/// Records a migration newer than any this binary carries, as a newer signalbox would.
async fn stamp_future_migration(database: &std::path::Path) {
    use sqlx::Connection;
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(database);
    let mut connection = sqlx::SqliteConnection::connect_with(&options).await.expect("opening the database");
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99999999999999, 'from a newer signalbox', TRUE, x'00', 0)",
    )
    .execute(&mut connection)
    .await
    .expect("recording a future migration");
    connection.close().await.expect("closing the database");
}

#[tokio::test]
async fn a_database_whose_schema_is_newer_than_the_binary_is_refused_in_one_line() {
    let sandbox = Sandbox::new();
    sandbox.run(&["migrate"]).succeeded();
    stamp_future_migration(&sandbox.file("signalbox.db")).await;

    let by_migrate = sandbox.run(&["migrate"]);
    let by_serve = serve(&sandbox, &[]);

    let line = by_migrate.refused_in_one_line();
    assert!(line.contains("newer") && line.contains("99999999999999"), "migrate: {line}");
    let line = by_serve.refused_in_one_line();
    assert!(line.contains("newer") && line.contains("99999999999999"), "serve: {line}");
}
