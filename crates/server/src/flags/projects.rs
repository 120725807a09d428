//! `/v1/projects`: groups of flags. Every workspace has `default`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;
use signalbox_core::flags::ProjectKey;
use signalbox_core::{Role, new_id};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{Project, ProjectIn, ProjectPatch};
use super::store;
use crate::Error;
use crate::auth::model::Caller;
use crate::error::FieldResult;
use crate::events::{NewEvent, types};
use crate::http::{ApiJson, ApiPath, PageRequest, Paginated, Patch};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_project, list_projects)).routes(routes!(
        get_project,
        update_project,
        delete_project
    ))
}

/// Looks up a project by key in the caller's workspace (404 otherwise).
pub async fn find(state: &AppState, caller: &Caller, key: &str) -> Result<Project, Error> {
    store::find_project(&state.db, caller.workspace_id, key)
        .await?
        .ok_or_else(|| Error::not_found(format!("no project {key:?} in the workspace")))
}

pub fn name_or(key: &str, name: Option<&str>, field: &str) -> Result<String, Error> {
    let name = name.map(str::trim).unwrap_or(key);
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::invalid_field(field, "must be 1-200 characters"));
    }
    Ok(name.to_owned())
}

pub fn description(text: Option<String>) -> Result<Option<String>, Error> {
    match text {
        Some(text) if text.chars().count() > 1000 => {
            Err(Error::invalid_field("description", "must be at most 1000 characters"))
        }
        other => Ok(other),
    }
}

fn event(state: &AppState, caller: &Caller, event_type: &'static str, project: &Project) -> NewEvent {
    let data = json!({ "id": project.id, "key": project.key, "project": project.key, "name": project.name });
    NewEvent::new(caller.workspace_id, event_type, Some(caller.principal_id), data, state.clock.now())
}

/// Create a project (editor).
#[utoipa::path(post, path = "/v1/projects", tag = "flags", request_body = ProjectIn,
    responses((status = 201, body = Project), (status = 409, body = crate::error::Problem,
        content_type = "application/problem+json", description = "The key is taken")))]
async fn create_project(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ProjectIn>,
) -> Result<(StatusCode, Json<Project>), Error> {
    caller.require(Role::Editor)?;
    let key = ProjectKey::parse(&body.key).field("key")?;
    let now = state.clock.now();
    let project = Project {
        id: new_id(),
        name: name_or(key.as_str(), body.name.as_deref(), "name")?,
        key: key.as_str().to_owned(),
        description: description(body.description)?,
        created_at: now,
        updated_at: now,
    };
    let created = event(&state, &caller, types::PROJECT_CREATED, &project);
    match store::create_project(&state.db, caller.workspace_id, &project, &created).await {
        Err(error) if error.status() == StatusCode::CONFLICT => {
            Err(Error::conflict(format!("a project {:?} exists", project.key)))
        }
        other => other,
    }?;
    Ok((StatusCode::CREATED, Json(project)))
}

/// The workspace's projects, by key (any member).
#[utoipa::path(get, path = "/v1/projects", tag = "flags", params(PageRequest),
    responses((status = 200, body = Paginated<Project>)))]
async fn list_projects(
    State(state): State<AppState>,
    caller: Caller,
    page: PageRequest,
) -> Result<Json<Paginated<Project>>, Error> {
    caller.require(Role::Viewer)?;
    let (projects, total) = store::list_projects(&state.db, caller.workspace_id, page).await?;
    Ok(Json(Paginated::new(projects, total, page)))
}

/// One project (any member).
#[utoipa::path(get, path = "/v1/projects/{project}", tag = "flags", params(("project" = String, Path)),
    responses((status = 200, body = Project)))]
async fn get_project(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(key): ApiPath<String>,
) -> Result<Json<Project>, Error> {
    caller.require(Role::Viewer)?;
    Ok(Json(find(&state, &caller, &key).await?))
}

/// Rename or describe a project (editor).
#[utoipa::path(put, path = "/v1/projects/{project}", tag = "flags", params(("project" = String, Path)),
    request_body = ProjectPatch, responses((status = 200, body = Project)))]
async fn update_project(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(key): ApiPath<String>,
    ApiJson(patch): ApiJson<ProjectPatch>,
) -> Result<Json<Project>, Error> {
    caller.require(Role::Editor)?;
    let mut project = find(&state, &caller, &key).await?;
    let before = project.clone();
    if let Some(name) = patch.name.not_null("name")? {
        project.name = name_or(&key, Some(&name), "name")?;
    }
    match patch.description {
        Patch::Absent => {}
        Patch::Null => project.description = None,
        Patch::Value(text) => project.description = description(Some(text))?,
    }
    project.updated_at = state.clock.now();
    let mut updated = event(&state, &caller, types::PROJECT_UPDATED, &project);
    updated.data["before"] = json!({ "name": before.name, "description": before.description });
    updated.data["after"] = json!({ "name": project.name, "description": project.description });
    store::update_project(&state.db, &project, &updated).await?;
    Ok(Json(project))
}

/// Delete an empty project (editor); `default` stays.
#[utoipa::path(delete, path = "/v1/projects/{project}", tag = "flags", params(("project" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 409, body = crate::error::Problem,
        content_type = "application/problem+json", description = "It still has flags, or it is `default`")))]
async fn delete_project(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(key): ApiPath<String>,
) -> Result<StatusCode, Error> {
    caller.require(Role::Editor)?;
    let project = find(&state, &caller, &key).await?;
    if project.key == "default" {
        return Err(Error::conflict("the default project cannot be deleted"));
    }
    let deleted = event(&state, &caller, types::PROJECT_DELETED, &project);
    if !store::delete_project(&state.db, project.id, &deleted).await? {
        return Err(Error::conflict("the project still has flags; delete them first"));
    }
    Ok(StatusCode::NO_CONTENT)
}
