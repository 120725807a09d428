//! `/v1/webhooks` and `/v1/event-types` (admin, except the catalogue).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use serde_json::value::RawValue;
use signalbox_core::event_types::{CATALOGUE, names};
use signalbox_core::{Role, Timestamp, new_id};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::model::{Delivery, DeliveryDetail, DeliveryStatus, Webhook, WebhookIn, WebhookPatch, WebhookRecord};
use super::store::{self, DeliveryQuery, Redelivery};
use super::validation;
use crate::Error;
use crate::auth::model::Caller;
use crate::events::NewEvent;
use crate::http::{ApiJson, ApiPath, CursorPage, PageRequest, Paginated, Patch};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(get_delivery))
        .routes(routes!(redeliver))
        .routes(routes!(recover))
        .routes(routes!(send_test))
        .routes(routes!(list_event_types))
}

fn api(state: &AppState, webhook: &WebhookRecord) -> Webhook {
    webhook.to_api(&state.config.webhooks.webhook_retry_schedule.to_strings())
}

fn event(state: &AppState, caller: &Caller, event_type: &'static str, data: serde_json::Value) -> NewEvent {
    NewEvent::new(caller.workspace_id, event_type, Some(caller.principal_id), data, state.clock.now())
}

async fn find(state: &AppState, caller: &Caller, id: Uuid) -> Result<WebhookRecord, Error> {
    caller.require(Role::Admin)?;
    store::find(&state.db, caller.workspace_id, id)
        .await?
        .ok_or_else(|| Error::not_found("no webhook with this id in the workspace"))
}

/// Register a webhook (admin). The secret is stored encrypted and never shown again.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = WebhookIn,
    responses((status = 201, body = Webhook)))]
async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<WebhookIn>,
) -> Result<(StatusCode, Json<Webhook>), Error> {
    caller.require(Role::Admin)?;
    let name = validation::name(&body.name)?;
    let url = validation::url(&state.webhooks.destinations, &body.url).await?;
    let secret = body.secret.as_deref().map(validation::secret).transpose()?;
    let events = validation::events(body.events.unwrap_or_default())?;
    let retry_schedule = body.retry_schedule.map(validation::retry_schedule).transpose()?;
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
        enabled: body.enabled.unwrap_or(true),
        retry_schedule,
        created_at: now,
        updated_at: now,
        last_success_at: None,
        last_failure_at: None,
        consecutive_failures: 0,
        disabled_reason: None,
    };
    let created = event(&state, &caller, names::WEBHOOK_CREATED, json!({ "id": id, "name": webhook.name }));
    store::create(&state.db, &webhook, caller.principal_id, &created).await?;
    Ok((StatusCode::CREATED, Json(api(&state, &webhook))))
}

/// The workspace's webhooks, oldest first (admin).
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", params(PageRequest),
    responses((status = 200, body = Paginated<Webhook>)))]
async fn list_webhooks(
    State(state): State<AppState>,
    caller: Caller,
    page: PageRequest,
) -> Result<Json<Paginated<Webhook>>, Error> {
    caller.require(Role::Admin)?;
    let (webhooks, total) = store::list(&state.db, caller.workspace_id, page).await?;
    Ok(Json(Paginated::new(webhooks.iter().map(|w| api(&state, w)).collect(), total, page)))
}

/// One webhook (admin).
#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 200, body = Webhook)))]
async fn get_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Webhook>, Error> {
    Ok(Json(api(&state, &find(&state, &caller, id).await?)))
}

/// Change a webhook (admin). Absent fields are unchanged. A new `secret` signs at once while
/// the old one keeps signing too for the grace period; `secret: null` stops signing.
/// `enabled: false` cancels pending deliveries.
#[utoipa::path(put, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    request_body = WebhookPatch, responses((status = 200, body = Webhook)))]
async fn update_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<WebhookPatch>,
) -> Result<Json<Webhook>, Error> {
    let mut webhook = find(&state, &caller, id).await?;
    let was_enabled = webhook.enabled;
    let now = state.clock.now();
    if let Some(name) = patch.name.not_null("name")? {
        webhook.name = validation::name(&name)?;
    }
    if let Some(url) = patch.url.not_null("url")? {
        webhook.url = validation::url(&state.webhooks.destinations, &url).await?;
    }
    match patch.secret {
        Patch::Absent => {}
        Patch::Null => {
            webhook.secret = None;
            webhook.previous_secret = None;
            webhook.previous_secret_until = None;
        }
        Patch::Value(secret) => {
            let secret = validation::secret(&secret)?;
            webhook.previous_secret = webhook.secret.take();
            webhook.previous_secret_until =
                webhook.previous_secret.as_ref().map(|_| now.plus(state.config.webhooks.webhook_secret_grace));
            webhook.secret = Some(state.webhooks.secrets.seal(id, &secret));
        }
    }
    if let Some(events) = patch.events.not_null("events")? {
        webhook.events = validation::events(events)?;
    }
    match patch.retry_schedule {
        Patch::Absent => {}
        Patch::Null => webhook.retry_schedule = None,
        Patch::Value(list) => webhook.retry_schedule = Some(validation::retry_schedule(list)?),
    }
    if let Some(enabled) = patch.enabled.not_null("enabled")? {
        webhook.enabled = enabled;
        if enabled {
            webhook.disabled_reason = None;
        }
    }
    webhook.updated_at = now;
    let data = json!({ "id": id, "name": webhook.name, "enabled": webhook.enabled });
    let changed = event(&state, &caller, names::WEBHOOK_UPDATED, data);
    if !store::update(&state.db, &webhook, was_enabled, &changed).await? {
        return Err(Error::not_found("no webhook with this id in the workspace"));
    }
    Ok(Json(api(&state, &find(&state, &caller, id).await?)))
}

/// Delete a webhook with its delivery log; its pending deliveries stop (admin).
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 204, description = "Deleted")))]
async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, Error> {
    let webhook = find(&state, &caller, id).await?;
    let deleted = event(&state, &caller, names::WEBHOOK_DELETED, json!({ "id": id, "name": webhook.name }));
    if !store::delete(&state.db, caller.workspace_id, id, &deleted).await? {
        return Err(Error::not_found("no webhook with this id in the workspace"));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DeliveryListQuery {
    /// Items per page, 1–100 (default 50).
    pub limit: Option<String>,
    /// Offset paging: items to skip. Not with `before`.
    pub offset: Option<String>,
    /// Cursor paging: the `next_cursor` of the previous page. Answers without `total`.
    pub before: Option<String>,
    /// `pending`, `succeeded`, `dead` or `cancelled`.
    pub status: Option<String>,
    /// Only deliveries of this event type.
    pub event_type: Option<String>,
}

/// Either page shape, as the query asked.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum DeliveryPage {
    Offset(Paginated<Delivery>),
    Cursor(CursorPage<Delivery>),
}

/// A webhook's deliveries, newest first (admin): offset pages, or cursor pages with `?before=`.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = Uuid, Path), DeliveryListQuery), responses((status = 200, body = DeliveryPage)))]
async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    Query(query): Query<DeliveryListQuery>,
) -> Result<Json<DeliveryPage>, Error> {
    let webhook = find(&state, &caller, id).await?;
    let page = PageRequest::parse(query.limit.as_deref(), query.offset.as_deref())?;
    let status = query
        .status
        .as_deref()
        .map(|s| {
            DeliveryStatus::parse(s)
                .ok_or_else(|| Error::invalid_field("status", "must be pending, succeeded, dead or cancelled"))
        })
        .transpose()?;
    let before = crate::http::before_cursor(query.before.as_deref(), query.offset.as_deref())?;
    let fetch = if before.is_some() { page.limit + 1 } else { page.limit };
    let delivery_query = DeliveryQuery {
        webhook_id: webhook.id,
        status,
        event_type: query.event_type.as_deref(),
        before,
        limit: fetch,
        offset: page.offset,
    };
    let (deliveries, total) = store::list_deliveries(&state.db, delivery_query).await?;
    if before.is_some() {
        return Ok(Json(DeliveryPage::Cursor(CursorPage::from_overfetch(deliveries, page.limit, |d| {
            d.seq.to_string()
        }))));
    }
    Ok(Json(DeliveryPage::Offset(Paginated::new(deliveries, total, page))))
}

/// One delivery with every attempt (admin).
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries/{delivery_id}", tag = "webhooks",
    params(("id" = Uuid, Path), ("delivery_id" = Uuid, Path)), responses((status = 200, body = DeliveryDetail)))]
async fn get_delivery(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, delivery_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<DeliveryDetail>, Error> {
    let webhook = find(&state, &caller, id).await?;
    let (delivery, attempts) = store::find_delivery(&state.db, webhook.id, delivery_id)
        .await?
        .ok_or_else(|| Error::not_found("no delivery with this id for the webhook"))?;
    Ok(Json(DeliveryDetail { delivery, attempt_log: attempts }))
}

/// Deliver again (admin): the delivery becomes `pending` with the same id (receivers can
/// still drop duplicates by `webhook-id`), a fresh retry schedule, and its attempts appended.
#[utoipa::path(post, path = "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "webhooks",
    params(("id" = Uuid, Path), ("delivery_id" = Uuid, Path)), responses((status = 202, body = Delivery),
    (status = 409, body = crate::error::Problem, content_type = "application/problem+json",
        description = "The delivery is still pending, or the webhook is disabled")))]
async fn redeliver(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, delivery_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<(StatusCode, Json<Delivery>), Error> {
    let webhook = find(&state, &caller, id).await?;
    let (delivery, _) = store::find_delivery(&state.db, webhook.id, delivery_id)
        .await?
        .ok_or_else(|| Error::not_found("no delivery with this id for the webhook"))?;
    require_enabled(&webhook)?;
    if delivery.status == DeliveryStatus::Pending {
        return Err(Error::conflict("the delivery is still pending"));
    }
    store::redeliver(&state.db, webhook.id, Redelivery::One(delivery_id), state.clock.now()).await?;
    let (delivery, _) = store::find_delivery(&state.db, webhook.id, delivery_id)
        .await?
        .ok_or_else(|| Error::not_found("no delivery with this id for the webhook"))?;
    Ok((StatusCode::ACCEPTED, Json(delivery)))
}

fn require_enabled(webhook: &WebhookRecord) -> Result<(), Error> {
    if webhook.enabled { Ok(()) } else { Err(Error::conflict("the webhook is disabled; enable it first")) }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverIn {
    /// Redeliver every `dead` delivery created at or after this time (RFC 3339).
    pub since: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Recovered {
    /// How many dead deliveries are pending again.
    pub redelivered: u64,
}

/// Redeliver every dead delivery since a time (admin), e.g. after fixing a receiver.
#[utoipa::path(post, path = "/v1/webhooks/{id}/recover", tag = "webhooks", params(("id" = Uuid, Path)),
    request_body = RecoverIn, responses((status = 202, body = Recovered)))]
async fn recover(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<RecoverIn>,
) -> Result<(StatusCode, Json<Recovered>), Error> {
    let webhook = find(&state, &caller, id).await?;
    let since = Timestamp::parse(&body.since)
        .map_err(|_| Error::invalid_field("since", "must be an RFC 3339 time, e.g. 2026-11-29T12:00:00Z"))?;
    require_enabled(&webhook)?;
    let redelivered = store::redeliver(&state.db, webhook.id, Redelivery::DeadSince(since), state.clock.now()).await?;
    Ok((StatusCode::ACCEPTED, Json(Recovered { redelivered })))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TestSent {
    pub event_id: Uuid,
    /// Follow it at `GET /v1/webhooks/{id}/deliveries/{delivery_id}`.
    pub delivery_id: Uuid,
}

/// Send a `webhook.test` event to this webhook only (admin).
#[utoipa::path(post, path = "/v1/webhooks/{id}/test", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 202, body = TestSent)))]
async fn send_test(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<(StatusCode, Json<TestSent>), Error> {
    let webhook = find(&state, &caller, id).await?;
    require_enabled(&webhook)?;
    let data = json!({ "webhook_id": id, "message": "This is a test event from Signalbox." });
    let test = event(&state, &caller, names::WEBHOOK_TEST, data);
    let delivery_id = store::send_test(&state.db, id, &test).await?;
    Ok((StatusCode::ACCEPTED, Json(TestSent { event_id: test.id, delivery_id })))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventTypeOut {
    pub name: &'static str,
    pub description: &'static str,
    /// Whether a webhook may list it in `events`.
    pub subscribable: bool,
    /// Whether `[]` / `["*"]` selects it.
    pub in_wildcard: bool,
    /// JSON Schema of the event's `data`.
    #[schema(value_type = Object)]
    pub schema: Box<RawValue>,
    #[schema(value_type = Object)]
    pub example: Box<RawValue>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventTypeList {
    pub data: Vec<EventTypeOut>,
}

/// The event catalogue: every type, its data schema and an example (any member).
#[utoipa::path(get, path = "/v1/event-types", tag = "webhooks", responses((status = 200, body = EventTypeList)))]
async fn list_event_types(caller: Caller) -> Result<Json<EventTypeList>, Error> {
    caller.require(Role::Viewer)?;
    let raw = |text: &str| RawValue::from_string(text.to_owned()).map_err(|e| Error::internal(anyhow::anyhow!(e)));
    let data = CATALOGUE
        .iter()
        .map(|t| {
            Ok(EventTypeOut {
                name: t.name,
                description: t.description,
                subscribable: t.subscribable,
                in_wildcard: t.in_wildcard,
                schema: raw(t.schema)?,
                example: raw(t.example)?,
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok(Json(EventTypeList { data }))
}
