//! `signalbox`: the server and its operator commands.
#![forbid(unsafe_code)]

mod commands;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use signalbox_server::config::{DatabaseConfig, PasswordHashingConfig, ServeConfig};
use signalbox_server::config_file::{LayeredError, parse_layered};

/// mimalloc instead of the system allocator: the request path allocates many small, short-
/// lived values across threads (handlers build rows, the writer threads free them), where
/// glibc's malloc and free were about a tenth of the server's CPU under ingest load
/// (bench/RESULTS.md). SQLite keeps glibc's malloc; the settings below still apply to it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Signalbox: takes in signals from other systems, reacts to them (feature flags, actions)
/// and tells other systems what changed through signed, retried webhooks.
///
/// Every option is also an environment variable (`SIGNALBOX_` + the option in upper snake
/// case) and a key of the `--config` TOML file. Precedence: flag > environment > file > default.
#[derive(Debug, Parser)]
#[command(name = "signalbox", version, propagate_version = true)]
pub struct Cli {
    /// A TOML file of options, keyed by option name (`listen = "0.0.0.0:4280"`).
    #[arg(long, global = true, env = "SIGNALBOX_CONFIG")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (creates and migrates the database on first start).
    Serve(Box<ServeConfig>),
    /// Apply database migrations and exit.
    Migrate(DatabaseOnly),
    /// Manage user accounts directly in the database.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens directly in the database.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Write a consistent copy of the SQLite database to a new file (Postgres: use pg_dump).
    Backup(BackupArgs),
}

#[derive(Debug, Args)]
struct DatabaseOnly {
    #[command(flatten)]
    database: DatabaseConfig,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user to a workspace, creating the account if the email is new.
    Create(UserCreateArgs),
    /// Set a user's password and end their sessions (recovery for a locked-out owner).
    SetPassword(SetPasswordArgs),
}

/// The account a user command acts on, and where its password comes from.
#[derive(Debug, Args)]
struct AccountArgs {
    #[command(flatten)]
    database: DatabaseConfig,
    #[command(flatten)]
    hashing: PasswordHashingConfig,
    /// The user's email.
    #[arg(long)]
    email: String,
    /// Read the password from the first line of standard input; otherwise one is generated
    /// and printed.
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Debug, Args)]
struct UserCreateArgs {
    #[command(flatten)]
    account: AccountArgs,
    /// The role in the workspace: owner, admin, editor or viewer.
    #[arg(long)]
    role: signalbox_core::Role,
    /// The workspace (default: the oldest one).
    #[arg(long)]
    workspace_id: Option<uuid::Uuid>,
}

#[derive(Debug, Args)]
struct SetPasswordArgs {
    #[command(flatten)]
    account: AccountArgs,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an API token and print its secret (shown only this once).
    Create(TokenCreateArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("owner").required(true).args(["email", "service_account_id"])))]
#[command(group(clap::ArgGroup::new("power").required(true).args(["role", "scope"])))]
struct TokenCreateArgs {
    #[command(flatten)]
    database: DatabaseConfig,
    /// The user the token acts as.
    #[arg(long)]
    email: Option<String>,
    /// The service account the token acts as.
    #[arg(long)]
    service_account_id: Option<uuid::Uuid>,
    /// A name to recognise the token by.
    #[arg(long)]
    name: String,
    /// The most the token may do: owner, admin, editor or viewer.
    #[arg(long)]
    role: Option<signalbox_core::Role>,
    /// A restricted token instead: `ingest` may only call the typed signals API.
    #[arg(long, value_parser = ["ingest"])]
    scope: Option<String>,
    /// The workspace (default: the oldest one).
    #[arg(long)]
    workspace_id: Option<uuid::Uuid>,
    /// Lifetime such as `90d`; default: no expiry.
    #[arg(long, value_parser = signalbox_server::duration::parse_duration)]
    expires_in: Option<std::time::Duration>,
}

#[derive(Debug, Args)]
struct BackupArgs {
    #[command(flatten)]
    database: DatabaseConfig,
    /// The new file to write; it must not exist.
    #[arg(long)]
    to: PathBuf,
}

/// Allocator tuning for a long-running server. Allocators read it from the environment as
/// they start, before `main`, so `serve` starts itself again with it, once; a value the
/// operator chose is kept (bench/RESULTS.md):
/// - `MIMALLOC_PURGE_DELAY=0`, `MIMALLOC_ARENA_EAGER_COMMIT=0`: mimalloc (the Rust heap)
///   returns freed pages at once and commits arena memory as it is used. With its defaults it
///   returns memory only during later allocations, so an idle server kept what start-up and
///   the last Argon2 hash (19 MiB) had used: 62 MB idle, 83 MB after a login, against 26 MB
///   for both with these.
/// - `MALLOC_ARENA_MAX=2` (glibc, which SQLite allocates from): glibc gives every thread that
///   allocates its own arena (up to 8 per core) and keeps what they once held.
/// - `MALLOC_MMAP_THRESHOLD_=1048576` (glibc): a fixed threshold. glibc's adapts upwards when
///   a large mapped block is freed, after which large blocks came from the heap and stayed.
#[cfg(unix)]
fn tune_allocators() {
    use std::os::unix::process::CommandExt;
    const MIMALLOC: [(&str, &str); 2] = [("MIMALLOC_PURGE_DELAY", "0"), ("MIMALLOC_ARENA_EAGER_COMMIT", "0")];
    const GLIBC: [(&str, &str); 2] = [("MALLOC_ARENA_MAX", "2"), ("MALLOC_MMAP_THRESHOLD_", "1048576")];
    let glibc = if cfg!(target_env = "gnu") { &GLIBC[..] } else { &[] };
    let serving = std::env::args_os().skip(1).any(|argument| argument == "serve");
    let missing: Vec<(&str, &str)> =
        MIMALLOC.iter().chain(glibc).copied().filter(|(variable, _)| std::env::var_os(variable).is_none()).collect();
    if !serving || missing.is_empty() {
        return;
    }
    let Ok(executable) = std::env::current_exe() else { return };
    let error = std::process::Command::new(executable).args(std::env::args_os().skip(1)).envs(missing).exec();
    // `exec` returns only when it failed: serve with the allocators' defaults.
    eprintln!("note: could not restart with the allocator settings ({error}); serving with the defaults");
}

#[cfg(not(unix))]
fn tune_allocators() {}

fn main() -> ExitCode {
    tune_allocators();
    let cli = match parse_layered::<Cli>(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(LayeredError::Clap(error)) if !error.use_stderr() => {
            // --help and --version
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        Err(LayeredError::Clap(error)) => {
            let rendered = error.to_string();
            eprintln!("{}", rendered.lines().next().unwrap_or("error: invalid arguments"));
            return ExitCode::from(2);
        }
        Err(LayeredError::File(message)) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line: "cannot connect to …: timed out".
fn one_line(error: &anyhow::Error) -> String {
    format!("{error:#}").replace('\n', " ")
}
