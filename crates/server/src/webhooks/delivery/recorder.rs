//! Recording attempts with group commit: attempt tasks hand their outcome to one recorder
//! task, which writes a whole batch (attempt rows, delivery states, webhook health) in one
//! transaction and then answers every waiter — one commit per batch, not per delivery.
//!
//! An outcome lost in a crash before its commit leaves its delivery pending under a lease
//! that expires, so the delivery is attempted again: at least once, never dropped.

use serde_json::json;
use signalbox_core::Timestamp;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::outcome::Decision;
use crate::db::{Db, TxExt};
use crate::events::{NewEvent, types};
use crate::webhooks::model::DeliveryStatus;
use crate::webhooks::store::cancel_pending;
use crate::{Error, in_write_tx};

const MAX_BATCH: usize = 256;

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
    /// Starts the recorder task. `auto_disable_after`: dead deliveries in a row that disable a
    /// webhook (0 = never).
    pub fn start(db: Db, auto_disable_after: u32) -> (Self, tokio::task::JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(4 * MAX_BATCH);
        let task = tokio::spawn(run(db, receiver, auto_disable_after));
        (Self { sender }, task)
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
        let result = commit(&db, &outcomes, auto_disable_after).await.map_err(|e| e.to_string());
        if let Err(error) = &result {
            tracing::error!(%error, outcomes = outcomes.len(), "recording delivery attempts failed");
        }
        for reply in replies {
            let _ = reply.send(result.clone());
        }
    }
}

const INSERT_ATTEMPT: &str = "INSERT INTO delivery_attempts (delivery_id, attempted_at, response_status, duration_ms, \
     response_body, error) SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM deliveries WHERE id = $1)";

/// A delivery cancelled (or redelivered) while its attempt was in flight keeps that state;
/// the attempt is still logged.
const UPDATE_DELIVERY: &str = "UPDATE deliveries SET attempts = attempts + 1, \
     status = CASE WHEN status = 'pending' THEN $2 ELSE status END, \
     next_attempt_at = CASE WHEN status = 'pending' AND $2 = 'pending' THEN $3 ELSE NULL END, \
     delivered_at = CASE WHEN status = 'pending' AND $2 = 'succeeded' THEN $4 ELSE delivered_at END, \
     response_status = $5, lease_until = NULL, updated_at = $4 WHERE id = $1";

const WEBHOOK_SUCCEEDED: &str =
    "UPDATE webhooks SET last_success_at = $2, consecutive_failures = 0, consecutive_dead = 0 WHERE id = $1";
const WEBHOOK_FAILED: &str = "UPDATE webhooks SET last_failure_at = $2, consecutive_failures = consecutive_failures + 1, \
     consecutive_dead = consecutive_dead + $3 WHERE id = $1";
const DISABLE_WEBHOOK: &str = "UPDATE webhooks SET enabled = FALSE, disabled_reason = $2, updated_at = $3 \
     WHERE id = $1 AND enabled AND consecutive_dead >= $4";

async fn commit(db: &Db, outcomes: &[Outcome], auto_disable_after: u32) -> Result<(), Error> {
    in_write_tx!(db, |tx| {
        for outcome in outcomes {
            let at = outcome.attempted_at.to_string();
            let status = outcome.response_status.map(i64::from);
            sqlx::query(INSERT_ATTEMPT)
                .bind(&outcome.delivery_id)
                .bind(&at)
                .bind(status)
                .bind(outcome.duration_ms)
                .bind(&outcome.response_body)
                .bind(&outcome.error)
                .execute(&mut *tx)
                .await?;
            let decision = &outcome.decision;
            sqlx::query(UPDATE_DELIVERY)
                .bind(&outcome.delivery_id)
                .bind(decision.status.as_str())
                .bind(decision.next_attempt_at.map(|t| t.to_string()))
                .bind(&at)
                .bind(status)
                .execute(&mut *tx)
                .await?;
            let webhook_id = outcome.webhook_id.to_string();
            if decision.succeeded() {
                sqlx::query(WEBHOOK_SUCCEEDED).bind(&webhook_id).bind(&at).execute(&mut *tx).await?;
                continue;
            }
            let dead = i64::from(decision.status == DeliveryStatus::Dead);
            sqlx::query(WEBHOOK_FAILED).bind(&webhook_id).bind(&at).bind(dead).execute(&mut *tx).await?;
            let reason = match &decision.disable_webhook {
                Some(reason) => Some((reason.clone(), 0)),
                None if dead == 1 && auto_disable_after > 0 => {
                    Some((format!("{auto_disable_after} deliveries in a row died"), i64::from(auto_disable_after)))
                }
                None => None,
            };
            if let Some((reason, threshold)) = reason {
                let disabled = sqlx::query(DISABLE_WEBHOOK)
                    .bind(&webhook_id)
                    .bind(&reason)
                    .bind(&at)
                    .bind(threshold)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    > 0;
                if disabled {
                    cancel_pending!(tx, &webhook_id, &at);
                    let data = json!({ "id": outcome.webhook_id, "name": outcome.webhook_name, "reason": reason });
                    let event =
                        NewEvent::new(outcome.workspace_id, types::WEBHOOK_DISABLED, None, data, outcome.attempted_at);
                    tx.append_event(&event).await?;
                }
            }
        }
    })
}
