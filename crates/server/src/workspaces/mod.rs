//! `/v1/workspaces` and `/v1/workspace/settings`.

pub mod model;
pub mod store;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;
use signalbox_core::{DisplayName, Role, new_id};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::model::{
    SettingsCaps, Workspace, WorkspaceIn, WorkspaceMembership, WorkspaceSettings, WorkspaceSettingsOut,
    WorkspaceSettingsPatch,
};
use crate::Error;
use crate::auth::model::{Caller, PrincipalKind};
use crate::error::FieldResult;
use crate::events::{NewEvent, types};
use crate::http::{ApiJson, PageRequest, Paginated, Patch};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_workspace, list_workspaces))
        .routes(routes!(get_settings, update_settings))
}

/// Create a workspace; you become its owner. Only owners may create workspaces.
#[utoipa::path(post, path = "/v1/workspaces", tag = "workspaces", request_body = WorkspaceIn,
    responses((status = 201, body = Workspace)))]
async fn create_workspace(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<WorkspaceIn>,
) -> Result<(StatusCode, Json<Workspace>), Error> {
    caller.require(Role::Owner)?;
    if caller.kind != PrincipalKind::User {
        return Err(Error::forbidden("only users can create workspaces"));
    }
    let name = DisplayName::parse(&body.name).field("name")?;
    let id = new_id();
    let now = state.clock.now();
    store::create(&state.db, id, name.as_str(), caller.principal_id, now).await?;
    let workspace = Workspace { id, name: name.into_string(), created_at: now, updated_at: now };
    Ok((StatusCode::CREATED, Json(workspace)))
}

/// The workspaces you belong to, with your role in each.
#[utoipa::path(get, path = "/v1/workspaces", tag = "workspaces", params(PageRequest),
    responses((status = 200, body = Paginated<WorkspaceMembership>)))]
async fn list_workspaces(
    State(state): State<AppState>,
    caller: Caller,
    page: PageRequest,
) -> Result<Json<Paginated<WorkspaceMembership>>, Error> {
    let (workspaces, total) = store::list_for_principal(&state.db, caller.principal_id, page).await?;
    Ok(Json(Paginated::new(workspaces, total, page)))
}

fn settings_out(state: &AppState, settings: WorkspaceSettings) -> WorkspaceSettingsOut {
    WorkspaceSettingsOut {
        settings,
        caps: SettingsCaps { session_lifetime_seconds: state.config.jwt_lifetime.as_secs() },
    }
}

/// This workspace's overrides of server defaults, and the caps they must stay within (owner).
#[utoipa::path(get, path = "/v1/workspace/settings", tag = "workspaces",
    responses((status = 200, body = WorkspaceSettingsOut)))]
async fn get_settings(State(state): State<AppState>, caller: Caller) -> Result<Json<WorkspaceSettingsOut>, Error> {
    caller.require(Role::Owner)?;
    let settings = store::settings(&state.db, caller.workspace_id).await?;
    Ok(Json(settings_out(&state, settings)))
}

/// Change this workspace's overrides (owner). Absent fields are unchanged; `null` restores
/// the server's value; a value above the server's cap is refused.
#[utoipa::path(put, path = "/v1/workspace/settings", tag = "workspaces", request_body = WorkspaceSettingsPatch,
    responses((status = 200, body = WorkspaceSettingsOut)))]
async fn update_settings(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(patch): ApiJson<WorkspaceSettingsPatch>,
) -> Result<Json<WorkspaceSettingsOut>, Error> {
    caller.require(Role::Owner)?;
    let mut settings = store::settings(&state.db, caller.workspace_id).await?;
    let cap = state.config.jwt_lifetime.as_secs();
    match patch.session_lifetime_seconds {
        Patch::Absent => {}
        Patch::Null => settings.session_lifetime_seconds = None,
        Patch::Value(value) => {
            let seconds = value.as_u64().filter(|s| (60..=cap).contains(s)).ok_or_else(|| {
                Error::invalid_field(
                    "session_lifetime_seconds",
                    format!("must be a whole number of seconds from 60 to the server's cap of {cap}"),
                )
            })?;
            settings.session_lifetime_seconds = Some(seconds);
        }
    }
    let now = state.clock.now();
    let event = NewEvent::new(
        caller.workspace_id,
        types::WORKSPACE_SETTINGS_UPDATED,
        Some(caller.principal_id),
        json!({ "settings": settings }),
        now,
    );
    store::save_settings(&state.db, caller.workspace_id, &settings, now, &event).await?;
    Ok(Json(settings_out(&state, settings)))
}
