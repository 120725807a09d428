//! The admin UI: server-rendered HTML (maud) under `/ui`, with htmx for partial updates and
//! Server-Sent Events for live data. Assets are vendored and embedded in the binary
//! (`assets/`, see `assets/VENDORED.md`). Pages call the same operations as the API, so a
//! role that may not do something is refused here too, whatever the page showed.

mod actions;
mod assets;
mod constraints;
mod endpoints;
mod flag_config;
mod flag_strategy;
mod flags;
mod layout;
mod login;
mod overview;
mod segments;
mod session;
mod settings;
mod typed;
mod typed_edit;
mod webhooks;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
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
        .merge(flag_config::routes())
        .merge(segments::routes())
        .merge(actions::routes())
        .merge(typed::routes())
        .merge(typed_edit::routes())
        .merge(settings::routes())
        .layer(middleware::from_fn(html_errors))
}

/// The UI's handlers answer errors as the API does (problem+json); a browser that navigated
/// to a page gets them as a page instead, with the same status and the problem's detail.
async fn html_errors(request: Request, next: Next) -> Response {
    let wants_html =
        request.headers().get(ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"));
    let response = next.run(request).await;
    let is_problem = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/problem+json"));
    if !wants_html || !is_problem {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let problem: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let title = problem["title"].as_str().unwrap_or("Something went wrong").to_owned();
    let detail = problem["detail"].as_str().unwrap_or_default().to_owned();
    let page = layout::error_page(parts.status, &title, &detail);
    let mut html = page.into_response();
    *html.status_mut() = parts.status;
    for (name, value) in &parts.headers {
        if name != CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            html.headers_mut().insert(name.clone(), value.clone());
        }
    }
    html.map(Body::new)
}
