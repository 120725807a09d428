//! Parsing the database URL and opening pools.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Weak};
use std::time::Duration;

use anyhow::Context;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{Db, WalKeeper};

/// A database URL whose scheme we understand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite://PATH` (relative paths are relative to the working directory).
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…`, passed to sqlx as written.
    Postgres(String),
}

impl FromStr for DatabaseUrl {
    type Err = String;
    fn from_str(url: &str) -> Result<Self, Self::Err> {
        if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() || path == ":memory:" {
                return Err(format!("database URL {url:?} needs a file path, e.g. sqlite://signalbox.db"));
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            PgConnectOptions::from_str(url).map_err(|e| format!("database URL is not a valid Postgres URL: {e}"))?;
            return Ok(DatabaseUrl::Postgres(url.to_owned()));
        }
        let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
        Err(format!("unsupported database URL scheme {scheme:?}: use sqlite://PATH or postgres://…"))
    }
}

impl DatabaseUrl {
    /// The SQLite file, when there is one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            DatabaseUrl::Sqlite(path) => Some(path),
            DatabaseUrl::Postgres(_) => None,
        }
    }

    /// The URL with any password replaced, for logs.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => match (url.find("://"), url.rfind('@')) {
                (Some(scheme_end), Some(at)) if at > scheme_end => {
                    let userinfo = &url[scheme_end + 3..at];
                    match userinfo.split_once(':') {
                        Some((user, _password)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                        None => url.clone(),
                    }
                }
                _ => url.clone(),
            },
        }
    }
}

/// Pool sizes and time limits.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub max_connections: u32,
    pub connect_timeout: Duration,
}

/// Opens the pools. SQLite creates the file (and its directory) if missing, and runs in WAL
/// mode with `synchronous=FULL`: an acknowledged write survives power loss.
pub async fn connect(url: &DatabaseUrl, options: &PoolOptions) -> anyhow::Result<Db> {
    match url {
        DatabaseUrl::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create directory {}", dir.display()))?;
            }
            create_private_file(path)?;
            let base = SqliteConnectOptions::new()
                .filename(path)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                // The WAL keeper's checkpointer copies the WAL back (db/wal.rs).
                .pragma("wal_autocheckpoint", "0")
                .busy_timeout(Duration::from_secs(5));
            let (path, gate): (Arc<Path>, Arc<tokio::sync::Mutex<()>>) = (path.as_path().into(), Default::default());
            let wal = Arc::new(WalKeeper::start(&path, gate.clone())?);
            let keeper = Arc::downgrade(&wal);
            // A local file connection does not go stale: skipping sqlx's ping before every
            // acquire saves a round trip to SQLite's thread on each group commit.
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .test_before_acquire(false)
                .after_connect(move |connection, _| {
                    let keeper = keeper.clone();
                    Box::pin(refuse_commits_after_a_failed_fsync(connection, keeper))
                })
                .acquire_timeout(options.connect_timeout.max(Duration::from_secs(30)))
                .connect_with(base.clone().create_if_missing(true))
                .await
                .with_context(|| format!("cannot open SQLite database {}", path.display()))?;
            let read = SqlitePoolOptions::new()
                .max_connections(options.max_connections.max(2))
                .test_before_acquire(false)
                .acquire_timeout(options.connect_timeout.max(Duration::from_secs(30)))
                .connect_with(base.read_only(true))
                .await
                .with_context(|| format!("cannot open SQLite database {}", path.display()))?;
            Ok(Db::Sqlite { write, read, path, gate, wal })
        }
        DatabaseUrl::Postgres(raw) => {
            let connect = PgConnectOptions::from_str(raw)?;
            // One direct attempt first: a pool only reports "timed out", while this names the
            // cause (connection refused, unknown database, authentication failed).
            let probe = tokio::time::timeout(options.connect_timeout, PgConnection::connect_with(&connect))
                .await
                .map_err(|_| anyhow::anyhow!("timed out after {:?}", options.connect_timeout))
                .and_then(|r| r.map_err(anyhow::Error::from))
                .with_context(|| format!("cannot connect to {}", url.redacted()))?;
            probe.close().await?;
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(options.connect_timeout)
                .connect_with(connect)
                .await
                .with_context(|| format!("cannot connect to {}", url.redacted()))?;
            Ok(Db::Postgres(pool))
        }
    }
}

/// Creates an empty database file readable only by its owner, when there is none: it will
/// hold password and token hashes. SQLite gives its -wal and -shm files the same mode.
pub fn create_private_file(path: &Path) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot create database file {}", path.display())),
    }
}

/// True when a commit was refused because an fsync of the WAL failed earlier
/// ([`refuse_commits_after_a_failed_fsync`]): SQLite's `SQLITE_CONSTRAINT_COMMITHOOK`.
pub fn is_refused_commit(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.code().as_deref() == Some("531"))
}

/// Once an fsync of the WAL has failed ([`WalKeeper::failure`]), every commit on this pool
/// connection is rolled back instead (SQLite's commit hook), so that no write through the
/// pools is acknowledged either. Its own `synchronous=FULL` fsync is no guard: Linux reports a
/// writeback error once per open file, so after the connection has seen it, its next fsync
/// succeeds over the same hole the group-commit writers' syncer stopped at.
async fn refuse_commits_after_a_failed_fsync(
    connection: &mut sqlx::SqliteConnection,
    keeper: Weak<WalKeeper>,
) -> Result<(), sqlx::Error> {
    let mut handle = connection.lock_handle().await?;
    handle.set_commit_hook(move || keeper.upgrade().is_none_or(|keeper| keeper.failure().is_none()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_and_postgres_urls_are_understood() {
        assert_eq!("sqlite://data/sb.db".parse::<DatabaseUrl>(), Ok(DatabaseUrl::Sqlite("data/sb.db".into())));
        assert!(matches!(
            "postgres://postgres@127.0.0.1:5432/test".parse::<DatabaseUrl>(),
            Ok(DatabaseUrl::Postgres(_))
        ));
    }

    #[test]
    fn other_schemes_are_refused_by_name() {
        let error = "mysql://localhost/db".parse::<DatabaseUrl>().unwrap_err();
        assert!(error.contains("\"mysql\""), "{error}");
    }

    #[test]
    fn passwords_are_redacted_for_logs() {
        let url: DatabaseUrl = "postgres://app:s3cret@db:5432/sb".parse().unwrap();
        assert_eq!(url.redacted(), "postgres://app:***@db:5432/sb");
        let no_password: DatabaseUrl = "postgres://app@db:5432/sb".parse().unwrap();
        assert_eq!(no_password.redacted(), "postgres://app@db:5432/sb");
    }
}
