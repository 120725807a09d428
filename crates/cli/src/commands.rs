//! What each subcommand does.

use std::io::BufRead;
use std::sync::Arc;

use anyhow::Context;
use signalbox_core::{Clock, SystemClock, TokenScope};
use signalbox_server::admin::{self, TokenOwner, TokenRequest};
use signalbox_server::auth::password::PasswordHasher;
use signalbox_server::auth::token::generate_password;
use signalbox_server::config::{DatabaseConfig, LogFormat};
use signalbox_server::db::{self, Db, PoolOptions};
use signalbox_server::telemetry::init_logging;
use signalbox_server::{Application, app};

use crate::{Command, TokenCommand, UserCommand};

pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(config) => {
            init_logging(config.log_format, &config.log_level)?;
            let application = Application::build(*config, Arc::new(SystemClock)).await?;
            tracing::info!(address = %application.local_addr(), "listening");
            application.run(app::shutdown_signal()).await
        }
        Command::Migrate(args) => {
            quiet_logging()?;
            let db = open(&args.database).await?;
            let status = db::migrate(&db).await?;
            println!("schema at version {}", status.applied);
            Ok(())
        }
        Command::User(UserCommand::Create(args)) => {
            quiet_logging()?;
            let account = args.account;
            let db = open_migrated(&account.database).await?;
            let passwords = PasswordHasher::new(&account.hashing)?;
            let workspace_id = admin::resolve_workspace(&db, args.workspace_id).await?;
            // An existing account is only added to the workspace; it keeps its own password.
            let new_account = !admin::user_exists(&db, &account.email).await?;
            let password = if new_account || account.password_stdin {
                Some(password_input(account.password_stdin)?)
            } else {
                None
            };
            let id = admin::create_user(
                &db,
                &passwords,
                &SystemClock,
                workspace_id,
                &account.email,
                args.role,
                password.as_ref().map(|(password, _)| password.as_str()),
            )
            .await?;
            println!("user {id} is {} of workspace {workspace_id}", args.role);
            if let Some((password, true)) = &password {
                println!("password: {password}");
            }
            Ok(())
        }
        Command::User(UserCommand::SetPassword(args)) => {
            quiet_logging()?;
            let account = args.account;
            let db = open_migrated(&account.database).await?;
            let passwords = PasswordHasher::new(&account.hashing)?;
            let (password, generated) = password_input(account.password_stdin)?;
            admin::set_password(&db, &passwords, &SystemClock, &account.email, &password).await?;
            println!("password set for {}; their sessions have ended", account.email);
            if generated {
                println!("password: {password}");
            }
            Ok(())
        }
        Command::Token(TokenCommand::Create(args)) => {
            quiet_logging()?;
            let db = open_migrated(&args.database).await?;
            let workspace_id = admin::resolve_workspace(&db, args.workspace_id).await?;
            let owner = match (args.email, args.service_account_id) {
                (Some(email), _) => TokenOwner::User(email),
                (None, Some(id)) => TokenOwner::ServiceAccount(id),
                (None, None) => anyhow::bail!("give --email or --service-account-id"),
            };
            let scope = args.scope.as_deref().map(|_| TokenScope::Ingest);
            let expires_at = args.expires_in.map(|lifetime| SystemClock.now().plus(lifetime));
            let request = TokenRequest { workspace_id, owner, name: args.name, role: args.role, scope, expires_at };
            let secret = admin::create_token(&db, &SystemClock, request).await?;
            println!("{secret}");
            Ok(())
        }
        Command::Backup(args) => {
            quiet_logging()?;
            if args.database.database_url.sqlite_path().is_none() {
                anyhow::bail!("backup copies SQLite databases; for Postgres use pg_dump");
            }
            let db = open_migrated(&args.database).await?;
            admin::backup(&db, &args.to).await?;
            println!("backup written to {}", args.to.display());
            Ok(())
        }
    }
}

fn quiet_logging() -> anyhow::Result<()> {
    init_logging(LogFormat::Pretty, "warn")
}

async fn open(config: &DatabaseConfig) -> anyhow::Result<Db> {
    let options = PoolOptions {
        max_connections: config.database_max_connections,
        connect_timeout: config.database_connect_timeout,
    };
    db::connect(&config.database_url, &options).await
}

/// Opens an existing database and refuses one whose schema is not this binary's. Unlike
/// `serve` and `migrate`, it never creates a SQLite file: a typo in the path should be an
/// error, not a new empty database.
async fn open_migrated(config: &DatabaseConfig) -> anyhow::Result<Db> {
    if let Some(path) = config.database_url.sqlite_path().filter(|path| !path.exists()) {
        anyhow::bail!("there is no database at {}: start `signalbox serve` once to create it", path.display());
    }
    let db = open(config).await?;
    let status = db::schema_status(&db).await?;
    if status.applied > status.known {
        anyhow::bail!(
            "the database schema is at version {} but this signalbox knows only up to {}; run a newer signalbox",
            status.applied,
            status.known
        );
    }
    if !status.is_current() {
        anyhow::bail!("the database is not migrated: run `signalbox migrate` or `signalbox serve` first");
    }
    Ok(db)
}

/// The password from stdin, or a generated one (and whether it was generated).
fn password_input(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if !from_stdin {
        return Ok((generate_password(), true));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
    Ok((line.trim_end_matches(['\r', '\n']).to_owned(), false))
}
