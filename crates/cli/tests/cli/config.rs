//! Where options come from: flag > environment > config file > default.

use crate::support::{FAST_HASHING, Sandbox, free_port};

/// `signalbox serve --config signalbox.toml` (with `listen = "127.0.0.1:<file_port>"`) plus
/// `flags` and `envs`; asserts it becomes ready on `expected_port`.
async fn serves_on(file_port: u16, flags: &[&str], envs: &[(&str, &str)], expected_port: u16) {
    let sandbox = Sandbox::new();
    sandbox.write("signalbox.toml", &format!("listen = \"127.0.0.1:{file_port}\"\nlog_level = \"info\"\n"));
    let mut args = vec!["serve", "--config", "signalbox.toml"];
    args.extend(FAST_HASHING);
    args.extend(flags);

    let mut server = sandbox.spawn_server(&args, envs, expected_port);

    server.ready().await;
    let log = server.stderr();
    assert!(log.contains(&format!("address=127.0.0.1:{expected_port}")), "{log}");
}

#[tokio::test]
async fn the_config_file_sets_the_listen_address() {
    let from_file = free_port();

    serves_on(from_file, &[], &[], from_file).await;
}

#[tokio::test]
async fn the_environment_beats_the_config_file() {
    let (from_file, from_env) = (free_port(), free_port());
    let env = format!("127.0.0.1:{from_env}");

    serves_on(from_file, &[], &[("SIGNALBOX_LISTEN", &env)], from_env).await;
}

#[tokio::test]
async fn a_flag_beats_the_environment_and_the_config_file() {
    let (from_file, from_env, from_flag) = (free_port(), free_port(), free_port());
    let env = format!("127.0.0.1:{from_env}");
    let flag = format!("127.0.0.1:{from_flag}");

    serves_on(from_file, &["--listen", &flag], &[("SIGNALBOX_LISTEN", &env)], from_flag).await;
}

#[test]
fn signalbox_database_url_beats_database_url_which_beats_the_default() {
    let sandbox = Sandbox::new();

    sandbox.run_with(&["migrate"], &[("DATABASE_URL", "sqlite://generic.db")], None).succeeded();
    assert!(sandbox.file("generic.db").is_file(), "DATABASE_URL was not used");
    assert!(!sandbox.file("signalbox.db").exists(), "the default was used despite DATABASE_URL");

    let envs = [("DATABASE_URL", "sqlite://generic-2.db"), ("SIGNALBOX_DATABASE_URL", "sqlite://ours.db")];
    sandbox.run_with(&["migrate"], &envs, None).succeeded();
    assert!(sandbox.file("ours.db").is_file(), "SIGNALBOX_DATABASE_URL was not used");
    assert!(!sandbox.file("generic-2.db").exists(), "DATABASE_URL beat SIGNALBOX_DATABASE_URL");
}
