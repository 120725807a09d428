//! Group commit for typed signals: request handlers check and prepare their capture, hand it
//! to one writer task and wait; the writer takes everything pending and, in one transaction,
//! counts each request against its workspace's rate limits, finds repeats, resolves each
//! capture's lead, qualifies it, and writes the leads, captures, events, outbox deliveries,
//! action runs and counters with a handful of multi-row statements; then it answers every
//! waiter. One commit — one fsync on SQLite — serves the whole batch.
//!
//! Requests are processed in the order they arrived, each seeing what the ones before it in
//! the batch did (a repeat of a capture earlier in the batch replays its answer; a second
//! signal about a new person finds the lead the first created), so a batch behaves exactly
//! like its requests one after another. On Postgres the transaction first takes the event
//! log's lock (`order_events`), which every typed batch on every node takes, so the reads
//! that decide counts, repeats and leads cannot interleave with another node's batch; the
//! unique constraints on captures and leads stay as the guarantee underneath.
//!
//! Nothing is acknowledged before its commit, so the channel is not a queue that can lose
//! accepted data. If a batch fails it is tried again; if it fails again, each request is
//! committed on its own, so one bad request cannot fail the others.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::value::RawValue;
use serde_json::{Value, json};
use signalbox_core::typed::identity::Identity;
use signalbox_core::{Timestamp, new_id};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::ingest::{Captured, Qualification, Qualifying};
use super::leads::{self, LeadBook, StoredLead};
use super::limits::{self, Counts, Limits, Standing};
use crate::Error;
use crate::actions::ActionsRuntime;
use crate::actions::model::Source;
use crate::actions::store::{NewRun, insert_pending_runs};
use crate::db::statement::{Run, Statement};
use crate::db::{Arrivals, Arriving, Backend, Db, DirectConnection, DurableAnswers, TxExt, spawn_batch_thread};
use crate::events::types as event_types;
use crate::webhooks::outbox;

/// Most requests handled in one transaction.
const MAX_BATCH: usize = 256;
const CHANNEL_CAPACITY: usize = 4096;

/// A request after authentication, as the writer counts and (when it was valid) captures it.
pub struct Submission {
    pub workspace_id: Uuid,
    /// Who sent it: the actor of its events.
    pub actor_id: Uuid,
    pub limits: Limits,
    pub now: Timestamp,
    /// `None`: the request failed its checks; it is only counted.
    pub capture: Option<Box<PreparedCapture>>,
}

/// A valid capture, checked and normalised by its handler.
pub struct PreparedCapture {
    /// `k:` + the idempotency key, or `n:` + the natural key.
    pub dedupe_key: String,
    pub signal_type: String,
    pub source: String,
    pub event_name: Option<String>,
    pub occurred_at: Timestamp,
    pub identity: Identity,
    /// `identity` as stored and as rules see it.
    pub identity_json: Value,
    pub context: Option<Value>,
    /// `identity_json` and `context` as JSON text, written by the handler rather than on the
    /// writer's serial path.
    pub identity_text: String,
    pub context_text: Option<Box<RawValue>>,
    pub sub_rule: Option<String>,
    pub warnings: Vec<String>,
    /// Set when the type autoqualifies.
    pub qualifying: Option<Qualifying>,
    /// Enabled action sets whose source is this signal type.
    pub action_sets: Vec<String>,
}

/// What became of a counted request.
pub enum Outcome {
    /// A request that failed its checks, counted; where its workspace now stands.
    Counted(Standing),
    /// A new capture and its answer.
    Captured(Captured, Standing),
    /// A repeat: the first answer.
    Replayed(Captured, Standing),
}

type Reply = oneshot::Sender<Result<Outcome, Error>>;

/// The handlers' side of the writer.
#[derive(Clone)]
pub struct TypedWriter {
    sender: mpsc::Sender<(Submission, Reply)>,
    arrivals: Arrivals,
}

impl TypedWriter {
    /// Starts the writer: on SQLite a thread of its own with a direct connection
    /// ([`DirectConnection`]) that commits each batch while holding the write lock (it ends
    /// when the server's state is dropped); on Postgres a task (returned, to be aborted at
    /// shutdown).
    pub fn start(db: Db, actions: Arc<ActionsRuntime>) -> anyhow::Result<(Self, Option<tokio::task::JoinHandle<()>>)> {
        let (sender, receiver) = mpsc::channel(CHANNEL_CAPACITY);
        let arrivals = Arrivals::default();
        let task = match &db {
            Db::Sqlite { path, wal, .. } => {
                let mut durable = DurableAnswers::new(wal.clone());
                let mut target =
                    OnSqlite { connection: DirectConnection::open_for_group_commit(path)?, db: db.clone() };
                spawn_batch_thread("typed-writer", receiver, MAX_BATCH, arrivals.clone(), move |runtime, batch| {
                    let (submissions, replies): (Vec<Submission>, Vec<Reply>) = batch.drain(..).unzip();
                    let committed = runtime.block_on(commit_or_split(&mut target, &submissions));
                    // Answered once the commit is on disk, while this thread goes on to the next batch.
                    let actions = actions.clone();
                    durable.answer_when_durable(move |synced| answer(&actions, committed.unless_lost(synced), replies));
                })?;
                None
            }
            Db::Postgres(pool) => Some(tokio::spawn(run(OnPostgres(pool.clone()), receiver, actions))),
        };
        Ok((Self { sender, arrivals }, task))
    }

    /// Counts a request on its way to [`Self::submit`] from its handler's start: the writer
    /// waits a moment for it when its batch is small.
    pub fn arriving(&self) -> Arriving {
        self.arrivals.arriving()
    }

    /// Counts the request and stores its capture; returns once that is committed. Over a
    /// rate limit: `Err` with `429`.
    pub async fn submit(&self, submission: Submission, arriving: Arriving) -> Result<Outcome, Error> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send((submission, reply))
            .await
            .map_err(|_| Error::service_unavailable("the server is shutting down"))?;
        drop(arriving);
        answer.await.map_err(|_| Error::service_unavailable("the server is shutting down"))?
    }
}

/// The Postgres writer's task.
async fn run(mut target: OnPostgres, mut receiver: mpsc::Receiver<(Submission, Reply)>, actions: Arc<ActionsRuntime>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (submissions, replies): (Vec<Submission>, Vec<Reply>) = batch.drain(..).unzip();
        let committed = commit_or_split(&mut target, &submissions).await;
        answer(&actions, committed, replies);
    }
}

/// Wakes what the batch's writes concern (the action runner, the delivery engine), then
/// answers every request.
fn answer(actions: &ActionsRuntime, committed: Committed, replies: Vec<Reply>) {
    if committed.runs_added {
        actions.runs_added();
    }
    if committed.deliveries_added {
        crate::db::deliveries_written();
    }
    for (reply, outcome) in replies.into_iter().zip(committed.outcomes) {
        let _ = reply.send(outcome);
    }
}

/// What a batch committed.
#[derive(Default)]
struct Committed {
    /// The outcome of each request of the batch, in order.
    outcomes: Vec<Result<Outcome, Error>>,
    runs_added: bool,
    deliveries_added: bool,
}

impl Committed {
    /// What to answer once the WAL's fsync ran: when it failed, no request is acknowledged
    /// (the syncer logged why).
    fn unless_lost(self, synced: Result<(), String>) -> Self {
        match synced {
            Ok(()) => self,
            Err(_) => Committed {
                outcomes: self.outcomes.iter().map(|_| Err(Error::not_durable())).collect(),
                runs_added: false,
                deliveries_added: false,
            },
        }
    }
}

/// Where a batch is committed: one transaction, [`write_batch`] inside it.
trait Target {
    fn commit(&mut self, submissions: &[Submission]) -> impl Future<Output = Result<Committed, Error>>;
}

/// Postgres through the pool. The transaction first takes the event log's lock: every typed
/// batch on every node takes it, so what the batch reads cannot change under it.
struct OnPostgres(sqlx::PgPool);

impl Target for OnPostgres {
    async fn commit(&mut self, submissions: &[Submission]) -> Result<Committed, Error> {
        let mut tx = self.0.begin().await?;
        tx.order_events().await?;
        let committed = write_batch(&mut tx, submissions).await?;
        tx.commit().await?;
        Ok(committed)
    }
}

/// SQLite on the writer's own connection, while holding the pools' write lock.
struct OnSqlite {
    connection: DirectConnection,
    db: Db,
}

impl Target for OnSqlite {
    async fn commit(&mut self, submissions: &[Submission]) -> Result<Committed, Error> {
        let _lock = self.db.write_lock().await;
        let mut tx = self.connection.transaction()?;
        let committed = write_batch(&mut tx, submissions).await?;
        tx.commit()?;
        Ok(committed)
    }
}

/// Commits the batch, trying once more when it fails (a write that does not take the event
/// lock may have raced it; the second try reads again), then each request on its own.
async fn commit_or_split(target: &mut impl Target, submissions: &[Submission]) -> Committed {
    let mut failure = None;
    for _ in 0..2 {
        match target.commit(submissions).await {
            Ok(committed) => return committed,
            Err(error) => failure = Some(error),
        }
    }
    let failure = failure.expect("a failed try leaves its error");
    if submissions.len() == 1 {
        tracing::error!(error = %failure, "committing a typed signal failed");
        return Committed { outcomes: vec![Err(failure)], ..Committed::default() };
    }
    tracing::warn!(error = %failure, requests = submissions.len(), "a batch of typed signals failed; committing each alone");
    let mut all = Committed { outcomes: Vec::with_capacity(submissions.len()), ..Committed::default() };
    for submission in submissions {
        match target.commit(std::slice::from_ref(submission)).await {
            Ok(mut one) => {
                all.runs_added |= one.runs_added;
                all.deliveries_added |= one.deliveries_added;
                all.outcomes.push(one.outcomes.pop().expect("one outcome per request"));
            }
            Err(error) => {
                tracing::error!(%error, "committing a typed signal failed");
                all.outcomes.push(Err(error));
            }
        }
    }
    all
}

/// A `signal_captures` row; what the handler prepared is borrowed from its capture.
struct CaptureRow<'a> {
    id: String,
    workspace_id: String,
    dedupe_key: &'a str,
    signal_type: &'a str,
    source: &'a str,
    event_name: Option<&'a str>,
    occurred_at: String,
    identity: &'a str,
    context: Option<&'a str>,
    sub_rule: Option<&'a str>,
    lead_id: String,
    /// The lead's capture before this one: its timeline is a chain (migration 0013).
    previous_capture_id: Option<String>,
    conflict: Option<String>,
    response: String,
    created_at: String,
}

/// `signal.captured`'s data: its keys sorted, as `json!` (a `BTreeMap`) wrote them.
#[derive(serde::Serialize)]
struct CapturedData<'a> {
    event_name: Option<&'a str>,
    id: &'a str,
    lead_id: &'a str,
    occurred_at: &'a str,
    /// The signal's `context`.
    properties: &'a RawValue,
    source: &'a str,
    sub_rule: Option<&'a str>,
    #[serde(rename = "type")]
    signal_type: &'a str,
}

static NO_PROPERTIES: std::sync::LazyLock<Box<RawValue>> =
    std::sync::LazyLock::new(|| RawValue::from_string("{}".to_owned()).expect("an empty object is JSON"));

/// An `events` row.
struct EventRow {
    id: String,
    workspace_id: String,
    event_type: &'static str,
    actor_id: String,
    data: String,
    created_at: String,
}

/// An `action_runs` row.
struct RunRow {
    id: String,
    workspace_id: String,
    action_set_id: String,
    signal_id: String,
    snapshot: String,
    created_at: String,
}

/// What a batch writes, gathered while its requests are processed in order.
#[derive(Default)]
struct Writes<'a> {
    captures: Vec<CaptureRow<'a>>,
    events: Vec<EventRow>,
    runs: Vec<RunRow>,
}

/// The requests of a batch after counting: each one's outcome so far, and the standing of
/// each that goes on to be captured.
struct Counted {
    outcomes: Vec<Option<Result<Outcome, Error>>>,
    to_capture: Vec<(usize, Standing)>,
}

fn count_all(submissions: &[Submission], counts: &mut Counts) -> Counted {
    let mut outcomes = Vec::with_capacity(submissions.len());
    let mut to_capture = Vec::new();
    for (i, s) in submissions.iter().enumerate() {
        let outcome = match limits::count(counts, &s.workspace_id.to_string(), s.now, s.limits) {
            Err(refused) => Some(Err(refused)),
            Ok(standing) if s.capture.is_none() => Some(Ok(Outcome::Counted(standing))),
            Ok(standing) => {
                to_capture.push((i, standing));
                None
            }
        };
        outcomes.push(outcome);
    }
    Counted { outcomes, to_capture }
}

/// Processes the counted captures in order against the stored answers (`answers`, by
/// workspace and dedupe key) and leads (`books`, by workspace): each becomes a replay or a
/// capture with its lead, qualification, events and action runs.
fn capture_all<'a>(
    submissions: &'a [Submission],
    counted: Counted,
    answers: &HashMap<(String, String), Captured>,
    books: &mut HashMap<String, LeadBook>,
    writes: &mut Writes<'a>,
) -> Vec<Result<Outcome, Error>> {
    let Counted { mut outcomes, to_capture } = counted;
    // The answer of each new capture of the batch, by workspace and dedupe key: a repeat
    // later in the batch replays it.
    let mut new_answers: HashMap<(String, &str), Captured> = HashMap::new();
    for (i, standing) in to_capture {
        let s = &submissions[i];
        let capture = s.capture.as_deref().expect("only captures are left to capture");
        let workspace = s.workspace_id.to_string();
        let repeated = answers
            .get(&(workspace.clone(), capture.dedupe_key.clone()))
            .or_else(|| new_answers.get(&(workspace.clone(), capture.dedupe_key.as_str())));
        if let Some(answer) = repeated {
            outcomes[i] = Some(Ok(Outcome::Replayed(answer.clone(), standing)));
            continue;
        }
        let book = books.entry(workspace.clone()).or_default();
        let occurred_at = capture.occurred_at.to_string();
        let capture_id = format!("sig_capture_{}", new_id().simple());
        let resolution = book.resolve(&capture.identity, &occurred_at, &capture_id);
        let qualification = match &capture.qualifying {
            None => Qualification::default(),
            Some(q) => {
                // The rules that read the lead, with the lead as this capture leaves it (the
                // handler evaluated the others).
                let lead = book.lead(resolution.index).facts().variable();
                let qualification =
                    q.profiles.qualify_with_lead(&q.before_lead, &q.signals, &capture.identity_json, &lead);
                // In order, so the lead keeps its latest capture's qualification.
                book.lead_mut(resolution.index).qualification = Some(qualification.clone());
                qualification
            }
        };
        let now = s.now.to_string();
        let answer = Captured {
            signal_capture_id: capture_id.clone(),
            matched_record_id: resolution.lead_id.clone(),
            qualification,
            warnings: capture.warnings.clone(),
        };
        let actor_id = s.actor_id.to_string();
        let data = CapturedData {
            event_name: capture.event_name.as_deref(),
            id: &capture_id,
            lead_id: &resolution.lead_id,
            occurred_at: &occurred_at,
            properties: capture.context_text.as_deref().unwrap_or(&NO_PROPERTIES),
            source: &capture.source,
            sub_rule: capture.sub_rule.as_deref(),
            signal_type: &capture.signal_type,
        };
        writes.events.push(EventRow {
            id: new_id().to_string(),
            workspace_id: workspace.clone(),
            event_type: event_types::SIGNAL_CAPTURED,
            actor_id: actor_id.clone(),
            data: serde_json::to_string(&data).expect("event data serialises"),
            created_at: now.clone(),
        });
        if let (Some(q), Some(score)) = (&capture.qualifying, answer.qualification.icp_score)
            && u64::try_from(score).unwrap_or(0) >= q.threshold
        {
            let event = super::ingest::qualified_event(s.workspace_id, Some(s.actor_id), &answer, s.now);
            writes.events.push(EventRow {
                id: event.id.to_string(),
                workspace_id: workspace.clone(),
                event_type: event.event_type,
                actor_id: actor_id.clone(),
                data: event.data.to_string(),
                created_at: now.clone(),
            });
        }
        if !capture.action_sets.is_empty() {
            // The signal as action sets see it: their filters' paths start here
            // (`context.team_size`, `identity.email`, `sub_rule`).
            let snapshot = json!({
                "id": capture_id, "source": Source::SignalType.as_str(), "source_id": capture.signal_type,
                "source_name": capture.signal_type, "token_name": capture.source, "received_at": now,
                "payload": {
                    "signal_type": capture.signal_type, "source": capture.source, "event_name": capture.event_name,
                    "occurred_at": occurred_at, "identity": capture.identity_json, "context": capture.context,
                    "sub_rule": capture.sub_rule, "lead_id": resolution.lead_id, "qualification": answer.qualification,
                },
            })
            .to_string();
            for set_id in &capture.action_sets {
                writes.runs.push(RunRow {
                    id: new_id().to_string(),
                    workspace_id: workspace.clone(),
                    action_set_id: set_id.clone(),
                    signal_id: capture_id.clone(),
                    snapshot: snapshot.clone(),
                    created_at: now.clone(),
                });
            }
        }
        // A repeat later in this batch replays this answer.
        new_answers.insert((workspace.clone(), &capture.dedupe_key), answer.clone());
        writes.captures.push(CaptureRow {
            id: capture_id,
            workspace_id: workspace,
            dedupe_key: &capture.dedupe_key,
            signal_type: &capture.signal_type,
            source: &capture.source,
            event_name: capture.event_name.as_deref(),
            occurred_at,
            identity: &capture.identity_text,
            context: capture.context_text.as_deref().map(RawValue::get),
            sub_rule: capture.sub_rule.as_deref(),
            lead_id: resolution.lead_id,
            previous_capture_id: resolution.previous_capture_id,
            conflict: resolution.conflict,
            response: serde_json::to_string(&answer).expect("an answer serialises"),
            created_at: now,
        });
        outcomes[i] = Some(Ok(Outcome::Captured(answer, standing)));
    }
    outcomes.into_iter().map(|o| o.expect("every request has an outcome")).collect()
}

/// Rows per multi-row INSERT: SQLite allows 32766 bound parameters; the widest row here binds 19.
const ROWS_PER_STATEMENT: usize = 1000;

fn insert_captures<'a>(backend: Backend, rows: &'a [CaptureRow<'a>]) -> Statement<'a> {
    let mut query = Statement::new(
        backend,
        "INSERT INTO signal_captures (id, workspace_id, dedupe_key, signal_type, source, event_name, occurred_at, \
         identity, context, sub_rule, lead_id, previous_capture_id, conflict, response, created_at) ",
    );
    query.push_values(rows, |mut row, c| {
        row.push_bind(c.id.as_str())
            .push_bind(c.workspace_id.as_str())
            .push_bind(c.dedupe_key)
            .push_bind(c.signal_type)
            .push_bind(c.source)
            .push_bind(c.event_name)
            .push_bind(c.occurred_at.as_str())
            .push_bind(c.identity)
            .push_bind(c.context)
            .push_bind(c.sub_rule)
            .push_bind(c.lead_id.as_str())
            .push_bind(c.previous_capture_id.as_deref())
            .push_bind(c.conflict.as_deref())
            .push_bind(c.response.as_str())
            .push_bind(c.created_at.as_str());
    });
    query
}

fn insert_events(backend: Backend, rows: &[EventRow]) -> Statement<'_> {
    let mut query = Statement::new(backend, "INSERT INTO events (id, workspace_id, type, actor_id, data, created_at) ");
    query.push_values(rows, |mut row, e| {
        row.push_bind(e.id.as_str())
            .push_bind(e.workspace_id.as_str())
            .push_bind(e.event_type)
            .push_bind(e.actor_id.as_str())
            .push_bind(e.data.as_str())
            .push_bind(e.created_at.as_str());
    });
    query
}

/// `SELECT window_key, count` of a workspace's counters among `keys`.
fn select_counts<'a>(backend: Backend, workspace: &'a str, keys: &[&'a str]) -> Statement<'a> {
    let mut query =
        Statement::new(backend, "SELECT window_key, count FROM typed_signal_counters WHERE workspace_id = ");
    query.push_bind(workspace).push(" AND window_key IN (");
    let mut list = query.separated(", ");
    for key in keys {
        list.push_bind(*key);
    }
    query.push(")");
    query
}

fn upsert_counts<'a>(backend: Backend, counts: &[(&'a (String, String), i64)]) -> Statement<'a> {
    let mut query = Statement::new(backend, "INSERT INTO typed_signal_counters (workspace_id, window_key, count) ");
    query.push_values(counts, |mut row, ((workspace, key), count)| {
        row.push_bind(workspace.as_str()).push_bind(key.as_str()).push_bind(*count);
    });
    query.push(" ON CONFLICT (workspace_id, window_key) DO UPDATE SET count = excluded.count");
    query
}

/// `SELECT dedupe_key, response` of a workspace's captures among `keys`.
fn select_answers<'a>(backend: Backend, workspace: &'a str, keys: &[&'a str]) -> Statement<'a> {
    let mut query = Statement::new(backend, "SELECT dedupe_key, response FROM signal_captures WHERE workspace_id = ");
    query.push_bind(workspace).push(" AND dedupe_key IN (");
    let mut list = query.separated(", ");
    for key in keys {
        list.push_bind(*key);
    }
    query.push(")");
    query
}

/// The batch's requests grouped by workspace, in order of first appearance.
fn by_workspace(submissions: &[Submission]) -> Vec<(String, Vec<&Submission>)> {
    let mut groups: Vec<(String, Vec<&Submission>)> = Vec::new();
    for s in submissions {
        let workspace = s.workspace_id.to_string();
        match groups.iter_mut().find(|(w, _)| *w == workspace) {
            Some((_, members)) => members.push(s),
            None => groups.push((workspace, vec![s])),
        }
    }
    groups
}

/// Everything a batch reads and writes, in the caller's transaction.
async fn write_batch<T: Run>(tx: &mut T, submissions: &[Submission]) -> Result<Committed, Error> {
    let backend = T::BACKEND;
    let groups = by_workspace(submissions);
    let mut counts = Counts::new();
    for (workspace, members) in &groups {
        let mut keys: Vec<String> =
            members.iter().filter(|s| !s.limits.is_none()).flat_map(|s| limits::window_keys(s.now)).collect();
        keys.sort_unstable();
        keys.dedup();
        if keys.is_empty() {
            continue;
        }
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let rows: Vec<(String, i64)> = tx.fetch_all(&select_counts(backend, workspace, &keys)).await?;
        for (key, count) in rows {
            counts.insert((workspace.clone(), key), u64::try_from(count).unwrap_or(0));
        }
    }
    let before = counts.clone();
    let counted = count_all(submissions, &mut counts);

    let mut answers = HashMap::new();
    let mut books = HashMap::new();
    for (workspace, _) in &groups {
        let captures: Vec<&PreparedCapture> = counted
            .to_capture
            .iter()
            .map(|(i, _)| &submissions[*i])
            .filter(|s| s.workspace_id.to_string() == *workspace)
            .filter_map(|s| s.capture.as_deref())
            .collect();
        if captures.is_empty() {
            continue;
        }
        let keys: Vec<&str> = captures.iter().map(|c| c.dedupe_key.as_str()).collect();
        let stored: Vec<(String, String)> = tx.fetch_all(&select_answers(backend, workspace, &keys)).await?;
        for (key, response) in stored {
            let answer: Captured =
                serde_json::from_str(&response).map_err(|e| Error::internal(anyhow::anyhow!("stored answer: {e}")))?;
            answers.insert((workspace.clone(), key), answer);
        }
        let identities = captures
            .iter()
            .filter(|c| !answers.contains_key(&(workspace.clone(), c.dedupe_key.clone())))
            .map(|c| &c.identity)
            .collect::<Vec<_>>();
        let rows: Vec<StoredLead> = match leads::select_candidates(backend, workspace, identities.iter().copied()) {
            Some(query) => tx.fetch_all(&query).await?,
            None => Vec::new(),
        };
        books.insert(workspace.clone(), LeadBook::new(rows));
    }

    let mut writes = Writes::default();
    let outcomes = capture_all(submissions, counted, &answers, &mut books, &mut writes);

    let now = submissions.last().map(|s| s.now.to_string()).unwrap_or_default();
    for (workspace, book) in &books {
        let (counted, whole): (Vec<&leads::BookLead>, Vec<_>) = book.touched().partition(|l| l.only_counted);
        for chunk in whole.chunks(ROWS_PER_STATEMENT) {
            tx.execute(&leads::upsert(backend, workspace, chunk, &now)).await?;
        }
        for chunk in counted.chunks(ROWS_PER_STATEMENT) {
            for statement in leads::count_on_stored(backend, chunk, &now) {
                tx.execute(&statement).await?;
            }
        }
    }
    for chunk in writes.captures.chunks(ROWS_PER_STATEMENT) {
        tx.execute(&insert_captures(backend, chunk)).await?;
    }
    for chunk in writes.events.chunks(ROWS_PER_STATEMENT) {
        tx.execute(&insert_events(backend, chunk)).await?;
    }
    // The outbox: one delivery per subscribed webhook for each event.
    let mut deliveries_added = false;
    for (workspace, _) in &groups {
        if !writes.events.iter().any(|e| e.workspace_id == *workspace) {
            continue;
        }
        let rows = tx.fetch_all(&Statement::new(backend, outbox::SUBSCRIBERS).bind(workspace.as_str())).await?;
        let subscribers = outbox::subscribers(rows);
        let deliveries: Vec<outbox::NewDelivery<'_>> = writes
            .events
            .iter()
            .filter(|e| e.workspace_id == *workspace)
            .flat_map(|e| {
                subscribers.iter().filter(|s| s.wants(e.event_type)).map(move |s| outbox::NewDelivery {
                    id: new_id().to_string(),
                    webhook_id: &s.id,
                    workspace_id: &e.workspace_id,
                    event_id: &e.id,
                    event_type: e.event_type,
                    at: &e.created_at,
                })
            })
            .collect();
        for chunk in deliveries.chunks(ROWS_PER_STATEMENT) {
            tx.execute(&outbox::insert_deliveries(backend, chunk)).await?;
        }
        deliveries_added |= !deliveries.is_empty();
    }
    let runs: Vec<NewRun<'_>> = writes
        .runs
        .iter()
        .map(|r| NewRun {
            id: &r.id,
            workspace_id: &r.workspace_id,
            action_set_id: &r.action_set_id,
            signal_id: &r.signal_id,
            snapshot: &r.snapshot,
            created_at: &r.created_at,
        })
        .collect();
    for chunk in runs.chunks(ROWS_PER_STATEMENT) {
        tx.execute(&insert_pending_runs(backend, chunk)).await?;
    }
    let changed: Vec<(&(String, String), i64)> = counts
        .iter()
        .filter(|(key, count)| before.get(*key) != Some(*count))
        .map(|(key, count)| (key, i64::try_from(*count).unwrap_or(i64::MAX)))
        .collect();
    for chunk in changed.chunks(ROWS_PER_STATEMENT) {
        tx.execute(&upsert_counts(backend, chunk)).await?;
    }
    Ok(Committed { outcomes, runs_added: !writes.runs.is_empty(), deliveries_added })
}
