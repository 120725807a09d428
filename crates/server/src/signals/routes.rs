//! `/v1/signal-endpoints`: endpoints, their tokens, and the signals they received (admin).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::history::{self, SignalQuery};
use super::model::{
    CreatedEndpointToken, EndpointTokenIn, Signal, SignalEndpoint, SignalEndpointIn, SignalEndpointPatch,
};
use super::operations::{self, TokenKey, require_admin, with_live_counters};
use super::store::{self, EndpointKey};
use crate::Error;
use crate::auth::model::Caller;
use crate::http::{ApiJson, ApiPath, CursorPage, PageRequest, Paginated};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_endpoint, list_endpoints))
        .routes(routes!(get_endpoint, update_endpoint, delete_endpoint))
        .routes(routes!(create_token, list_tokens))
        .routes(routes!(rename_token, revoke_token))
        .routes(routes!(list_signals))
}

fn v1(state: &AppState, endpoint: &super::model::EndpointRecord) -> SignalEndpoint {
    endpoint.to_v1(&state.config.public_url())
}

/// Create a signal endpoint (admin).
#[utoipa::path(post, path = "/v1/signal-endpoints", tag = "signal-endpoints", request_body = SignalEndpointIn,
    responses((status = 201, body = SignalEndpoint), (status = 409, body = crate::error::Problem, content_type = "application/problem+json",
        description = "The name is taken, or the workspace has max_signal_endpoints already (type …/limit-exceeded)")))]
async fn create_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<SignalEndpointIn>,
) -> Result<(StatusCode, Json<SignalEndpoint>), Error> {
    let endpoint = operations::create(&state, &caller, &body.name, body.description.as_deref(), body.enabled).await?;
    Ok((StatusCode::CREATED, Json(v1(&state, &endpoint))))
}

/// The workspace's signal endpoints with their tokens and request counters (admin).
#[utoipa::path(get, path = "/v1/signal-endpoints", tag = "signal-endpoints", params(PageRequest),
    responses((status = 200, body = Paginated<SignalEndpoint>)))]
async fn list_endpoints(
    State(state): State<AppState>,
    caller: Caller,
    page: PageRequest,
) -> Result<Json<Paginated<SignalEndpoint>>, Error> {
    require_admin(&caller)?;
    let (mut endpoints, total) = store::list_endpoints(&state.db, caller.workspace_id, Some(page)).await?;
    let data = endpoints
        .iter_mut()
        .map(|endpoint| {
            with_live_counters(&state, endpoint);
            v1(&state, endpoint)
        })
        .collect();
    Ok(Json(Paginated::new(data, total, page)))
}

/// One signal endpoint (admin).
#[utoipa::path(get, path = "/v1/signal-endpoints/{id}", tag = "signal-endpoints", params(("id" = Uuid, Path)),
    responses((status = 200, body = SignalEndpoint)))]
async fn get_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<SignalEndpoint>, Error> {
    require_admin(&caller)?;
    let endpoint = operations::find(&state, &caller, EndpointKey::Id(id)).await?;
    Ok(Json(v1(&state, &endpoint)))
}

/// Change a signal endpoint (admin). Absent fields are unchanged; `description: null` clears it.
#[utoipa::path(put, path = "/v1/signal-endpoints/{id}", tag = "signal-endpoints", params(("id" = Uuid, Path)),
    request_body = SignalEndpointPatch, responses((status = 200, body = SignalEndpoint)))]
async fn update_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<SignalEndpointPatch>,
) -> Result<Json<SignalEndpoint>, Error> {
    let endpoint =
        operations::update(&state, &caller, EndpointKey::Id(id), patch.name, patch.description, patch.enabled).await?;
    Ok(Json(v1(&state, &endpoint)))
}

/// Delete a signal endpoint with its tokens and signals (admin).
#[utoipa::path(delete, path = "/v1/signal-endpoints/{id}", tag = "signal-endpoints", params(("id" = Uuid, Path)),
    responses((status = 204, description = "Deleted")))]
async fn delete_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, Error> {
    operations::delete(&state, &caller, EndpointKey::Id(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create a token for an endpoint (admin). The secret is in this response only.
#[utoipa::path(post, path = "/v1/signal-endpoints/{id}/tokens", tag = "signal-endpoints", params(("id" = Uuid, Path)),
    request_body = EndpointTokenIn, responses((status = 201, body = CreatedEndpointToken)))]
async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<EndpointTokenIn>,
) -> Result<(StatusCode, Json<CreatedEndpointToken>), Error> {
    let (_, token, secret) = operations::create_token(&state, &caller, EndpointKey::Id(id), &body.name).await?;
    let created = CreatedEndpointToken { id: token.id, name: token.name, token: secret, created_at: token.created_at };
    Ok((StatusCode::CREATED, Json(created)))
}

/// An endpoint's tokens, without secrets (admin).
#[utoipa::path(get, path = "/v1/signal-endpoints/{id}/tokens", tag = "signal-endpoints", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<super::model::EndpointToken>)))]
async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Vec<super::model::EndpointToken>>, Error> {
    require_admin(&caller)?;
    let endpoint = operations::find(&state, &caller, EndpointKey::Id(id)).await?;
    Ok(Json(v1(&state, &endpoint).tokens))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TokenRename {
    pub name: String,
}

/// Rename a token (admin).
#[utoipa::path(put, path = "/v1/signal-endpoints/{id}/tokens/{token_id}", tag = "signal-endpoints",
    params(("id" = Uuid, Path), ("token_id" = Uuid, Path)), request_body = TokenRename,
    responses((status = 200, body = super::model::EndpointToken)))]
async fn rename_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, token_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<TokenRename>,
) -> Result<Json<super::model::EndpointToken>, Error> {
    let endpoint =
        operations::change_token(&state, &caller, EndpointKey::Id(id), TokenKey::Id(token_id), Some(&body.name))
            .await?;
    let token = v1(&state, &endpoint).tokens.into_iter().find(|t| t.id == token_id);
    token.map(Json).ok_or_else(|| Error::not_found("no token with this id on the endpoint"))
}

/// Revoke a token, effective at once (admin).
#[utoipa::path(delete, path = "/v1/signal-endpoints/{id}/tokens/{token_id}", tag = "signal-endpoints",
    params(("id" = Uuid, Path), ("token_id" = Uuid, Path)), responses((status = 204, description = "Revoked")))]
async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, token_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, Error> {
    operations::change_token(&state, &caller, EndpointKey::Id(id), TokenKey::Id(token_id), None).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SignalListQuery {
    /// Items per page, 1–100 (default 50).
    pub limit: Option<String>,
    /// Offset paging: items to skip. Not with `before`.
    pub offset: Option<String>,
    /// Cursor paging: the `next_cursor` of the previous page, or any signal's `seq` to list
    /// what came before it. Answers without `total`.
    pub before: Option<String>,
    /// Only signals sent with this token (its id).
    pub token: Option<String>,
}

/// Either page shape, as the query asked.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum SignalPage {
    Offset(Paginated<Signal>),
    Cursor(CursorPage<Signal>),
}

/// The signals an endpoint received, newest first (admin): offset pages, or cursor pages
/// with `?before=`; `?token=` filters by the sending token.
#[utoipa::path(get, path = "/v1/signal-endpoints/{id}/signals", tag = "signal-endpoints",
    params(("id" = Uuid, Path), SignalListQuery), responses((status = 200, body = SignalPage)))]
async fn list_signals(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    Query(query): Query<SignalListQuery>,
) -> Result<Json<SignalPage>, Error> {
    require_admin(&caller)?;
    let endpoint = operations::find(&state, &caller, EndpointKey::Id(id)).await?;
    let page = PageRequest::parse(query.limit.as_deref(), query.offset.as_deref())?;
    let token = match query.token.as_deref() {
        None => None,
        Some(text) => {
            let id = Uuid::parse_str(text).map_err(|_| Error::invalid_field("token", "must be a token id"))?;
            Some(id.to_string())
        }
    };
    let before = crate::http::before_cursor(query.before.as_deref(), query.offset.as_deref())?;
    let fetch = if before.is_some() { page.limit + 1 } else { page.limit };
    let signal_query =
        SignalQuery { endpoint_id: endpoint.id, token_id: token.as_deref(), before, limit: fetch, offset: page.offset };
    let (rows, total) = history::list_signals(&state.db, signal_query).await?;
    let signals: Vec<Signal> = rows.into_iter().map(Signal::from).collect();
    if before.is_some() {
        return Ok(Json(SignalPage::Cursor(CursorPage::from_overfetch(signals, page.limit, |s| s.seq.to_string()))));
    }
    Ok(Json(SignalPage::Offset(Paginated::new(signals, total, page))))
}
