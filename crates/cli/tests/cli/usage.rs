//! `--version` and `--help`.

use crate::support::Sandbox;

#[test]
fn version_prints_the_package_version_and_exits_zero() {
    let outcome = Sandbox::new().run(&["--version"]);

    let stdout = outcome.succeeded();

    assert_eq!(stdout.trim(), format!("signalbox {}", env!("CARGO_PKG_VERSION")));
}

/// The options of a clap help text: each `--flag` with the text under it.
fn options(help: &str) -> Vec<(String, String)> {
    let mut options: Vec<(String, String)> = Vec::new();
    for line in help.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.starts_with('-') && indent < 8 {
            let flag = trimmed.split([' ', ',']).find(|word| word.starts_with("--")).unwrap_or(trimmed);
            options.push((flag.to_owned(), String::new()));
        } else if let Some((_, text)) = options.last_mut() {
            text.push_str(trimmed);
            text.push(' ');
        }
    }
    options
}

#[test]
fn serve_help_documents_every_option_with_a_description_and_its_environment_variable() {
    let outcome = Sandbox::new().run(&["serve", "--help"]);

    let help = outcome.succeeded();

    let documented = options(help);
    for expected in ["--listen", "--database-url", "--public-url", "--secret-key", "--log-format", "--jwt-lifetime"]
        .into_iter()
        .chain(["--jwt-leeway", "--admin-email", "--admin-password", "--shutdown-timeout", "--config"])
    {
        assert!(documented.iter().any(|(flag, _)| flag == expected), "`serve --help` lacks {expected}:\n{help}");
    }
    for (flag, text) in documented.iter().filter(|(flag, _)| flag != "--help" && flag != "--version") {
        let env = format!("SIGNALBOX_{}", flag.trim_start_matches("--").replace('-', "_").to_uppercase());
        let description = text.split(" [env:").next().unwrap_or_default().trim();
        assert!(description.len() >= 10, "{flag} has no real description: {text:?}");
        assert!(text.contains(&format!("[env: {env}")), "{flag} does not name its variable {env}: {text:?}");
    }
}
