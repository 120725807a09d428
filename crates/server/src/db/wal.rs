//! The SQLite WAL behind the group-commit writers, kept off their threads.
//!
//! A group-commit writer is the one stage every ingest request waits for. Its turn used to be:
//! run the batch, commit — SQLite appends the WAL frames and fsyncs the WAL
//! (`synchronous=FULL`) — and, every thousand frames, copy the WAL back into the database file
//! and fsync that (the automatic checkpoint), all on the writer's thread while the next batch
//! waited. Under typed ingest the fsync's writeback and the checkpoint were a quarter of the
//! writer's CPU, and the checkpoint stalled every request in flight (bench/RESULTS.md).
//!
//! Here the writers commit with `synchronous=NORMAL` and no automatic checkpoint
//! ([`DirectConnection::open_for_group_commit`]) and hand what they would answer to
//! [`DurableAnswers`]:
//!
//! - **The syncer** fsyncs the WAL once for every commit handed to it before the fsync began,
//!   then runs their answers. So nothing is acknowledged before it is on disk — exactly as
//!   with `synchronous=FULL` — while the writer already runs its next batch. WAL frames are
//!   appended in commit order and recovery keeps a prefix of the commits, so a batch never
//!   survives a power cut without the batches before it. What changes: a commit is visible
//!   to readers (API reads, live views) about one fsync before its senders hear 2xx; a power
//!   cut in that window loses it, as it loses every unanswered request. A crash of the process
//!   alone loses nothing either way: the frames are in the kernel's page cache.
//! - **The checkpointer** copies the WAL back into the database on a connection of its own:
//!   `PRAGMA wal_checkpoint(PASSIVE)` beside the writers until what is left is small, then
//!   once more holding the write gate, so that the WAL is wholly copied and the next commit
//!   starts it again from the beginning (a WAL that is never wholly copied only grows).
//!   SQLite's checkpoint fsyncs the WAL before copying and the database after, so the writers'
//!   `synchronous=NORMAL` is safe for the file whatever happens.
//!
//! After an fsync has failed, nothing is acknowledged until the server restarts: the syncer
//! answers every later commit with an error ([`sync_loop`] says why), the sqlx write pool's
//! commit hook refuses its commits (`connect::refuse_commits_after_a_failed_fsync`), and the
//! checkpointer stops.
//!
//! No connection of the server checkpoints on its own (`wal_autocheckpoint=0` on sqlx's pools
//! and every direct connection): an automatic checkpoint of the grown WAL by an admin write
//! through the pool, holding the write gate, stalled ingest for tens of milliseconds.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::DirectConnection;

/// How often the checkpointer looks at the WAL (on an idle database a look costs
/// microseconds). Longer copies a page written by many batches once instead of many times,
/// but lets the WAL grow: at ~25,000 frames a second (typed ingest on 2 cores) this keeps it
/// near 20 MB. (100 ms gave the same rate and the same p99, bench/RESULTS.md.)
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// Frames left after a checkpoint beside the writers that are copied while holding the gate
/// (more: another round beside them first).
const SMALL_REMAINDER: i64 = 256;

/// Rounds beside the writers before the one that holds the gate.
const ROUNDS_BESIDE_WRITERS: usize = 3;

/// An answer to run once the commit before it is durable; its argument says whether the fsync
/// succeeded.
type Then = Box<dyn FnOnce(Result<(), String>) + Send>;

/// The WAL's syncer and checkpointer, started by [`super::connect`] and stopped when the last
/// [`super::Db`] handle is dropped (the syncer first answers what is waiting).
pub struct WalKeeper {
    shared: Arc<Shared>,
    database: PathBuf,
}

impl std::fmt::Debug for WalKeeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalKeeper").field("database", &self.database).finish_non_exhaustive()
    }
}

struct Shared {
    wal: PathBuf,
    state: Mutex<State>,
    /// Wakes the syncer (answers waiting, or stopping).
    work: Condvar,
    /// Wakes writers waiting in [`WalKeeper::wait_synced`].
    synced: Condvar,
    /// Wakes the checkpointer (stopping).
    stop: Condvar,
}

#[derive(Default)]
struct State {
    waiting: Vec<Then>,
    /// The number of the last commit handed over ([`Handed`]), and of the last one whose
    /// fsync is done.
    handed: u64,
    synced: u64,
    stopping: bool,
    /// Why an fsync failed, once one has: nothing is acknowledged after it ([`sync_loop`]).
    failed: Option<String>,
}

/// A commit handed to [`WalKeeper::when_durable`], to wait for with [`WalKeeper::wait_synced`].
#[derive(Debug, Clone, Copy)]
struct Handed(u64);

/// A group-commit writer's side of the keeper: hands each commit's answers over, and before the
/// writer takes its next batch waits for the fsync of the commit before that one — so at most
/// one commit is ahead of the disk while the other is being synced.
pub struct DurableAnswers {
    wal: Arc<WalKeeper>,
    previous: Option<Handed>,
}

impl DurableAnswers {
    pub fn new(wal: Arc<WalKeeper>) -> Self {
        Self { wal, previous: None }
    }

    /// Runs `then` once the commit just made is on disk (`Ok`) or its fsync failed (`Err`,
    /// nothing to acknowledge); returns when the writer may take its next batch.
    pub fn answer_when_durable(&mut self, then: impl FnOnce(Result<(), String>) + Send + 'static) {
        let handed = self.wal.when_durable(then);
        if let Some(previous) = self.previous.replace(handed) {
            self.wal.wait_synced(previous);
        }
    }
}

impl WalKeeper {
    /// Starts the syncer and the checkpointer for the database at `database`, whose writes
    /// hold `gate`.
    pub(super) fn start(database: &Path, gate: Arc<tokio::sync::Mutex<()>>) -> anyhow::Result<Self> {
        let mut wal = database.as_os_str().to_owned();
        wal.push("-wal");
        let shared = Arc::new(Shared {
            wal: PathBuf::from(wal),
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            synced: Condvar::new(),
            stop: Condvar::new(),
        });
        let checkpoints = DirectConnection::open(database)?;
        let syncer = shared.clone();
        std::thread::Builder::new().name("wal-sync".into()).spawn(move || sync_loop(&syncer))?;
        let checkpointer = shared.clone();
        std::thread::Builder::new()
            .name("wal-checkpoint".into())
            .spawn(move || checkpoint_loop(&checkpointer, &checkpoints, &gate))?;
        Ok(Self { shared, database: database.to_owned() })
    }

    /// Why an fsync of the WAL failed, once one has: from then on no write is acknowledged
    /// until the server restarts (`/readyz` reports it).
    pub fn failure(&self) -> Option<String> {
        self.shared.state.lock().expect("the WAL keeper's lock is never poisoned").failed.clone()
    }

    /// Runs `then` once everything committed so far on the database is on disk (`Ok`), or
    /// the fsync failed (`Err`, and nothing should be acknowledged).
    fn when_durable(&self, then: impl FnOnce(Result<(), String>) + Send + 'static) -> Handed {
        let mut state = self.shared.state.lock().expect("the WAL keeper's lock is never poisoned");
        state.waiting.push(Box::new(then));
        state.handed += 1;
        let handed = Handed(state.handed);
        drop(state);
        self.shared.work.notify_one();
        handed
    }

    /// Returns once the fsync that covers `handed` is done and its answers ran. A writer
    /// waits for its previous commit's before it takes its next batch: while the disk is the
    /// slower stage, requests gather into larger batches (each batch costs a commit's fixed
    /// work) instead of the writer committing a few at a time ahead of the disk.
    fn wait_synced(&self, handed: Handed) {
        let state = self.shared.state.lock().expect("the WAL keeper's lock is never poisoned");
        let _state = self
            .shared
            .synced
            .wait_while(state, |s| s.synced < handed.0 && !s.stopping)
            .expect("the WAL keeper's lock is never poisoned");
    }
}

impl Drop for WalKeeper {
    fn drop(&mut self) {
        if let Ok(mut state) = self.shared.state.lock() {
            state.stopping = true;
        }
        self.shared.work.notify_all();
        self.shared.stop.notify_all();
        self.shared.synced.notify_all();
    }
}

/// The syncer: takes every answer waiting, fsyncs the WAL once, runs them. It finishes what
/// is waiting before it stops.
///
/// After an fsync fails, nothing is acknowledged again until the server restarts: Linux may
/// have dropped the pages it could not write and reports the error only once, so the next
/// fsync would succeed over a WAL with a hole in it — and SQLite's recovery stops at the
/// first frame that is not intact, so every commit acknowledged after the hole would be lost
/// in a power cut. (PostgreSQL stops for the same reason.) Restarting reads the WAL back from
/// the disk and recovers what is really there.
fn sync_loop(shared: &Shared) {
    let mut wal = None;
    loop {
        let (waiting, handed, failed) = {
            let mut state = shared.state.lock().expect("the WAL keeper's lock is never poisoned");
            while state.waiting.is_empty() && !state.stopping {
                state = shared.work.wait(state).expect("the WAL keeper's lock is never poisoned");
            }
            if state.waiting.is_empty() {
                return;
            }
            (std::mem::take(&mut state.waiting), state.handed, state.failed.clone())
        };
        let synced = match &failed {
            Some(earlier) => Err(format!(
                "the write could not be made durable: an earlier fsync of the WAL failed ({earlier}); restart the server"
            )),
            None => sync(&shared.wal, &mut wal).map_err(|e| {
                tracing::error!(
                    error = %e, wal = %shared.wal.display(),
                    "fsync of the SQLite WAL failed; no write is acknowledged until the server restarts"
                );
                shared.state.lock().expect("the WAL keeper's lock is never poisoned").failed = Some(e.to_string());
                format!("the write could not be made durable: {e}")
            }),
        };
        for then in waiting {
            // An answer that panics must not take the syncer, and every writer waiting on it, down.
            let answered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| then(synced.clone())));
            if answered.is_err() {
                tracing::error!("an answer after the WAL's fsync panicked");
            }
        }
        shared.state.lock().expect("the WAL keeper's lock is never poisoned").synced = handed;
        shared.synced.notify_all();
    }
}

/// `fdatasync` of the WAL file, through a handle reopened if the file at `path` is no longer
/// the one it was opened on (SQLite deletes the WAL when its last connection closes).
fn sync(path: &Path, wal: &mut Option<(std::fs::File, u64)>) -> std::io::Result<()> {
    let inode = inode(path)?;
    let file = match wal {
        Some((file, opened)) if *opened == inode => file,
        _ => &mut wal.insert((std::fs::File::open(path)?, inode)).0,
    };
    file.sync_data()
}

/// The inode number of the file at `path`, read without its timestamps.
///
/// Why not `std::fs::metadata`: a stat that reads a file's timestamps marks them as seen, and
/// Linux (6.13+, multigrain timestamps) then stamps the next write with a fresh fine-grained
/// mtime, which dirties the inode — so each fdatasync after such a stat also wrote the inode,
/// one more synchronous write per fsync (+40 µs of CPU and +70 µs of wall time per fsync on
/// ext4, bench/RESULTS.md). `statx` asking for the inode alone leaves them unseen.
fn inode(path: &Path) -> std::io::Result<u64> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{AtFlags, CWD, StatxFlags, statx};
        match statx(CWD, path, AtFlags::empty(), StatxFlags::INO) {
            Ok(found) => return Ok(found.stx_ino),
            // Kernels before 4.11 have no statx.
            Err(rustix::io::Errno::NOSYS) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(std::fs::metadata(path)?.ino())
}

/// The checkpointer: every [`CHECKPOINT_EVERY`], copies the WAL into the database — beside
/// the writers, then the rest holding the gate.
fn checkpoint_loop(shared: &Shared, connection: &DirectConnection, gate: &tokio::sync::Mutex<()>) {
    let mut idle = 0;
    loop {
        {
            let state = shared.state.lock().expect("the WAL keeper's lock is never poisoned");
            let (state, _) = shared
                .stop
                .wait_timeout_while(state, CHECKPOINT_EVERY, |s| !s.stopping)
                .expect("the WAL keeper's lock is never poisoned");
            if state.stopping {
                return;
            }
            // After a failed fsync the WAL may hold frames the kernel could not write and has
            // dropped: copying them would carry the damage into the database file itself.
            // Restarting recovers what is really on disk.
            if state.failed.is_some() {
                continue;
            }
        }
        if let Err(error) = checkpoint(connection, gate, &mut idle) {
            tracing::warn!(%error, "checkpointing the SQLite WAL failed; trying again later");
        }
    }
}

/// One round; `idle` is the WAL's frame count after the previous round's copy under the gate:
/// while it stands, nothing was written since and there is nothing to do.
fn checkpoint(connection: &DirectConnection, gate: &tokio::sync::Mutex<()>, idle: &mut i64) -> rusqlite::Result<()> {
    let (mut frames, mut copied) = (0, 0);
    for _ in 0..ROUNDS_BESIDE_WRITERS {
        (frames, copied) = passive_checkpoint(connection)?;
        if frames - copied <= SMALL_REMAINDER {
            break;
        }
    }
    if frames <= 0 || (frames == copied && frames == *idle) {
        return Ok(());
    }
    // The WAL starts again from its beginning only at a write transaction that began when every
    // frame was copied: with the writers held back, the copy catches up with them.
    let _gate = gate.blocking_lock();
    (frames, _) = passive_checkpoint(connection)?;
    *idle = frames;
    Ok(())
}

/// `PRAGMA wal_checkpoint(PASSIVE)`: the WAL's frames, and how many of them are now copied.
fn passive_checkpoint(connection: &DirectConnection) -> rusqlite::Result<(i64, i64)> {
    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| Ok((row.get(1)?, row.get(2)?)))
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Instant;

    use super::*;
    use crate::db::{DatabaseUrl, Db, PoolOptions, connect};

    async fn database(dir: &tempfile::TempDir) -> Db {
        let url = DatabaseUrl::Sqlite(dir.path().join("wal.db"));
        let options = PoolOptions { max_connections: 2, connect_timeout: Duration::from_secs(5) };
        connect(&url, &options).await.expect("the database opens")
    }

    fn keeper(db: &Db) -> (Arc<WalKeeper>, DirectConnection, Arc<tokio::sync::Mutex<()>>) {
        let Db::Sqlite { path, wal, gate, .. } = db else { unreachable!("a SQLite database") };
        let connection = DirectConnection::open_for_group_commit(path).expect("a group-commit connection");
        connection.execute_batch("CREATE TABLE notes (body TEXT NOT NULL)").expect("a table");
        (wal.clone(), connection, gate.clone())
    }

    /// A keeper after one write whose WAL file was then removed, so that its next fsync fails;
    /// with the database (kept open) and the WAL's path.
    async fn keeper_whose_wal_is_gone(dir: &tempfile::TempDir) -> (Db, Arc<WalKeeper>, std::path::PathBuf) {
        let db = database(dir).await;
        let (wal, connection, _) = keeper(&db);
        connection.execute("INSERT INTO notes (body) VALUES ('lost')", []).unwrap();
        let wal_file = dir.path().join("wal.db-wal");
        std::fs::remove_file(&wal_file).unwrap();
        (db, wal, wal_file)
    }

    #[tokio::test]
    async fn answers_run_after_the_fsync_in_the_order_they_were_handed_over() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(&dir).await;
        let (wal, connection, _) = keeper(&db);
        let (heard, answers) = mpsc::channel();
        let mut handed = Vec::new();
        for n in 0..5 {
            connection.execute("INSERT INTO notes (body) VALUES (?1)", [format!("note {n}")]).unwrap();
            let heard = heard.clone();
            handed.push(wal.when_durable(move |synced| heard.send((n, synced)).unwrap()));
        }
        wal.wait_synced(*handed.last().unwrap());
        let answered: Vec<(i32, Result<(), String>)> = answers.try_iter().collect();
        assert_eq!(answered, (0..5).map(|n| (n, Ok(()))).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn an_fsync_that_fails_is_reported_to_every_answer_waiting_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let (_db, wal, _) = keeper_whose_wal_is_gone(&dir).await;
        let (heard, answers) = mpsc::channel();
        let handed = wal.when_durable(move |synced| heard.send(synced).unwrap());
        wal.wait_synced(handed);
        let synced = answers.try_recv().expect("the answer ran");
        let message = synced.expect_err("nothing is acknowledged");
        assert!(message.starts_with("the write could not be made durable"), "{message}");
    }

    #[tokio::test]
    async fn after_an_fsync_failed_nothing_is_acknowledged_even_once_the_wal_can_be_synced_again() {
        let dir = tempfile::tempdir().unwrap();
        let (_db, wal, wal_file) = keeper_whose_wal_is_gone(&dir).await;
        let (heard, answers) = mpsc::channel();
        let failing = heard.clone();
        wal.wait_synced(wal.when_durable(move |synced| failing.send(synced).unwrap()));
        assert!(answers.try_recv().expect("the first answer ran").is_err());
        // A file at the WAL's path again: an fsync of it would now succeed.
        std::fs::write(&wal_file, b"frames").unwrap();
        assert!(sync(&wal_file, &mut None).is_ok());
        wal.wait_synced(wal.when_durable(move |synced| heard.send(synced).unwrap()));
        let message = answers.try_recv().expect("the later answer ran").expect_err("nothing is acknowledged");
        assert!(message.contains("an earlier fsync of the WAL failed"), "{message}");
        assert!(message.contains("restart the server"), "{message}");
    }

    #[tokio::test]
    async fn after_an_fsync_failed_the_checkpointer_copies_nothing_into_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(&dir).await;
        let (wal, connection, _) = keeper(&db);
        // As the syncer records a failed fsync (the WAL itself is left intact, so that only
        // the checkpointer's restraint keeps these frames out of the database file).
        wal.shared.state.lock().unwrap().failed = Some("simulated".into());
        let database_file = dir.path().join("wal.db");
        let before = std::fs::read(&database_file).unwrap();
        for n in 0..50 {
            connection.execute("INSERT INTO notes (body) VALUES (?1)", [format!("note {n}")]).unwrap();
        }
        std::thread::sleep(3 * CHECKPOINT_EVERY);
        assert!(std::fs::read(&database_file).unwrap() == before, "the checkpointer copied frames after the failure");
    }

    #[tokio::test]
    async fn the_checkpointer_copies_the_wal_back_so_that_it_starts_again_from_its_beginning() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(&dir).await;
        let (wal, connection, gate) = keeper(&db);
        // Commits of 32 KiB without a pause, each under the write gate as the writers commit,
        // until the WAL was started again twice (SQLite gives it a new salt each time).
        let body = "x".repeat(32 * 1024);
        let wal_file = dir.path().join("wal.db-wal");
        let salt = move || {
            let mut header = [0; 32];
            std::io::Read::read_exact(&mut std::fs::File::open(&wal_file).unwrap(), &mut header).unwrap();
            header[16..20].to_vec()
        };
        let started = Instant::now();
        tokio::task::spawn_blocking(move || {
            let (mut salts, mut commits) = (vec![], 0);
            // Each round of the checkpointer starts it again: a few rounds, with room for a slow machine.
            while salts.len() < 3 && started.elapsed() < 20 * CHECKPOINT_EVERY {
                let held = gate.blocking_lock();
                connection.execute("INSERT INTO notes (body) VALUES (?1)", [&body]).unwrap();
                drop(held);
                commits += 1;
                wal.wait_synced(wal.when_durable(|_| ()));
                let now = salt();
                if salts.last() != Some(&now) {
                    salts.push(now);
                }
            }
            assert_eq!(salts.len(), 3, "the WAL was started {} times again in {commits} commits", salts.len() - 1);
        })
        .await
        .unwrap();
    }

    #[test]
    fn the_inode_is_the_one_stat_reports_and_changes_when_the_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file-wal");
        std::fs::write(&path, b"first").unwrap();
        let first = inode(&path).unwrap();
        assert_eq!(first, std::fs::metadata(&path).unwrap().ino());
        let kept_open = std::fs::File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"second").unwrap();
        assert_ne!(inode(&path).unwrap(), first, "a new file while the old one is still open has a new inode");
        drop(kept_open);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(inode(&path).unwrap_err().kind(), std::io::ErrorKind::NotFound);
    }
}
