//! Changes that wait or travel: change requests in environments that require approval,
//! promotion between environments, and scheduled toggles.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use signalbox_core::{Role, Timestamp, new_id};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::environments;
use super::model::{Environment, Flag, FlagEnvironment};
use super::routes::{config_fields, flag_event, load, load_config};
use super::store::{self, ConfigWrite};
use super::workflow_store::{
    self as workflows, Applied, ChangeRequest, ChangeRequestQuery, NewChangeRequest, NewSchedule, Schedule,
};
use crate::Error;
use crate::auth::model::Caller;
use crate::events::{NewEvent, types};
use crate::http::{ApiJson, ApiPath, PageRequest, Paginated, etag_header};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(promote))
        .routes(routes!(create_schedule, list_schedules))
        .routes(routes!(cancel_schedule))
        .routes(routes!(list_change_requests))
        .routes(routes!(get_change_request))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(apply))
        .routes(routes!(cancel))
}

/// What a configuration change is, for its event.
pub enum Change<'a> {
    Edit,
    Promotion { from: &'a str },
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChangeRequested {
    pub change_request: ChangeRequest,
}

/// What a configuration change came to: applied, or filed as a change request.
#[derive(Debug)]
pub enum Committed {
    Applied(FlagEnvironment),
    Requested(Box<ChangeRequest>),
}

impl IntoResponse for Committed {
    /// `200` with the configuration and its ETag, or `202` + `Location` for a change request.
    fn into_response(self) -> Response {
        match self {
            Committed::Applied(stored) => (etag_header(stored.version), Json(stored)).into_response(),
            Committed::Requested(change_request) => {
                let location = HeaderValue::from_str(&format!("/v1/change-requests/{}", change_request.id))
                    .expect("a path is a header value");
                (
                    StatusCode::ACCEPTED,
                    [(LOCATION, location)],
                    Json(ChangeRequested { change_request: *change_request }),
                )
                    .into_response()
            }
        }
    }
}

/// Applies a configuration change, or — where the environment requires approval — files it
/// as a change request and answers `202` with a `Location`.
pub async fn commit(
    state: &AppState,
    caller: &Caller,
    flag: &Flag,
    environment: &Environment,
    before: &FlagEnvironment,
    after: FlagEnvironment,
    change: Change<'_>,
) -> Result<Committed, Error> {
    if after.enabled && after.killed.is_some() {
        return Err(Error::flag_killed(std::slice::from_ref(&environment.key)));
    }
    if environment.requires_approval {
        let (kind, source) = match change {
            Change::Edit => ("change", None),
            Change::Promotion { from } => ("promotion", Some(from)),
        };
        return request_change(state, caller, flag, environment, before, &after, kind, source, None).await;
    }
    let (event_type, data) = match change {
        Change::Edit => (
            types::FLAG_UPDATED,
            json!({ "environment": environment.key, "before": config_fields(before), "after": config_fields(&after) }),
        ),
        Change::Promotion { from } => (
            types::FLAG_PROMOTED,
            json!({ "from": from, "to": environment.key, "environment": environment.key,
                    "before": config_fields(before), "after": config_fields(&after) }),
        ),
    };
    let event = flag_event(state, caller, event_type, flag, data);
    let write =
        ConfigWrite { flag_id: flag.id, environment_id: environment.id, config: &after, expected: before.version };
    if !store::save_configs(&state.db, &[write], state.clock.now(), &[event], caller.step_guard()).await? {
        // Another write got there first: 412 with the configuration's current ETag.
        let (_, _, current) = load_config(state, caller, &flag.project, &flag.key, &environment.key).await?;
        return Err(Error::precondition_failed(&crate::http::etag::etag(current.version)));
    }
    let (_, _, stored) = load_config(state, caller, &flag.project, &flag.key, &environment.key).await?;
    Ok(Committed::Applied(stored))
}

#[allow(clippy::too_many_arguments)]
async fn request_change(
    state: &AppState,
    caller: &Caller,
    flag: &Flag,
    environment: &Environment,
    before: &FlagEnvironment,
    after: &FlagEnvironment,
    kind: &str,
    source: Option<&str>,
    schedule: Option<NewSchedule>,
) -> Result<Committed, Error> {
    let id = new_id();
    let new = NewChangeRequest {
        id,
        workspace_id: caller.workspace_id,
        flag_id: flag.id,
        environment_id: environment.id,
        kind,
        before,
        after,
        source_environment: source,
        schedule,
        author_id: caller.principal_id,
        now: state.clock.now(),
    };
    let data = json!({ "environment": environment.key, "change_request": { "id": id, "kind": kind, "state": "open" } });
    let event = flag_event(state, caller, types::CHANGE_REQUEST_CREATED, flag, data);
    workflows::create(&state.db, &new, &event, caller.step_guard()).await?;
    Ok(Committed::Requested(Box::new(find_change_request(state, caller, id).await?)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteIn {
    /// The environment to copy from.
    pub from: String,
    /// The environment to copy to.
    pub to: String,
}

/// Promote a flag's configuration (editor): copy strategies, variants and enabled state from
/// one environment to another. Into an environment that requires approval it becomes a
/// change request (`202`).
#[utoipa::path(post, path = "/v1/projects/{project}/flags/{key}/promote", tag = "flags",
    params(("project" = String, Path), ("key" = String, Path)), request_body = PromoteIn,
    responses((status = 200, body = FlagEnvironment, description = "Applied"),
        (status = 202, body = ChangeRequested, description = "Filed as a change request"),
        (status = 409, body = crate::error::Problem, content_type = "application/problem+json",
            description = "The flag is killed in the target environment, or archived")))]
pub async fn promote(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((project, key)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<PromoteIn>,
) -> Result<Committed, Error> {
    caller.require(Role::Editor)?;
    let flag = load(&state, &caller, &project, &key).await?;
    if flag.archived {
        return Err(Error::conflict("the flag is archived; restore it before changing it"));
    }
    let all = store::list_environments(&state.db, caller.workspace_id).await?;
    let from =
        all.iter().find(|e| e.key == body.from).ok_or_else(|| Error::invalid_field("from", "no such environment"))?;
    let to = all.iter().find(|e| e.key == body.to).ok_or_else(|| Error::invalid_field("to", "no such environment"))?;
    if from.key == to.key {
        return Err(Error::invalid_field("to", "must differ from from"));
    }
    let config_of = |key: &str| flag.environments.iter().find(|c| c.environment == key).cloned();
    let source = config_of(&from.key).ok_or_else(|| Error::invalid_field("from", "no such environment"))?;
    let before = config_of(&to.key).ok_or_else(|| Error::invalid_field("to", "no such environment"))?;
    let mut after = before.clone();
    after.enabled = source.enabled;
    after.strategies = source.strategies.clone();
    for strategy in &mut after.strategies {
        strategy.id = Some(new_id().to_string());
    }
    after.variants = source.variants.clone();
    commit(&state, &caller, &flag, to, &before, after, Change::Promotion { from: &from.key }).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleIn {
    pub environment: String,
    pub enabled: bool,
    /// When, in the future (RFC 3339).
    pub at: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScheduleList {
    pub data: Vec<Schedule>,
}

/// Schedule a toggle (editor): at `at`, set `enabled` in `environment`, once. In an
/// environment that requires approval the schedule waits for a change request's approval
/// (`202`); once approved it runs at its time without another.
#[utoipa::path(post, path = "/v1/projects/{project}/flags/{key}/schedules", tag = "flags",
    params(("project" = String, Path), ("key" = String, Path)), request_body = ScheduleIn,
    responses((status = 201, body = Schedule), (status = 202, body = ChangeRequested,
        description = "Waiting for approval"), (status = 409, body = crate::error::Problem,
        content_type = "application/problem+json", description = "Would enable a killed flag")))]
pub async fn create_schedule(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((project, key)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<ScheduleIn>,
) -> Result<Response, Error> {
    caller.require(Role::Editor)?;
    let now = state.clock.now();
    let at = Timestamp::parse(&body.at)
        .map_err(|_| Error::invalid_field("at", "must be an RFC 3339 time, e.g. 2026-12-01T09:00:00Z"))?;
    if at <= now {
        return Err(Error::invalid_field("at", "must be in the future"));
    }
    let flag = load(&state, &caller, &project, &key).await?;
    if flag.archived {
        return Err(Error::conflict("the flag is archived; restore it before scheduling changes"));
    }
    let environment = environments::find(&state, &caller, &body.environment)
        .await
        .map_err(|_| Error::invalid_field("environment", "no such environment"))?;
    let before = flag
        .environments
        .iter()
        .find(|c| c.environment == environment.key)
        .cloned()
        .ok_or_else(|| Error::invalid_field("environment", "no such environment"))?;
    if body.enabled && before.killed.is_some() {
        return Err(Error::flag_killed(std::slice::from_ref(&environment.key)));
    }
    let schedule = NewSchedule {
        id: new_id(),
        workspace_id: caller.workspace_id,
        flag_id: flag.id,
        environment_id: environment.id,
        enabled: body.enabled,
        at,
        created_by: caller.principal_id,
        created_at: now,
    };
    if environment.requires_approval {
        let mut after = before.clone();
        after.enabled = body.enabled;
        return request_change(&state, &caller, &flag, &environment, &before, &after, "schedule", None, Some(schedule))
            .await
            .map(IntoResponse::into_response);
    }
    let data = json!({ "environment": environment.key, "enabled": body.enabled, "at": at, "schedule_id": schedule.id });
    let event = flag_event(&state, &caller, types::SCHEDULE_CREATED, &flag, data);
    workflows::create_schedule(&state.db, &schedule, &event).await?;
    let stored = workflows::find_schedule(&state.db, flag.id, schedule.id)
        .await?
        .ok_or_else(|| Error::internal(anyhow::anyhow!("a schedule vanished after its insert")))?;
    Ok((StatusCode::CREATED, Json(stored)).into_response())
}

/// A flag's scheduled toggles, by time (any member).
#[utoipa::path(get, path = "/v1/projects/{project}/flags/{key}/schedules", tag = "flags",
    params(("project" = String, Path), ("key" = String, Path)), responses((status = 200, body = ScheduleList)))]
async fn list_schedules(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((project, key)): ApiPath<(String, String)>,
) -> Result<Json<ScheduleList>, Error> {
    caller.require(Role::Viewer)?;
    let flag = load(&state, &caller, &project, &key).await?;
    Ok(Json(ScheduleList { data: workflows::schedules_of(&state.db, flag.id).await? }))
}

/// Cancel a schedule that has not run (editor).
#[utoipa::path(delete, path = "/v1/projects/{project}/flags/{key}/schedules/{id}", tag = "flags",
    params(("project" = String, Path), ("key" = String, Path), ("id" = Uuid, Path)),
    responses((status = 204, description = "Cancelled"), (status = 409, body = crate::error::Problem,
        content_type = "application/problem+json", description = "It already ran or was cancelled")))]
pub async fn cancel_schedule(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((project, key, id)): ApiPath<(String, String, Uuid)>,
) -> Result<StatusCode, Error> {
    caller.require(Role::Editor)?;
    let flag = load(&state, &caller, &project, &key).await?;
    let schedule = workflows::find_schedule(&state.db, flag.id, id)
        .await?
        .ok_or_else(|| Error::not_found("no schedule with this id for the flag"))?;
    let data = json!({ "environment": schedule.environment, "enabled": schedule.enabled, "at": schedule.at, "schedule_id": id });
    let event = flag_event(&state, &caller, types::SCHEDULE_CANCELLED, &flag, data);
    if !workflows::cancel_schedule(&state.db, &schedule, state.clock.now(), &event).await? {
        return Err(Error::conflict(format!("the schedule is {}", schedule.state)));
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn find_change_request(state: &AppState, caller: &Caller, id: Uuid) -> Result<ChangeRequest, Error> {
    workflows::find(&state.db, caller.workspace_id, id)
        .await?
        .ok_or_else(|| Error::not_found("no change request with this id in the workspace"))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ChangeRequestListQuery {
    pub limit: Option<String>,
    pub offset: Option<String>,
    /// `open`, `approved`, `rejected`, `applied` or `cancelled`.
    pub state: Option<String>,
    /// A project key.
    pub project: Option<String>,
    /// An environment key.
    pub environment: Option<String>,
    /// The author's principal id.
    pub author: Option<String>,
}

/// Change requests, newest first (any member).
#[utoipa::path(get, path = "/v1/change-requests", tag = "flags", params(ChangeRequestListQuery),
    responses((status = 200, body = Paginated<ChangeRequest>)))]
async fn list_change_requests(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ChangeRequestListQuery>,
) -> Result<Json<Paginated<ChangeRequest>>, Error> {
    caller.require(Role::Viewer)?;
    let page = PageRequest::parse(query.limit.as_deref(), query.offset.as_deref())?;
    if let Some(s) = query.state.as_deref()
        && !["open", "approved", "rejected", "applied", "cancelled"].contains(&s)
    {
        return Err(Error::invalid_field("state", "must be open, approved, rejected, applied or cancelled"));
    }
    let author = query
        .author
        .as_deref()
        .map(|a| Uuid::parse_str(a).map_err(|_| Error::invalid_field("author", "must be a principal id")))
        .transpose()?;
    let filter = ChangeRequestQuery {
        state: query.state.as_deref(),
        project: query.project.as_deref(),
        environment: query.environment.as_deref(),
        author,
    };
    let (data, total) = workflows::list(&state.db, caller.workspace_id, filter, page).await?;
    Ok(Json(Paginated::new(data, total, page)))
}

/// One change request with its diff and approvals (any member).
#[utoipa::path(get, path = "/v1/change-requests/{id}", tag = "flags", params(("id" = Uuid, Path)),
    responses((status = 200, body = ChangeRequest)))]
async fn get_change_request(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ChangeRequest>, Error> {
    caller.require(Role::Viewer)?;
    Ok(Json(find_change_request(&state, &caller, id).await?))
}

fn request_event(
    state: &AppState,
    caller: &Caller,
    event_type: &'static str,
    cr: &ChangeRequest,
    extra: Value,
) -> NewEvent {
    let mut data = json!({ "flag_key": cr.flag, "project": cr.project, "environment": cr.environment,
                           "change_request": { "id": cr.id, "kind": cr.kind } });
    if let (Some(data), Value::Object(extra)) = (data.as_object_mut(), extra) {
        data.extend(extra);
    }
    NewEvent::new(caller.workspace_id, event_type, Some(caller.principal_id), data, state.clock.now())
}

/// Approve a change request (owner or admin, not its author). It is approved once it has the
/// environment's `approvals_required`.
#[utoipa::path(post, path = "/v1/change-requests/{id}/approve", tag = "flags", params(("id" = Uuid, Path)),
    responses((status = 200, body = ChangeRequest), (status = 409, body = crate::error::Problem,
        content_type = "application/problem+json", description = "Not open, or already approved by you")))]
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ChangeRequest>, Error> {
    caller.require(Role::Admin)?;
    let cr = find_change_request(&state, &caller, id).await?;
    if cr.author_id == caller.principal_id {
        return Err(Error::forbidden("the author of a change request cannot approve it"));
    }
    if cr.approvals.iter().any(|a| a.principal_id == caller.principal_id) {
        return Err(Error::conflict("you approved this change request already"));
    }
    let event = request_event(&state, &caller, types::CHANGE_REQUEST_APPROVED, &cr, json!({}));
    if !workflows::approve(&state.db, &cr, caller.principal_id, state.clock.now(), &event).await? {
        return Err(Error::conflict(format!("the change request is {}", cr.state)));
    }
    Ok(Json(find_change_request(&state, &caller, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectIn {
    /// Why, 1–1000 characters.
    pub comment: String,
}

/// Reject an open change request (owner or admin).
#[utoipa::path(post, path = "/v1/change-requests/{id}/reject", tag = "flags", params(("id" = Uuid, Path)),
    request_body = RejectIn, responses((status = 200, body = ChangeRequest)))]
pub async fn reject(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<RejectIn>,
) -> Result<Json<ChangeRequest>, Error> {
    caller.require(Role::Admin)?;
    let comment = body.comment.trim();
    if comment.is_empty() || comment.chars().count() > 1000 {
        return Err(Error::invalid_field("comment", "must be 1-1000 characters"));
    }
    let cr = find_change_request(&state, &caller, id).await?;
    let event = request_event(&state, &caller, types::CHANGE_REQUEST_REJECTED, &cr, json!({ "comment": comment }));
    if !workflows::close(&state.db, &cr, &["open", "approved"], "rejected", Some(comment), state.clock.now(), &event)
        .await?
    {
        return Err(Error::conflict(format!("the change request is {}", cr.state)));
    }
    Ok(Json(find_change_request(&state, &caller, id).await?))
}

/// Cancel your own change request (its author).
#[utoipa::path(post, path = "/v1/change-requests/{id}/cancel", tag = "flags", params(("id" = Uuid, Path)),
    responses((status = 200, body = ChangeRequest)))]
async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ChangeRequest>, Error> {
    caller.require(Role::Viewer)?;
    let cr = find_change_request(&state, &caller, id).await?;
    if cr.author_id != caller.principal_id {
        return Err(Error::forbidden("only the author can cancel a change request"));
    }
    let event = request_event(&state, &caller, types::CHANGE_REQUEST_CANCELLED, &cr, json!({}));
    if !workflows::close(&state.db, &cr, &["open", "approved"], "cancelled", None, state.clock.now(), &event).await? {
        return Err(Error::conflict(format!("the change request is {}", cr.state)));
    }
    Ok(Json(find_change_request(&state, &caller, id).await?))
}

/// Apply an approved change request (editor). `409` with the current configuration if it
/// changed since the request was made.
#[utoipa::path(post, path = "/v1/change-requests/{id}/apply", tag = "flags", params(("id" = Uuid, Path)),
    responses((status = 200, body = ChangeRequest), (status = 409, body = crate::error::Problem,
        content_type = "application/problem+json",
        description = "Not approved, a schedule (it applies at its time), or the configuration changed since")))]
pub async fn apply(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ChangeRequest>, Error> {
    caller.require(Role::Editor)?;
    let cr = find_change_request(&state, &caller, id).await?;
    if cr.kind == "schedule" {
        return Err(Error::conflict("a scheduled change applies itself at its time"));
    }
    // The environment's approvals_required may have been lowered since the last approval.
    let enough = cr.state == "open" && cr.approvals.len() as i64 >= cr.approvals_required;
    if cr.state != "approved" && !enough {
        return Err(Error::conflict(format!("the change request is {}, not approved", cr.state)));
    }
    let after = cr.after()?;
    if after.enabled {
        let (_, _, current) = load_config(&state, &caller, &cr.project, &cr.flag, &cr.environment).await?;
        if current.killed.is_some() {
            return Err(Error::flag_killed(std::slice::from_ref(&cr.environment)));
        }
    }
    let data = json!({ "diff": { "before": cr.diff.before, "after": cr.diff.after },
                       "change_request": { "id": cr.id, "kind": cr.kind, "author_id": cr.author_id,
                                           "approvals": cr.approvals, "source_environment": cr.source_environment } });
    let event = request_event(&state, &caller, types::FLAG_APPROVED_CHANGE_APPLIED, &cr, data);
    match workflows::apply(&state.db, &cr, &after, state.clock.now(), &event).await? {
        Applied::Done => Ok(Json(find_change_request(&state, &caller, id).await?)),
        Applied::NotApproved => Err(Error::conflict("the change request is no longer approved")),
        Applied::Moved(current) => Err(Error::conflict(format!(
            "the configuration changed since the request (version {} → {}); request the change again. Now: {}",
            cr.base_version,
            current.version,
            config_fields(&current)
        ))),
    }
}
