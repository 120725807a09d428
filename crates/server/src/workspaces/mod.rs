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

/// The server's caps the workspace's overrides must stay within (a cap of 0: no limit).
pub fn caps(state: &AppState) -> SettingsCaps {
    let signals = &state.config.signals;
    SettingsCaps {
        session_lifetime_seconds: state.config.jwt_lifetime.as_secs(),
        signal_rate_limit: signals.signal_rate_limit.into(),
        max_signal_endpoints: signals.max_signal_endpoints.into(),
        max_tokens_per_endpoint: signals.max_tokens_per_endpoint.into(),
        max_signal_payload_bytes: signals.max_signal_payload_bytes.into(),
        typed_signal_rate_per_minute: state.config.typed_signals.typed_signal_rate_per_minute,
        typed_signal_rate_per_day: state.config.typed_signals.typed_signal_rate_per_day,
    }
}

fn settings_out(state: &AppState, settings: WorkspaceSettings) -> WorkspaceSettingsOut {
    WorkspaceSettingsOut { settings, caps: caps(state) }
}

/// Applies one numeric override: `null` clears it; a value must be a whole number from `min`
/// to the server's `cap`, where a cap of 0 means the server has no limit (and then 0 is "no
/// limit" here too).
fn apply_override(
    target: &mut Option<u64>,
    patch: Patch<serde_json::Value>,
    field: &str,
    min: u64,
    cap: u64,
) -> Result<(), Error> {
    match patch {
        Patch::Absent => {}
        Patch::Null => *target = None,
        Patch::Value(value) => {
            let number = value.as_u64();
            let allowed = match number {
                Some(n) if cap == 0 => n == 0 || n >= min,
                Some(n) => (min..=cap).contains(&n),
                None => false,
            };
            if !allowed {
                let range = if cap == 0 {
                    format!("0 (no limit) or at least {min}")
                } else {
                    format!("from {min} to the server's cap of {cap}")
                };
                return Err(Error::invalid_field(field, format!("must be a whole number {range}")));
            }
            *target = number;
        }
    }
    Ok(())
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
    Ok(Json(apply_settings(&state, &caller, patch).await?))
}

/// Applies a settings patch (the API's and the UI's): owner only; every value within its
/// cap or nothing is saved; the caches that enforce the limits are told.
pub async fn apply_settings(
    state: &AppState,
    caller: &Caller,
    patch: WorkspaceSettingsPatch,
) -> Result<WorkspaceSettingsOut, Error> {
    caller.require(Role::Owner)?;
    let mut settings = store::settings(&state.db, caller.workspace_id).await?;
    let caps = caps(state);
    let s = &mut settings;
    apply_override(
        &mut s.session_lifetime_seconds,
        patch.session_lifetime_seconds,
        "session_lifetime_seconds",
        60,
        caps.session_lifetime_seconds.max(60),
    )?;
    apply_override(&mut s.signal_rate_limit, patch.signal_rate_limit, "signal_rate_limit", 1, caps.signal_rate_limit)?;
    apply_override(
        &mut s.max_signal_endpoints,
        patch.max_signal_endpoints,
        "max_signal_endpoints",
        1,
        caps.max_signal_endpoints,
    )?;
    apply_override(
        &mut s.max_tokens_per_endpoint,
        patch.max_tokens_per_endpoint,
        "max_tokens_per_endpoint",
        1,
        caps.max_tokens_per_endpoint,
    )?;
    apply_override(
        &mut s.max_signal_payload_bytes,
        patch.max_signal_payload_bytes,
        "max_signal_payload_bytes",
        1,
        caps.max_signal_payload_bytes,
    )?;
    apply_override(
        &mut s.typed_signal_rate_per_minute,
        patch.typed_signal_rate_per_minute,
        "typed_signal_rate_per_minute",
        1,
        caps.typed_signal_rate_per_minute,
    )?;
    apply_override(
        &mut s.typed_signal_rate_per_day,
        patch.typed_signal_rate_per_day,
        "typed_signal_rate_per_day",
        1,
        caps.typed_signal_rate_per_day,
    )?;
    apply_override(&mut s.qualification_threshold, patch.qualification_threshold, "qualification_threshold", 0, 100)?;
    let now = state.clock.now();
    let event = NewEvent::new(
        caller.workspace_id,
        types::WORKSPACE_SETTINGS_UPDATED,
        Some(caller.principal_id),
        json!({ "settings": settings }),
        now,
    );
    store::save_settings(&state.db, caller.workspace_id, &settings, now, &event).await?;
    // Ingest caches the limits it enforces.
    state.signals.config_changed(&state.db).await;
    // And typed ingest its limits and qualification threshold.
    state.typed.cache.changed(&state.db).await;
    Ok(settings_out(state, settings))
}
