//! Layering a TOML file under the command line: flag > env > file > default.
//!
//! clap already resolves flag > env > default. For each key of the file whose option was left
//! at its default, we append `--key value` to the arguments and parse again, so file values
//! go through the very same parsers and validation as flags.

use std::ffi::OsString;
use std::path::Path;

use clap::parser::ValueSource;
use clap::{ArgMatches, Command, CommandFactory, FromArgMatches};

/// Parses `argv` into `T`, layering the TOML file named by the `config` argument (if any)
/// under flags and environment variables. Errors are one line each.
pub fn parse_layered<T: CommandFactory + FromArgMatches>(argv: Vec<OsString>) -> Result<T, LayeredError> {
    let command = T::command();
    let matches = command.clone().try_get_matches_from(&argv).map_err(LayeredError::Clap)?;
    let (leaf, leaf_matches) = leaf_command(&command, &matches);

    let mut extra: Vec<OsString> = Vec::new();
    if let Some(path) = find_config_path(&matches) {
        let table = read_table(Path::new(&path))?;
        for (key, value) in &table {
            let id = key.replace('-', "_");
            if !leaf.get_arguments().any(|a| a.get_id() == id.as_str()) {
                if known_anywhere(&command, &id) {
                    continue; // an option of another subcommand, e.g. `listen` for `migrate`
                }
                return Err(LayeredError::File(format!("{path}: unknown key {key:?}")));
            }
            if explicitly_set(leaf_matches, &id) {
                continue;
            }
            push_value(&mut extra, &id, value).map_err(|e| LayeredError::File(format!("{path}: {key}: {e}")))?;
        }
    }
    // `DATABASE_URL` is the conventional name; it ranks below everything of our own.
    if leaf.get_arguments().any(|a| a.get_id() == "database_url")
        && !explicitly_set(leaf_matches, "database_url")
        && !extra.iter().any(|a| a == "--database-url")
        && let Some(url) = std::env::var_os("DATABASE_URL")
    {
        extra.push("--database-url".into());
        extra.push(url);
    }
    if extra.is_empty() {
        return T::from_arg_matches(&matches).map_err(LayeredError::Clap);
    }
    let mut argv = argv;
    argv.extend(extra);
    let matches = command.try_get_matches_from(&argv).map_err(LayeredError::Clap)?;
    T::from_arg_matches(&matches).map_err(LayeredError::Clap)
}

#[derive(Debug)]
pub enum LayeredError {
    /// clap's own error: help, version, or a bad flag.
    Clap(clap::Error),
    /// The configuration file is missing, malformed or has an unknown key.
    File(String),
}

fn leaf_command<'a>(command: &'a Command, matches: &'a ArgMatches) -> (&'a Command, &'a ArgMatches) {
    match matches.subcommand() {
        Some((name, sub_matches)) => match command.find_subcommand(name) {
            Some(sub) => leaf_command(sub, sub_matches),
            None => (command, matches),
        },
        None => (command, matches),
    }
}

fn find_config_path(matches: &ArgMatches) -> Option<String> {
    if let Ok(Some(path)) = matches.try_get_one::<std::path::PathBuf>("config") {
        return Some(path.display().to_string());
    }
    matches.subcommand().and_then(|(_, sub)| find_config_path(sub))
}

fn known_anywhere(command: &Command, id: &str) -> bool {
    command.get_arguments().any(|a| a.get_id() == id) || command.get_subcommands().any(|s| known_anywhere(s, id))
}

fn explicitly_set(matches: &ArgMatches, id: &str) -> bool {
    matches!(matches.value_source(id), Some(ValueSource::CommandLine | ValueSource::EnvVariable))
}

fn read_table(path: &Path) -> Result<toml::Table, LayeredError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| LayeredError::File(format!("cannot read config file {}: {e}", path.display())))?;
    text.parse::<toml::Table>().map_err(|e| {
        let message = e.message().to_owned();
        let line = e.span().map(|span| text[..span.start].lines().count().max(1));
        match line {
            Some(line) => LayeredError::File(format!("{}:{line}: {message}", path.display())),
            None => LayeredError::File(format!("{}: {message}", path.display())),
        }
    })
}

fn push_value(argv: &mut Vec<OsString>, id: &str, value: &toml::Value) -> Result<(), String> {
    let flag = format!("--{}", id.replace('_', "-"));
    match value {
        toml::Value::Boolean(true) => argv.push(flag.into()),
        toml::Value::Boolean(false) => {}
        toml::Value::Array(items) => {
            for item in items {
                argv.push(flag.clone().into());
                argv.push(scalar(item)?.into());
            }
        }
        other => {
            argv.push(flag.into());
            argv.push(scalar(other)?.into());
        }
    }
    Ok(())
}

fn scalar(value: &toml::Value) -> Result<String, String> {
    match value {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Float(f) => Ok(f.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        _ => Err("must be a string, number or boolean".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::io::Write;

    #[derive(Debug, Parser)]
    struct Cli {
        #[arg(long)]
        config: Option<std::path::PathBuf>,
        #[arg(long, env = "CONFIG_FILE_TEST_LEVEL", default_value = "info")]
        level: String,
        #[arg(long, default_value_t = 1)]
        workers: u32,
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    fn argv(args: &[&str]) -> Vec<OsString> {
        std::iter::once("cli").chain(args.iter().copied()).map(OsString::from).collect()
    }

    #[test]
    fn file_values_replace_defaults() {
        let f = file("level = \"debug\"\nworkers = 4\n");
        let cli: Cli = parse_layered(argv(&["--config", f.path().to_str().unwrap()])).unwrap();
        assert_eq!((cli.level.as_str(), cli.workers), ("debug", 4));
    }

    #[test]
    fn flags_beat_the_file() {
        let f = file("workers = 4\n");
        let cli: Cli = parse_layered(argv(&["--config", f.path().to_str().unwrap(), "--workers", "8"])).unwrap();
        assert_eq!(cli.workers, 8);
    }

    #[test]
    fn unknown_keys_are_named() {
        let f = file("wrokers = 4\n");
        let Err(LayeredError::File(message)) = parse_layered::<Cli>(argv(&["--config", f.path().to_str().unwrap()]))
        else {
            panic!("accepted an unknown key");
        };
        assert!(message.contains("\"wrokers\""), "{message}");
    }

    #[test]
    fn malformed_files_name_the_line() {
        let f = file("workers = 4\nlevel = \n");
        let Err(LayeredError::File(message)) = parse_layered::<Cli>(argv(&["--config", f.path().to_str().unwrap()]))
        else {
            panic!("accepted a malformed file");
        };
        assert!(message.contains(":2:"), "{message}");
    }

    #[test]
    fn file_values_go_through_the_flag_parsers() {
        let f = file("workers = \"many\"\n");
        let result = parse_layered::<Cli>(argv(&["--config", f.path().to_str().unwrap()]));
        assert!(matches!(result, Err(LayeredError::Clap(_))));
    }
}
