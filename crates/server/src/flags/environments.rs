//! `/v1/environments`: where flags are configured. Every workspace has `development` and
//! `production`.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use signalbox_core::flags::{ENVIRONMENT_TYPES, EnvironmentKey};
use signalbox_core::{Role, new_id};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{Environment, EnvironmentIn, EnvironmentPatch};
use super::projects::name_or;
use super::store;
use crate::Error;
use crate::auth::model::Caller;
use crate::error::FieldResult;
use crate::events::{NewEvent, types};
use crate::http::{ApiJson, ApiPath, query_flag};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_environment, list_environments)).routes(routes!(
        get_environment,
        update_environment,
        delete_environment
    ))
}

pub async fn find(state: &AppState, caller: &Caller, key: &str) -> Result<Environment, Error> {
    store::list_environments(&state.db, caller.workspace_id)
        .await?
        .into_iter()
        .find(|e| e.key == key)
        .ok_or_else(|| Error::not_found(format!("no environment {key:?} in the workspace")))
}

fn environment_type(text: &str, field: &str) -> Result<String, Error> {
    if ENVIRONMENT_TYPES.contains(&text) {
        Ok(text.to_owned())
    } else {
        Err(Error::invalid_field(field, format!("must be one of {}", ENVIRONMENT_TYPES.join(", "))))
    }
}

fn approvals(n: i64) -> Result<i64, Error> {
    if (1..=10).contains(&n) { Ok(n) } else { Err(Error::invalid_field("approvals_required", "must be 1 to 10")) }
}

fn event(state: &AppState, caller: &Caller, event_type: &'static str, e: &Environment) -> NewEvent {
    let data =
        json!({ "id": e.id, "key": e.key, "type": e.environment_type, "requires_approval": e.requires_approval });
    NewEvent::new(caller.workspace_id, event_type, Some(caller.principal_id), data, state.clock.now())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EnvironmentList {
    pub data: Vec<Environment>,
}

/// Create an environment (admin).
#[utoipa::path(post, path = "/v1/environments", tag = "flags", request_body = EnvironmentIn,
    responses((status = 201, body = Environment), (status = 409, body = crate::error::Problem,
        content_type = "application/problem+json", description = "The key is taken")))]
async fn create_environment(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<EnvironmentIn>,
) -> Result<(StatusCode, Json<Environment>), Error> {
    caller.require(Role::Admin)?;
    let key = EnvironmentKey::parse(&body.key).field("key")?;
    let now = state.clock.now();
    let environment = Environment {
        id: new_id(),
        name: name_or(key.as_str(), body.name.as_deref(), "name")?,
        key: key.as_str().to_owned(),
        environment_type: environment_type(&body.environment_type, "type")?,
        sort_order: body.sort_order.unwrap_or(0),
        requires_approval: body.requires_approval.unwrap_or(false),
        approvals_required: approvals(body.approvals_required.unwrap_or(1))?,
        created_at: now,
        updated_at: now,
    };
    let created = event(&state, &caller, types::ENVIRONMENT_CREATED, &environment);
    match store::create_environment(&state.db, caller.workspace_id, &environment, &created).await {
        Err(error) if error.status() == StatusCode::CONFLICT => {
            Err(Error::conflict(format!("an environment {:?} exists", environment.key)))
        }
        other => other,
    }?;
    Ok((StatusCode::CREATED, Json(environment)))
}

/// The workspace's environments in sort order (any member).
#[utoipa::path(get, path = "/v1/environments", tag = "flags", responses((status = 200, body = EnvironmentList)))]
async fn list_environments(State(state): State<AppState>, caller: Caller) -> Result<Json<EnvironmentList>, Error> {
    caller.require(Role::Viewer)?;
    Ok(Json(EnvironmentList { data: store::list_environments(&state.db, caller.workspace_id).await? }))
}

/// One environment (any member).
#[utoipa::path(get, path = "/v1/environments/{key}", tag = "flags", params(("key" = String, Path)),
    responses((status = 200, body = Environment)))]
async fn get_environment(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(key): ApiPath<String>,
) -> Result<Json<Environment>, Error> {
    caller.require(Role::Viewer)?;
    Ok(Json(find(&state, &caller, &key).await?))
}

/// Change an environment (admin): name, type, order, and whether changes need approval.
#[utoipa::path(put, path = "/v1/environments/{key}", tag = "flags", params(("key" = String, Path)),
    request_body = EnvironmentPatch, responses((status = 200, body = Environment)))]
async fn update_environment(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(key): ApiPath<String>,
    ApiJson(patch): ApiJson<EnvironmentPatch>,
) -> Result<Json<Environment>, Error> {
    caller.require(Role::Admin)?;
    let mut environment = find(&state, &caller, &key).await?;
    let before = environment.clone();
    if let Some(name) = patch.name.not_null("name")? {
        environment.name = name_or(&key, Some(&name), "name")?;
    }
    if let Some(kind) = patch.environment_type.not_null("type")? {
        environment.environment_type = environment_type(&kind, "type")?;
    }
    if let Some(order) = patch.sort_order.not_null("sort_order")? {
        environment.sort_order = order;
    }
    if let Some(required) = patch.requires_approval.not_null("requires_approval")? {
        environment.requires_approval = required;
    }
    if let Some(n) = patch.approvals_required.not_null("approvals_required")? {
        environment.approvals_required = approvals(n)?;
    }
    environment.updated_at = state.clock.now();
    let mut updated = event(&state, &caller, types::ENVIRONMENT_UPDATED, &environment);
    updated.data["before"] = serde_json::to_value(&before).map_err(anyhow::Error::from)?;
    updated.data["after"] = serde_json::to_value(&environment).map_err(anyhow::Error::from)?;
    store::update_environment(&state.db, &environment, &updated).await?;
    Ok(Json(environment))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DeleteQuery {
    /// Delete even though flags are enabled in it.
    #[param(value_type = Option<bool>)]
    pub force: Option<String>,
}

/// Delete an environment with every flag's configuration in it (admin). While a flag is
/// enabled there, `409` unless `?force=true`.
#[utoipa::path(delete, path = "/v1/environments/{key}", tag = "flags", params(("key" = String, Path), DeleteQuery),
    responses((status = 204, description = "Deleted"), (status = 409, body = crate::error::Problem,
        content_type = "application/problem+json", description = "Flags are enabled in it")))]
async fn delete_environment(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(key): ApiPath<String>,
    Query(query): Query<DeleteQuery>,
) -> Result<StatusCode, Error> {
    caller.require(Role::Admin)?;
    let environment = find(&state, &caller, &key).await?;
    let deleted = event(&state, &caller, types::ENVIRONMENT_DELETED, &environment);
    if !store::delete_environment(
        &state.db,
        environment.id,
        query_flag(query.force.as_deref(), "force")?.unwrap_or(false),
        &deleted,
    )
    .await?
    {
        return Err(Error::conflict("flags are enabled in this environment; disable them or pass ?force=true"));
    }
    Ok(StatusCode::NO_CONTENT)
}
