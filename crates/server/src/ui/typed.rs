//! Typed signals: signal types, ICP and persona profiles, leads.

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
