//! Flags: projects, flags with a toggle per environment, a flag's page, kill switch, change requests, SDK tokens.

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
