//! The Unleash admin paths for action sets, so Unleash tooling works unchanged: integer ids,
//! camelCase fields, the raw `Authorization: <token>`, count limits answered `400` as Unleash
//! does. Every operation is the `/v1` one (see `operations`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use signalbox_core::actions::Filters;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::catalogue::{CATALOGUE, params_from_unleash, params_to_unleash, unleash_param_name};
use super::model::{Action, ActionResult, ActionSet, Run};
use super::operations::{self, ActorRef, MatchIn, SetChange, SetIn, SourceRef, UNLEASH_NAMES};
use super::store::SetKey;
use crate::Error;
use crate::auth::caller::ApiCaller;
use crate::http::{ApiJson, ApiPath, Patch};
use crate::signals::store::EndpointKey;
use crate::signals::unleash::as_unleash;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_actions, create_actions))
        .routes(routes!(actions_config))
        .routes(routes!(update_actions, delete_actions))
        .routes(routes!(turn_on))
        .routes(routes!(turn_off))
        .routes(routes!(list_events))
}

fn filters_to_unleash(filters: &Filters) -> Value {
    let map: Map<String, Value> = filters
        .iter()
        .map(|(path, f)| {
            let mut filter =
                json!({ "operator": f.operator, "inverted": f.inverted, "caseInsensitive": f.case_insensitive });
            if let Some(value) = &f.value {
                filter["value"] = json!(value);
            }
            if !f.values.is_empty() {
                filter["values"] = json!(f.values);
            }
            (path.clone(), filter)
        })
        .collect();
    Value::Object(map)
}

fn action_to_unleash(set: &ActionSet, index: usize, action: &Action, result: Option<&ActionResult>) -> Value {
    let mut value = json!({
        "id": set.int_id * 100 + index as i64 + 1,
        "actionSetId": set.int_id,
        "sortOrder": index,
        "action": action.action,
        "executionParams": Value::Object(params_to_unleash(&action.execution_params)),
        "createdAt": set.created_at,
        "createdByUserId": set.created_by_int,
    });
    if let Some(result) = result {
        value["state"] = json!(result.state);
        value["details"] = json!(result.details);
    }
    value
}

/// An action set in Unleash's shape (`IActionSet`); with `results`, as a run's snapshot.
fn set_to_unleash(set: &ActionSet, results: Option<&[ActionResult]>) -> Value {
    let actions: Vec<Value> = set
        .actions
        .iter()
        .enumerate()
        .map(|(i, a)| action_to_unleash(set, i, a, results.map(|r| r.get(i).unwrap_or(&NOT_STARTED))))
        .collect();
    let mut value = json!({
        "id": set.int_id,
        "enabled": set.enabled,
        "name": set.name,
        "description": set.description,
        "project": set.project,
        "actorId": set.actor_int_id,
        "match": { "source": set.source.as_str(), "sourceId": unleash_source_id(set), "payload": filters_to_unleash(&set.filters) },
        "actions": actions,
        "createdAt": set.created_at,
        "createdByUserId": set.created_by_int,
    });
    if let Some(condition) = &set.condition {
        value["condition"] = json!(condition);
    }
    value
}

/// An endpoint's integer id; a signal type's slug.
fn unleash_source_id(set: &ActionSet) -> Value {
    match set.source {
        super::model::Source::SignalEndpoint => json!(set.source_int_id),
        super::model::Source::SignalType => json!(set.source_id),
    }
}

static NOT_STARTED: ActionResult =
    ActionResult { state: super::model::ActionState::NotStarted, details: None, change_request_id: None };

fn run_to_unleash(run: &Run) -> Value {
    json!({
        "id": run.int_id,
        "actionSetId": run.action_set_int_id,
        "signalId": run.signal.int_id,
        "createdAt": run.started_at.unwrap_or(run.created_at),
        "state": run.state,
        "details": run.detail,
        "signal": {
            "id": run.signal.int_id,
            "source": run.signal.source,
            "sourceId": run.action_set.as_ref().map(unleash_source_id),
            "createdAt": run.signal.received_at,
            "tokenName": run.signal.token_name,
            "payload": run.signal.payload,
        },
        "actionSet": run.action_set.as_ref().map(|set| set_to_unleash(set, Some(&run.results))),
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnleashMatch {
    pub source: String,
    /// The endpoint's integer id, or a signal type's slug.
    #[schema(value_type = Object)]
    pub source_id: Value,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub payload: Filters,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnleashAction {
    pub action: String,
    #[serde(default)]
    pub sort_order: Option<i64>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub execution_params: Map<String, Value>,
}

/// An action set as Unleash sends it (`PUT` takes the same fields, each optional).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnleashActionSetIn {
    pub name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    pub enabled: Option<bool>,
    pub actor_id: Option<i64>,
    #[serde(rename = "match")]
    pub matches: Option<UnleashMatch>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub condition: Patch<String>,
    pub actions: Option<Vec<UnleashAction>>,
}

/// The actions in `sortOrder` order, and for each the index it had in the request.
fn actions_from_unleash(list: Vec<UnleashAction>) -> (Vec<Action>, Vec<usize>) {
    let mut indexed: Vec<(usize, UnleashAction)> = list.into_iter().enumerate().collect();
    indexed.sort_by_key(|(_, a)| a.sort_order.unwrap_or(i64::MAX));
    indexed
        .into_iter()
        .map(|(i, a)| (Action { action: a.action, execution_params: params_from_unleash(a.execution_params) }, i))
        .unzip()
}

/// A problem with an action named as the request named it: its index in the request, and
/// camelCase (`actions[0].executionParams.featureName`).
fn unleash_fields(error: Error, request_order: &[usize]) -> Error {
    let problem = error.problem();
    let [field] = problem.errors.as_slice() else { return error };
    let Some((index, tail)) = field.field.strip_prefix("actions[").and_then(|rest| rest.split_once(']')) else {
        return error;
    };
    let Ok(sorted) = index.parse::<usize>() else { return error };
    let original = request_order.get(sorted).copied().unwrap_or(sorted);
    let tail = match tail.strip_prefix(".execution_params") {
        Some(param) => match param.strip_prefix('.') {
            Some(name) => {
                let (head, rest) = name.split_once('[').map_or((name, String::new()), |(h, r)| (h, format!("[{r}")));
                format!(".executionParams.{}{rest}", unleash_param_name(head))
            }
            None => format!(".executionParams{param}"),
        },
        None => tail.to_owned(),
    };
    Error::invalid_field(format!("actions[{original}]{tail}"), field.message.clone())
}

fn match_from_unleash(m: UnleashMatch) -> MatchIn {
    let source_id = match &m.source_id {
        Value::String(slug) if m.source == "signal-type" => SourceRef::Slug(slug.clone()),
        // Anything else is looked up as an endpoint's integer id (-1 matches none).
        other => SourceRef::Endpoint(EndpointKey::IntId(other.as_i64().unwrap_or(-1))),
    };
    MatchIn { source: m.source, source_id, payload: m.payload }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UnleashActionSets {
    #[schema(value_type = Vec<Object>)]
    pub actions: Vec<Value>,
}

/// A project's action sets (Unleash shape).
#[utoipa::path(get, path = "/api/admin/projects/{project}/actions", tag = "unleash-actions",
    params(("project" = String, Path)), responses((status = 200, body = UnleashActionSets)))]
async fn list_actions(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(project): ApiPath<String>,
) -> Result<Json<UnleashActionSets>, Error> {
    let (sets, _) = operations::list(&state, &caller, &project, None).await?;
    Ok(Json(UnleashActionSets { actions: sets.iter().map(|s| set_to_unleash(s, None)).collect() }))
}

/// Create an action set (Unleash shape).
#[utoipa::path(post, path = "/api/admin/projects/{project}/actions", tag = "unleash-actions",
    params(("project" = String, Path)), request_body = UnleashActionSetIn,
    responses((status = 201, body = Object)))]
async fn create_actions(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(project): ApiPath<String>,
    ApiJson(body): ApiJson<UnleashActionSetIn>,
) -> Result<(StatusCode, Json<Value>), Error> {
    operations::require_admin(&caller)?;
    let (actions, request_order) = actions_from_unleash(body.actions.unwrap_or_default());
    let input = SetIn {
        name: body.name.ok_or_else(|| Error::invalid_field("name", "is required"))?,
        description: match body.description {
            Patch::Value(text) => Some(text),
            Patch::Absent | Patch::Null => None,
        },
        enabled: body.enabled,
        actor: ActorRef::IntId(body.actor_id.ok_or_else(|| Error::invalid_field("actorId", "is required"))?),
        matches: match_from_unleash(body.matches.ok_or_else(|| Error::invalid_field("match", "is required"))?),
        condition: match body.condition {
            Patch::Value(text) => Some(text),
            Patch::Absent | Patch::Null => None,
        },
        actions,
    };
    let set = operations::create(&state, &caller, &project, input, UNLEASH_NAMES)
        .await
        .map_err(|e| unleash_fields(as_unleash(e), &request_order))?;
    Ok((StatusCode::CREATED, Json(set_to_unleash(&set, None))))
}

/// The actions an action set can run (Unleash shape: by action, with `required` and
/// `optional` parameter names).
#[utoipa::path(get, path = "/api/admin/projects/{project}/actions/config", tag = "unleash-actions",
    params(("project" = String, Path)), responses((status = 200, body = Object)))]
async fn actions_config(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(project): ApiPath<String>,
) -> Result<Json<BTreeMap<&'static str, Value>>, Error> {
    operations::require_admin(&caller)?;
    crate::flags::projects::find(&state, &caller, &project).await?;
    let config = CATALOGUE
        .iter()
        .map(|d| {
            let names = |required: bool| -> Vec<&str> {
                d.parameters.iter().filter(|p| p.required == required).map(|p| p.unleash_name).collect()
            };
            (d.action, json!({ "label": d.label, "description": d.description, "required": names(true), "optional": names(false) }))
        })
        .collect();
    Ok(Json(config))
}

/// Change an action set (Unleash shape; fields left out are unchanged).
#[utoipa::path(put, path = "/api/admin/projects/{project}/actions/{id}", tag = "unleash-actions",
    params(("project" = String, Path), ("id" = i64, Path)), request_body = UnleashActionSetIn,
    responses((status = 200, body = Object)))]
async fn update_actions(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath((project, id)): ApiPath<(String, i64)>,
    ApiJson(body): ApiJson<UnleashActionSetIn>,
) -> Result<Json<Value>, Error> {
    let (actions, request_order) = body.actions.map(actions_from_unleash).unzip();
    let change = SetChange {
        name: body.name,
        description: body.description,
        enabled: body.enabled,
        actor: body.actor_id.map(ActorRef::IntId),
        matches: body.matches.map(match_from_unleash),
        condition: body.condition,
        actions,
    };
    let set = operations::update(&state, &caller, &project, SetKey::IntId(id), change, UNLEASH_NAMES)
        .await
        .map_err(|e| unleash_fields(e, request_order.as_deref().unwrap_or_default()))?;
    Ok(Json(set_to_unleash(&set, None)))
}

/// Delete an action set (Unleash shape).
#[utoipa::path(delete, path = "/api/admin/projects/{project}/actions/{id}", tag = "unleash-actions",
    params(("project" = String, Path), ("id" = i64, Path)), responses((status = 200, description = "Deleted")))]
async fn delete_actions(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath((project, id)): ApiPath<(String, i64)>,
) -> Result<StatusCode, Error> {
    operations::delete(&state, &caller, &project, SetKey::IntId(id)).await?;
    Ok(StatusCode::OK)
}

async fn set_enabled(
    state: &AppState,
    caller: &crate::auth::model::Caller,
    project: &str,
    id: i64,
    on: bool,
) -> Result<StatusCode, Error> {
    let change = SetChange { enabled: Some(on), ..SetChange::default() };
    operations::update(state, caller, project, SetKey::IntId(id), change, UNLEASH_NAMES).await?;
    Ok(StatusCode::OK)
}

/// Enable an action set (Unleash shape).
#[utoipa::path(post, path = "/api/admin/projects/{project}/actions/{id}/on", tag = "unleash-actions",
    params(("project" = String, Path), ("id" = i64, Path)), responses((status = 200, description = "Enabled")))]
async fn turn_on(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath((project, id)): ApiPath<(String, i64)>,
) -> Result<StatusCode, Error> {
    set_enabled(&state, &caller, &project, id, true).await
}

/// Disable an action set (Unleash shape).
#[utoipa::path(post, path = "/api/admin/projects/{project}/actions/{id}/off", tag = "unleash-actions",
    params(("project" = String, Path), ("id" = i64, Path)), responses((status = 200, description = "Disabled")))]
async fn turn_off(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath((project, id)): ApiPath<(String, i64)>,
) -> Result<StatusCode, Error> {
    set_enabled(&state, &caller, &project, id, false).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct EventsQuery {
    /// Runs per page (1-100, default 50).
    pub limit: Option<String>,
    /// Runs to skip.
    pub offset: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnleashActionSetEvents {
    #[schema(value_type = Vec<Object>)]
    pub action_set_events: Vec<Value>,
}

/// An action set's runs, newest first (Unleash shape, `?limit&offset`).
#[utoipa::path(get, path = "/api/admin/projects/{project}/actions/{id}/events", tag = "unleash-actions",
    params(("project" = String, Path), ("id" = i64, Path), EventsQuery),
    responses((status = 200, body = UnleashActionSetEvents)))]
async fn list_events(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath((project, id)): ApiPath<(String, i64)>,
    Query(query): Query<EventsQuery>,
) -> Result<Json<UnleashActionSetEvents>, Error> {
    let page = crate::http::PageRequest::parse(query.limit.as_deref(), query.offset.as_deref())?;
    let (_, runs) =
        operations::runs(&state, &caller, &project, SetKey::IntId(id), None, page.limit, page.offset).await?;
    Ok(Json(UnleashActionSetEvents { action_set_events: runs.iter().map(run_to_unleash).collect() }))
}
