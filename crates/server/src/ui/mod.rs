//! The admin UI: server-rendered HTML (maud) under `/ui`, with htmx for partial updates and
//! Server-Sent Events for live data. Assets are vendored and embedded in the binary
//! (`assets/`, see `assets/VENDORED.md`). Pages call the same operations as the API, so a
//! role that may not do something is refused here too, whatever the page showed.

mod actions;
mod assets;
mod endpoints;
mod flags;
mod layout;
mod login;
mod overview;
mod session;
mod settings;
mod typed;
mod webhooks;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/") }))
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/", get(overview::page))
        .route("/ui/login", get(login::page).post(login::submit))
        .route("/ui/logout", post(login::logout))
        .route("/ui/signal-endpoints", get(endpoints::list).post(endpoints::create))
        .route("/ui/signal-endpoints/{id}", get(endpoints::show).post(endpoints::edit))
        .route("/ui/signal-endpoints/{id}/enabled", post(endpoints::set_enabled))
        .route("/ui/signal-endpoints/{id}/delete", post(endpoints::delete))
        .route("/ui/signal-endpoints/{id}/tokens/{token}/rename", post(endpoints::rename_token))
        .route("/ui/signal-endpoints/{id}/tokens/{token}/revoke", post(endpoints::revoke_token))
        .route("/ui/signal-endpoints/{id}/tokens", post(endpoints::create_token))
        .route("/ui/signal-endpoints/{id}/signals", get(endpoints::older))
        .route("/ui/signal-endpoints/{id}/stream", get(endpoints::stream))
        .route("/ui/assets/{file}", get(assets::serve))
        .merge(webhooks::routes())
        .merge(flags::routes())
        .merge(actions::routes())
        .merge(typed::routes())
        .merge(settings::routes())
}
