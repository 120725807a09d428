//! A blocking SQLite connection for the group-commit writers (signal ingest, typed captures).
//!
//! sqlx's SQLite driver runs each connection on a thread of its own and hands every statement,
//! and every result row, from the async side to that thread and back. A batch of a few
//! statements spent most of its time in those hand-offs and the wake-ups behind them (bench/
//! RESULTS.md, issue 4); the same batch on a connection of its own, on a thread of its own,
//! with statements prepared once, commits ~35 % more signals per second.
//!
//! There is still one writer at a time: a direct transaction runs while its caller holds the
//! gate every sqlx write holds too ([`Db::write_lock`], `on_write!`), so it never meets
//! another writer through SQLite's busy handler (which sleeps in steps of milliseconds), and
//! everything the rest of the code base says about "the single writer" stays true. (Holding
//! the write pool's connection instead cost a round trip to sqlx's thread per batch: the pool
//! pings a connection as it takes it back.)

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use tokio::sync::OwnedMutexGuard;

use super::Db;

/// Prepared statements a direct connection keeps: a few hundred KiB at most.
const STATEMENT_CACHE: usize = 256;

/// A read-write connection to the SQLite file the pools use, with the same settings: WAL
/// (already set on the file), `synchronous=FULL` (an acknowledged write survives power
/// loss), foreign keys enforced, and no automatic checkpoint ([`super::WalKeeper`] does it).
pub struct DirectConnection {
    connection: Connection,
}

impl std::fmt::Debug for DirectConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectConnection").finish_non_exhaustive()
    }
}

/// The page cache of a group-commit writer's connection, in KiB.
const GROUP_COMMIT_CACHE_KIB: u32 = 16 * 1024;

impl DirectConnection {
    /// Opens the file, which must exist ([`super::create_private_file`]): it never creates it.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        Self::open_with(path, "FULL")
    }

    /// [`Self::open`] for a group-commit writer whose commits [`super::WalKeeper`] makes
    /// durable before they are answered: `synchronous=NORMAL`, no fsync in the commit.
    ///
    /// Its page cache is larger than SQLite's default 2 MiB: each batch descends through the
    /// indexes its rows go into and reads the rows it updates (a typed capture's lead), and
    /// with 2 MiB those pages were read from the file again — about one `pread` per typed
    /// capture, 5 % of the typed writer's time (bench/RESULTS.md). It fills only as pages are
    /// read, so an idle server's memory is unchanged.
    pub fn open_for_group_commit(path: &Path) -> anyhow::Result<Self> {
        let connection = Self::open_with(path, "NORMAL")?;
        connection.execute_batch(&format!("PRAGMA cache_size = -{GROUP_COMMIT_CACHE_KIB};"))?;
        Ok(connection)
    }

    /// [`Self::open`] for writes whose loss in a power cut is harmless, committed without
    /// waiting for the disk (`synchronous=NORMAL`; WAL keeps the file consistent either
    /// way): the delivery engine's leases, which a restart on SQLite clears anyway.
    pub fn open_unsynced(path: &Path) -> anyhow::Result<Self> {
        Self::open_with(path, "NORMAL")
    }

    fn open_with(path: &Path, synchronous: &str) -> anyhow::Result<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(path, flags)
            .with_context(|| format!("cannot open SQLite database {} for the writer", path.display()))?;
        connection
            .execute_batch(&format!(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON; \
                 PRAGMA wal_autocheckpoint = 0;"
            ))
            .context("setting up the SQLite writer connection")?;
        // A backstop only: callers hold the write gate, so no other writer runs.
        connection.busy_timeout(Duration::from_secs(5))?;
        // A batch's `IN (…)` reads have one text per batch size: with rusqlite's default of 16
        // cached statements they pushed out the inserts, and each batch prepared its
        // statements again (5 % of the typed writer's time).
        connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Self { connection })
    }

    /// Starts an immediate (write-locking) transaction; it rolls back when dropped uncommitted.
    pub fn transaction(&mut self) -> rusqlite::Result<Transaction<'_>> {
        self.connection.transaction_with_behavior(TransactionBehavior::Immediate)
    }
}

/// Reads run on the connection itself (WAL: no lock needed); writes go through
/// [`DirectConnection::transaction`] while holding the write gate.
impl std::ops::Deref for DirectConnection {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.connection
    }
}

impl Db {
    /// The SQLite file, when the database is SQLite.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Db::Sqlite { path, .. } => Some(path),
            Db::Postgres(_) => None,
        }
    }

    /// Takes SQLite's write gate (no other write runs until the guard is dropped), so a
    /// [`DirectConnection`] may write. `None` on Postgres, which has no single writer.
    pub async fn write_lock(&self) -> Option<OwnedMutexGuard<()>> {
        match self {
            Db::Sqlite { gate, .. } => Some(gate.clone().lock_owned().await),
            Db::Postgres(_) => None,
        }
    }
}

/// Requests on their way to a group-commit writer: counted from when their handler starts on
/// them until they are queued ([`Arriving`]).
#[derive(Debug, Clone, Default)]
pub struct Arrivals(Arc<AtomicUsize>);

impl Arrivals {
    /// Counts one request on its way until the guard is dropped.
    pub fn arriving(&self) -> Arriving {
        self.0.fetch_add(1, Ordering::Relaxed);
        Arriving(self.0.clone())
    }

    fn any(&self) -> bool {
        self.0.load(Ordering::Relaxed) > 0
    }
}

/// One request on its way to a writer; dropped once it is queued (or refused before).
#[derive(Debug)]
pub struct Arriving(Arc<AtomicUsize>);

impl Drop for Arriving {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A batch smaller than this, while requests are on their way ([`Arrivals`]), waits
/// [`GATHER_FOR`] for them once. Each commit has a fixed cost (reads, the statements, the
/// commit's WAL frames of the pages every batch touches); with the fsync off the writer's
/// thread ([`super::WalKeeper`]) the writer would otherwise commit two or three requests at a
/// time while the handlers, on the same cores, prepare the next. One request and nothing on
/// its way is committed at once, so a lone client never waits.
const GATHER_UP_TO: usize = 8;
const GATHER_FOR: Duration = Duration::from_micros(150);

/// Runs `commit` on a thread of its own for every batch of items received — whatever is
/// waiting, up to `max`, after a moment's wait for `arrivals` when that is little — until
/// every sender is gone. `commit` may `block_on` the runtime it was started from (the thread
/// has entered it, so sqlx finds it to return pool connections).
pub fn spawn_batch_thread<T: Send + 'static>(
    name: &str,
    mut receiver: tokio::sync::mpsc::Receiver<T>,
    max: usize,
    arrivals: Arrivals,
    mut commit: impl FnMut(&tokio::runtime::Handle, &mut Vec<T>) + Send + 'static,
) -> std::io::Result<()> {
    let runtime = tokio::runtime::Handle::current();
    std::thread::Builder::new().name(name.to_owned()).spawn(move || {
        let _entered = runtime.enter();
        let mut batch = Vec::with_capacity(max);
        let take_waiting = |batch: &mut Vec<T>, receiver: &mut tokio::sync::mpsc::Receiver<T>| {
            while batch.len() < max {
                let Ok(next) = receiver.try_recv() else { break };
                batch.push(next);
            }
        };
        while let Some(first) = receiver.blocking_recv() {
            batch.push(first);
            take_waiting(&mut batch, &mut receiver);
            if batch.len() < GATHER_UP_TO && arrivals.any() {
                std::thread::sleep(GATHER_FOR);
                take_waiting(&mut batch, &mut receiver);
            }
            commit(&runtime, &mut batch);
            batch.clear();
        }
    })?;
    Ok(())
}
