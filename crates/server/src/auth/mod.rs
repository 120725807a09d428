//! Principals, sessions, API tokens and roles (DESIGN *Auth and roles*).

pub mod api_tokens;
pub mod caller;
pub mod jwt;
pub mod login;
pub mod members;
pub mod model;
pub mod password;
pub mod store;
pub mod throttle;
pub mod token;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(login::router())
        .merge(api_tokens::router())
        .merge(members::users::router())
        .merge(members::service_accounts::router())
}
