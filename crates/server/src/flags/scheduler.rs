//! Runs scheduled toggles: within a second of their time, once, durably. A schedule missed
//! while the server was down is due at start-up and runs then. With several servers on
//! Postgres, each due schedule is run by exactly one: the `pending → done` update is the
//! guard, in the same transaction as the toggle (see `workflow_store::run_schedule`).

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use signalbox_core::Clock;
use tokio::sync::watch;

use super::routes::config_fields;
use super::workflow_store::{self as workflows, Ran};
use crate::db::{self, Db};
use crate::events::{NewEvent, types};

/// The longest sleep: schedules made on another node are found within this.
const SWEEP: Duration = Duration::from_secs(1);
const BATCH: i64 = 100;

/// Runs what is due now; returns how many schedules were looked at.
pub async fn run_once(db: &Db, clock: &dyn Clock) -> Result<usize, crate::Error> {
    let now = clock.now();
    let due = workflows::due_schedules(db, now, BATCH).await?;
    for id in &due {
        let ran = workflows::run_schedule(db, *id, now, |toggle, before, after| {
            let data = json!({
                "flag_key": toggle.flag_key, "project": toggle.project_key, "environment": toggle.environment,
                "enabled": toggle.enabled, "schedule_id": toggle.schedule_id, "at": toggle.at,
                "before": config_fields(before), "after": config_fields(after),
            });
            NewEvent::new(toggle.workspace_id, types::FLAG_SCHEDULED_TOGGLE, toggle.actor, data, now)
        })
        .await;
        match ran {
            Ok(Ran::Failed) => tracing::warn!(schedule = %id, "a scheduled enable did not run: the flag is killed"),
            Ok(_) => {}
            Err(error) => tracing::warn!(schedule = %id, %error, "a scheduled toggle failed; it will be retried"),
        }
    }
    Ok(due.len())
}

/// Runs schedules until shutdown.
pub async fn run(db: Db, clock: Arc<dyn Clock>, mut shutting_down: watch::Receiver<bool>) {
    let mut commits = db::commits();
    while !*shutting_down.borrow() {
        commits.borrow_and_update();
        let looked = run_once(&db, clock.as_ref()).await.unwrap_or_else(|error| {
            tracing::warn!(%error, "looking for due schedules failed");
            0
        });
        if looked as i64 == BATCH {
            continue;
        }
        let wait = match workflows::next_schedule(&db).await {
            Ok(Some(at)) => {
                let now = clock.now();
                if at <= now { Duration::from_millis(50) } else { now.until(at).min(SWEEP) }
            }
            _ => SWEEP,
        };
        tokio::select! {
            _ = commits.changed() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = shutting_down.changed() => {}
        }
    }
}
