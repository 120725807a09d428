//! Housekeeping, once a minute: ended and expired sessions, login failures that left the
//! throttling window, and signals, deliveries and events past their retention are deleted in small
//! batches so the tables do not grow with traffic; ingest counters are written.

use std::time::Duration;

use signalbox_core::Timestamp;
use tokio::sync::watch;

use crate::db::Db;
use crate::state::AppState;
use crate::{Error, on_write};

/// Rows deleted per statement: small enough that SQLite's single writer is never held long.
const BATCH: i64 = 500;
/// A session is kept this long after it ended or expired (for support questions).
const SESSION_GRACE: Duration = Duration::from_secs(24 * 3600);
const EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub sessions: u64,
    pub login_failures: u64,
    pub signals: u64,
    pub events: u64,
    pub deliveries: u64,
    pub action_runs: u64,
}

/// How long to keep what grows with traffic; `None` keeps it.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub login_window: Duration,
    pub signals: Option<Duration>,
    pub events: Option<Duration>,
    pub deliveries: Option<Duration>,
    pub action_runs: Option<Duration>,
}

impl Retention {
    pub fn from_config(config: &crate::config::ServeConfig) -> Self {
        Self {
            login_window: config.login_failure_window,
            signals: config.signals.signal_retention,
            events: config.signals.event_retention,
            deliveries: config.webhooks.delivery_retention,
            action_runs: config.actions.run_retention,
        }
    }
}

/// One pass: deletes what is due, a batch at a time, until nothing is left.
pub async fn prune_once(db: &Db, now: Timestamp, retention: Retention) -> Result<Pruned, Error> {
    let session_cutoff = now.minus(SESSION_GRACE).to_string();
    let failure_cutoff = now.minus(retention.login_window).to_string();
    // With no retention the cutoff is before any row.
    let cutoff_of = |keep: Option<Duration>| keep.map_or_else(|| "0".to_owned(), |keep| now.minus(keep).to_string());
    let signal_cutoff = cutoff_of(retention.signals);
    let event_cutoff = cutoff_of(retention.events);
    let delivery_cutoff = cutoff_of(retention.deliveries);
    let run_cutoff = cutoff_of(retention.action_runs);
    // SQLite has no DELETE … LIMIT by default, so both backends delete by a bounded id list.
    let sessions_sql = "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions \
                        WHERE expires_at < $1 OR ended_at < $1 LIMIT $2)";
    let failures_sql = "DELETE FROM login_failures WHERE id IN (SELECT id FROM login_failures WHERE at <= $1 LIMIT $2)";
    // Signals and events are appended in time order and have no time index (migration 0012):
    // both are deleted from the oldest id up to the first one still kept, which reads only
    // the rows that go (and the one that stops it), never the whole table.
    let signals_sql = "DELETE FROM signals WHERE int_id IN (SELECT int_id FROM signals WHERE int_id < \
                       COALESCE((SELECT int_id FROM signals WHERE received_at >= $1 ORDER BY int_id LIMIT 1), \
                       9223372036854775807) ORDER BY int_id LIMIT $2)";
    // An event with a pending delivery is kept until the delivery finishes: its body is
    // built from the event at each attempt.
    let events_sql = "DELETE FROM events WHERE seq IN (SELECT seq FROM events e WHERE seq < \
                      COALESCE((SELECT seq FROM events WHERE created_at >= $1 ORDER BY seq LIMIT 1), \
                      9223372036854775807) \
                      AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq AND d.status = 'pending') \
                      ORDER BY seq LIMIT $2)";
    // Attempts go with their delivery (ON DELETE CASCADE).
    let deliveries_sql = "DELETE FROM deliveries WHERE seq IN (SELECT seq FROM deliveries \
                          WHERE created_at < $1 AND status <> 'pending' LIMIT $2)";
    // Runs still to be carried out are kept whatever their age.
    let runs_sql = "DELETE FROM action_runs WHERE int_id IN (SELECT int_id FROM action_runs \
                    WHERE created_at < $1 AND state IN ('success', 'failed', 'skipped') LIMIT $2)";
    let mut pruned = Pruned::default();
    for (sql, cutoff, counter) in [
        (sessions_sql, &session_cutoff, &mut pruned.sessions),
        (failures_sql, &failure_cutoff, &mut pruned.login_failures),
        (signals_sql, &signal_cutoff, &mut pruned.signals),
        (deliveries_sql, &delivery_cutoff, &mut pruned.deliveries),
        (runs_sql, &run_cutoff, &mut pruned.action_runs),
        (events_sql, &event_cutoff, &mut pruned.events),
    ] {
        loop {
            let deleted = on_write!(db, |pool| sqlx::query(sql)
                .bind(cutoff)
                .bind(BATCH)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()))?;
            *counter += deleted;
            if deleted < BATCH as u64 {
                break;
            }
        }
    }
    Ok(pruned)
}

/// Runs [`prune_once`] every minute until shutdown.
pub async fn run(state: AppState, mut shutting_down: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = shutting_down.wait_for(|stopping| *stopping) => return,
            () = tokio::time::sleep(EVERY) => {}
        }
        let now = state.clock.now();
        if let Err(error) = prune_once(&state.db, now, Retention::from_config(&state.config)).await {
            tracing::warn!(%error, "pruning old rows failed; will retry");
        }
        if let Err(error) = state.signals.counters.flush(&state.db).await {
            tracing::warn!(%error, "writing ingest counters failed; will retry");
        }
    }
}
