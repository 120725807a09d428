//! `/v1/projects/{project}/action-sets`: action sets and their run logs (owner, admin).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::catalogue::{ActionDefinition, CATALOGUE};
use super::model::{ActionSetIn, ActionSetPatch, ActionSetView, MatchView, RunView};
use super::operations::{self, ActorRef, MatchIn, SetChange, SetIn, SourceRef, V1_NAMES};
use super::store::SetKey;
use crate::Error;
use crate::auth::model::Caller;
use crate::http::{ApiJson, ApiPath, CursorPage, CursorRequest, PageRequest, Paginated, Patch};
use crate::signals::store::EndpointKey;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_action_sets, create_action_set))
        .routes(routes!(action_catalogue))
        .routes(routes!(get_action_set, update_action_set, delete_action_set))
        .routes(routes!(turn_on))
        .routes(routes!(turn_off))
        .routes(routes!(list_runs))
}

fn uuid(text: &str, field: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(text.trim()).map_err(|_| Error::invalid_field(field, "must be an id (UUID)"))
}

fn match_in(m: MatchView) -> Result<MatchIn, Error> {
    let source_id = match m.source.as_str() {
        "signal-type" => SourceRef::Slug(m.source_id.trim().to_owned()),
        _ => SourceRef::Endpoint(EndpointKey::Id(uuid(&m.source_id, "match.source_id")?)),
    };
    Ok(MatchIn { source: m.source, source_id, payload: m.payload })
}

/// A project's action sets, oldest first (admin).
#[utoipa::path(get, path = "/v1/projects/{project}/action-sets", tag = "actions",
    params(("project" = String, Path), PageRequest), responses((status = 200, body = Paginated<ActionSetView>)))]
async fn list_action_sets(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(project): ApiPath<String>,
    page: PageRequest,
) -> Result<Json<Paginated<ActionSetView>>, Error> {
    let (sets, total) = operations::list(&state, &caller, &project, Some(page)).await?;
    Ok(Json(Paginated::new(sets.iter().map(|s| s.view()).collect(), total, page)))
}

/// Create an action set (admin): when a signal from `match.source_id` arrives and its payload
/// passes every filter (and the CEL `condition`, if any), run `actions` in order as `actor_id`.
#[utoipa::path(post, path = "/v1/projects/{project}/action-sets", tag = "actions",
    params(("project" = String, Path)), request_body = ActionSetIn,
    responses((status = 201, body = ActionSetView),
        (status = 409, body = crate::error::Problem, content_type = "application/problem+json",
            description = "The name is taken, or the project has max_action_sets_per_project sets"),
        (status = 422, body = crate::error::Problem, content_type = "application/problem+json")))]
async fn create_action_set(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(project): ApiPath<String>,
    ApiJson(body): ApiJson<ActionSetIn>,
) -> Result<(StatusCode, Json<ActionSetView>), Error> {
    let input = SetIn {
        name: body.name,
        description: body.description,
        enabled: body.enabled,
        actor: ActorRef::Id(uuid(&body.actor_id, "actor_id")?),
        matches: match_in(body.matches)?,
        condition: body.condition,
        actions: body.actions,
    };
    let set = operations::create(&state, &caller, &project, input, V1_NAMES).await?;
    Ok((StatusCode::CREATED, Json(set.view())))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActionCatalogue {
    pub data: Vec<ActionDefinition>,
}

/// The actions an action set can run, with their parameters (admin).
#[utoipa::path(get, path = "/v1/projects/{project}/action-sets/config", tag = "actions",
    params(("project" = String, Path)), responses((status = 200, body = ActionCatalogue)))]
async fn action_catalogue(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(project): ApiPath<String>,
) -> Result<Json<ActionCatalogue>, Error> {
    operations::require_admin(&caller)?;
    crate::flags::projects::find(&state, &caller, &project).await?;
    Ok(Json(ActionCatalogue { data: CATALOGUE.to_vec() }))
}

/// One action set (admin).
#[utoipa::path(get, path = "/v1/projects/{project}/action-sets/{id}", tag = "actions",
    params(("project" = String, Path), ("id" = Uuid, Path)), responses((status = 200, body = ActionSetView)))]
async fn get_action_set(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((project, id)): ApiPath<(String, Uuid)>,
) -> Result<Json<ActionSetView>, Error> {
    Ok(Json(operations::find(&state, &caller, &project, SetKey::Id(id)).await?.view()))
}

/// Change an action set (admin): absent fields are unchanged; `match` and `actions` are
/// replaced whole; `null` clears `description` and `condition`.
#[utoipa::path(put, path = "/v1/projects/{project}/action-sets/{id}", tag = "actions",
    params(("project" = String, Path), ("id" = Uuid, Path)), request_body = ActionSetPatch,
    responses((status = 200, body = ActionSetView)))]
async fn update_action_set(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((project, id)): ApiPath<(String, Uuid)>,
    ApiJson(patch): ApiJson<ActionSetPatch>,
) -> Result<Json<ActionSetView>, Error> {
    let change = SetChange {
        name: patch.name.not_null("name")?,
        description: patch.description,
        enabled: patch.enabled.not_null("enabled")?,
        actor: patch.actor_id.not_null("actor_id")?.map(|a| uuid(&a, "actor_id").map(ActorRef::Id)).transpose()?,
        matches: patch.matches.not_null("match")?.map(match_in).transpose()?,
        condition: patch.condition,
        actions: patch.actions.not_null("actions")?,
    };
    let set = operations::update(&state, &caller, &project, SetKey::Id(id), change, V1_NAMES).await?;
    Ok(Json(set.view()))
}

/// Delete an action set and its run log (admin).
#[utoipa::path(delete, path = "/v1/projects/{project}/action-sets/{id}", tag = "actions",
    params(("project" = String, Path), ("id" = Uuid, Path)), responses((status = 204, description = "Deleted")))]
async fn delete_action_set(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((project, id)): ApiPath<(String, Uuid)>,
) -> Result<StatusCode, Error> {
    operations::delete(&state, &caller, &project, SetKey::Id(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_enabled(
    state: &AppState,
    caller: &Caller,
    project: &str,
    id: Uuid,
    on: bool,
) -> Result<Json<ActionSetView>, Error> {
    let change = SetChange { enabled: Some(on), description: Patch::Absent, ..SetChange::default() };
    Ok(Json(operations::update(state, caller, project, SetKey::Id(id), change, V1_NAMES).await?.view()))
}

/// Enable an action set (admin).
#[utoipa::path(post, path = "/v1/projects/{project}/action-sets/{id}/on", tag = "actions",
    params(("project" = String, Path), ("id" = Uuid, Path)), responses((status = 200, body = ActionSetView)))]
async fn turn_on(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((project, id)): ApiPath<(String, Uuid)>,
) -> Result<Json<ActionSetView>, Error> {
    set_enabled(&state, &caller, &project, id, true).await
}

/// Disable an action set (admin): signals no longer start runs; pending runs are dropped.
#[utoipa::path(post, path = "/v1/projects/{project}/action-sets/{id}/off", tag = "actions",
    params(("project" = String, Path), ("id" = Uuid, Path)), responses((status = 200, body = ActionSetView)))]
async fn turn_off(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((project, id)): ApiPath<(String, Uuid)>,
) -> Result<Json<ActionSetView>, Error> {
    set_enabled(&state, &caller, &project, id, false).await
}

/// An action set's run log, newest first (admin): each run with the signal it reacted to, the
/// action set as it was, its state (`started`, `success`, `failed`, `skipped`) and each
/// action's state (`started`, `success`, `failed`, `not started`) with details. Signals that
/// did not match leave no run. Cursor-paged: pass `next_cursor` as `?before=`.
#[utoipa::path(get, path = "/v1/projects/{project}/action-sets/{id}/runs", tag = "actions",
    params(("project" = String, Path), ("id" = Uuid, Path), CursorRequest),
    responses((status = 200, body = CursorPage<RunView>)))]
async fn list_runs(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((project, id)): ApiPath<(String, Uuid)>,
    page: CursorRequest,
) -> Result<Json<CursorPage<RunView>>, Error> {
    let before = page.before_seq()?;
    let (_, runs) = operations::runs(&state, &caller, &project, SetKey::Id(id), before, page.limit + 1, 0).await?;
    let page = CursorPage::from_overfetch(runs, page.limit, |run| run.int_id.to_string());
    Ok(Json(CursorPage {
        data: page.data.iter().map(|r| r.view()).collect(),
        limit: page.limit,
        has_more: page.has_more,
        next_cursor: page.next_cursor,
    }))
}
