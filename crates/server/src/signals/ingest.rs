//! `POST /api/signal-endpoint/{name}`: the Unleash signal ingest, answered only after the
//! signal is committed.
//!
//! Checks run in this order, each answering problem+json and writing nothing: unknown name
//! (404) → missing, malformed, revoked or another endpoint's token (401) → disabled endpoint
//! (403) → rate limit (429, counted after authentication so an anonymous flood cannot use up
//! a real sender's budget) → content type (415) → size (413; an over-limit Content-Length is
//! refused before reading, a chunked body is cut off at the limit) → not JSON (400).

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use signalbox_core::new_id;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::counters::Outcome;
use super::model::SignalAccepted;
use super::operations::limits_for;
use super::writer::NewSignal;
use crate::Error;
use crate::auth::caller::raw_or_bearer_credential;
use crate::auth::token::hash_secret;
use crate::http::ApiPath;
use crate::http::json::read_within_limit;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(ingest_signal))
}

/// Send a signal to an endpoint.
///
/// Authenticate with one of the endpoint's tokens: `Authorization: Bearer <token>` or the raw
/// `Authorization: <token>`. The body is optional and may be any JSON value; it is stored as
/// received (an empty body as `{}`). `202` means the signal is committed.
#[utoipa::path(post, path = "/api/signal-endpoint/{name}", tag = "signals",
    params(("name" = String, Path, description = "The signal endpoint's name")),
    request_body(content = Object, description = "Any JSON value, or nothing", content_type = "application/json"),
    responses((status = 202, body = SignalAccepted), (status = 429, body = crate::error::Problem, content_type = "application/problem+json")))]
async fn ingest_signal(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    request: Request,
) -> Result<(StatusCode, Json<SignalAccepted>), Error> {
    // The request taken whole rather than as `HeaderMap` and `Body`: that extractor copies
    // every header (dropping the copy was 3.5 % of the workers' samples under load).
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let runtime = &state.signals;
    // On its way to the writer until queued (or refused): a small batch waits a moment for it.
    let arriving = runtime.writer.arriving();
    let named = runtime.cache.endpoints_named(&state.db, &name).await?;
    if named.is_empty() {
        return Err(Error::not_found(format!("no signal endpoint is named {name:?}")));
    }
    let unauthorized = |detail: &str| {
        for endpoint_id in &named {
            runtime.counters.count(*endpoint_id, Outcome::Unauthorized);
        }
        Error::unauthorized(detail.to_owned())
    };
    let Some(secret) = raw_or_bearer_credential(headers) else {
        return Err(unauthorized("send one of the endpoint's tokens as Authorization: Bearer <token>"));
    };
    let entry = runtime
        .cache
        .token(&state.db, &hash_secret(secret), async |workspace_id| limits_for(&state, workspace_id).await)
        .await?;
    let Some(token) = entry.filter(|t| t.endpoint_name == name) else {
        return Err(unauthorized("the token is not valid for this signal endpoint"));
    };
    if !token.enabled {
        return Err(Error::forbidden(format!("the signal endpoint {name:?} is disabled")));
    }
    if let Err(wait) = runtime.rates.check(token.endpoint_id, token.limits.rate_per_second) {
        runtime.counters.count(token.endpoint_id, Outcome::RateLimited);
        return Err(Error::too_many_requests(
            format!("the signal endpoint {name:?} takes {} signals per second", token.limits.rate_per_second),
            wait,
        ));
    }
    require_json_or_nothing(headers)?;
    let limit = usize::try_from(token.limits.max_payload_bytes).unwrap_or(usize::MAX);
    let Some(bytes) = read_within_limit(headers, body, limit).await? else {
        runtime.counters.count(token.endpoint_id, Outcome::TooLarge);
        return Err(Error::payload_too_large(limit));
    };
    let payload = json_payload(bytes)?;

    let received_at = state.clock.now();
    let signal = NewSignal {
        id: new_id(),
        event_id: new_id(),
        workspace_id: token.workspace_id,
        endpoint_id: token.endpoint_id,
        endpoint_name: token.endpoint_name.clone(),
        token_id: token.token_id,
        token_name: token.token_name.clone(),
        payload,
        received_at,
    };
    let id = signal.id;
    runtime.writer.store(signal, arriving).await?;
    runtime.counters.accepted(token.endpoint_id, token.token_id, received_at);
    Ok((StatusCode::ACCEPTED, Json(SignalAccepted { id, received_at })))
}

/// No Content-Type, `application/json` or `application/*+json`, parameters allowed.
fn require_json_or_nothing(headers: &HeaderMap) -> Result<(), Error> {
    if headers.contains_key(header::CONTENT_TYPE) {
        crate::http::json::require_json_content_type(headers)?;
    }
    Ok(())
}

/// The payload as stored: the body as received, `{}` when empty; 400 unless it is JSON.
fn json_payload(bytes: Vec<u8>) -> Result<String, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok("{}".to_owned());
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(&bytes)
        .map_err(|e| Error::bad_request(format!("the body is not valid JSON: {e}")))?;
    String::from_utf8(bytes).map_err(|_| Error::bad_request("the body is not valid UTF-8"))
}
