//! `/v1/api-tokens`: long-lived bearer tokens for scripts and integrations.

pub mod cache;
pub mod model;
pub mod store;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;
use signalbox_core::{DisplayName, Role, Timestamp, TokenScope, new_id};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use self::model::{ApiToken, ApiTokenIn, CreatedApiToken};
use crate::auth::model::{Caller, PrincipalKind};
use crate::auth::token::{API_TOKEN_PREFIX, generate_secret};
use crate::error::FieldResult;
use crate::events::{NewEvent, types};
use crate::http::{ApiJson, ApiPath, PageRequest, Paginated};
use crate::state::AppState;
use crate::{Error, auth};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_api_token, list_api_tokens)).routes(routes!(delete_api_token))
}

/// Create an API token. The secret is in this response only.
///
/// Editors and above may create tokens for themselves, never with a role above their own;
/// admins and owners may also mint tokens for a service account.
#[utoipa::path(post, path = "/v1/api-tokens", tag = "api-tokens", request_body = ApiTokenIn,
    responses((status = 201, body = CreatedApiToken)))]
async fn create_api_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ApiTokenIn>,
) -> Result<(StatusCode, Json<CreatedApiToken>), Error> {
    Ok((StatusCode::CREATED, Json(create(&state, &caller, body).await?)))
}

/// Creates an API token (the API's and the UI's): editors and above, never with a role above
/// the caller's; admins may mint for a service account. The secret is in the answer only.
pub async fn create(state: &AppState, caller: &Caller, body: ApiTokenIn) -> Result<CreatedApiToken, Error> {
    caller.require(Role::Editor)?;
    let name = DisplayName::parse(&body.name).field("name")?;
    let (role, scope) = role_or_scope(body.role.as_deref(), body.scope.as_deref())?;
    if let Some(role) = role.filter(|role| *role > caller.role) {
        return Err(Error::forbidden(format!(
            "cannot create a token with the {role} role: the credential used has {}",
            caller.role
        )));
    }
    let now = state.clock.now();
    let expires_at = body.expires_at.as_deref().map(Timestamp::parse).transpose().field("expires_at")?;
    if expires_at.is_some_and(|at| at <= now) {
        return Err(Error::invalid_field("expires_at", "must be in the future"));
    }
    let principal_id = match body.service_account_id.as_deref() {
        None => caller.principal_id,
        Some(text) => service_account_in_workspace(state, caller, text).await?,
    };

    let id = new_id();
    let secret = generate_secret(API_TOKEN_PREFIX);
    let event = NewEvent::new(
        caller.workspace_id,
        types::API_TOKEN_CREATED,
        Some(caller.principal_id),
        json!({ "id": id, "name": name, "role": role, "scope": scope, "principal_id": principal_id }),
        now,
    );
    let token = store::NewApiToken {
        id,
        workspace_id: caller.workspace_id,
        principal_id,
        name: name.as_str(),
        token_hash: &secret.hash,
        role,
        scope,
        created_by: Some(caller.principal_id),
        created_at: now,
        expires_at,
    };
    store::insert(&state.db, &token, &event).await?;
    let created = CreatedApiToken {
        id,
        name: name.into_string(),
        role,
        scope,
        token: secret.secret,
        principal_id,
        created_at: now,
        expires_at,
    };
    Ok(created)
}

/// Exactly one of `role` and `scope`.
fn role_or_scope(role: Option<&str>, scope: Option<&str>) -> Result<(Option<Role>, Option<TokenScope>), Error> {
    match (role, scope) {
        (Some(_), Some(_)) => Err(Error::invalid_field("scope", "give either role or scope, not both")),
        (None, None) => Err(Error::invalid_field("role", "is required unless scope is given")),
        (Some(role), None) => Ok((Some(role.parse().field("role")?), None)),
        (None, Some(scope)) => {
            let scope = scope.parse().map_err(|()| Error::invalid_field("scope", "must be ingest"))?;
            Ok((None, Some(scope)))
        }
    }
}

async fn service_account_in_workspace(state: &AppState, caller: &Caller, text: &str) -> Result<Uuid, Error> {
    caller.require(Role::Admin)?;
    let invalid = || Error::invalid_field("service_account_id", "no service account with this id in the workspace");
    let id = Uuid::parse_str(text).map_err(|_| invalid())?;
    let member = auth::store::find_member(&state.db, caller.workspace_id, id).await?;
    match member {
        Some(member) if member.kind == PrincipalKind::ServiceAccount => Ok(id),
        _ => Err(invalid()),
    }
}

/// List API tokens: all of the workspace's for admins and owners, else your own.
#[utoipa::path(get, path = "/v1/api-tokens", tag = "api-tokens", params(PageRequest),
    responses((status = 200, body = Paginated<ApiToken>)))]
async fn list_api_tokens(
    State(state): State<AppState>,
    caller: Caller,
    page: PageRequest,
) -> Result<Json<Paginated<ApiToken>>, Error> {
    let only_own = (caller.role < Role::Admin).then_some(caller.principal_id);
    let (tokens, total) = store::list(&state.db, caller.workspace_id, only_own, page).await?;
    Ok(Json(Paginated::new(tokens, total, page)))
}

/// Revoke an API token, effective at once. Your own, or any in the workspace for admins.
#[utoipa::path(delete, path = "/v1/api-tokens/{id}", tag = "api-tokens",
    params(("id" = Uuid, Path, description = "The token's id")),
    responses((status = 204, description = "Revoked")))]
async fn delete_api_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, Error> {
    revoke(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes a token at once: the caller's own, or any of the workspace's for admins.
pub async fn revoke(state: &AppState, caller: &Caller, id: Uuid) -> Result<(), Error> {
    let not_found = || Error::not_found("no API token with this id");
    let token = store::find(&state.db, caller.workspace_id, id).await?.ok_or_else(not_found)?;
    if token.principal_id != caller.principal_id && caller.role < Role::Admin {
        return Err(not_found());
    }
    let event = NewEvent::new(
        caller.workspace_id,
        types::API_TOKEN_REVOKED,
        Some(caller.principal_id),
        json!({ "id": id, "name": token.name, "principal_id": token.principal_id }),
        state.clock.now(),
    );
    let deleted = store::delete(&state.db, caller.workspace_id, id, &event).await?;
    // Even if another request deleted it first: no copy of it may outlive this answer.
    state.api_tokens.changed(&state.db).await;
    if !deleted {
        return Err(not_found());
    }
    Ok(())
}
