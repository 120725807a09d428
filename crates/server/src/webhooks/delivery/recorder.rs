//! Recording attempts with group commit: attempt tasks hand their outcome to one recorder
//! task, which writes a whole batch (attempt rows, delivery states, webhook health) in one
//! transaction and then answers every waiter — one commit per batch, not per delivery.
//!
//! An outcome lost in a crash before its commit leaves its delivery pending under a lease
//! that expires, so the delivery is attempted again: at least once, never dropped.

use std::collections::BTreeMap;

use serde_json::json;
use signalbox_core::Timestamp;
use sqlx::QueryBuilder;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::outcome::Decision;
use crate::Error;
use crate::db::{Arrivals, Db, DirectConnection, TxExt, spawn_batch_thread};
use crate::events::{NewEvent, types};
use crate::webhooks::model::DeliveryStatus;
use crate::webhooks::store::cancel_pending;

/// Outcomes committed together at most: one fsync for all of them.
const MAX_BATCH: usize = 1024;

/// The result of one attempt, ready to store.
#[derive(Debug)]
pub struct Outcome {
    pub delivery_id: String,
    pub webhook_id: Uuid,
    pub workspace_id: Uuid,
    pub webhook_name: String,
    pub attempted_at: Timestamp,
    pub response_status: Option<u16>,
    pub duration_ms: i64,
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub decision: Decision,
}

type Reply = oneshot::Sender<Result<(), String>>;

#[derive(Clone)]
pub struct Recorder {
    sender: mpsc::Sender<(Outcome, Reply)>,
}

impl Recorder {
    /// Starts the recorder. `auto_disable_after`: dead deliveries in a row that disable a
    /// webhook (0 = never). On SQLite it runs on a thread of its own with a direct connection
    /// ([`DirectConnection`]), committing each batch while holding the write gate, as the
    /// ingest writers do (it ends when the engine is dropped); on Postgres it is a task
    /// (returned, to be aborted at shutdown).
    pub fn start(db: Db, auto_disable_after: u32) -> anyhow::Result<(Self, Option<tokio::task::JoinHandle<()>>)> {
        let (sender, receiver) = mpsc::channel(4 * MAX_BATCH);
        let task = match db.sqlite_path() {
            Some(path) => {
                let mut connection = DirectConnection::open(path)?;
                spawn_batch_thread(
                    "delivery-recorder",
                    receiver,
                    MAX_BATCH,
                    Arrivals::default(),
                    move |runtime, batch| {
                        let (outcomes, replies): (Vec<Outcome>, Vec<Reply>) = batch.drain(..).unzip();
                        let plan = Plan::new(&outcomes, auto_disable_after);
                        let result = if plan.may_disable() {
                            // Rare (a 410, or auto-disable on and a delivery died): the sqlx path
                            // disables, cancels and appends the event in the same transaction.
                            runtime.block_on(commit(&db, &outcomes, auto_disable_after))
                        } else {
                            let _lock = runtime.block_on(db.write_lock());
                            commit_direct(&mut connection, &plan).map_err(Error::from)
                        };
                        answer(result, &outcomes, replies);
                    },
                )?;
                None
            }
            None => Some(tokio::spawn(run(db, receiver, auto_disable_after))),
        };
        Ok((Self { sender }, task))
    }

    /// Stores the outcome; returns once it is committed.
    pub async fn record(&self, outcome: Outcome) -> Result<(), Error> {
        let (reply, answer) = oneshot::channel();
        self.sender.send((outcome, reply)).await.map_err(|_| Error::service_unavailable("the recorder has stopped"))?;
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(Error::internal(anyhow::anyhow!("recording delivery attempts: {message}"))),
            Err(_) => Err(Error::service_unavailable("the recorder has stopped")),
        }
    }
}

async fn run(db: Db, mut receiver: mpsc::Receiver<(Outcome, Reply)>, auto_disable_after: u32) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (outcomes, replies): (Vec<Outcome>, Vec<Reply>) = batch.drain(..).unzip();
        let result = commit(&db, &outcomes, auto_disable_after).await;
        answer(result, &outcomes, replies);
    }
}

/// Wakes the delivery engine once the batch is stored (retries may be due, leases are
/// gone), then answers every waiter.
fn answer(result: Result<(), Error>, outcomes: &[Outcome], replies: Vec<Reply>) {
    let result = result.map_err(|e| e.to_string());
    match &result {
        Ok(()) => crate::db::deliveries_written(),
        Err(error) => tracing::error!(%error, outcomes = outcomes.len(), "recording delivery attempts failed"),
    }
    for reply in replies {
        let _ = reply.send(result.clone());
    }
}

/// One delivery's attempt and new state, as bound.
struct AttemptRow<'a> {
    delivery_id: &'a str,
    at: String,
    response_status: Option<i64>,
    duration_ms: i64,
    response_body: Option<&'a str>,
    error: Option<&'a str>,
    status: &'static str,
    next_attempt_at: Option<String>,
}

/// Rows per multi-row statement (six bound values each).
const ROWS_PER_STATEMENT: usize = 500;

/// A delivery cancelled (or redelivered) while its attempt was in flight keeps that state;
/// the attempt is still logged. `v` is (id, new status, next attempt, attempt time, status
/// code), one row per delivery.
const UPDATE_DELIVERIES_HEAD: &str = "UPDATE deliveries SET attempts = deliveries.attempts + 1, \
     status = CASE WHEN deliveries.status = 'pending' THEN v.column2 ELSE deliveries.status END, \
     next_attempt_at = CASE WHEN deliveries.status = 'pending' AND v.column2 = 'pending' THEN v.column3 ELSE NULL END, \
     delivered_at = CASE WHEN deliveries.status = 'pending' AND v.column2 = 'succeeded' THEN v.column4 \
     ELSE deliveries.delivered_at END, \
     response_status = v.column5, lease_until = NULL, updated_at = v.column4 FROM (";

/// [`UPDATE_DELIVERIES_HEAD`] for one delivery: (id, new status, next attempt, attempt time,
/// status code).
const UPDATE_DELIVERY: &str = "UPDATE deliveries SET attempts = attempts + 1, \
     status = CASE WHEN status = 'pending' THEN ?2 ELSE status END, \
     next_attempt_at = CASE WHEN status = 'pending' AND ?2 = 'pending' THEN ?3 ELSE NULL END, \
     delivered_at = CASE WHEN status = 'pending' AND ?2 = 'succeeded' THEN ?4 ELSE delivered_at END, \
     response_status = ?5, lease_until = NULL, updated_at = ?4 WHERE id = ?1";

/// A webhook's health after a batch: counters reset by its last success, then the failures
/// and dead deliveries after it.
const UPDATE_HEALTH: &str = "UPDATE webhooks SET last_success_at = COALESCE($2, last_success_at), \
     last_failure_at = COALESCE($3, last_failure_at), \
     consecutive_failures = CASE WHEN $4 THEN 0 ELSE consecutive_failures END + $5, \
     consecutive_dead = CASE WHEN $4 THEN 0 ELSE consecutive_dead END + $6 WHERE id = $1";
/// [`UPDATE_HEALTH`] for a direct SQLite connection (rusqlite numbers `$n` placeholders in
/// order of appearance; `?n` is the n-th value). Built once, not per batch.
static UPDATE_HEALTH_DIRECT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| UPDATE_HEALTH.replace('$', "?"));
const DISABLE_WEBHOOK: &str = "UPDATE webhooks SET enabled = FALSE, disabled_reason = $2, updated_at = $3 \
     WHERE id = $1 AND enabled AND consecutive_dead >= $4";

/// What a batch does to one webhook.
#[derive(Default)]
struct Health<'a> {
    last_success: Option<String>,
    last_failure: Option<String>,
    reset: bool,
    failures: i64,
    dead: i64,
    /// Why to disable it now, and the dead-in-a-row threshold that must hold (0: none).
    disable: Option<(String, i64)>,
    outcome: Option<&'a Outcome>,
}

/// How often a batch is tried when Postgres aborts it for a deadlock or a serialization
/// failure with another node's transaction.
const ATTEMPTS: usize = 3;

async fn commit(db: &Db, outcomes: &[Outcome], auto_disable_after: u32) -> Result<(), Error> {
    let mut tries = 0;
    loop {
        tries += 1;
        match commit_once(db, outcomes, auto_disable_after).await {
            Err(error) if tries < ATTEMPTS && is_transient(&error) => {
                tracing::debug!(%error, "recording attempts collided with another transaction; retrying");
            }
            result => return result.map_err(Error::from),
        }
    }
}

fn is_transient(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if matches!(e.code().as_deref(), Some("40P01" | "40001")))
}

/// What a batch writes: one attempt row and delivery update per outcome (in delivery id
/// order), and each webhook's health change (in webhook id order).
struct Plan<'a> {
    rows: Vec<AttemptRow<'a>>,
    health: BTreeMap<Uuid, Health<'a>>,
}

impl<'a> Plan<'a> {
    fn new(outcomes: &'a [Outcome], auto_disable_after: u32) -> Self {
        let mut ordered: Vec<&Outcome> = outcomes.iter().collect();
        ordered.sort_by(|a, b| a.delivery_id.cmp(&b.delivery_id));
        let mut health: BTreeMap<Uuid, Health<'_>> = BTreeMap::new();
        for outcome in outcomes {
            let entry = health.entry(outcome.webhook_id).or_default();
            let at = outcome.attempted_at.to_string();
            let decision = &outcome.decision;
            entry.outcome = Some(outcome);
            if decision.succeeded() {
                entry.last_success = Some(at);
                entry.reset = true;
                entry.failures = 0;
                entry.dead = 0;
                continue;
            }
            entry.last_failure = Some(at);
            entry.failures += 1;
            if decision.status == DeliveryStatus::Dead {
                entry.dead += 1;
                if auto_disable_after > 0 && entry.disable.is_none() {
                    let reason = format!("{auto_disable_after} deliveries in a row died");
                    entry.disable = Some((reason, i64::from(auto_disable_after)));
                }
            }
            if let Some(reason) = &decision.disable_webhook {
                entry.disable = Some((reason.clone(), 0));
            }
        }
        let rows = ordered
            .iter()
            .map(|o| AttemptRow {
                delivery_id: &o.delivery_id,
                at: o.attempted_at.to_string(),
                response_status: o.response_status.map(i64::from),
                duration_ms: o.duration_ms,
                response_body: o.response_body.as_deref(),
                error: o.error.as_deref(),
                status: o.decision.status.as_str(),
                next_attempt_at: o.decision.next_attempt_at.map(|t| t.to_string()),
            })
            .collect();
        Self { rows, health }
    }

    /// Whether the batch may disable a webhook (a 410, or a dead delivery with auto-disable on).
    fn may_disable(&self) -> bool {
        self.health.values().any(|change| change.disable.is_some())
    }
}

/// One transaction, locking rows in one order — deliveries (by id), then webhooks (by id) —
/// as every other writer of both tables does, so writers on two nodes cannot deadlock.
async fn commit_once(db: &Db, outcomes: &[Outcome], auto_disable_after: u32) -> Result<(), sqlx::Error> {
    let Plan { rows, health } = Plan::new(outcomes, auto_disable_after);
    // Two multi-row statements per batch, not two per delivery: each statement is a round
    // trip to the database thread, which was most of the recorder's cost.
    macro_rules! insert_attempts {
        ($chunk:expr) => {{
            let mut query = QueryBuilder::new(
                "INSERT INTO delivery_attempts (delivery_id, attempted_at, response_status, duration_ms, response_body, \
                 error) SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6 FROM (",
            );
            query.push_values($chunk, |mut row, r| {
                row.push_bind(r.delivery_id)
                    .push_bind(r.at.as_str())
                    .push_bind(r.response_status)
                    .push_bind(r.duration_ms)
                    .push_bind(r.response_body)
                    .push_bind(r.error);
            });
            // A delivery deleted with its webhook while in flight gets no attempt row.
            query.push(") AS v WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.id = v.column1)");
            query
        }};
    }
    macro_rules! update_deliveries {
        ($chunk:expr) => {{
            let mut query = QueryBuilder::new(UPDATE_DELIVERIES_HEAD);
            query.push_values($chunk, |mut row, r| {
                row.push_bind(r.delivery_id)
                    .push_bind(r.status)
                    .push_bind(r.next_attempt_at.as_deref())
                    .push_bind(r.at.as_str())
                    .push_bind(r.response_status);
            });
            query.push(") AS v WHERE deliveries.id = v.column1");
            query
        }};
    }
    crate::on_write!(db, |pool| {
        let mut tx = pool.begin().await?;
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            insert_attempts!(chunk).build().execute(&mut *tx).await?;
            update_deliveries!(chunk).build().execute(&mut *tx).await?;
        }
        for (webhook_id, change) in &health {
            sqlx::query(UPDATE_HEALTH)
                .bind(webhook_id.to_string())
                .bind(&change.last_success)
                .bind(&change.last_failure)
                .bind(change.reset)
                .bind(change.failures)
                .bind(change.dead)
                .execute(&mut *tx)
                .await?;
        }
        for (webhook_id, change) in &health {
            let (Some((reason, threshold)), Some(outcome)) = (&change.disable, change.outcome) else { continue };
            let at = outcome.attempted_at.to_string();
            let disabled = sqlx::query(DISABLE_WEBHOOK)
                .bind(webhook_id.to_string())
                .bind(reason)
                .bind(&at)
                .bind(threshold)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0;
            if disabled {
                cancel_pending!(tx, webhook_id.to_string(), &at);
                let data = json!({ "id": webhook_id, "name": outcome.webhook_name, "reason": reason });
                let event =
                    NewEvent::new(outcome.workspace_id, types::WEBHOOK_DISABLED, None, data, outcome.attempted_at);
                tx.append_event(&event).await?;
            }
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })?;
    Ok(())
}

/// [`commit_once`] on a direct SQLite connection, for a batch that disables no webhook: one
/// prepared statement per table, run once per row. The caller holds the write gate.
fn commit_direct(connection: &mut DirectConnection, plan: &Plan<'_>) -> rusqlite::Result<()> {
    let tx = connection.transaction()?;
    {
        // A delivery deleted with its webhook while in flight gets no attempt row.
        let mut attempt = tx.prepare_cached(
            "INSERT INTO delivery_attempts (delivery_id, attempted_at, response_status, duration_ms, response_body, \
             error) SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM deliveries WHERE id = ?1)",
        )?;
        let mut delivery = tx.prepare_cached(UPDATE_DELIVERY)?;
        for row in &plan.rows {
            attempt.execute((
                row.delivery_id,
                &row.at,
                row.response_status,
                row.duration_ms,
                row.response_body,
                row.error,
            ))?;
            delivery.execute((row.delivery_id, row.status, &row.next_attempt_at, &row.at, row.response_status))?;
        }
        let mut health = tx.prepare_cached(&UPDATE_HEALTH_DIRECT)?;
        for (webhook_id, change) in &plan.health {
            health.execute((
                webhook_id.to_string(),
                &change.last_success,
                &change.last_failure,
                change.reset,
                change.failures,
                change.dead,
            ))?;
        }
    }
    tx.commit()
}
