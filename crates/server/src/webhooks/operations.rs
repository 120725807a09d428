//! What the `/v1/webhooks` routes and the admin UI's webhook pages both do: one
//! implementation of each change, with the admin rule, validation, the stored record and its
//! event.

use serde_json::json;
use signalbox_core::event_types::names;
use signalbox_core::{Role, Timestamp, new_id};
use uuid::Uuid;

use super::model::{Delivery, DeliveryStatus, WebhookIn, WebhookPatch, WebhookRecord};
use super::store::{self, Redelivery};
use super::validation;
use crate::Error;
use crate::auth::model::Caller;
use crate::error::FieldError;
use crate::events::NewEvent;
use crate::http::Patch;
use crate::state::AppState;

/// Which field errors a 422 from [`create`] or [`update`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// Only the first wrong field, in the order the fields are checked (the JSON API).
    FirstError,
    /// Every wrong field at once (forms, which show each error next to its field).
    EveryField,
}

/// Collects validation results so every field is checked, then reports as asked.
struct Checks {
    report: Report,
    first: Option<Error>,
    fields: Vec<FieldError>,
}

impl Checks {
    fn new(report: Report) -> Self {
        Self { report, first: None, fields: Vec::new() }
    }

    /// Whether a further (costly) check can change the outcome: with [`Report::FirstError`],
    /// not once a field is wrong (the URL check resolves names; the API never ran it then).
    fn wanted(&self) -> bool {
        self.report == Report::EveryField || self.first.is_none()
    }

    fn keep<T>(&mut self, result: Result<T, Error>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.fields.extend(error.problem().errors);
                self.first.get_or_insert(error);
                None
            }
        }
    }

    fn finish(self) -> Result<(), Error> {
        match self.first {
            None => Ok(()),
            Some(first) if self.report == Report::FirstError || self.fields.is_empty() => Err(first),
            Some(_) => Err(Error::invalid_fields(self.fields)),
        }
    }
}

fn event(state: &AppState, caller: &Caller, event_type: &'static str, data: serde_json::Value) -> NewEvent {
    NewEvent::new(caller.workspace_id, event_type, Some(caller.principal_id), data, state.clock.now())
}

fn not_found() -> Error {
    Error::not_found("no webhook with this id in the workspace")
}

fn delivery_not_found() -> Error {
    Error::not_found("no delivery with this id for the webhook")
}

/// The webhook, for an admin of its workspace.
pub async fn find(state: &AppState, caller: &Caller, id: Uuid) -> Result<WebhookRecord, Error> {
    caller.require(Role::Admin)?;
    store::find(&state.db, caller.workspace_id, id).await?.ok_or_else(not_found)
}

fn require_enabled(webhook: &WebhookRecord) -> Result<(), Error> {
    if webhook.enabled { Ok(()) } else { Err(Error::conflict("the webhook is disabled; enable it first")) }
}

/// Registers a webhook (admin). The secret is stored encrypted.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    input: WebhookIn,
    report: Report,
) -> Result<WebhookRecord, Error> {
    caller.require(Role::Admin)?;
    let mut checks = Checks::new(report);
    let name = checks.keep(validation::name(&input.name));
    let url = if checks.wanted() {
        checks.keep(validation::url(&state.webhooks.destinations, &input.url).await)
    } else {
        None
    };
    let secret = checks.keep(input.secret.as_deref().map(validation::secret).transpose());
    let events = checks.keep(validation::events(input.events.unwrap_or_default()));
    let retry_schedule = checks.keep(input.retry_schedule.map(validation::retry_schedule).transpose());
    checks.finish()?;
    let (Some(name), Some(url), Some(secret), Some(events), Some(retry_schedule)) =
        (name, url, secret, events, retry_schedule)
    else {
        // `finish` refused above unless every check passed; a guard, never a panic.
        return Err(Error::internal(anyhow::anyhow!("a webhook check passed without its value")));
    };
    let id = new_id();
    let now = state.clock.now();
    let webhook = WebhookRecord {
        id,
        workspace_id: caller.workspace_id,
        name,
        url,
        secret: secret.map(|s| state.webhooks.secrets.seal(id, &s)),
        previous_secret: None,
        previous_secret_until: None,
        events,
        enabled: input.enabled.unwrap_or(true),
        retry_schedule,
        created_at: now,
        updated_at: now,
        last_success_at: None,
        last_failure_at: None,
        consecutive_failures: 0,
        disabled_reason: None,
    };
    let created = event(state, caller, names::WEBHOOK_CREATED, json!({ "id": id, "name": webhook.name }));
    store::create(&state.db, &webhook, caller.principal_id, &created).await?;
    Ok(webhook)
}

/// Changes a webhook (admin); absent fields are unchanged. A new secret signs at once while
/// the old one keeps signing for the grace period; a null secret stops signing. Returns the
/// webhook as stored afterwards.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    patch: WebhookPatch,
    report: Report,
) -> Result<WebhookRecord, Error> {
    let mut webhook = find(state, caller, id).await?;
    let mut checks = Checks::new(report);
    let name = checks.keep(patch.name.not_null("name")).flatten().and_then(|name| checks.keep(validation::name(&name)));
    let url = match checks.keep(patch.url.not_null("url")).flatten() {
        Some(url) if checks.wanted() => checks.keep(validation::url(&state.webhooks.destinations, &url).await),
        _ => None,
    };
    let secret = match patch.secret {
        Patch::Absent => Patch::Absent,
        Patch::Null => Patch::Null,
        Patch::Value(secret) => checks.keep(validation::secret(&secret)).map_or(Patch::Absent, Patch::Value),
    };
    let events = checks
        .keep(patch.events.not_null("events"))
        .flatten()
        .and_then(|events| checks.keep(validation::events(events)));
    let retry_schedule = match patch.retry_schedule {
        Patch::Absent => Patch::Absent,
        Patch::Null => Patch::Null,
        Patch::Value(list) => checks.keep(validation::retry_schedule(list)).map_or(Patch::Absent, Patch::Value),
    };
    let enabled = checks.keep(patch.enabled.not_null("enabled")).flatten();
    checks.finish()?;

    let was_enabled = webhook.enabled;
    let now = state.clock.now();
    if let Some(name) = name {
        webhook.name = name;
    }
    if let Some(url) = url {
        webhook.url = url;
    }
    match secret {
        Patch::Absent => {}
        Patch::Null => {
            webhook.secret = None;
            webhook.previous_secret = None;
            webhook.previous_secret_until = None;
        }
        Patch::Value(secret) => {
            webhook.previous_secret = webhook.secret.take();
            webhook.previous_secret_until =
                webhook.previous_secret.as_ref().map(|_| now.plus(state.config.webhooks.webhook_secret_grace));
            webhook.secret = Some(state.webhooks.secrets.seal(id, &secret));
        }
    }
    if let Some(events) = events {
        webhook.events = events;
    }
    match retry_schedule {
        Patch::Absent => {}
        Patch::Null => webhook.retry_schedule = None,
        Patch::Value(list) => webhook.retry_schedule = Some(list),
    }
    if let Some(enabled) = enabled {
        webhook.enabled = enabled;
        if enabled {
            webhook.disabled_reason = None;
        }
    }
    webhook.updated_at = now;
    let data = json!({ "id": id, "name": webhook.name, "enabled": webhook.enabled });
    let changed = event(state, caller, names::WEBHOOK_UPDATED, data);
    if !store::update(&state.db, &webhook, was_enabled, &changed).await? {
        return Err(not_found());
    }
    find(state, caller, id).await
}

/// Deletes a webhook with its delivery log; its pending deliveries stop (admin).
pub async fn delete(state: &AppState, caller: &Caller, id: Uuid) -> Result<(), Error> {
    let webhook = find(state, caller, id).await?;
    let deleted = event(state, caller, names::WEBHOOK_DELETED, json!({ "id": id, "name": webhook.name }));
    if !store::delete(&state.db, caller.workspace_id, id, &deleted).await? {
        return Err(not_found());
    }
    Ok(())
}

/// Sends a `webhook.test` event to this webhook only (admin; 409 when it is disabled).
/// Returns the event's id and the delivery's id.
pub async fn send_test(state: &AppState, caller: &Caller, id: Uuid) -> Result<(Uuid, Uuid), Error> {
    let webhook = find(state, caller, id).await?;
    require_enabled(&webhook)?;
    let data = json!({ "webhook_id": id, "message": "This is a test event from Signalbox." });
    let test = event(state, caller, names::WEBHOOK_TEST, data);
    let delivery_id = store::send_test(&state.db, id, &test).await?;
    Ok((test.id, delivery_id))
}

/// Redelivers every dead delivery created at or after `since_text` (RFC 3339) (admin; 422 for
/// a bad time, 409 when the webhook is disabled). Returns how many are pending again.
pub async fn recover(state: &AppState, caller: &Caller, id: Uuid, since_text: &str) -> Result<u64, Error> {
    let webhook = find(state, caller, id).await?;
    let since = Timestamp::parse(since_text)
        .map_err(|_| Error::invalid_field("since", "must be an RFC 3339 time, e.g. 2026-11-29T12:00:00Z"))?;
    require_enabled(&webhook)?;
    store::redeliver(&state.db, webhook.id, Redelivery::DeadSince(since), state.clock.now()).await
}

/// Delivers again (admin): the delivery becomes `pending` with the same id, a fresh retry
/// schedule and its attempts kept (409 when it is still pending or the webhook is disabled).
/// Returns the delivery afterwards.
pub async fn redeliver(state: &AppState, caller: &Caller, id: Uuid, delivery_id: Uuid) -> Result<Delivery, Error> {
    let webhook = find(state, caller, id).await?;
    let (delivery, _) =
        store::find_delivery(&state.db, webhook.id, delivery_id).await?.ok_or_else(delivery_not_found)?;
    require_enabled(&webhook)?;
    if delivery.status == DeliveryStatus::Pending {
        return Err(Error::conflict("the delivery is still pending"));
    }
    store::redeliver(&state.db, webhook.id, Redelivery::One(delivery_id), state.clock.now()).await?;
    let (delivery, _) =
        store::find_delivery(&state.db, webhook.id, delivery_id).await?.ok_or_else(delivery_not_found)?;
    Ok(delivery)
}
