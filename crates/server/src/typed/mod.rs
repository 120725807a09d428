//! Typed signals (the Unstuck Signals API seed): `POST /signals` with signal types,
//! idempotency on the natural key, workspace rate limits counted in the database, and
//! identity resolution into leads. Qualification against ICP and persona profiles plugs into
//! the capture's answer (`qualification`, `null` until profiles exist).

pub mod ingest;
pub mod leads;
pub mod leads_api;
pub mod limits;
pub mod model;
pub mod profiles;
pub mod store;
pub mod types;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(types::router())
        .merge(ingest::router())
        .merge(profiles::router())
        .merge(leads_api::router())
}
