//! `signalbox serve`: first start in an empty directory, readiness, and shutdown.

use std::os::unix::fs::PermissionsExt;

use crate::support::{OWNER_EMAIL, OWNER_PASSWORD, Sandbox, free_port, serve_args};

#[tokio::test]
async fn serve_in_an_empty_directory_creates_the_database_and_a_private_key_file_and_becomes_ready() {
    let sandbox = Sandbox::new();
    let port = free_port();
    let mut server = sandbox.spawn_server(&serve_args(port), &[], port);

    let readiness = server.ready().await;

    assert_eq!(readiness["status"], "ready", "{readiness}");
    assert_eq!(readiness["database"], "sqlite", "{readiness}");
    assert!(readiness["schema_version"].as_i64().is_some_and(|v| v >= 1), "{readiness}");
    assert!(sandbox.file("signalbox.db").is_file(), "no signalbox.db in the working directory");
    let key = std::fs::metadata(sandbox.file("signalbox.key")).expect("signalbox.key was created");
    assert_eq!(key.permissions().mode() & 0o777, 0o600, "the key file must be private to its owner");
    // The database holds password and token hashes: private too, whatever the umask.
    for file in ["signalbox.db", "signalbox.db-wal"] {
        let mode = std::fs::metadata(sandbox.file(file)).expect(file).permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file} is readable by others");
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[tokio::test]
async fn serve_tunes_the_allocators_but_keeps_a_value_the_operator_chose() {
    let sandbox = Sandbox::new();
    let port = free_port();
    let mut server = sandbox.spawn_server(&serve_args(port), &[("MALLOC_ARENA_MAX", "4")], port);
    server.ready().await;

    let environ = std::fs::read(format!("/proc/{}/environ", server.pid())).expect("the server's environment");
    let variables: Vec<String> =
        environ.split(|byte| *byte == 0).map(|v| String::from_utf8_lossy(v).into_owned()).collect();
    assert!(variables.iter().any(|v| v == "MALLOC_ARENA_MAX=4"), "the operator's value: {variables:?}");
    assert!(variables.iter().any(|v| v == "MALLOC_MMAP_THRESHOLD_=1048576"), "{variables:?}");
    assert!(variables.iter().any(|v| v == "MIMALLOC_PURGE_DELAY=0"), "{variables:?}");
    assert!(variables.iter().any(|v| v == "MIMALLOC_ARENA_EAGER_COMMIT=0"), "{variables:?}");
}

#[tokio::test]
async fn sigterm_makes_a_running_server_exit_with_status_zero() {
    let sandbox = Sandbox::new();
    let mut server = sandbox.serve(&[]).await;
    // An idle keep-alive connection must not hold the shutdown up.
    let api = server.api();
    api.session(OWNER_EMAIL, OWNER_PASSWORD).await;

    let status = server.terminate();

    assert_eq!(status.code(), Some(0), "exit status after SIGTERM; stderr:\n{}", server.stderr());
    let log = server.stderr();
    assert!(!log.contains("did not finish in time"), "shutdown waited for the grace period:\n{log}");
    assert!(api.try_get("/healthz", None).await.is_err(), "something still answers on port {}", server.port());
}
