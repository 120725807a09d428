//! HTTP conventions implemented once: problem+json errors (including 404 and 405), the JSON
//! and path extractors, pagination, partial updates, request ids, metrics, the body limit,
//! and the assembled router.

pub mod context;
pub mod etag;
pub mod json;
pub mod openapi;
pub mod pagination;
pub mod patch;
pub mod path;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

pub use self::etag::{IfMatch, etag_header};
pub use self::json::ApiJson;
pub use self::pagination::{CursorPage, CursorRequest, PageRequest, Paginated, before_cursor, query_flag};
pub use self::patch::Patch;
pub use self::path::ApiPath;
use crate::state::AppState;
use crate::{Error, auth, events, flags, ops, sdk, signals, webhooks, workspaces};

/// Every documented route, with the OpenAPI document they make.
pub fn api_router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut document) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(ops::health::router())
        .merge(ops::metrics::router())
        .merge(auth::router())
        .merge(workspaces::router())
        .merge(events::router())
        .merge(signals::router())
        .merge(webhooks::router())
        .merge(flags::router())
        .merge(crate::actions::router())
        .merge(crate::typed::router())
        .merge(sdk::router())
        .split_for_parts();
    openapi::finish(&mut document);
    (router, document)
}

/// The whole application: routes, fallbacks and middleware.
pub fn router(state: AppState) -> Router {
    let (api, document) = api_router();
    let body_limit = state.config.max_body_bytes;
    api.merge(ops::docs::router(document))
        .merge(crate::ui::router())
        .fallback(|| async { Error::not_found("no route for this path") })
        .method_not_allowed_fallback(|| async { Error::method_not_allowed() })
        .layer(middleware::from_fn_with_state(state.clone(), context::request_context))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}
