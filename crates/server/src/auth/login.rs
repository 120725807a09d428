//! `/v1/auth/login`, `/v1/auth/logout`, `/v1/me`, `/v1/me/password`.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use signalbox_core::{Email, Password, Role, Timestamp, new_id};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::jwt::Claims;
use super::model::{Caller, Credential, PrincipalKind};
use super::store;
use super::throttle::LoginThrottle;
use crate::Error;
use crate::error::FieldResult;
use crate::events::{NewEvent, types};
use crate::http::ApiJson;
use crate::state::AppState;
use crate::workspaces;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginIn {
    pub email: String,
    pub password: String,
    /// The workspace to log in to. Absent: your oldest membership.
    #[schema(value_type = Option<Uuid>)]
    pub workspace_id: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginOut {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: Timestamp,
    pub workspace_id: Uuid,
    pub role: Role,
}

const WRONG_CREDENTIALS: &str = "the email or password is not correct";

/// Log in with email and password; returns a session JWT.
///
/// After repeated failures for one email or from one address, answers 429 with
/// `Retry-After`. Wrong email and wrong password get the same answer.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginIn,
    responses((status = 200, body = LoginOut)))]
async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<LoginIn>,
) -> Result<Json<LoginOut>, Error> {
    let started = start_session(&state, peer.ip(), &body.email, &body.password, body.workspace_id.as_deref()).await?;
    let claims = Claims {
        sub: started.principal_id,
        wid: started.workspace_id,
        sid: started.session_id,
        iat: state.clock.now().unix_seconds(),
        exp: started.expires_at.unix_seconds(),
    };
    Ok(Json(LoginOut {
        token: state.sessions.issue(&claims)?,
        expires_at: started.expires_at,
        workspace_id: started.workspace_id,
        role: started.role,
    }))
}

/// A login session just started.
pub struct StartedSession {
    pub session_id: Uuid,
    pub principal_id: Uuid,
    pub workspace_id: Uuid,
    pub role: Role,
    pub expires_at: Timestamp,
}

/// Checks an email and password (with the failure throttle) and starts a login session in
/// `workspace_id` (absent: the user's oldest membership). The API answers it with a JWT, the
/// UI with a cookie.
pub async fn start_session(
    state: &AppState,
    peer: std::net::IpAddr,
    email: &str,
    password: &str,
    workspace_id: Option<&str>,
) -> Result<StartedSession, Error> {
    let email = Email::parse(email).field("email")?;
    if password.is_empty() {
        return Err(Error::invalid_field("password", "is required"));
    }
    let workspace_id = workspace_id
        .map(Uuid::parse_str)
        .transpose()
        .map_err(|_| Error::invalid_field("workspace_id", "must be a UUID"))?;
    let now = state.clock.now();
    let throttle = LoginThrottle {
        db: &state.db,
        max_failures: state.config.login_max_failures,
        window: state.config.login_failure_window,
    };
    throttle.check(&email, peer, now).await?;

    let user = store::find_user_login(&state.db, &email).await?;
    let verified = state.passwords.verify(password, user.as_ref().and_then(|u| u.password_hash.as_deref())).await;
    let membership = match (&user, verified) {
        (Some(user), true) => store::login_membership(&state.db, user.id, workspace_id).await?,
        _ => None,
    };
    let (Some(user), Some((workspace_id, role, disabled))) = (user, membership) else {
        throttle.record_failure(&email, peer, now).await?;
        return Err(Error::unauthorized(WRONG_CREDENTIALS));
    };
    if disabled {
        return Err(Error::forbidden("this account is disabled in the workspace"));
    }
    throttle.record_success(&email, now).await?;

    let lifetime = workspaces::store::session_lifetime(&state.db, workspace_id, state.config.jwt_lifetime).await?;
    let session_id = new_id();
    let expires_at = now.plus(lifetime);
    store::create_session(&state.db, session_id, user.id, workspace_id, now, expires_at).await?;
    Ok(StartedSession { session_id, principal_id: user.id, workspace_id, role, expires_at })
}

/// End the current session at once. Its JWT stops working immediately.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", responses((status = 204, description = "Logged out")))]
async fn logout(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, Error> {
    let Some(session_id) = caller.session_id() else {
        return Err(Error::bad_request(
            "logout ends a login session; revoke API tokens with DELETE /v1/api-tokens/{id}",
        ));
    };
    store::end_session(&state.db, session_id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeOut {
    pub principal: MePrincipal,
    pub workspace: workspaces::model::Workspace,
    /// The role this credential acts with now.
    pub role: Role,
    /// `session` or `api_token`.
    pub credential: &'static str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MePrincipal {
    pub id: Uuid,
    pub kind: PrincipalKind,
    pub email: Option<String>,
    pub name: String,
}

/// Who you are: principal, workspace and effective role.
#[utoipa::path(get, path = "/v1/me", tag = "auth", responses((status = 200, body = MeOut)))]
async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<MeOut>, Error> {
    let member = store::find_member(&state.db, caller.workspace_id, caller.principal_id)
        .await?
        .ok_or_else(|| Error::unauthorized("the membership no longer exists"))?;
    let workspace = workspaces::store::find(&state.db, caller.workspace_id)
        .await?
        .ok_or_else(|| Error::unauthorized("the workspace no longer exists"))?;
    let credential = match caller.credential {
        Credential::Session(_) => "session",
        Credential::ApiToken { .. } => "api_token",
        Credential::ActionRun { .. } => "action_run",
    };
    let principal = MePrincipal { id: member.id, kind: member.kind, email: member.email, name: member.name };
    Ok(Json(MeOut { principal, workspace, role: caller.role, credential }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PasswordChangeIn {
    pub current_password: String,
    /// At least 12 characters.
    pub new_password: String,
}

/// Change your own password. Other sessions of yours end; this one stays.
#[utoipa::path(put, path = "/v1/me/password", tag = "auth", request_body = PasswordChangeIn,
    responses((status = 204, description = "Changed")))]
async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<PasswordChangeIn>,
) -> Result<StatusCode, Error> {
    if caller.kind != PrincipalKind::User {
        return Err(Error::forbidden("service accounts have no password"));
    }
    let new_password = Password::parse(&body.new_password).field("new_password")?;
    let stored = store::password_hash_of(&state.db, caller.principal_id).await?;
    if !state.passwords.verify(&body.current_password, stored.as_deref()).await {
        return Err(Error::invalid_field("current_password", "is not correct"));
    }
    let hash = state.passwords.hash(&new_password).await?;
    let now = state.clock.now();
    let event = NewEvent::new(
        caller.workspace_id,
        types::USER_PASSWORD_CHANGED,
        Some(caller.principal_id),
        json!({ "id": caller.principal_id }),
        now,
    );
    store::set_password(&state.db, caller.principal_id, &hash, caller.session_id(), now, Some(&event)).await?;
    Ok(StatusCode::NO_CONTENT)
}
