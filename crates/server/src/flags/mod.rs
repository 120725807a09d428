//! Feature flags in Unleash's model (issue 6): projects, environments, flags with a
//! configuration per environment (enabled, strategies, variants), optimistic concurrency
//! with ETags, the kill switch, segments, promotion, change requests and scheduled toggles.
//! Every change writes one event (`flag.*`).

pub mod environments;
pub mod model;
pub mod projects;
pub mod routes;
pub mod scheduler;
pub mod segments;
pub mod store;
pub mod workflow;
pub mod workflow_store;

use std::sync::atomic::{AtomicU64, Ordering};

use utoipa_axum::router::OpenApiRouter;

use crate::db::Db;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(projects::router())
        .merge(environments::router())
        .merge(routes::router())
        .merge(segments::router())
        .merge(workflow::router())
}

/// Bumped after every committed change to flags, environments or segments in this process,
/// and when another node announces one: what SDKs are served is rebuilt from it.
static REVISION: AtomicU64 = AtomicU64::new(1);

/// The current flag revision of this process (see [`changed`]).
pub fn revision() -> u64 {
    REVISION.load(Ordering::SeqCst)
}

/// Marks flag configuration as changed here, wakes what serves SDKs, and tells other nodes
/// (Postgres NOTIFY on the configuration channel).
pub async fn changed(db: &Db) {
    changed_elsewhere();
    if let Db::Postgres(pool) = db {
        let notified =
            sqlx::query("SELECT pg_notify($1, 'flags')").bind(crate::signals::CONFIG_CHANNEL).execute(pool).await;
        if let Err(error) = notified {
            tracing::warn!(%error, "could not tell other nodes about a flag change");
        }
    }
}

/// Another node changed flags (or notifications may have been missed).
pub fn changed_elsewhere() {
    REVISION.fetch_add(1, Ordering::SeqCst);
    crate::db::committed();
}

/// `in_write_tx!` for flag configuration: after a successful commit, [`changed`].
#[macro_export]
macro_rules! in_flags_tx {
    ($db:expr, |$tx:ident| $body:expr) => {{
        let result = $crate::in_write_tx!($db, |$tx| $body);
        if result.is_ok() {
            $crate::flags::changed($db).await;
        }
        result
    }};
}
