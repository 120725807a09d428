//! The Unleash admin paths for signal endpoints, so Unleash tooling works unchanged: integer
//! ids, camelCase fields, the raw `Authorization: <token>`, and count limits answered `400` as
//! Unleash does. Every operation is the `/v1` one (see `operations`).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::history::{self, SignalQuery};
use super::model::{
    EndpointTokenIn, SignalEndpointPatch, UnleashCreatedToken, UnleashSignal, UnleashSignalEndpoint,
    UnleashSignalEndpointIn, UnleashSignalEndpoints, UnleashSignals,
};
use super::operations::{self, TokenKey, require_admin, with_live_counters};
use super::store::{self, EndpointKey};
use crate::Error;
use crate::auth::caller::ApiCaller;
use crate::http::{ApiJson, ApiPath, PageRequest, Patch};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_endpoints, create_endpoint))
        .routes(routes!(update_endpoint, delete_endpoint))
        .routes(routes!(turn_on))
        .routes(routes!(turn_off))
        .routes(routes!(create_token))
        .routes(routes!(update_token, delete_token))
        .routes(routes!(list_signals))
}

/// Unleash answers a reached count limit with 400.
pub(crate) fn as_unleash(error: Error) -> Error {
    if error.is_limit_exceeded() { error.with_status(StatusCode::BAD_REQUEST) } else { error }
}

/// All signal endpoints of the workspace (Unleash shape).
#[utoipa::path(get, path = "/api/admin/signal-endpoints", tag = "unleash-signal-endpoints",
    responses((status = 200, body = UnleashSignalEndpoints)))]
async fn list_endpoints(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<UnleashSignalEndpoints>, Error> {
    require_admin(&caller)?;
    let (mut endpoints, _) = store::list_endpoints(&state.db, caller.workspace_id, None).await?;
    for endpoint in &mut endpoints {
        with_live_counters(&state, endpoint);
    }
    Ok(Json(UnleashSignalEndpoints { signal_endpoints: endpoints.iter().map(|e| e.to_unleash()).collect() }))
}

/// Create a signal endpoint (Unleash shape).
#[utoipa::path(post, path = "/api/admin/signal-endpoints", tag = "unleash-signal-endpoints",
    request_body = UnleashSignalEndpointIn, responses((status = 201, body = UnleashSignalEndpoint)))]
async fn create_endpoint(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<UnleashSignalEndpointIn>,
) -> Result<(StatusCode, Json<UnleashSignalEndpoint>), Error> {
    let endpoint = operations::create(&state, &caller, &body.name, body.description.as_deref(), body.enabled)
        .await
        .map_err(as_unleash)?;
    Ok((StatusCode::CREATED, Json(endpoint.to_unleash())))
}

/// Change a signal endpoint (Unleash shape).
#[utoipa::path(put, path = "/api/admin/signal-endpoints/{id}", tag = "unleash-signal-endpoints",
    params(("id" = i64, Path)), request_body = SignalEndpointPatch,
    responses((status = 200, body = UnleashSignalEndpoint)))]
async fn update_endpoint(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<SignalEndpointPatch>,
) -> Result<Json<UnleashSignalEndpoint>, Error> {
    let endpoint =
        operations::update(&state, &caller, EndpointKey::IntId(id), patch.name, patch.description, patch.enabled)
            .await?;
    Ok(Json(endpoint.to_unleash()))
}

/// Delete a signal endpoint (Unleash shape).
#[utoipa::path(delete, path = "/api/admin/signal-endpoints/{id}", tag = "unleash-signal-endpoints",
    params(("id" = i64, Path)), responses((status = 200, description = "Deleted")))]
async fn delete_endpoint(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, Error> {
    operations::delete(&state, &caller, EndpointKey::IntId(id)).await?;
    Ok(StatusCode::OK)
}

async fn set_enabled(
    state: &AppState,
    caller: &crate::auth::model::Caller,
    id: i64,
    enabled: bool,
) -> Result<StatusCode, Error> {
    operations::update(state, caller, EndpointKey::IntId(id), Patch::Absent, Patch::Absent, Patch::Value(enabled))
        .await?;
    Ok(StatusCode::OK)
}

/// Enable a signal endpoint.
#[utoipa::path(post, path = "/api/admin/signal-endpoints/{id}/on", tag = "unleash-signal-endpoints",
    params(("id" = i64, Path)), responses((status = 200, description = "Enabled")))]
async fn turn_on(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, Error> {
    set_enabled(&state, &caller, id, true).await
}

/// Disable a signal endpoint: its signals get 403 until it is enabled again.
#[utoipa::path(post, path = "/api/admin/signal-endpoints/{id}/off", tag = "unleash-signal-endpoints",
    params(("id" = i64, Path)), responses((status = 200, description = "Disabled")))]
async fn turn_off(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, Error> {
    set_enabled(&state, &caller, id, false).await
}

/// Create a token (Unleash shape); the secret is in this response only.
#[utoipa::path(post, path = "/api/admin/signal-endpoints/{id}/tokens", tag = "unleash-signal-endpoints",
    params(("id" = i64, Path)), request_body = EndpointTokenIn, responses((status = 201, body = UnleashCreatedToken)))]
async fn create_token(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<EndpointTokenIn>,
) -> Result<(StatusCode, Json<UnleashCreatedToken>), Error> {
    let (endpoint, token, secret) =
        operations::create_token(&state, &caller, EndpointKey::IntId(id), &body.name).await.map_err(as_unleash)?;
    Ok((StatusCode::CREATED, Json(UnleashCreatedToken { token: token.to_unleash(endpoint.int_id), secret })))
}

/// Rename a token (Unleash shape).
#[utoipa::path(put, path = "/api/admin/signal-endpoints/{id}/tokens/{tokenId}", tag = "unleash-signal-endpoints",
    params(("id" = i64, Path), ("tokenId" = i64, Path)), request_body = EndpointTokenIn,
    responses((status = 200, description = "Renamed")))]
async fn update_token(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath((id, token_id)): ApiPath<(i64, i64)>,
    ApiJson(body): ApiJson<EndpointTokenIn>,
) -> Result<StatusCode, Error> {
    operations::change_token(&state, &caller, EndpointKey::IntId(id), TokenKey::IntId(token_id), Some(&body.name))
        .await?;
    Ok(StatusCode::OK)
}

/// Revoke a token, effective at once (Unleash shape).
#[utoipa::path(delete, path = "/api/admin/signal-endpoints/{id}/tokens/{tokenId}", tag = "unleash-signal-endpoints",
    params(("id" = i64, Path), ("tokenId" = i64, Path)), responses((status = 200, description = "Revoked")))]
async fn delete_token(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath((id, token_id)): ApiPath<(i64, i64)>,
) -> Result<StatusCode, Error> {
    operations::change_token(&state, &caller, EndpointKey::IntId(id), TokenKey::IntId(token_id), None).await?;
    Ok(StatusCode::OK)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UnleashPage {
    /// Items per page, 1–100 (default 50).
    pub limit: Option<String>,
    /// Items to skip.
    pub offset: Option<String>,
}

/// The signals an endpoint received, newest first (Unleash shape).
#[utoipa::path(get, path = "/api/admin/signal-endpoints/{id}/signals", tag = "unleash-signal-endpoints",
    params(("id" = i64, Path), UnleashPage), responses((status = 200, body = UnleashSignals)))]
async fn list_signals(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(id): ApiPath<i64>,
    Query(page): Query<UnleashPage>,
) -> Result<Json<UnleashSignals>, Error> {
    require_admin(&caller)?;
    let endpoint = operations::find(&state, &caller, EndpointKey::IntId(id)).await?;
    let page = PageRequest::parse(page.limit.as_deref(), page.offset.as_deref())?;
    let query =
        SignalQuery { endpoint_id: endpoint.id, token_id: None, before: None, limit: page.limit, offset: page.offset };
    let (rows, _) = history::list_signals(&state.db, query).await?;
    Ok(Json(UnleashSignals { signal_endpoint_signals: rows.into_iter().map(UnleashSignal::from).collect() }))
}
