//! `/v1/webhooks` and `/v1/event-types` (admin, except the catalogue).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use signalbox_core::Role;
use signalbox_core::event_types::CATALOGUE;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::model::{Delivery, DeliveryDetail, DeliveryStatus, Webhook, WebhookIn, WebhookPatch, WebhookRecord};
use super::operations::{self, Report};
use super::store::{self, DeliveryQuery};
use crate::Error;
use crate::auth::model::Caller;
use crate::http::{ApiJson, ApiPath, CursorPage, PageRequest, Paginated};
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

/// Register a webhook (admin). The secret is stored encrypted and never shown again.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = WebhookIn,
    responses((status = 201, body = Webhook)))]
async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<WebhookIn>,
) -> Result<(StatusCode, Json<Webhook>), Error> {
    let webhook = operations::create(&state, &caller, body, Report::FirstError).await?;
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
    Ok(Json(api(&state, &operations::find(&state, &caller, id).await?)))
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
    let webhook = operations::update(&state, &caller, id, patch, Report::FirstError).await?;
    Ok(Json(api(&state, &webhook)))
}

/// Delete a webhook with its delivery log; its pending deliveries stop (admin).
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 204, description = "Deleted")))]
async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, Error> {
    operations::delete(&state, &caller, id).await?;
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
    let webhook = operations::find(&state, &caller, id).await?;
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
    let webhook = operations::find(&state, &caller, id).await?;
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
    let delivery = operations::redeliver(&state, &caller, id, delivery_id).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)))
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
    let redelivered = operations::recover(&state, &caller, id, &body.since).await?;
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
    let (event_id, delivery_id) = operations::send_test(&state, &caller, id).await?;
    Ok((StatusCode::ACCEPTED, Json(TestSent { event_id, delivery_id })))
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
