//! The owner account is created on the first start, and only then.

use crate::support::{OWNER_EMAIL, OWNER_PASSWORD, Sandbox, free_port, serve_args};

#[tokio::test]
async fn the_first_start_creates_the_owner_and_a_later_start_with_other_admin_flags_creates_no_one() {
    let sandbox = Sandbox::new();
    let mut first = sandbox.serve(&[]).await;
    first.api().session(OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(first.terminate().code(), Some(0), "stderr:\n{}", first.stderr());

    let second_email = "second@example.test";
    let second_password = "another long password";
    let second = sandbox.serve(&["--admin-email", second_email, "--admin-password", second_password]).await;
    let api = second.api();

    let refused = api.login(second_email, second_password).await;
    assert_eq!(refused.status, 401, "the second start's admin could log in: {}", refused.text);
    let token = api.session(OWNER_EMAIL, OWNER_PASSWORD).await;
    let users = api.get("/v1/users", Some(&token)).await;
    assert_eq!(users.status, 200, "{}", users.text);
    let listed = users.body["data"].as_array().expect("a list answer has data");
    assert_eq!(listed.len(), 1, "{}", users.text);
    assert_eq!(users.body["total"], 1, "{}", users.text);
    assert_eq!(listed[0]["email"], OWNER_EMAIL);
    assert_eq!(listed[0]["role"], "owner");
}

/// The value of `key=` in a log line, without the quotes the pretty format puts around text.
fn logged_value(line: &str, key: &str) -> String {
    let rest = &line[line.find(key).expect("the key is in the line") + key.len()..];
    match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next().unwrap_or_default().to_owned(),
        None => rest.split_whitespace().next().unwrap_or_default().to_owned(),
    }
}

#[tokio::test]
async fn without_an_admin_password_a_generated_one_is_logged_once_and_lets_the_owner_log_in() {
    let sandbox = Sandbox::new();
    let port = free_port();
    let mut args = serve_args(port);
    args.extend(["--admin-email".to_owned(), OWNER_EMAIL.to_owned()]);
    let mut server = sandbox.spawn_server(&args, &[], port);
    server.ready().await;

    let log = server.stderr();
    let mentions: Vec<&str> = log.lines().filter(|line| line.contains("password=")).collect();
    assert_eq!(mentions.len(), 1, "expected the password in exactly one log line:\n{log}");
    let password = logged_value(mentions[0], "password=");
    assert!(password.len() >= 12, "implausible generated password {password:?} in {:?}", mentions[0]);
    server.api().session(OWNER_EMAIL, &password).await;
    assert_eq!(server.terminate().code(), Some(0));

    let port = free_port();
    let mut again = sandbox.spawn_server(&serve_args(port), &[], port);
    again.ready().await;
    assert!(!again.stderr().contains(&password), "the password was shown again on the next start");
    assert!(!again.stderr().contains("password="), "a second start printed a password:\n{}", again.stderr());
}
