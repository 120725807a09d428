//! Action sets (Unleash "actions"): when a signal from their source arrives and matches, run
//! flag actions in order as a service account, and keep a run log.
//!
//! The path of a signal: the ingest writer looks the signal's source up in an in-memory index
//! of enabled action sets and writes one `pending` run per set in the signal's own
//! transaction (nothing is lost between the signal and its runs), then wakes the runner.
//! The runner claims runs with a lease, evaluates filters and the CEL condition (a run that
//! does not match is deleted), applies the storm guard, and executes the actions through the
//! flag code the API uses, as the set's actor. Each action's flag change advances the run's
//! `next_action` in its own transaction ([`StepGuard`]), so an action happens once even when
//! a node crashes mid-run or two nodes race; a run left behind by a crash is taken over when
//! its lease runs out (on SQLite, which has one node, at once after the restart).

pub mod catalogue;
pub mod model;
pub mod operations;
pub mod routes;
pub mod runner;
pub mod store;
pub mod unleash;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use tokio::sync::Notify;
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use self::model::Source;
use crate::Error;
use crate::db::Db;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().merge(routes::router()).merge(unleash::router())
}

/// The step of an action run that a flag change must advance in its own transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepGuard {
    pub run_id: Uuid,
    pub step: i64,
}

/// The detail of the conflict a change answers when its run step was already taken.
pub const STEP_TAKEN: &str = "this action of the run was already carried out";

/// Inside a write transaction: advances the guarded run step, or returns `409` (rolling the
/// transaction back) when the step is no longer the run's next — another node did it.
macro_rules! hold_step {
    ($tx:expr, $guard:expr) => {
        if let Some(guard) = $guard {
            let advanced = sqlx::query(
                "UPDATE action_runs SET next_action = next_action + 1 WHERE id = $1 AND next_action = $2 \
                 AND state = 'started'",
            )
            .bind(guard.run_id.to_string())
            .bind(guard.step)
            .execute(&mut *$tx)
            .await?
            .rows_affected();
            if advanced == 0 {
                return Err($crate::Error::conflict($crate::actions::STEP_TAKEN));
            }
        }
    };
}
pub(crate) use hold_step;

/// Enabled action sets by source: what the ingest writer needs to write pending runs.
pub type SourceIndex = HashMap<(Source, String), Vec<SetRef>>;

/// An enabled action set as the index holds it.
#[derive(Debug, Clone)]
pub struct SetRef {
    pub id: String,
}

/// The in-memory parts of actions shared by a server: the source index (loaded lazily,
/// dropped on every change here or, through NOTIFY, on another node) and the runner's wake-up.
#[derive(Default)]
pub struct ActionsRuntime {
    index: RwLock<Option<Arc<SourceIndex>>>,
    generation: AtomicU64,
    wake: Notify,
}

impl ActionsRuntime {
    /// The current index, loading it when a change dropped it.
    pub async fn index(&self, db: &Db) -> Result<Arc<SourceIndex>, Error> {
        if let Some(index) = self.index.read().expect("index lock").clone() {
            return Ok(index);
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let mut index = SourceIndex::new();
        for (source, source_id, id) in store::enabled_sources(db).await? {
            index.entry((source, source_id)).or_default().push(SetRef { id });
        }
        let index = Arc::new(index);
        // A change while loading: keep this copy for this caller only; the next loads again.
        if self.generation.load(Ordering::SeqCst) == generation {
            *self.index.write().expect("index lock") = Some(index.clone());
        }
        Ok(index)
    }

    /// Another node changed action sets: forget the index.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        *self.index.write().expect("index lock") = None;
    }

    /// Action sets changed here: forget the index, and tell other nodes.
    pub async fn changed(&self, db: &Db) {
        self.invalidate();
        if let Db::Postgres(pool) = db {
            let notified =
                sqlx::query("SELECT pg_notify($1, 'actions')").bind(crate::signals::CONFIG_CHANNEL).execute(pool).await;
            if let Err(error) = notified {
                tracing::warn!(%error, "could not tell other nodes about an action set change");
            }
        }
    }

    /// Pending runs were committed: wake the runner.
    pub fn runs_added(&self) {
        self.wake.notify_one();
    }
}
