//! `/v1/projects/{project}/flags`: flags, their configuration per environment, toggles and
//! the kill switch.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use signalbox_core::flags::{FLAG_TYPES, FlagKey, Problem, strategy, variants};
use signalbox_core::{Role, new_id};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::environments;
use super::model::{Flag, FlagEnvironment, FlagEnvironmentPatch, FlagIn, FlagPatch, Kill, KillIn, ReviveIn};
use super::projects::{self, description, name_or};
use super::store::{self, ConfigWrite, FlagQuery};
use super::workflow::{self, Change, Committed};
use crate::Error;
use crate::auth::model::Caller;
use crate::error::FieldResult;
use crate::events::{NewEvent, types};
use crate::http::{ApiJson, ApiPath, IfMatch, PageRequest, Paginated, Patch, etag_header, query_flag};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_flag, list_flags))
        .routes(routes!(get_flag, update_flag, delete_flag))
        .routes(routes!(get_config, update_config))
        .routes(routes!(turn_on))
        .routes(routes!(turn_off))
        .routes(routes!(kill))
        .routes(routes!(revive))
}

type WithEtag<T> = ([(HeaderName, HeaderValue); 1], Json<T>);

const MAX_TAGS: usize = 50;

pub(super) async fn load(state: &AppState, caller: &Caller, project: &str, key: &str) -> Result<Flag, Error> {
    let project = projects::find(state, caller, project).await?;
    store::find_flag(&state.db, project.id, key)
        .await?
        .ok_or_else(|| Error::not_found(format!("no flag {key:?} in project {:?}", project.key)))
}

pub(super) fn flag_event(
    state: &AppState,
    caller: &Caller,
    event_type: &'static str,
    flag: &Flag,
    extra: Value,
) -> NewEvent {
    let mut data = json!({ "flag_key": flag.key, "project": flag.project });
    if let (Some(data), Value::Object(extra)) = (data.as_object_mut(), extra) {
        data.extend(extra);
    }
    NewEvent::new(caller.workspace_id, event_type, Some(caller.principal_id), data, state.clock.now())
}

fn flag_type(text: &str) -> Result<String, Error> {
    if FLAG_TYPES.contains(&text) {
        Ok(text.to_owned())
    } else {
        Err(Error::invalid_field("type", format!("must be one of {}", FLAG_TYPES.join(", "))))
    }
}

fn tags(list: Vec<String>) -> Result<Vec<String>, Error> {
    if list.len() > MAX_TAGS {
        return Err(Error::invalid_field("tags", format!("at most {MAX_TAGS} tags")));
    }
    for (i, tag) in list.iter().enumerate() {
        if tag.trim().is_empty() || tag.chars().count() > 100 {
            return Err(Error::invalid_field(format!("tags[{i}]"), "must be 1-100 characters"));
        }
    }
    Ok(list)
}

/// The editable part of a flag, for `before`/`after` in events.
fn flag_fields(flag: &Flag) -> Value {
    json!({ "name": flag.name, "description": flag.description, "type": flag.flag_type, "tags": flag.tags,
            "impression_data": flag.impression_data, "archived": flag.archived })
}

pub(super) fn config_fields(config: &FlagEnvironment) -> Value {
    json!({ "enabled": config.enabled, "strategies": config.strategies, "variants": config.variants })
}

/// A write lost a race with another writer: 412 with the flag's current ETag.
async fn lost_race(state: &AppState, caller: &Caller, project: &str, key: &str) -> Error {
    match load(state, caller, project, key).await {
        Ok(flag) => Error::precondition_failed(&crate::http::etag::etag(flag.version)),
        Err(error) => error,
    }
}

/// Create a flag (editor); it starts disabled everywhere.
#[utoipa::path(post, path = "/v1/projects/{project}/flags", tag = "flags", params(("project" = String, Path)),
    request_body = FlagIn, responses((status = 201, body = Flag), (status = 409, body = crate::error::Problem,
        content_type = "application/problem+json", description = "The key is taken in the project")))]
pub async fn create_flag(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(project_key): ApiPath<String>,
    ApiJson(body): ApiJson<FlagIn>,
) -> Result<(StatusCode, [(HeaderName, HeaderValue); 1], Json<Flag>), Error> {
    caller.require(Role::Editor)?;
    let project = projects::find(&state, &caller, &project_key).await?;
    let key = FlagKey::parse(&body.key).field("key")?;
    let now = state.clock.now();
    let flag = Flag {
        id: new_id(),
        project: project.key.clone(),
        name: name_or(key.as_str(), body.name.as_deref(), "name")?,
        key: key.as_str().to_owned(),
        description: description(body.description)?,
        flag_type: flag_type(body.flag_type.as_deref().unwrap_or("release"))?,
        tags: tags(body.tags.unwrap_or_default())?,
        impression_data: body.impression_data.unwrap_or(false),
        archived: false,
        archived_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
        environments: Vec::new(),
        usage: None,
    };
    let created = flag_event(&state, &caller, types::FLAG_CREATED, &flag, json!({ "after": flag_fields(&flag) }));
    match store::create_flag(&state.db, caller.workspace_id, project.id, &flag, caller.principal_id, &created).await {
        Err(error) if error.status() == StatusCode::CONFLICT => {
            Err(Error::conflict(format!("a flag {:?} exists in project {:?}", flag.key, project.key)))
        }
        other => other,
    }?;
    let stored = load(&state, &caller, &project.key, &flag.key).await?;
    Ok((StatusCode::CREATED, etag_header(stored.version), Json(stored)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct FlagListQuery {
    pub limit: Option<String>,
    pub offset: Option<String>,
    /// Only flags with this tag.
    pub tag: Option<String>,
    /// Only flags enabled in this environment (key).
    pub enabled_in: Option<String>,
    /// Case-insensitive search in key, name and description.
    pub q: Option<String>,
    /// `true`: the archived flags instead.
    #[param(value_type = Option<bool>)]
    pub archived: Option<String>,
}

/// A project's flags with their state in every environment, by key (any member).
#[utoipa::path(get, path = "/v1/projects/{project}/flags", tag = "flags",
    params(("project" = String, Path), FlagListQuery), responses((status = 200, body = Paginated<Flag>)))]
async fn list_flags(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(project_key): ApiPath<String>,
    Query(query): Query<FlagListQuery>,
) -> Result<Json<Paginated<Flag>>, Error> {
    caller.require(Role::Viewer)?;
    let project = projects::find(&state, &caller, &project_key).await?;
    let page = PageRequest::parse(query.limit.as_deref(), query.offset.as_deref())?;
    if let Some(key) = query.enabled_in.as_deref() {
        environments::find(&state, &caller, key)
            .await
            .map_err(|_| Error::invalid_field("enabled_in", "no such environment"))?;
    }
    let flag_query = FlagQuery {
        project_id: project.id,
        tag: query.tag.as_deref(),
        enabled_in: query.enabled_in.as_deref(),
        q: query.q.as_deref().filter(|q| !q.trim().is_empty()),
        archived: query_flag(query.archived.as_deref(), "archived")?.unwrap_or(false),
        page,
    };
    let (flags, total) = store::list_flags(&state.db, flag_query).await?;
    Ok(Json(Paginated::new(flags, total, page)))
}

/// One flag with its configuration in every environment (any member). `ETag` is the
/// flag's version.
#[utoipa::path(get, path = "/v1/projects/{project}/flags/{key}", tag = "flags",
    params(("project" = String, Path), ("key" = String, Path)), responses((status = 200, body = Flag)))]
async fn get_flag(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((project, key)): ApiPath<(String, String)>,
) -> Result<WithEtag<Flag>, Error> {
    caller.require(Role::Viewer)?;
    let mut flag = load(&state, &caller, &project, &key).await?;
    let since = state.clock.now().minus(std::time::Duration::from_secs(48 * 3600));
    flag.usage = Some(crate::sdk::applications::usage_of(&state.db, caller.workspace_id, &flag.key, since).await?);
    Ok((etag_header(flag.version), Json(flag)))
}

/// Change a flag's own fields (editor). With `If-Match`, `412` if it changed since.
#[utoipa::path(put, path = "/v1/projects/{project}/flags/{key}", tag = "flags",
    params(("project" = String, Path), ("key" = String, Path)), request_body = FlagPatch,
    responses((status = 200, body = Flag), (status = 412, body = crate::error::Problem,
        content_type = "application/problem+json", description = "If-Match names an old version")))]
async fn update_flag(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((project, key)): ApiPath<(String, String)>,
    if_match: IfMatch,
    ApiJson(patch): ApiJson<FlagPatch>,
) -> Result<WithEtag<Flag>, Error> {
    caller.require(Role::Editor)?;
    let before = load(&state, &caller, &project, &key).await?;
    if_match.check(before.version)?;
    let mut flag = before.clone();
    if let Some(name) = patch.name.not_null("name")? {
        flag.name = name_or(&flag.key, Some(&name), "name")?;
    }
    match patch.description {
        Patch::Absent => {}
        Patch::Null => flag.description = None,
        Patch::Value(text) => flag.description = description(Some(text))?,
    }
    if let Some(kind) = patch.flag_type.not_null("type")? {
        flag.flag_type = flag_type(&kind)?;
    }
    if let Some(list) = patch.tags.not_null("tags")? {
        flag.tags = tags(list)?;
    }
    if let Some(on) = patch.impression_data.not_null("impression_data")? {
        flag.impression_data = on;
    }
    let now = state.clock.now();
    if let Some(archived) = patch.archived.not_null("archived")? {
        flag.archived = archived;
        flag.archived_at = if archived { before.archived_at.or(Some(now)) } else { None };
    }
    flag.updated_at = now;
    let (event_type, extra) = if flag.archived && !before.archived {
        (types::FLAG_DELETED, json!({ "hard": false }))
    } else {
        (types::FLAG_UPDATED, json!({ "before": flag_fields(&before), "after": flag_fields(&flag) }))
    };
    let changed = flag_event(&state, &caller, event_type, &flag, extra);
    if !store::update_flag(&state.db, &flag, before.version, &changed).await? {
        return Err(lost_race(&state, &caller, &project, &key).await);
    }
    let stored = load(&state, &caller, &project, &key).await?;
    Ok((etag_header(stored.version), Json(stored)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct FlagDeleteQuery {
    /// Delete an archived flag for good instead of archiving.
    #[param(value_type = Option<bool>)]
    pub hard: Option<String>,
}

/// Archive a flag (editor); `?hard=true` deletes an archived one for good.
#[utoipa::path(delete, path = "/v1/projects/{project}/flags/{key}", tag = "flags",
    params(("project" = String, Path), ("key" = String, Path), FlagDeleteQuery),
    responses((status = 204, description = "Archived, or deleted"), (status = 409, body = crate::error::Problem,
        content_type = "application/problem+json", description = "hard=true on a flag that is not archived")))]
async fn delete_flag(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((project, key)): ApiPath<(String, String)>,
    if_match: IfMatch,
    Query(query): Query<FlagDeleteQuery>,
) -> Result<StatusCode, Error> {
    caller.require(Role::Editor)?;
    let flag = load(&state, &caller, &project, &key).await?;
    if_match.check(flag.version)?;
    if query_flag(query.hard.as_deref(), "hard")?.unwrap_or(false) {
        if !flag.archived {
            return Err(Error::conflict("archive the flag before deleting it for good"));
        }
        let deleted = flag_event(&state, &caller, types::FLAG_DELETED, &flag, json!({ "hard": true }));
        store::delete_flag(&state.db, flag.id, &deleted).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    if flag.archived {
        return Ok(StatusCode::NO_CONTENT);
    }
    let now = state.clock.now();
    let mut archived = flag.clone();
    archived.archived = true;
    archived.archived_at = Some(now);
    archived.updated_at = now;
    let deleted = flag_event(&state, &caller, types::FLAG_DELETED, &flag, json!({ "hard": false }));
    if !store::update_flag(&state.db, &archived, flag.version, &deleted).await? {
        return Err(lost_race(&state, &caller, &project, &key).await);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The flag, the environment and its current configuration.
pub(crate) async fn load_config(
    state: &AppState,
    caller: &Caller,
    project: &str,
    key: &str,
    environment: &str,
) -> Result<(Flag, super::model::Environment, FlagEnvironment), Error> {
    let flag = load(state, caller, project, key).await?;
    let environment = environments::find(state, caller, environment).await?;
    let config = flag
        .environments
        .iter()
        .find(|c| c.environment == environment.key)
        .cloned()
        .ok_or_else(|| Error::not_found("no such environment"))?;
    Ok((flag, environment, config))
}

fn problem_error(problem: Problem, prefix: &str) -> Error {
    Error::invalid_field(format!("{prefix}{}", problem.path), problem.message)
}

/// Applies a change to one environment's configuration and stores it (one `flag.updated`
/// event with before and after): `PUT …/environments/{environment}`, the toggles, action sets
/// and the UI's editors. Strategies and variants are checked and normalised here, segments
/// must be usable in the project; where the environment requires approval the change is filed
/// as a change request instead.
pub async fn change_config(
    state: &AppState,
    caller: &Caller,
    (project, key, environment): (&str, &str, &str),
    if_match: &IfMatch,
    patch: FlagEnvironmentPatch,
) -> Result<Committed, Error> {
    caller.require(Role::Editor)?;
    let (flag, environment, before) = load_config(state, caller, project, key, environment).await?;
    if_match.check(before.version)?;
    if flag.archived {
        return Err(Error::conflict("the flag is archived; restore it before changing it"));
    }
    let mut after = before.clone();
    if let Some(enabled) = patch.enabled.not_null("enabled")? {
        after.enabled = enabled;
    }
    if let Some(mut strategies) = patch.strategies.not_null("strategies")? {
        strategy::normalise(&mut strategies, "strategies", || new_id().to_string())
            .map_err(|p| problem_error(p, ""))?;
        let project = projects::find(state, caller, &flag.project).await?;
        let usable: Vec<i64> = super::segments::list(&state.db, caller.workspace_id, Some(project.id))
            .await?
            .iter()
            .map(|s| s.id)
            .collect();
        for (i, strategy) in strategies.iter().enumerate() {
            if let Some((j, segment)) = strategy.segments.iter().enumerate().find(|(_, id)| !usable.contains(id)) {
                return Err(Error::invalid_field(
                    format!("strategies[{i}].segments[{j}]"),
                    format!("segment {segment} does not exist in this project"),
                ));
            }
        }
        after.strategies = strategies;
    }
    if let Some(mut list) = patch.variants.not_null("variants")? {
        variants::normalise(&mut list, "variants").map_err(|p| problem_error(p, ""))?;
        after.variants = list;
    }
    workflow::commit(state, caller, &flag, &environment, &before, after, Change::Edit).await
}

/// A flag's configuration in one environment (any member); `ETag` is its version.
#[utoipa::path(get, path = "/v1/projects/{project}/flags/{key}/environments/{environment}", tag = "flags",
    params(("project" = String, Path), ("key" = String, Path), ("environment" = String, Path)),
    responses((status = 200, body = FlagEnvironment)))]
async fn get_config(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((project, key, environment)): ApiPath<(String, String, String)>,
) -> Result<WithEtag<FlagEnvironment>, Error> {
    caller.require(Role::Viewer)?;
    let (_, _, config) = load_config(&state, &caller, &project, &key, &environment).await?;
    Ok((etag_header(config.version), Json(config)))
}

/// Change a flag's configuration in one environment (editor): `enabled`, `strategies`
/// (Unleash's model, kept in order), `variants`. Absent fields are unchanged.
#[utoipa::path(put, path = "/v1/projects/{project}/flags/{key}/environments/{environment}", tag = "flags",
    params(("project" = String, Path), ("key" = String, Path), ("environment" = String, Path)),
    request_body = FlagEnvironmentPatch, responses((status = 200, body = FlagEnvironment),
    (status = 202, body = super::workflow::ChangeRequested, description = "Filed as a change request (the environment requires approval)"),
    (status = 409, body = crate::error::Problem, content_type = "application/problem+json",
        description = "The flag is killed here (type …/flag-killed), or archived"),
    (status = 412, body = crate::error::Problem, content_type = "application/problem+json",
        description = "If-Match names an old version")))]
async fn update_config(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((project, key, environment)): ApiPath<(String, String, String)>,
    if_match: IfMatch,
    ApiJson(patch): ApiJson<FlagEnvironmentPatch>,
) -> Result<Committed, Error> {
    change_config(&state, &caller, (&project, &key, &environment), &if_match, patch).await
}

fn toggle(enabled: bool) -> FlagEnvironmentPatch {
    FlagEnvironmentPatch { enabled: Patch::Value(enabled), strategies: Patch::Absent, variants: Patch::Absent }
}

/// Turns a flag on or off in one environment as `caller`, as `…/on` and `…/off` do (action
/// sets call it too): applied, or a change request where the environment requires approval.
pub async fn set_enabled(
    state: &AppState,
    caller: &Caller,
    (project, key, environment): (&str, &str, &str),
    enabled: bool,
) -> Result<Committed, Error> {
    change_config(state, caller, (project, key, environment), &IfMatch::default(), toggle(enabled)).await
}

/// Enable a flag in an environment (editor).
#[utoipa::path(post, path = "/v1/projects/{project}/flags/{key}/environments/{environment}/on", tag = "flags",
    params(("project" = String, Path), ("key" = String, Path), ("environment" = String, Path)),
    responses((status = 200, body = FlagEnvironment), (status = 409, body = crate::error::Problem,
        content_type = "application/problem+json", description = "The flag is killed here")))]
async fn turn_on(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((project, key, environment)): ApiPath<(String, String, String)>,
    if_match: IfMatch,
) -> Result<Committed, Error> {
    change_config(&state, &caller, (&project, &key, &environment), &if_match, toggle(true)).await
}

/// Disable a flag in an environment (editor).
#[utoipa::path(post, path = "/v1/projects/{project}/flags/{key}/environments/{environment}/off", tag = "flags",
    params(("project" = String, Path), ("key" = String, Path), ("environment" = String, Path)),
    responses((status = 200, body = FlagEnvironment)))]
async fn turn_off(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((project, key, environment)): ApiPath<(String, String, String)>,
    if_match: IfMatch,
) -> Result<Committed, Error> {
    change_config(&state, &caller, (&project, &key, &environment), &if_match, toggle(false)).await
}

/// The environments a kill or revive names (all by default), checked against the workspace's.
async fn named_environments(
    state: &AppState,
    caller: &Caller,
    names: Option<Vec<String>>,
) -> Result<Vec<super::model::Environment>, Error> {
    let all = store::list_environments(&state.db, caller.workspace_id).await?;
    let Some(names) = names else { return Ok(all) };
    if names.is_empty() {
        return Err(Error::invalid_field("environments", "name at least one environment, or leave it out for all"));
    }
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            all.iter()
                .find(|e| e.key == *name)
                .cloned()
                .ok_or_else(|| Error::invalid_field(format!("environments[{i}]"), format!("no environment {name:?}")))
        })
        .collect()
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KillResult {
    /// The flag after the change.
    pub flag: Flag,
}

/// Kill switch (editor): disable the flag at once in the named environments (all by
/// default), recording who, when and why. It bypasses approvals; until revived, nothing can
/// enable the flag there.
#[utoipa::path(post, path = "/v1/projects/{project}/flags/{key}/kill", tag = "flags",
    params(("project" = String, Path), ("key" = String, Path)), request_body = KillIn,
    responses((status = 200, body = KillResult)))]
async fn kill(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((project, key)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<KillIn>,
) -> Result<Json<KillResult>, Error> {
    let flag = kill_flag(&state, &caller, (&project, &key), &body.reason, body.environments).await?;
    Ok(Json(KillResult { flag }))
}

/// The kill switch as `caller` (the route and action sets): disables the flag in the named
/// environments (all when `None`) with the reason, bypassing approval. Returns the flag after.
pub async fn kill_flag(
    state: &AppState,
    caller: &Caller,
    (project, key): (&str, &str),
    reason: &str,
    environments: Option<Vec<String>>,
) -> Result<Flag, Error> {
    caller.require(Role::Editor)?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(Error::invalid_field("reason", "must be 1-500 characters"));
    }
    let flag = load(state, caller, project, key).await?;
    let targets = named_environments(state, caller, environments).await?;
    let now = state.clock.now();
    let kill = Kill { at: now, by: Some(caller.principal_id), reason: reason.to_owned() };
    let mut changes = Vec::new();
    for environment in &targets {
        let Some(before) = flag.environments.iter().find(|c| c.environment == environment.key) else { continue };
        let mut after = before.clone();
        after.enabled = false;
        after.killed = Some(kill.clone());
        changes.push((environment.id, before.version, after));
    }
    let names: Vec<&str> = targets.iter().map(|e| e.key.as_str()).collect();
    let killed =
        flag_event(state, caller, types::FLAG_KILLED, &flag, json!({ "environments": names, "reason": reason }));
    let writes: Vec<ConfigWrite<'_>> = changes
        .iter()
        .map(|(environment_id, expected, config)| ConfigWrite {
            flag_id: flag.id,
            environment_id: *environment_id,
            config,
            expected: *expected,
        })
        .collect();
    if !store::save_configs(&state.db, &writes, now, &[killed], caller.step_guard()).await? {
        return Err(Error::conflict("the flag changed while it was being killed; try again"));
    }
    load(state, caller, project, key).await
}

/// Lift the kill switch (editor) in the named environments (default: wherever it holds).
/// The flag stays disabled; enabling it is then an ordinary change.
#[utoipa::path(post, path = "/v1/projects/{project}/flags/{key}/revive", tag = "flags",
    params(("project" = String, Path), ("key" = String, Path)), request_body = ReviveIn,
    responses((status = 200, body = KillResult)))]
pub async fn revive(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((project, key)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<ReviveIn>,
) -> Result<Json<KillResult>, Error> {
    caller.require(Role::Editor)?;
    let flag = load(&state, &caller, &project, &key).await?;
    let targets = named_environments(&state, &caller, body.environments).await?;
    let mut changes = Vec::new();
    for environment in &targets {
        let Some(before) = flag.environments.iter().find(|c| c.environment == environment.key) else { continue };
        if before.killed.is_none() {
            continue;
        }
        let mut after = before.clone();
        after.killed = None;
        changes.push((environment.id, environment.key.clone(), before.version, after));
    }
    if changes.is_empty() {
        return Err(Error::conflict("the flag is not killed in those environments"));
    }
    let names: Vec<&str> = changes.iter().map(|(_, key, _, _)| key.as_str()).collect();
    let revived = flag_event(&state, &caller, types::FLAG_UPDATED, &flag, json!({ "revived": names }));
    let writes: Vec<ConfigWrite<'_>> = changes
        .iter()
        .map(|(environment_id, _, expected, config)| ConfigWrite {
            flag_id: flag.id,
            environment_id: *environment_id,
            config,
            expected: *expected,
        })
        .collect();
    if !store::save_configs(&state.db, &writes, state.clock.now(), &[revived], None).await? {
        return Err(Error::conflict("the flag changed while it was being revived; try again"));
    }
    Ok(Json(KillResult { flag: load(&state, &caller, &project, &key).await? }))
}
