//! `/v1/service-accounts`: principals without a password that act through API tokens
//! (admin and owner).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use signalbox_core::{DisplayName, Role};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::find_member_of_kind;
use super::store;
use crate::Error;
use crate::auth::model::{Caller, Member, PrincipalKind};
use crate::error::FieldResult;
use crate::http::{ApiJson, ApiPath, PageRequest, Paginated};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_service_account, list_service_accounts))
        .routes(routes!(get_service_account, delete_service_account))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ServiceAccountIn {
    pub name: String,
    /// At most your own role.
    #[schema(value_type = Role)]
    pub role: String,
}

/// Create a service account with a role no higher than your own (admin).
#[utoipa::path(post, path = "/v1/service-accounts", tag = "service-accounts", request_body = ServiceAccountIn,
    responses((status = 201, body = Member)))]
async fn create_service_account(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ServiceAccountIn>,
) -> Result<(StatusCode, Json<Member>), Error> {
    Ok((StatusCode::CREATED, Json(create(&state, &caller, body).await?)))
}

/// Creates a service account (the API's and the UI's): admins and owners, with a role no
/// higher than the caller's.
pub async fn create(state: &AppState, caller: &Caller, body: ServiceAccountIn) -> Result<Member, Error> {
    caller.require(Role::Admin)?;
    let name = DisplayName::parse(&body.name).field("name")?;
    let role: Role = body.role.parse().field("role")?;
    if role > caller.role {
        return Err(Error::forbidden(format!(
            "cannot create a service account with the {role} role: the credential used has {}",
            caller.role
        )));
    }
    let now = state.clock.now();
    let id = store::add_service_account(&state.db, caller.workspace_id, name.as_str(), role, caller.principal_id, now)
        .await?;
    find_member_of_kind(state, caller.workspace_id, id, PrincipalKind::ServiceAccount).await
}

/// The service accounts of this workspace (admin).
#[utoipa::path(get, path = "/v1/service-accounts", tag = "service-accounts", params(PageRequest),
    responses((status = 200, body = Paginated<Member>)))]
async fn list_service_accounts(
    State(state): State<AppState>,
    caller: Caller,
    page: PageRequest,
) -> Result<Json<Paginated<Member>>, Error> {
    caller.require(Role::Admin)?;
    let (members, total) = crate::auth::store::list_members(
        &state.db,
        caller.workspace_id,
        PrincipalKind::ServiceAccount,
        page.limit,
        page.offset,
    )
    .await?;
    Ok(Json(Paginated::new(members, total, page)))
}

/// One service account (admin).
#[utoipa::path(get, path = "/v1/service-accounts/{id}", tag = "service-accounts", params(("id" = Uuid, Path)),
    responses((status = 200, body = Member)))]
async fn get_service_account(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Member>, Error> {
    caller.require(Role::Admin)?;
    Ok(Json(find_member_of_kind(&state, caller.workspace_id, id, PrincipalKind::ServiceAccount).await?))
}

/// Delete a service account and its tokens, effective at once (admin).
#[utoipa::path(delete, path = "/v1/service-accounts/{id}", tag = "service-accounts", params(("id" = Uuid, Path)),
    responses((status = 204, description = "Deleted")))]
async fn delete_service_account(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, Error> {
    caller.require(Role::Admin)?;
    let member = find_member_of_kind(&state, caller.workspace_id, id, PrincipalKind::ServiceAccount).await?;
    if member.role > caller.role {
        return Err(Error::forbidden("cannot delete a service account with a role above your own"));
    }
    let now = state.clock.now();
    store::remove_member(&state.db, caller.workspace_id, id, PrincipalKind::ServiceAccount, caller.principal_id, now)
        .await?;
    // Its tokens end with it: no cached copy may outlive this answer.
    state.api_tokens.changed(&state.db).await;
    Ok(StatusCode::NO_CONTENT)
}
