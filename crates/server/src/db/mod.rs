//! Storage: one [`Db`] handle in front of SQLite or Postgres.
//!
//! Store methods write their SQL once with `$1`-style placeholders, which both backends
//! accept, and run it through [`on_read!`]/[`in_write_tx!`], which expand the same code for
//! each backend's concrete types (no `sqlx::Any`). Where the dialects differ, a method
//! matches on [`Db::backend`] instead.

mod connect;
mod direct;
mod migrate;
pub mod row;
pub mod statement;
mod tx;
mod wal;

use std::path::Path;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use tokio::sync::watch;

use sqlx::{PgPool, SqlitePool};

pub use connect::{DatabaseUrl, PoolOptions, connect, create_private_file, is_refused_commit};
pub use direct::{Arrivals, Arriving, DirectConnection, spawn_batch_thread};
pub use migrate::{SchemaStatus, migrate, schema_status};
pub use tx::{EVENTS_CHANNEL, NewPrincipal, SerialKey, TxExt};
pub use wal::{DurableAnswers, WalKeeper};

/// Open pools. SQLite has one writer connection (SQLite allows one writer at a time; queuing
/// in the pool is cheaper than `SQLITE_BUSY` retries) and a pool of readers; WAL lets them
/// run beside the writer. `path` is the file, for the group-commit writers' own connections
/// ([`DirectConnection`]); `gate` is held by every write, through the pool ([`on_write!`])
/// or a direct connection ([`Db::write_lock`]), so there is one writer at a time. `wal`
/// makes the group-commit writers' commits durable and checkpoints beside them.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite {
        write: SqlitePool,
        read: SqlitePool,
        path: Arc<Path>,
        gate: Arc<tokio::sync::Mutex<()>>,
        wal: Arc<WalKeeper>,
    },
    Postgres(PgPool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Db {
    /// Why SQLite's WAL could not be made durable, once an fsync of it failed: the server then
    /// acknowledges no write until it restarts. Always `None` on Postgres.
    pub fn durability_failure(&self) -> Option<String> {
        match self {
            Db::Sqlite { wal, .. } => wal.failure(),
            Db::Postgres(_) => None,
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite { write, read, .. } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }

    /// Connections open and idle, per pool, for `/metrics`.
    pub fn pool_stats(&self) -> Vec<(&'static str, u32, usize)> {
        match self {
            Db::Sqlite { write, read, .. } => {
                vec![("sqlite_write", write.size(), write.num_idle()), ("sqlite_read", read.size(), read.num_idle())]
            }
            Db::Postgres(pool) => vec![("postgres", pool.size(), pool.num_idle())],
        }
    }

    /// A round trip to the database, bounded in time.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        let ping = async { on_read!(self, |pool| sqlx::query("SELECT 1").execute(pool).await.map(|_| ())) };
        tokio::time::timeout(Duration::from_secs(2), ping).await.unwrap_or(Err(sqlx::Error::PoolTimedOut))
    }
}

/// Commits announced to background workers in this process (the flag scheduler and the
/// delivery engine wake on them to look again). Process-wide, so with several servers in one
/// test process a commit wakes all of them; a spurious wake-up costs an indexed read or two.
static COMMITS: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::channel(0).0);

/// Deliveries written or changed by the high-rate writers (signal and typed ingest, the
/// delivery recorder), which commit outside `in_write_tx!`. Only the delivery engine listens:
/// waking every background worker after every ingest batch cost a few reads per batch on
/// sqlx's threads, most of them for nothing (a batch without subscribers writes no delivery).
static DELIVERIES: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::channel(0).0);

/// Announces a committed write transaction. `in_write_tx!` calls it; it may have written
/// anything, schedules and deliveries included.
pub fn committed() {
    COMMITS.send_modify(|n| *n = n.wrapping_add(1));
}

/// Hears every [`committed`] after this call.
pub fn commits() -> watch::Receiver<u64> {
    COMMITS.subscribe()
}

/// Announces deliveries committed outside `in_write_tx!` (new ones, or outcomes recorded).
pub fn deliveries_written() {
    DELIVERIES.send_modify(|n| *n = n.wrapping_add(1));
}

/// Hears every [`deliveries_written`] after this call.
pub fn delivery_writes() -> watch::Receiver<u64> {
    DELIVERIES.subscribe()
}

/// Runs `$body` with `$pool` bound to a pool that may read (SQLite's reader pool).
#[macro_export]
macro_rules! on_read {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite { read: $pool, .. } => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$pool` bound to a pool that may write (SQLite's single writer, while
/// holding its gate: the group-commit writers' direct connections take it too).
#[macro_export]
macro_rules! on_write {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite { write: $pool, gate, .. } => {
                let _gate = gate.lock().await;
                $body
            }
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` inside one write transaction bound to `$tx`, committing when it finishes and
/// rolling back when it returns early with `?` (the transaction is dropped). Evaluates to
/// `Result<value of $body, crate::Error>`.
#[macro_export]
macro_rules! in_write_tx {
    ($db:expr, |$tx:ident| $body:expr) => {
        $crate::on_write!($db, |pool| {
            async {
                let mut $tx = pool.begin().await?;
                let value = $body;
                $tx.commit().await?;
                $crate::db::committed();
                Ok::<_, $crate::Error>(value)
            }
            .await
        })
    };
}

pub use {in_write_tx, on_read, on_write};

/// True when the error is a unique-constraint violation (both backends).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}
