//! Webhooks: list with health, create/edit, test event, deliveries, attempts, redeliver, recover.

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
