//! Per-endpoint request counters and token `last_used_at`, kept in memory on the hot path and
//! written to the database at most once a minute (and at shutdown). Reads add what is not
//! flushed yet, so the API always shows this node's current numbers.

use std::collections::HashMap;
use std::sync::Mutex;

use signalbox_core::Timestamp;
use uuid::Uuid;

use super::model::EndpointCounters;
use crate::db::Db;
use crate::{Error, in_write_tx};

#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    Accepted,
    Unauthorized,
    TooLarge,
    RateLimited,
}

#[derive(Default)]
struct Pending {
    counters: HashMap<Uuid, EndpointCounters>,
    last_used: HashMap<Uuid, Timestamp>,
}

#[derive(Default)]
pub struct IngestCounters {
    pending: Mutex<Pending>,
}

impl IngestCounters {
    pub fn count(&self, endpoint_id: Uuid, outcome: Outcome) {
        Self::count_in(&mut self.pending.lock().unwrap_or_else(|e| e.into_inner()), endpoint_id, outcome);
    }

    /// A signal accepted with `token_id` at `at`: counted, and the token's use noted, under
    /// one lock (this runs for every accepted signal).
    pub fn accepted(&self, endpoint_id: Uuid, token_id: Uuid, at: Timestamp) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        Self::count_in(&mut pending, endpoint_id, Outcome::Accepted);
        pending.last_used.insert(token_id, at);
    }

    fn count_in(pending: &mut Pending, endpoint_id: Uuid, outcome: Outcome) {
        let counters = pending.counters.entry(endpoint_id).or_default();
        match outcome {
            Outcome::Accepted => counters.accepted += 1,
            Outcome::Unauthorized => counters.unauthorized += 1,
            Outcome::TooLarge => counters.too_large += 1,
            Outcome::RateLimited => counters.rate_limited += 1,
        }
    }

    /// Stored counters plus what this node has not flushed yet.
    pub fn with_pending(&self, endpoint_id: Uuid, stored: EndpointCounters) -> EndpointCounters {
        let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let extra = pending.counters.get(&endpoint_id).copied().unwrap_or_default();
        EndpointCounters {
            accepted: stored.accepted + extra.accepted,
            unauthorized: stored.unauthorized + extra.unauthorized,
            too_large: stored.too_large + extra.too_large,
            rate_limited: stored.rate_limited + extra.rate_limited,
        }
    }

    pub fn last_used(&self, token_id: Uuid) -> Option<Timestamp> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).last_used.get(&token_id).copied()
    }

    /// Writes what is pending in one transaction. On failure it is put back for next time.
    pub async fn flush(&self, db: &Db) -> Result<(), Error> {
        let taken = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if taken.counters.is_empty() && taken.last_used.is_empty() {
            return Ok(());
        }
        let written: Result<(), Error> = in_write_tx!(db, |tx| {
            for (endpoint_id, c) in &taken.counters {
                sqlx::query(
                    "UPDATE signal_endpoints SET accepted_count = accepted_count + $2, \
                     unauthorized_count = unauthorized_count + $3, too_large_count = too_large_count + $4, \
                     rate_limited_count = rate_limited_count + $5 WHERE id = $1",
                )
                .bind(endpoint_id.to_string())
                .bind(c.accepted)
                .bind(c.unauthorized)
                .bind(c.too_large)
                .bind(c.rate_limited)
                .execute(&mut *tx)
                .await?;
            }
            for (token_id, at) in &taken.last_used {
                sqlx::query(
                    "UPDATE signal_endpoint_tokens SET last_used_at = $2 \
                     WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)",
                )
                .bind(token_id.to_string())
                .bind(at.to_string())
                .execute(&mut *tx)
                .await?;
            }
        });
        if written.is_err() {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            for (endpoint_id, c) in taken.counters {
                let merged = pending.counters.entry(endpoint_id).or_default();
                merged.accepted += c.accepted;
                merged.unauthorized += c.unauthorized;
                merged.too_large += c.too_large;
                merged.rate_limited += c.rate_limited;
            }
            for (token_id, at) in taken.last_used {
                pending.last_used.entry(token_id).and_modify(|t| *t = (*t).max(at)).or_insert(at);
            }
        }
        written
    }
}
