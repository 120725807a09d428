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

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(projects::router())
        .merge(environments::router())
        .merge(routes::router())
        .merge(segments::router())
        .merge(workflow::router())
}
