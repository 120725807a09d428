//! HTTP conventions implemented once: problem+json errors (including 404 and 405), the JSON
//! and path extractors, pagination, partial updates, request ids, metrics, the body limit,
//! and the assembled router.

pub mod etag;
pub mod json;
pub mod openapi;
pub mod pagination;
pub mod patch;
pub mod path;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Extension};
use axum::http::{HeaderName, Request};
use axum::middleware;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

pub use self::etag::{IfMatch, etag_header};
pub use self::json::{ApiJson, BodyLimit};
pub use self::pagination::{CursorPage, CursorRequest, PageRequest, Paginated, before_cursor, query_flag};
pub use self::patch::Patch;
pub use self::path::ApiPath;
use crate::state::AppState;
use crate::{Error, auth, events, flags, ops, sdk, signals, webhooks, workspaces};

/// Answers 503 when a handler takes longer than `--request-timeout` to produce a response.
async fn time_limit(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let limit = state.config.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Error::service_unavailable(format!("the request took longer than {limit:?}")).into_response(),
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

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
        .layer(middleware::from_fn_with_state(state.clone(), time_limit))
        .layer(middleware::from_fn_with_state(state.clone(), ops::metrics::track))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(Extension(BodyLimit(body_limit)))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let request_id = request
                .extensions()
                .get::<RequestId>()
                .and_then(|id| id.header_value().to_str().ok())
                .unwrap_or_default();
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}
