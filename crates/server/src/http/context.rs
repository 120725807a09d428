//! The one middleware every routed request passes through: its request id, its log span, the
//! time limit, the metrics, and a log line for a 5xx.
//!
//! Why one and not a layer each (tower-http's `SetRequestId`, `PropagateRequestId` and
//! `TraceLayer`, plus a `from_fn` for the time limit and one for the metrics, as before):
//! axum wraps every layer of a router in a boxed service with a boxed future of its own, so
//! each request paid five allocations, five dynamic calls and the moves of five nested futures
//! for what is a few field reads. Ingest without any layer was 15–22 % faster than with them
//! all (`bench/RESULTS.md`, seventh session); this does the same work once, and is as fast.
//!
//! One difference from `TraceLayer`: the span covers producing the response, not streaming
//! its body, so a log line written while a live view streams does not carry the request id.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;
use uuid::Uuid;

use crate::Error;
use crate::state::AppState;

/// Echoed when the client sends one, generated when it does not.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Gives the request its id (echoed on the response), runs the handler inside a `request`
/// span that carries the id, answers 503 when the handler takes longer than
/// `--request-timeout`, and counts and times the request under its route template (not the
/// raw path, which would make one series per id).
pub async fn request_context(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request.headers().get(&REQUEST_ID).cloned().unwrap_or_else(new_request_id);
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let method = request.method().as_str().to_owned();
    let span = tracing::info_span!(
        "request",
        method = %method,
        path = %request.uri().path(),
        request_id = request_id.to_str().unwrap_or_default()
    );

    let limit = state.config.request_timeout;
    let mut response = async {
        let response = match tokio::time::timeout(limit, next.run(request)).await {
            Ok(response) => response,
            Err(_) => Error::service_unavailable(format!("the request took longer than {limit:?}")).into_response(),
        };
        if response.status().is_server_error() {
            let latency_ms = started.elapsed().as_millis();
            tracing::error!(status = response.status().as_u16(), latency_ms, "response failed");
        }
        response
    }
    .instrument(span)
    .await;

    state.metrics.observe(route, method, response.status().as_u16(), started.elapsed().as_secs_f64());
    response.headers_mut().insert(REQUEST_ID, request_id);
    response
}

/// A UUID v7, as every id Signalbox makes: log lines sorted by request id are in time order.
fn new_request_id() -> HeaderValue {
    let id = signalbox_core::new_id();
    HeaderValue::from_str(id.hyphenated().encode_lower(&mut Uuid::encode_buffer()))
        .expect("a UUID is a valid header value")
}
