//! `/v1/users`: owners add people (new accounts or existing ones), change their role,
//! disable and remove them. Admins may list them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use signalbox_core::{DisplayName, Email, Password, Role};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::find_member_of_kind;
use super::store::{self, MemberChange, NewMember};
use crate::Error;
use crate::auth::model::{Caller, Member, PrincipalKind};
use crate::auth::token::generate_password;
use crate::error::FieldResult;
use crate::http::{ApiJson, ApiPath, PageRequest, Paginated, Patch};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(add_user, list_users)).routes(routes!(get_user, update_user, remove_user))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UserIn {
    pub email: String,
    #[schema(value_type = Role)]
    pub role: String,
    /// Display name for a new account (default: the email).
    pub name: Option<String>,
    /// Password for a new account (at least 12 characters). Absent: one is generated and
    /// returned once as `initial_password`. Not allowed for an existing account.
    pub password: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserOut {
    #[serde(flatten)]
    pub member: Member,
    /// Only when the account was created with a generated password: shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_password: Option<String>,
}

/// Add a user to this workspace with a role (owner). A new email creates the account; an
/// existing one is invited with the password they already have.
#[utoipa::path(post, path = "/v1/users", tag = "users", request_body = UserIn,
    responses((status = 201, body = UserOut)))]
async fn add_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<UserIn>,
) -> Result<(StatusCode, Json<UserOut>), Error> {
    Ok((StatusCode::CREATED, Json(add(&state, &caller, body).await?)))
}

/// Adds a user, as `POST /v1/users` (the UI calls it too).
pub async fn add(state: &AppState, caller: &Caller, body: UserIn) -> Result<UserOut, Error> {
    caller.require(Role::Owner)?;
    let email = Email::parse(&body.email).field("email")?;
    let role: Role = body.role.parse().field("role")?;
    let name = match body.name.as_deref() {
        Some(name) => DisplayName::parse(name).field("name")?.into_string(),
        None => email.to_string(),
    };
    let password = body.password.as_deref().map(Password::parse).transpose().field("password")?;
    let exists = crate::auth::store::find_user_id_by_email(&state.db, &email).await?.is_some();
    if exists && password.is_some() {
        return Err(Error::invalid_field(
            "password",
            "this email already has an account, which keeps its own password",
        ));
    }
    let (hash, initial_password) = if exists {
        (None, None)
    } else {
        let (password, shown) = match password {
            Some(password) => (password, None),
            None => {
                let generated = generate_password();
                (Password::parse(&generated).field("password")?, Some(generated))
            }
        };
        (Some(state.passwords.hash(&password).await?), shown)
    };
    let now = state.clock.now();
    let new_member = NewMember {
        workspace_id: caller.workspace_id,
        email: &email,
        name: &name,
        new_password_hash: hash.as_deref(),
        role,
        actor: Some(caller.principal_id),
    };
    let id = store::add_user(&state.db, &new_member, now).await?;
    let member = find_member_of_kind(state, caller.workspace_id, id, PrincipalKind::User).await?;
    Ok(UserOut { member, initial_password })
}

/// The users of this workspace (admin).
#[utoipa::path(get, path = "/v1/users", tag = "users", params(PageRequest),
    responses((status = 200, body = Paginated<Member>)))]
async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    page: PageRequest,
) -> Result<Json<Paginated<Member>>, Error> {
    caller.require(Role::Admin)?;
    let (members, total) =
        crate::auth::store::list_members(&state.db, caller.workspace_id, PrincipalKind::User, page.limit, page.offset)
            .await?;
    Ok(Json(Paginated::new(members, total, page)))
}

/// One user of this workspace (admin).
#[utoipa::path(get, path = "/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 200, body = Member)))]
async fn get_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Member>, Error> {
    caller.require(Role::Admin)?;
    Ok(Json(find_member_of_kind(&state, caller.workspace_id, id, PrincipalKind::User).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct UserPatch {
    #[serde(default)]
    #[schema(value_type = Option<Role>)]
    pub role: Patch<String>,
    /// A disabled member cannot log in, and their sessions and tokens stop working.
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub disabled: Patch<bool>,
}

/// Change a user's role or disable them (owner). The last enabled owner cannot be demoted
/// or disabled. Takes effect on their very next request.
#[utoipa::path(put, path = "/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)), request_body = UserPatch,
    responses((status = 200, body = Member)))]
async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<UserPatch>,
) -> Result<Json<Member>, Error> {
    Ok(Json(update(&state, &caller, id, patch).await?))
}

/// Changes a user's role or disables them, as `PUT /v1/users/{id}` (the UI calls it too).
pub async fn update(state: &AppState, caller: &Caller, id: Uuid, patch: UserPatch) -> Result<Member, Error> {
    caller.require(Role::Owner)?;
    let role = patch.role.not_null("role")?.map(|r| r.parse::<Role>()).transpose().field("role")?;
    let disabled = patch.disabled.not_null("disabled")?;
    let change = MemberChange { role, disabled };
    let now = state.clock.now();
    let found =
        store::update_member(&state.db, caller.workspace_id, id, PrincipalKind::User, change, caller.principal_id, now)
            .await?;
    // Their API tokens act with their role: no cached copy may outlive this answer.
    state.api_tokens.changed(&state.db).await;
    if !found {
        return Err(Error::not_found("no user with this id in the workspace"));
    }
    find_member_of_kind(state, caller.workspace_id, id, PrincipalKind::User).await
}

/// Remove a user from this workspace (owner): their sessions and tokens here end at once.
/// The account stays for their other workspaces. The last enabled owner cannot be removed.
#[utoipa::path(delete, path = "/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)),
    responses((status = 204, description = "Removed")))]
async fn remove_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, Error> {
    caller.require(Role::Owner)?;
    let now = state.clock.now();
    let found =
        store::remove_member(&state.db, caller.workspace_id, id, PrincipalKind::User, caller.principal_id, now).await?;
    state.api_tokens.changed(&state.db).await;
    if !found {
        return Err(Error::not_found("no user with this id in the workspace"));
    }
    Ok(StatusCode::NO_CONTENT)
}
