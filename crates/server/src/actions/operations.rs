//! What the `/v1` routes and the Unleash routes both do: one implementation of each change to
//! an action set, with validation, limits, events and the index refresh.

use serde_json::json;
use signalbox_core::actions::filter::{self, FilterLimits};
use signalbox_core::actions::{Condition, Filters};
use signalbox_core::{Role, new_id};
use uuid::Uuid;

use super::catalogue;
use super::model::{Action, ActionSet, Source};
use super::store::{self, SetKey};
use crate::auth::model::{Caller, PrincipalKind};
use crate::events::{NewEvent, types};
use crate::flags::model::Project;
use crate::flags::projects::description;
use crate::http::{PageRequest, Patch};
use crate::signals::store::EndpointKey;
use crate::state::AppState;
use crate::{Error, on_read};

/// How a request names the actor: `/v1` by id, Unleash by integer id.
#[derive(Debug, Clone, Copy)]
pub enum ActorRef {
    Id(Uuid),
    IntId(i64),
}

/// How a request names a set's source: an endpoint (by id or integer id) or a signal type's
/// slug.
#[derive(Debug, Clone)]
pub enum SourceRef {
    Endpoint(EndpointKey),
    Slug(String),
}

/// A set's match with its references resolved.
#[derive(Debug, Clone)]
pub struct MatchIn {
    pub source: String,
    pub source_id: SourceRef,
    pub payload: Filters,
}

/// The fields of a new set, named as the request named them (`field` prefixes differ).
pub struct SetIn {
    pub name: String,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub actor: ActorRef,
    pub matches: MatchIn,
    pub condition: Option<String>,
    pub actions: Vec<Action>,
}

/// A partial change.
#[derive(Default)]
pub struct SetChange {
    pub name: Option<String>,
    pub description: Patch<String>,
    pub enabled: Option<bool>,
    pub actor: Option<ActorRef>,
    pub matches: Option<MatchIn>,
    pub condition: Patch<String>,
    pub actions: Option<Vec<Action>>,
}

/// Field names on the two kinds of paths.
#[derive(Debug, Clone, Copy)]
pub struct Names {
    pub actor: &'static str,
    pub source_id: &'static str,
}

pub const V1_NAMES: Names = Names { actor: "actor_id", source_id: "match.source_id" };
pub const UNLEASH_NAMES: Names = Names { actor: "actorId", source_id: "match.sourceId" };

pub fn require_admin(caller: &Caller) -> Result<(), Error> {
    caller.require(Role::Admin)
}

fn event(state: &AppState, caller: &Caller, event_type: &'static str, set: &ActionSet) -> NewEvent {
    NewEvent::new(
        caller.workspace_id,
        event_type,
        Some(caller.principal_id),
        json!({ "id": set.id, "name": set.name, "project": set.project, "enabled": set.enabled }),
        state.clock.now(),
    )
}

async fn project(state: &AppState, caller: &Caller, key: &str) -> Result<Project, Error> {
    crate::flags::projects::find(state, caller, key).await
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    project_key: &str,
    page: Option<PageRequest>,
) -> Result<(Vec<ActionSet>, i64), Error> {
    require_admin(caller)?;
    let project = project(state, caller, project_key).await?;
    store::list_sets(&state.db, project.id, page).await
}

pub async fn find(state: &AppState, caller: &Caller, project_key: &str, key: SetKey) -> Result<ActionSet, Error> {
    require_admin(caller)?;
    let project = project(state, caller, project_key).await?;
    store::find_set(&state.db, project.id, key)
        .await?
        .ok_or_else(|| Error::not_found("no action set with this id in the project"))
}

fn name(text: &str) -> Result<String, Error> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 100 {
        return Err(Error::invalid_field("name", "must be 1-100 characters"));
    }
    Ok(trimmed.to_owned())
}

fn condition(text: Option<String>) -> Result<Option<String>, Error> {
    text.map(|source| Condition::compile(&source).map(|_| source).map_err(|e| Error::invalid_field("condition", e)))
        .transpose()
}

/// The actor must be a service account of the workspace.
async fn actor(state: &AppState, caller: &Caller, actor: ActorRef, field: &str) -> Result<Uuid, Error> {
    let missing = || Error::invalid_field(field, "no service account with this id in the workspace");
    let id = match actor {
        ActorRef::Id(id) => id,
        ActorRef::IntId(int_id) => {
            let found: Option<String> =
                on_read!(&state.db, |pool| sqlx::query_scalar("SELECT id FROM principals WHERE int_id = $1")
                    .bind(int_id)
                    .fetch_optional(pool)
                    .await)?;
            crate::db::row::id(&found.ok_or_else(missing)?)?
        }
    };
    match crate::auth::store::find_member(&state.db, caller.workspace_id, id).await? {
        Some(member) if member.kind == PrincipalKind::ServiceAccount => Ok(id),
        Some(_) => Err(Error::invalid_field(field, "must be a service account, not a user")),
        None => Err(missing()),
    }
}

async fn source(state: &AppState, caller: &Caller, m: &MatchIn, names: Names) -> Result<(Source, String), Error> {
    let source = Source::parse(&m.source).map_err(|e| Error::invalid_field("match.source", e))?;
    match (source, &m.source_id) {
        (Source::SignalEndpoint, SourceRef::Endpoint(key)) => {
            let endpoint =
                crate::signals::store::find_endpoint(&state.db, caller.workspace_id, *key).await?.ok_or_else(|| {
                    Error::invalid_field(names.source_id, "no signal endpoint with this id in the workspace")
                })?;
            Ok((source, endpoint.id.to_string()))
        }
        (Source::SignalType, SourceRef::Slug(slug)) => {
            match crate::typed::types::find(&state.db, caller.workspace_id, slug).await? {
                Some(found) if found.slug == *slug => Ok((source, found.slug)),
                _ => Err(Error::invalid_field(names.source_id, "no signal type with this slug in the workspace")),
            }
        }
        (Source::SignalEndpoint, SourceRef::Slug(_)) => {
            Err(Error::invalid_field(names.source_id, "must be a signal endpoint's id"))
        }
        (Source::SignalType, SourceRef::Endpoint(_)) => {
            Err(Error::invalid_field(names.source_id, "must be a signal type's slug"))
        }
    }
}

fn filter_limits(state: &AppState) -> FilterLimits {
    let unlimited = |n: u32| if n == 0 { usize::MAX } else { n as usize };
    FilterLimits {
        filters: unlimited(state.config.actions.max_action_filters),
        values: unlimited(state.config.actions.max_action_filter_values),
    }
}

fn check_filters(state: &AppState, filters: &Filters) -> Result<(), Error> {
    filter::check(filters, filter_limits(state), "match.payload").map_err(|p| Error::invalid_field(p.path, p.message))
}

pub async fn create(
    state: &AppState,
    caller: &Caller,
    project_key: &str,
    body: SetIn,
    names: Names,
) -> Result<ActionSet, Error> {
    require_admin(caller)?;
    let project = project(state, caller, project_key).await?;
    let name = name(&body.name)?;
    let description = description(body.description)?;
    let actor_id = actor(state, caller, body.actor, names.actor).await?;
    let (source, source_id) = source(state, caller, &body.matches, names).await?;
    check_filters(state, &body.matches.payload)?;
    let condition = condition(body.condition)?;
    catalogue::check_actions(
        state,
        caller.workspace_id,
        &project,
        &body.actions,
        state.config.actions.max_actions_per_set,
    )
    .await?;
    let now = state.clock.now();
    let set = ActionSet {
        int_id: 0,
        id: new_id(),
        workspace_id: caller.workspace_id,
        project_id: project.id,
        project: project.key.clone(),
        name,
        description,
        enabled: body.enabled.unwrap_or(true),
        actor_id,
        actor_int_id: None,
        source,
        source_id,
        source_int_id: None,
        filters: body.matches.payload,
        condition,
        actions: body.actions,
        created_by: Some(caller.principal_id),
        created_by_int: None,
        created_at: now,
        updated_at: now,
    };
    let created = event(state, caller, types::ACTION_SET_CREATED, &set);
    store::create_set(&state.db, &set, state.config.actions.max_action_sets_per_project, &created).await?;
    state.actions.changed(&state.db).await;
    find(state, caller, project_key, SetKey::Id(set.id)).await
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    project_key: &str,
    key: SetKey,
    change: SetChange,
    names: Names,
) -> Result<ActionSet, Error> {
    let mut set = find(state, caller, project_key, key).await?;
    if let Some(text) = change.name {
        set.name = name(&text)?;
    }
    match change.description {
        Patch::Absent => {}
        Patch::Null => set.description = None,
        Patch::Value(text) => set.description = description(Some(text))?,
    }
    let enabling = change.enabled == Some(true) && !set.enabled;
    if let Some(enabled) = change.enabled {
        set.enabled = enabled;
    }
    if let Some(reference) = change.actor {
        set.actor_id = actor(state, caller, reference, names.actor).await?;
    }
    if let Some(matches) = change.matches {
        let (source, source_id) = source(state, caller, &matches, names).await?;
        check_filters(state, &matches.payload)?;
        (set.source, set.source_id, set.filters) = (source, source_id, matches.payload);
    } else if enabling
        && set.source == Source::SignalEndpoint
        && crate::signals::store::find_endpoint(
            &state.db,
            caller.workspace_id,
            EndpointKey::Id(Uuid::parse_str(&set.source_id).unwrap_or_default()),
        )
        .await?
        .is_none()
    {
        // Its endpoint was deleted (which disabled it): it could never run again.
        return Err(Error::conflict(format!(
            "the action set's signal endpoint was deleted; point {} at an existing endpoint to enable it",
            names.source_id
        )));
    }
    match change.condition {
        Patch::Absent => {}
        Patch::Null => set.condition = None,
        Patch::Value(text) => set.condition = condition(Some(text))?,
    }
    if let Some(actions) = change.actions {
        let project = project(state, caller, project_key).await?;
        catalogue::check_actions(
            state,
            caller.workspace_id,
            &project,
            &actions,
            state.config.actions.max_actions_per_set,
        )
        .await?;
        set.actions = actions;
    }
    set.updated_at = state.clock.now();
    let updated = event(state, caller, types::ACTION_SET_UPDATED, &set);
    if !store::update_set(&state.db, &set, &updated).await? {
        return Err(Error::not_found("no action set with this id in the project"));
    }
    state.actions.changed(&state.db).await;
    find(state, caller, project_key, SetKey::Id(set.id)).await
}

pub async fn delete(state: &AppState, caller: &Caller, project_key: &str, key: SetKey) -> Result<(), Error> {
    let set = find(state, caller, project_key, key).await?;
    let deleted = event(state, caller, types::ACTION_SET_DELETED, &set);
    store::delete_set(&state.db, set.id, &deleted).await?;
    state.actions.changed(&state.db).await;
    Ok(())
}

/// The run log of a set: newest first, by cursor (`before` a run's integer id) or offset.
pub async fn runs(
    state: &AppState,
    caller: &Caller,
    project_key: &str,
    key: SetKey,
    before: Option<i64>,
    limit: i64,
    offset: i64,
) -> Result<(ActionSet, Vec<super::model::Run>), Error> {
    let set = find(state, caller, project_key, key).await?;
    let runs = store::list_runs(&state.db, set.id, before, limit, offset).await?;
    Ok((set, runs))
}
