//! Group commit for ingest: request handlers hand their signal to one writer task and wait;
//! the writer commits everything pending in one transaction (signal rows and their
//! `signal.received` events, multi-row inserts) and then answers every waiter. One commit —
//! one fsync on SQLite — is shared by a whole batch, which is how durable ingest keeps up
//! with a server that stores nothing.
//!
//! Nothing is acknowledged before its commit, so the channel is not a queue that can lose
//! accepted data: a signal in it has not been answered yet. The channel is bounded; when it
//! is full, handlers wait (back-pressure) instead of anything being dropped.

use std::sync::Arc;

use signalbox_core::{Timestamp, new_id};
use sqlx::{PgPool, QueryBuilder};
use tokio::sync::{broadcast, mpsc, oneshot};
use uuid::Uuid;

use crate::Error;
use crate::actions::model::Source;
use crate::actions::store::{NewRun, insert_pending_runs};
use crate::actions::{ActionsRuntime, SourceIndex};
use crate::db::{Arrivals, Arriving, Backend, Db, DirectConnection, DurableAnswers, TxExt, spawn_batch_thread};
use crate::events::types;
use crate::webhooks::outbox;

/// Most signals committed in one transaction (SQLite allows 32766 bound parameters).
const MAX_BATCH: usize = 512;
const CHANNEL_CAPACITY: usize = 8192;
/// Delivery rows per INSERT (seven bound parameters each).
const DELIVERIES_PER_STATEMENT: usize = 2000;
/// Action runs per INSERT (seven bound parameters each).
const RUNS_PER_STATEMENT: usize = 2000;

/// A signal accepted by the HTTP layer, not yet stored.
#[derive(Debug, Clone)]
pub struct NewSignal {
    pub id: Uuid,
    pub event_id: Uuid,
    pub workspace_id: Uuid,
    pub endpoint_id: Uuid,
    pub endpoint_name: String,
    pub token_id: Uuid,
    pub token_name: String,
    /// Valid JSON text, stored verbatim.
    pub payload: String,
    pub received_at: Timestamp,
}

/// A signal with every column already rendered as text. Handlers render in parallel on all
/// cores, so the single writer only binds and commits.
#[derive(Debug)]
pub struct PreparedSignal {
    id: String,
    /// The endpoint's name is not stored with the signal; kept for the action runs' snapshot.
    endpoint_name: String,
    event_id: String,
    workspace_id: String,
    endpoint_id: String,
    token_id: String,
    token_name: String,
    payload: String,
    received_at: String,
    event_data: String,
}

impl NewSignal {
    pub fn prepare(self) -> PreparedSignal {
        let event_data = event_data(&self);
        PreparedSignal {
            id: id_text(self.id),
            endpoint_name: self.endpoint_name,
            event_id: id_text(self.event_id),
            workspace_id: id_text(self.workspace_id),
            endpoint_id: id_text(self.endpoint_id),
            token_id: id_text(self.token_id),
            token_name: self.token_name,
            payload: self.payload,
            received_at: self.received_at.to_string(),
            event_data,
        }
    }
}

/// Why a signal was not acknowledged.
#[derive(Debug, Clone)]
enum NotStored {
    /// Its batch's commit failed (logged once per batch).
    Commit(String),
    /// Its batch's fsync failed: no write is acknowledged until the server restarts.
    NotDurable,
}

type Reply = oneshot::Sender<Result<(), NotStored>>;

/// The handlers' side of the writer.
#[derive(Clone)]
pub struct SignalWriter {
    sender: mpsc::Sender<(PreparedSignal, Reply)>,
    arrivals: Arrivals,
}

impl SignalWriter {
    /// Starts the writer: on SQLite a thread of its own with a direct connection
    /// ([`DirectConnection`]) that commits each batch while holding the write lock (it ends
    /// when the server's state is dropped); on Postgres a task (returned, to be aborted at
    /// shutdown).
    /// `committed` hears the newest `seq` after every commit, to wake live views.
    pub fn start(
        db: Db,
        committed: broadcast::Sender<i64>,
        actions: Arc<ActionsRuntime>,
    ) -> anyhow::Result<(Self, Option<tokio::task::JoinHandle<()>>)> {
        let (sender, receiver) = mpsc::channel(CHANNEL_CAPACITY);
        let batches = Arc::new(Batches { db, committed, actions });
        let arrivals = Arrivals::default();
        let task = match &batches.db {
            Db::Sqlite { path, wal, .. } => {
                let mut connection = DirectConnection::open_for_group_commit(path)?;
                let (mut durable, batches) = (DurableAnswers::new(wal.clone()), batches.clone());
                spawn_batch_thread("signal-writer", receiver, MAX_BATCH, arrivals.clone(), move |runtime, batch| {
                    let (signals, replies): (Vec<PreparedSignal>, Vec<Reply>) = batch.drain(..).unzip();
                    let committing = runtime
                        .block_on(async {
                            let index = batches.actions.index(&batches.db).await?;
                            let lock = batches.db.write_lock().await;
                            Ok::<_, Error>((index, lock))
                        })
                        .and_then(|(index, _lock)| {
                            let runs = pending_runs(&signals, &index);
                            let (newest, deliveries_added) = commit_direct(&mut connection, &signals, &runs)?;
                            Ok(Committed { newest, runs_added: !runs.is_empty(), deliveries_added })
                        });
                    // Answered once the commit is on disk, while this thread goes on to the next batch.
                    let batches = batches.clone();
                    durable.answer_when_durable(move |synced| match (committing, synced) {
                        // The syncer logged why.
                        (Ok(_), Err(_)) => refuse(replies, NotStored::NotDurable),
                        (committing, _) => batches.answer(committing, replies),
                    });
                })?;
                None
            }
            Db::Postgres(pool) => Some(tokio::spawn(run(pool.clone(), receiver, batches.clone()))),
        };
        Ok((Self { sender, arrivals }, task))
    }

    /// Counts a request on its way to [`Self::store`] from its handler's start: the writer
    /// waits a moment for it when its batch is small.
    pub fn arriving(&self) -> Arriving {
        self.arrivals.arriving()
    }

    /// Stores the signal and returns once it is committed.
    pub async fn store(&self, signal: NewSignal, arriving: Arriving) -> Result<(), Error> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send((signal.prepare(), reply))
            .await
            .map_err(|_| Error::service_unavailable("the server is shutting down"))?;
        drop(arriving);
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(NotStored::NotDurable)) => Err(Error::not_durable()),
            Ok(Err(NotStored::Commit(message))) => {
                Err(Error::internal(anyhow::anyhow!("committing signals: {message}")))
            }
            Err(_) => Err(Error::service_unavailable("the server is shutting down")),
        }
    }
}

/// What a batch committed: its newest event `seq`, and whether it wrote action runs and
/// deliveries.
struct Committed {
    newest: i64,
    runs_added: bool,
    deliveries_added: bool,
}

/// What every batch needs, whichever way it is committed.
struct Batches {
    db: Db,
    committed: broadcast::Sender<i64>,
    actions: Arc<ActionsRuntime>,
}

impl Batches {
    /// Wakes what the batch's writes concern (the action runner, the delivery engine, live
    /// views), then answers every waiter: success once committed, else the error.
    fn answer(&self, committing: Result<Committed, Error>, replies: Vec<Reply>) {
        match committing {
            Ok(Committed { newest, runs_added, deliveries_added }) => {
                if runs_added {
                    self.actions.runs_added();
                }
                if deliveries_added {
                    crate::db::deliveries_written();
                }
                let _ = self.committed.send(newest);
                for reply in replies {
                    let _ = reply.send(Ok(()));
                }
            }
            Err(error) => {
                tracing::error!(error = %error, signals = replies.len(), "committing a batch of signals failed");
                refuse(replies, NotStored::Commit(error.to_string()));
            }
        }
    }
}

/// Answers every waiter of a batch that was not stored.
fn refuse(replies: Vec<Reply>, why: NotStored) {
    for reply in replies {
        let _ = reply.send(Err(why.clone()));
    }
}

/// The Postgres writer: batches through sqlx.
async fn run(pool: PgPool, mut receiver: mpsc::Receiver<(PreparedSignal, Reply)>, batches: Arc<Batches>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (signals, replies): (Vec<PreparedSignal>, Vec<Reply>) = batch.drain(..).unzip();
        let committing = async {
            let index = batches.actions.index(&batches.db).await?;
            let runs = pending_runs(&signals, &index);
            let (newest, deliveries_added) = commit_batch(&pool, &signals, &runs).await?;
            Ok(Committed { newest, runs_added: !runs.is_empty(), deliveries_added })
        };
        batches.answer(committing.await, replies);
    }
}

/// The event data of `signal.received`. The payload itself is stored once, in `signals`
/// (found by `signal_id`): writing it twice made each commit twice as large.
fn event_data(signal: &NewSignal) -> String {
    /// Keys in the order `json!` wrote them (sorted), serialized without building a map.
    #[derive(serde::Serialize)]
    struct SignalReceived<'a> {
        endpoint_id: Uuid,
        endpoint_name: &'a str,
        signal_id: Uuid,
        token_id: Uuid,
        token_name: &'a str,
    }
    serde_json::to_string(&SignalReceived {
        endpoint_id: signal.endpoint_id,
        endpoint_name: &signal.endpoint_name,
        signal_id: signal.id,
        token_id: signal.token_id,
        token_name: &signal.token_name,
    })
    .expect("strings and ids always serialize")
}

/// A UUID's hyphenated text, written straight into its `String`.
fn id_text(id: Uuid) -> String {
    id.hyphenated().encode_lower(&mut Uuid::encode_buffer()).to_owned()
}

/// A run for one action set, written with its signal.
#[derive(Debug)]
pub struct PendingRun<'a> {
    id: String,
    signal: &'a PreparedSignal,
    action_set_id: &'a str,
    snapshot: String,
}

/// One pending run per (signal, enabled action set of the signal's endpoint).
fn pending_runs<'a>(signals: &'a [PreparedSignal], index: &'a SourceIndex) -> Vec<PendingRun<'a>> {
    if index.is_empty() {
        return Vec::new();
    }
    let mut runs = Vec::new();
    for signal in signals {
        let Some(sets) = index.get(&(Source::SignalEndpoint, signal.endpoint_id.clone())) else { continue };
        let snapshot = signal_snapshot(signal);
        for set in sets {
            runs.push(PendingRun {
                id: new_id().to_string(),
                signal,
                action_set_id: &set.id,
                snapshot: snapshot.clone(),
            });
        }
    }
    runs
}

/// The signal as a run keeps it (`actions::model::SignalSnapshot`), its payload verbatim.
fn signal_snapshot(signal: &PreparedSignal) -> String {
    let head = serde_json::json!({
        "id": signal.id, "event_id": signal.event_id, "source": Source::SignalEndpoint.as_str(),
        "source_id": signal.endpoint_id, "source_name": signal.endpoint_name, "token_name": signal.token_name,
        "received_at": signal.received_at,
    })
    .to_string();
    // `head` is a JSON object: append the stored payload text without parsing it again.
    format!("{},\"payload\":{}}}", &head[..head.len() - 1], signal.payload)
}

/// Inserts a batch in one Postgres transaction, a few multi-row statements in all (one round
/// trip each); returns the newest event `seq` and whether any delivery was written. Each
/// signal row finds its event's `seq` by the event id inside its statement, so nothing returns
/// a row per signal. Not `in_write_tx!`, which wakes every background worker: a batch concerns
/// only the delivery engine, and only when it wrote deliveries (the caller wakes it).
async fn commit_batch(
    pool: &PgPool,
    signals: &[PreparedSignal],
    runs: &[PendingRun<'_>],
) -> Result<(i64, bool), Error> {
    let mut tx = pool.begin().await?;
    tx.order_events().await?;
    let mut events = QueryBuilder::new("INSERT INTO events (id, workspace_id, type, actor_id, data, created_at) ");
    events.push_values(signals, |mut row, signal| {
        row.push_bind(signal.event_id.as_str())
            .push_bind(signal.workspace_id.as_str())
            .push_bind(types::SIGNAL_RECEIVED)
            .push_bind(None::<&str>)
            .push_bind(signal.event_data.as_str())
            .push_bind(signal.received_at.as_str());
    });
    events.build().execute(&mut *tx).await?;

    // The outbox: deliveries for webhooks that name `signal.received`.
    let mut workspaces: Vec<&str> = signals.iter().map(|s| s.workspace_id.as_str()).collect();
    workspaces.sort_unstable();
    workspaces.dedup();
    let mut subscribed = Vec::new();
    for workspace in workspaces {
        let rows = sqlx::query_as(outbox::SUBSCRIBERS).bind(workspace).fetch_all(&mut *tx).await?;
        let subscribers = outbox::subscribers(rows);
        subscribed
            .extend(subscribers.into_iter().filter(|s| s.wants(types::SIGNAL_RECEIVED)).map(|s| (workspace, s.id)));
    }
    let deliveries: Vec<outbox::NewDelivery<'_>> = subscribed
        .iter()
        .flat_map(|(workspace, webhook_id)| {
            signals.iter().filter(move |s| s.workspace_id == *workspace).map(move |s| outbox::NewDelivery {
                id: new_id().to_string(),
                webhook_id,
                workspace_id: workspace,
                event_id: &s.event_id,
                event_type: types::SIGNAL_RECEIVED,
                at: &s.received_at,
            })
        })
        .collect();
    for chunk in deliveries.chunks(DELIVERIES_PER_STATEMENT) {
        outbox::insert_deliveries(Backend::Postgres, chunk).query().execute(&mut *tx).await?;
    }

    let mut rows = QueryBuilder::new(
        "INSERT INTO signals (id, workspace_id, endpoint_id, token_id, token_name, payload, received_at, event_seq) ",
    );
    rows.push_values(signals, |mut row, signal| {
        row.push_bind(signal.id.as_str())
            .push_bind(signal.workspace_id.as_str())
            .push_bind(signal.endpoint_id.as_str())
            .push_bind(signal.token_id.as_str())
            .push_bind(signal.token_name.as_str())
            .push_bind(signal.payload.as_str())
            .push_bind(signal.received_at.as_str())
            .push("(SELECT seq FROM events WHERE id = ")
            .push_bind_unseparated(signal.event_id.as_str())
            .push_unseparated(")");
    });
    rows.build().execute(&mut *tx).await?;

    // The action runs, in the signal's own transaction: a signal never commits without them.
    let runs: Vec<NewRun<'_>> = runs
        .iter()
        .map(|run| NewRun {
            id: &run.id,
            workspace_id: &run.signal.workspace_id,
            action_set_id: run.action_set_id,
            signal_id: &run.signal.id,
            snapshot: &run.snapshot,
            created_at: &run.signal.received_at,
        })
        .collect();
    for chunk in runs.chunks(RUNS_PER_STATEMENT) {
        insert_pending_runs(Backend::Postgres, chunk).query().execute(&mut *tx).await?;
    }
    // This transaction holds the event order (single writer / advisory lock): the
    // highest seq is its own newest event.
    let newest: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM events").fetch_one(&mut *tx).await?;
    tx.notify_events(newest).await?;
    tx.commit().await?;
    Ok((newest, !deliveries.is_empty()))
}

/// Rows per multi-row INSERT on SQLite, largest first: a batch is written in chunks of these
/// sizes, so each table has one statement text per size (prepared once, then cached) and a batch of
/// 20 signals takes two INSERTs per table instead of twenty. Each INSERT also reads and
/// writes its table's `sqlite_sequence` row (AUTOINCREMENT) once, whatever its row count.
const ROWS_PER_INSERT: [usize; 4] = [64, 16, 4, 1];

/// The `events` and `signals` INSERTs of one [`ROWS_PER_INSERT`] size.
struct MultiRowInserts {
    events: String,
    signals: String,
}

fn multi_row_inserts() -> &'static [MultiRowInserts; ROWS_PER_INSERT.len()] {
    static INSERTS: std::sync::LazyLock<[MultiRowInserts; ROWS_PER_INSERT.len()]> = std::sync::LazyLock::new(|| {
        let values = |head: &str, row: &str, rows: usize| format!("{head} VALUES {}", vec![row; rows].join(", "));
        let event_row = format!("(?, ?, '{}', NULL, ?, ?)", types::SIGNAL_RECEIVED);
        ROWS_PER_INSERT.map(|rows| MultiRowInserts {
            events: values("INSERT INTO events (id, workspace_id, type, actor_id, data, created_at)", &event_row, rows),
            signals: values(
                "INSERT INTO signals (id, workspace_id, endpoint_id, token_id, token_name, payload, received_at, event_seq)",
                "(?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            ),
        })
    });
    &INSERTS
}

/// Inserts the events and then the signal rows of `chunk` (as many rows as `inserts` has),
/// one multi-row INSERT each; returns the first event's `seq`.
fn insert_chunk(
    tx: &rusqlite::Transaction<'_>,
    chunk: &[PreparedSignal],
    inserts: &MultiRowInserts,
) -> rusqlite::Result<i64> {
    let mut events = tx.prepare_cached(&inserts.events)?;
    for (row, signal) in chunk.iter().enumerate() {
        let at = row * 4;
        events.raw_bind_parameter(at + 1, &signal.event_id)?;
        events.raw_bind_parameter(at + 2, &signal.workspace_id)?;
        events.raw_bind_parameter(at + 3, &signal.event_data)?;
        events.raw_bind_parameter(at + 4, &signal.received_at)?;
    }
    events.raw_execute()?;
    // One writer, AUTOINCREMENT, no explicit `seq`: the rows of one INSERT take consecutive
    // seqs in VALUES order, the last one `last_insert_rowid`.
    let first_seq = tx.last_insert_rowid() - (chunk.len() as i64 - 1);
    let mut signal_rows = tx.prepare_cached(&inserts.signals)?;
    for ((row, signal), seq) in chunk.iter().enumerate().zip(first_seq..) {
        let at = row * 8;
        signal_rows.raw_bind_parameter(at + 1, &signal.id)?;
        signal_rows.raw_bind_parameter(at + 2, &signal.workspace_id)?;
        signal_rows.raw_bind_parameter(at + 3, &signal.endpoint_id)?;
        signal_rows.raw_bind_parameter(at + 4, &signal.token_id)?;
        signal_rows.raw_bind_parameter(at + 5, &signal.token_name)?;
        signal_rows.raw_bind_parameter(at + 6, &signal.payload)?;
        signal_rows.raw_bind_parameter(at + 7, &signal.received_at)?;
        signal_rows.raw_bind_parameter(at + 8, seq)?;
    }
    signal_rows.raw_execute()?;
    Ok(first_seq)
}

/// [`commit_batch`] on a direct SQLite connection: multi-row INSERTs of a few fixed sizes
/// ([`ROWS_PER_INSERT`], prepared once), each event's `seq` from `last_insert_rowid`.
/// The caller holds the write lock. Returns the newest `seq` and whether any delivery was
/// written (only then is the delivery engine woken).
fn commit_direct(
    connection: &mut DirectConnection,
    signals: &[PreparedSignal],
    runs: &[PendingRun<'_>],
) -> Result<(i64, bool), Error> {
    let tx = connection.transaction()?;
    let mut subscribed: Vec<(&str, String)> = Vec::new();
    {
        let mut webhooks = tx.prepare_cached(outbox::SUBSCRIBERS)?;
        let mut workspaces: Vec<&str> = signals.iter().map(|s| s.workspace_id.as_str()).collect();
        workspaces.sort_unstable();
        workspaces.dedup();
        for workspace in workspaces {
            let rows = webhooks
                .query_map([workspace], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            subscribed.extend(
                outbox::subscribers(rows)
                    .into_iter()
                    .filter(|s| s.wants(types::SIGNAL_RECEIVED))
                    .map(|s| (workspace, s.id)),
            );
        }
    }
    let mut newest = 0;
    {
        let mut delivery = tx.prepare_cached(
            "INSERT INTO deliveries (id, webhook_id, workspace_id, event_id, event_type, status, next_attempt_at, \
             created_at, updated_at, event_seq) VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6, ?6, ?7)",
        )?;
        let mut written = 0;
        for (rows, inserts) in ROWS_PER_INSERT.into_iter().zip(multi_row_inserts()) {
            while signals.len() - written >= rows {
                let chunk = &signals[written..written + rows];
                written += rows;
                let first_seq = insert_chunk(&tx, chunk, inserts)?;
                for (seq, signal) in (first_seq..).zip(chunk) {
                    newest = seq;
                    for (_, webhook_id) in subscribed.iter().filter(|(workspace, _)| *workspace == signal.workspace_id)
                    {
                        delivery.execute((
                            id_text(new_id()),
                            webhook_id,
                            &signal.workspace_id,
                            &signal.event_id,
                            types::SIGNAL_RECEIVED,
                            &signal.received_at,
                            seq,
                        ))?;
                    }
                }
            }
        }
        let mut run = tx.prepare_cached(
            "INSERT INTO action_runs (id, workspace_id, action_set_id, signal_id, signal, state, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6)",
        )?;
        for pending in runs {
            run.execute((
                &pending.id,
                &pending.signal.workspace_id,
                pending.action_set_id,
                &pending.signal.id,
                &pending.snapshot,
                &pending.signal.received_at,
            ))?;
        }
    }
    tx.commit()?;
    Ok((newest, !subscribed.is_empty()))
}
