//! `signalbox backup`: a consistent SQLite copy that a new server can start from.

use crate::support::{OWNER_EMAIL, OWNER_PASSWORD, Sandbox};

#[tokio::test]
async fn a_backup_taken_from_a_running_server_starts_a_new_server_with_the_same_owner_and_sessions() {
    let original = Sandbox::new();
    let mut server = original.serve(&[]).await;
    let session = server.api().session(OWNER_EMAIL, OWNER_PASSWORD).await;

    let outcome = original.run(&["backup", "--to", "snapshot.db"]);

    assert!(outcome.succeeded().contains("snapshot.db"), "{outcome:#?}");
    assert!(original.file("snapshot.db").is_file(), "no snapshot.db was written");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(original.file("snapshot.db")).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the backup is readable by others");
    assert_eq!(server.terminate().code(), Some(0));

    let restored = Sandbox::new();
    std::fs::copy(original.file("snapshot.db"), restored.file("signalbox.db")).expect("copying the backup");
    std::fs::copy(original.file("signalbox.key"), restored.file("signalbox.key")).expect("copying the key");
    let server = restored.serve(&["--admin-password", "not the original password"]).await;
    let api = server.api();
    let readiness = api.get("/readyz", None).await;
    assert_eq!(readiness.body["status"], "ready", "{}", readiness.text);
    api.session(OWNER_EMAIL, OWNER_PASSWORD).await;
    let me = api.get("/v1/me", Some(&session)).await;
    assert_eq!(me.status, 200, "a session from before the backup does not work on the copy: {}", me.text);
}

#[tokio::test]
async fn backup_refuses_to_overwrite_an_existing_file_in_one_line() {
    let sandbox = Sandbox::new();
    let mut server = sandbox.serve(&[]).await;
    server.terminate();
    sandbox.write("precious.db", "keep me");

    let outcome = sandbox.run(&["backup", "--to", "precious.db"]);

    let line = outcome.refused_in_one_line();
    assert!(line.contains("precious.db") && line.contains("exists"), "{line}");
    let contents = std::fs::read_to_string(sandbox.file("precious.db")).expect("the file is still there");
    assert_eq!(contents, "keep me");
}

/// Runs only with `SIGNALBOX_TEST_POSTGRES=postgres://…` set; the database need not be migrated.
#[test]
fn backup_against_postgres_points_to_pg_dump_in_one_line() {
    let Ok(url) = std::env::var("SIGNALBOX_TEST_POSTGRES") else {
        return;
    };
    let sandbox = Sandbox::new();

    let outcome = sandbox.run(&["backup", "--database-url", &url, "--to", "dump.db"]);

    let line = outcome.refused_in_one_line();
    assert!(line.contains("pg_dump"), "{line}");
    assert!(!sandbox.file("dump.db").exists(), "a file was written");
}
