//! Typed signals (the Unstuck Signals API seed): `POST /signals` with signal types,
//! idempotency on the natural key, workspace rate limits counted in the database, and
//! identity resolution into leads. Qualification against ICP and persona profiles plugs into
//! the capture's answer (`qualification`, `null` until profiles exist).

pub mod cache;
pub mod ingest;
pub mod leads;
pub mod leads_api;
pub mod limits;
pub mod model;
pub mod profiles;
pub mod store;
pub mod types;
pub mod writer;

use std::sync::Arc;

use utoipa_axum::router::OpenApiRouter;

use crate::db::Db;
use crate::state::AppState;

/// The in-memory parts of typed ingest, shared by all requests of one server.
pub struct TypedRuntime {
    pub cache: cache::TypedCache,
    pub writer: writer::TypedWriter,
}

impl TypedRuntime {
    pub fn start(
        db: Db,
        actions: Arc<crate::actions::ActionsRuntime>,
    ) -> anyhow::Result<(Self, Option<tokio::task::JoinHandle<()>>)> {
        let (writer, task) = writer::TypedWriter::start(db, actions)?;
        Ok((Self { cache: cache::TypedCache::default(), writer }, task))
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(types::router())
        .merge(ingest::router())
        .merge(profiles::router())
        .merge(leads_api::router())
}
