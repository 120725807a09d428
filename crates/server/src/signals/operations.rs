//! What the `/v1` routes and the Unleash-compatible routes both do: one implementation of
//! each change, with validation, limits, events and cache invalidation.

use serde_json::json;
use signalbox_core::{DisplayName, EndpointName, Role, new_id};
use uuid::Uuid;

use super::limits::EndpointLimits;
use super::model::{EndpointRecord, TokenRecord};
use super::store::{self, EndpointKey, EndpointUpdate, NewEndpoint, NewToken};
use crate::auth::model::Caller;
use crate::auth::token::generate_secret;
use crate::error::FieldResult;
use crate::events::{NewEvent, types};
use crate::http::Patch;
use crate::state::AppState;
use crate::{Error, workspaces};

/// Signal endpoint tokens look like API tokens but are a separate kind.
pub const ENDPOINT_TOKEN_PREFIX: &str = "sbx_sig_";

/// The workspace's effective limits.
pub async fn limits_for(state: &AppState, workspace_id: Uuid) -> Result<EndpointLimits, Error> {
    let settings = workspaces::store::settings(&state.db, workspace_id).await?;
    Ok(EndpointLimits::resolve(&state.config.signals, &settings))
}

fn event(caller: &Caller, event_type: &'static str, data: serde_json::Value, state: &AppState) -> NewEvent {
    NewEvent::new(caller.workspace_id, event_type, Some(caller.principal_id), data, state.clock.now())
}

/// Admins and owners manage signal endpoints.
pub fn require_admin(caller: &Caller) -> Result<(), Error> {
    caller.require(Role::Admin)
}

pub fn parse_description(text: Option<&str>) -> Result<Option<String>, Error> {
    match text {
        None => Ok(None),
        Some(text) if text.chars().count() > 1000 => {
            Err(Error::invalid_field("description", "must be at most 1000 characters"))
        }
        Some(text) => Ok(Some(text.to_owned())),
    }
}

pub async fn find(state: &AppState, caller: &Caller, key: EndpointKey) -> Result<EndpointRecord, Error> {
    let mut endpoint = store::find_endpoint(&state.db, caller.workspace_id, key)
        .await?
        .ok_or_else(|| Error::not_found("no signal endpoint with this id in the workspace"))?;
    with_live_counters(state, &mut endpoint);
    Ok(endpoint)
}

/// Adds this node's not-yet-flushed counters and token use to a stored endpoint.
pub fn with_live_counters(state: &AppState, endpoint: &mut EndpointRecord) {
    endpoint.counters = state.signals.counters.with_pending(endpoint.id, endpoint.counters);
    for token in &mut endpoint.tokens {
        if let Some(used) = state.signals.counters.last_used(token.id) {
            token.last_used_at = Some(token.last_used_at.map_or(used, |stored| stored.max(used)));
        }
    }
}

pub async fn create(
    state: &AppState,
    caller: &Caller,
    name: &str,
    description: Option<&str>,
    enabled: Option<bool>,
) -> Result<EndpointRecord, Error> {
    require_admin(caller)?;
    let name = EndpointName::parse(name).field("name")?;
    let description = parse_description(description)?;
    let limits = limits_for(state, caller.workspace_id).await?;
    let id = new_id();
    let new = NewEndpoint {
        id,
        workspace_id: caller.workspace_id,
        name: name.as_str(),
        description: description.as_deref(),
        enabled: enabled.unwrap_or(true),
        created_by: caller.principal_id,
        now: state.clock.now(),
    };
    let created = event(caller, types::SIGNAL_ENDPOINT_CREATED, json!({ "id": id, "name": name }), state);
    store::create_endpoint(&state.db, &new, limits.max_endpoints, &created).await?;
    state.signals.config_changed(&state.db).await;
    find(state, caller, EndpointKey::Id(id)).await
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    key: EndpointKey,
    name: Patch<String>,
    description: Patch<String>,
    enabled: Patch<bool>,
) -> Result<EndpointRecord, Error> {
    require_admin(caller)?;
    let endpoint = find(state, caller, key).await?;
    let name = name.not_null("name")?.map(|n| EndpointName::parse(&n).field("name")).transpose()?;
    let description = match description {
        Patch::Value(text) => Patch::Value(parse_description(Some(&text))?.unwrap_or_default()),
        other => other,
    };
    let update = EndpointUpdate {
        name: name.map(|n| n.as_str().to_owned()),
        description,
        enabled: enabled.not_null("enabled")?,
    };
    let changed = event(
        caller,
        types::SIGNAL_ENDPOINT_UPDATED,
        json!({ "id": endpoint.id, "name": update.name, "enabled": update.enabled }),
        state,
    );
    if !store::update_endpoint(&state.db, caller.workspace_id, endpoint.id, &update, state.clock.now(), &changed)
        .await?
    {
        return Err(Error::not_found("no signal endpoint with this id in the workspace"));
    }
    state.signals.config_changed(&state.db).await;
    find(state, caller, EndpointKey::Id(endpoint.id)).await
}

pub async fn delete(state: &AppState, caller: &Caller, key: EndpointKey) -> Result<(), Error> {
    require_admin(caller)?;
    let endpoint = find(state, caller, key).await?;
    let deleted =
        event(caller, types::SIGNAL_ENDPOINT_DELETED, json!({ "id": endpoint.id, "name": endpoint.name }), state);
    store::delete_endpoint(&state.db, caller.workspace_id, endpoint.id, &deleted).await?;
    state.signals.rates.forget(endpoint.id);
    state.signals.config_changed(&state.db).await;
    state.actions.changed(&state.db).await;
    Ok(())
}

/// A new token and its secret (shown once).
pub async fn create_token(
    state: &AppState,
    caller: &Caller,
    key: EndpointKey,
    name: &str,
) -> Result<(EndpointRecord, TokenRecord, String), Error> {
    require_admin(caller)?;
    let endpoint = find(state, caller, key).await?;
    let name = DisplayName::parse(name).field("name")?;
    let limits = limits_for(state, caller.workspace_id).await?;
    let id = new_id();
    let secret = generate_secret(ENDPOINT_TOKEN_PREFIX);
    let new = NewToken {
        id,
        endpoint_id: endpoint.id,
        name: name.as_str(),
        token_hash: &secret.hash,
        created_by: caller.principal_id,
        now: state.clock.now(),
    };
    let created = event(
        caller,
        types::SIGNAL_ENDPOINT_TOKEN_CREATED,
        json!({ "id": id, "name": name, "endpoint_id": endpoint.id }),
        state,
    );
    store::create_token(&state.db, &new, limits.max_tokens_per_endpoint, &created).await?;
    state.signals.config_changed(&state.db).await;
    let endpoint = find(state, caller, EndpointKey::Id(endpoint.id)).await?;
    let token =
        endpoint.tokens.iter().find(|t| t.id == id).cloned().ok_or_else(|| Error::not_found("the token vanished"))?;
    Ok((endpoint, token, secret.secret))
}

/// Finds a token of an endpoint by UUID or integer id.
pub fn token_of(endpoint: &EndpointRecord, token: TokenKey) -> Result<TokenRecord, Error> {
    endpoint
        .tokens
        .iter()
        .find(|t| match token {
            TokenKey::Id(id) => t.id == id,
            TokenKey::IntId(n) => t.int_id == n,
        })
        .cloned()
        .ok_or_else(|| Error::not_found("no token with this id on the endpoint"))
}

#[derive(Debug, Clone, Copy)]
pub enum TokenKey {
    Id(Uuid),
    IntId(i64),
}

/// Renames a token (`Some(name)`) or revokes it (`None`), effective at once.
pub async fn change_token(
    state: &AppState,
    caller: &Caller,
    key: EndpointKey,
    token: TokenKey,
    rename: Option<&str>,
) -> Result<EndpointRecord, Error> {
    require_admin(caller)?;
    let endpoint = find(state, caller, key).await?;
    let token = token_of(&endpoint, token)?;
    let rename = rename.map(|n| DisplayName::parse(n).field("name")).transpose()?;
    let (event_type, data) = match &rename {
        Some(name) => {
            (types::SIGNAL_ENDPOINT_TOKEN_UPDATED, json!({ "id": token.id, "name": name, "endpoint_id": endpoint.id }))
        }
        None => (
            types::SIGNAL_ENDPOINT_TOKEN_REVOKED,
            json!({ "id": token.id, "name": token.name, "endpoint_id": endpoint.id }),
        ),
    };
    let changed = event(caller, event_type, data, state);
    store::change_token(&state.db, endpoint.id, token.id, rename.as_ref().map(DisplayName::as_str), &changed).await?;
    state.signals.config_changed(&state.db).await;
    find(state, caller, EndpointKey::Id(endpoint.id)).await
}
