//! Webhooks: list with health, create/edit, test event, deliveries, attempts, redeliver, recover.
//!
//! Every write is the JSON API's own operation (`webhooks::operations`), with its rule
//! (owners and admins only), validation, record and event; forms ask it for every field
//! error at once, to show each next to its field.
//! Forms are read as ordered pairs (the event picker repeats `events`).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use signalbox_core::Timestamp;
use signalbox_core::event_types::{CATALOGUE, WILDCARD, names};
use uuid::Uuid;

use super::constraints::Fields;
use super::layout::{Section, csrf_field, form_error, general_error, page, text_input};
use super::session::{PostedForm, UiSession};
use crate::Error;
use crate::error::FieldError;
use crate::http::{PageRequest, Patch};
use crate::state::AppState;
use crate::webhooks::model::{Attempt, Delivery, DeliveryStatus, WebhookIn, WebhookPatch, WebhookRecord};
use crate::webhooks::operations::{self, Report};
use crate::webhooks::store::{self, DeliveryQuery};

/// Webhooks and deliveries per page.
const PAGE: i64 = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/webhooks", get(list).post(create))
        .route("/ui/webhooks/{id}", get(show).post(update))
        .route("/ui/webhooks/{id}/test", post(send_test))
        .route("/ui/webhooks/{id}/recover", post(recover))
        .route("/ui/webhooks/{id}/delete", post(delete))
        .route("/ui/webhooks/{id}/deliveries", get(deliveries))
        .route("/ui/webhooks/{id}/deliveries/{delivery_id}", get(delivery))
        .route("/ui/webhooks/{id}/deliveries/{delivery_id}/redeliver", post(redeliver))
}

const ADMIN_ONLY: &str = "Webhooks are managed by owners and admins; ask one of them for access.";

/// What the create/edit form holds (to show again after an error).
#[derive(Default)]
struct WebhookInput {
    name: String,
    url: String,
    secret: String,
    remove_secret: bool,
    events: Vec<String>,
    retry_schedule: String,
    enabled: bool,
}

impl WebhookInput {
    fn from_form(form: &Fields) -> Self {
        Self {
            name: form.text("name"),
            url: form.text("url"),
            secret: form.text("secret"),
            remove_secret: form.get("remove_secret").is_some(),
            events: form.all("events").filter(|e| !e.is_empty()).map(str::to_owned).collect(),
            retry_schedule: form.text("retry_schedule"),
            enabled: form.get("enabled").is_some(),
        }
    }

    fn from_record(webhook: &WebhookRecord) -> Self {
        Self {
            name: webhook.name.clone(),
            url: webhook.url.clone(),
            secret: String::new(),
            remove_secret: false,
            events: webhook.events.clone(),
            retry_schedule: webhook.retry_schedule.as_deref().map(|s| s.join(", ")).unwrap_or_default(),
            enabled: webhook.enabled,
        }
    }

    fn new_form() -> Self {
        Self { enabled: true, ..Self::default() }
    }

    /// The retry schedule's entries; none means the server's default.
    fn retry_entries(&self) -> Option<Vec<String>> {
        let entries: Vec<String> =
            self.retry_schedule.split(',').map(str::trim).filter(|e| !e.is_empty()).map(str::to_owned).collect();
        (!entries.is_empty()).then_some(entries)
    }

    /// As `POST /v1/webhooks` would receive it (an empty secret is none).
    fn to_new(&self) -> WebhookIn {
        WebhookIn {
            name: self.name.clone(),
            url: self.url.clone(),
            secret: (!self.secret.is_empty()).then(|| self.secret.clone()),
            events: Some(self.events.clone()),
            retry_schedule: self.retry_entries(),
            enabled: Some(self.enabled),
        }
    }

    /// As `PUT /v1/webhooks/{id}` would receive it with every field given: an empty secret
    /// keeps the current one unless "remove" is ticked; an empty schedule is the default.
    fn to_patch(&self) -> WebhookPatch {
        let secret = match (self.secret.is_empty(), self.remove_secret) {
            (false, _) => Patch::Value(self.secret.clone()),
            (true, true) => Patch::Null,
            (true, false) => Patch::Absent,
        };
        WebhookPatch {
            name: Patch::Value(self.name.clone()),
            url: Patch::Value(self.url.clone()),
            secret,
            events: Patch::Value(self.events.clone()),
            enabled: Patch::Value(self.enabled),
            retry_schedule: self.retry_entries().map_or(Patch::Null, Patch::Value),
        }
    }
}

/// The API's field errors, named as the form's fields are (`events[2]` is `events`).
fn field_errors(error: &Error) -> Vec<FieldError> {
    error
        .problem()
        .errors
        .into_iter()
        .map(|e| match e.field.split_once('[') {
            Some((field, index)) => {
                let entry = index.trim_end_matches(']').parse::<usize>().map(|i| i + 1).unwrap_or(0);
                FieldError { field: field.to_owned(), message: format!("entry {entry}: {}", e.message) }
            }
            None => e,
        })
        .collect()
}

/// The webhook, for an admin of its workspace.
async fn find(state: &AppState, session: &UiSession, id: Uuid) -> Result<WebhookRecord, Error> {
    operations::find(state, &session.caller, id).await
}

fn time(at: Option<Timestamp>, none: &'static str) -> Markup {
    html! {
        @match at {
            Some(at) => time datetime=(at.to_string()) { (at.to_string()) },
            None => (none),
        }
    }
}

fn state_text(webhook: &WebhookRecord) -> Markup {
    html! {
        @if webhook.enabled { "enabled" } @else {
            "disabled"
            @if let Some(reason) = &webhook.disabled_reason { " by the server: " (reason) }
        }
    }
}

fn event_picker(selected: &[String], errors: &[FieldError]) -> Markup {
    let error = errors.iter().find(|e| e.field == "events");
    let ticked = |name: &str| selected.iter().any(|s| s == name);
    let specific = selected.iter().any(|s| s != WILDCARD);
    let subscribable = CATALOGUE.iter().filter(|t| t.subscribable).count();
    html! {
        fieldset #events aria-describedby=[error.map(|_| "events-error")] {
            legend { "Events" }
            p.hint #events-hint {
                "Leave every box unticked, or tick \u{201c}Every type\u{201d}, to receive every deliverable type except "
                code { (names::SIGNAL_RECEIVED) } " and " code { (names::SIGNAL_CAPTURED) }
                ": those two are high-volume and are delivered only when ticked explicitly."
            }
            div.check {
                input type="checkbox" id="event-all" name="events" value=(WILDCARD) checked[ticked(WILDCARD)];
                " "
                label for="event-all" { "Every type (" code { "*" } ")" }
            }
            details #event-types open[specific || error.is_some()] {
                summary { "Choose event types (" (subscribable) " in the catalogue)" }
                div style="columns: 2 24rem; margin-top: 0.5rem" {
                    @for t in CATALOGUE.iter().filter(|t| t.subscribable) {
                        @let id = format!("event-{}", t.name.replace(['.', '_'], "-"));
                        div.check style="break-inside: avoid" {
                            input type="checkbox" id=(id) name="events" value=(t.name) checked[ticked(t.name)];
                            " "
                            label for=(id) {
                                code { (t.name) } " \u{2014} " (t.description)
                                @if !t.in_wildcard { " " strong { "(only when ticked)" } }
                            }
                        }
                    }
                }
            }
            @if let Some(error) = error {
                p.error id="events-error" { (error.message) }
            }
        }
    }
}

/// The fields create and edit share.
fn webhook_fields(state: &AppState, input: &WebhookInput, errors: &[FieldError], editing: bool) -> Markup {
    let default_schedule = state.config.webhooks.webhook_retry_schedule.to_strings().join(", ");
    let secret_label = if editing {
        "New signing secret (leave empty to keep the current one)"
    } else {
        "Signing secret (optional; without one, deliveries are not signed)"
    };
    html! {
        (text_input("webhook-name", "name", "Name", &input.name, errors, true))
        (text_input("webhook-url", "url", "URL (http or https)", &input.url, errors, true))
        (text_input("webhook-secret", "secret", secret_label, "", errors, false))
        @if editing {
            div.check {
                input type="checkbox" id="webhook-remove-secret" name="remove_secret" value="1" checked[input.remove_secret];
                label for="webhook-remove-secret" { "Stop signing (remove the secret)" }
            }
        }
        (text_input("webhook-retry", "retry_schedule",
            &format!("Retry schedule: comma-separated delays, e.g. 5s, 1m, 10m (empty: the server's default, {default_schedule})"),
            &input.retry_schedule, errors, false))
        (event_picker(&input.events, errors))
        div.check {
            input type="checkbox" id="webhook-enabled" name="enabled" value="1" checked[input.enabled];
            label for="webhook-enabled" { "Enabled (disabling cancels pending deliveries)" }
        }
    }
}

fn list_page(
    state: &AppState,
    session: &UiSession,
    webhooks: &[WebhookRecord],
    input: &WebhookInput,
    errors: &[FieldError],
) -> Markup {
    page(
        session,
        Section::Webhooks,
        "Webhooks",
        html! {
            p.lead { "Signalbox POSTs every matching event to each enabled webhook, signed, retried on a schedule, and logged attempt by attempt." }
            @if !session.is_admin() {
                p.notice { (ADMIN_ONLY) }
            } @else {
                @if webhooks.is_empty() {
                    p.empty { "No webhooks yet. Create one below with the URL of your receiver, then send it a test event from its page." }
                } @else {
                    table #webhooks {
                        thead { tr {
                            th { "Name" } th { "URL" } th { "State" } th { "Last success" } th { "Last failure" } th { "Consecutive failures" }
                        } }
                        tbody {
                            @for w in webhooks {
                                tr {
                                    td { a href=(format!("/ui/webhooks/{}", w.id)) { (w.name) } }
                                    td { code { (w.url) } }
                                    td { (state_text(w)) }
                                    td { (time(w.last_success_at, "never")) }
                                    td { (time(w.last_failure_at, "never")) }
                                    td { (w.consecutive_failures) }
                                }
                            }
                        }
                    }
                }
                section {
                    h2 { "New webhook" }
                    @if !errors.is_empty() {
                        p.error role="alert" { "The webhook was not created: see the fields marked below." }
                    }
                    form #create-webhook method="post" action="/ui/webhooks" {
                        (csrf_field(session))
                        (webhook_fields(state, input, errors, false))
                        button type="submit" { "Create webhook" }
                    }
                }
            }
        },
    )
}

async fn webhooks_of(state: &AppState, session: &UiSession) -> Result<Vec<WebhookRecord>, Error> {
    if !session.is_admin() {
        return Ok(Vec::new());
    }
    let (webhooks, _) =
        store::list(&state.db, session.caller.workspace_id, PageRequest { limit: 100, offset: 0 }).await?;
    Ok(webhooks)
}

pub async fn list(State(state): State<AppState>, session: UiSession) -> Result<Markup, Error> {
    let webhooks = webhooks_of(&state, &session).await?;
    Ok(list_page(&state, &session, &webhooks, &WebhookInput::new_form(), &[]))
}

/// Creates as `POST /v1/webhooks` does; errors appear next to their fields (422).
pub async fn create(
    State(state): State<AppState>,
    PostedForm { session, fields: form }: PostedForm,
) -> Result<Response, Error> {
    let input = WebhookInput::from_form(&form);
    match operations::create(&state, &session.caller, input.to_new(), Report::EveryField).await {
        Ok(webhook) => Ok(Redirect::to(&format!("/ui/webhooks/{}", webhook.id)).into_response()),
        Err(error) if error.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            let errors = field_errors(&error);
            let webhooks = webhooks_of(&state, &session).await?;
            let markup = list_page(&state, &session, &webhooks, &input, &errors);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, markup).into_response())
        }
        Err(error) => Err(error),
    }
}

/// What a webhook page shows besides the webhook.
#[derive(Default)]
struct WebhookView<'a> {
    edit: Option<&'a WebhookInput>,
    edit_errors: &'a [FieldError],
    /// A confirmation (e.g. how many deliveries were recovered).
    message: Option<String>,
    /// An error of the test / recover actions.
    action_error: Option<String>,
    since: &'a str,
    since_errors: &'a [FieldError],
}

fn webhook_page(state: &AppState, session: &UiSession, webhook: &WebhookRecord, view: WebhookView<'_>) -> Markup {
    let from_record = WebhookInput::from_record(webhook);
    let input = view.edit.unwrap_or(&from_record);
    let base = format!("/ui/webhooks/{}", webhook.id);
    let schedule = webhook.to_api(&state.config.webhooks.webhook_retry_schedule.to_strings()).retry_schedule;
    let confirm = format!(
        "return confirm({})",
        serde_json::to_string(&format!(
            "Delete the webhook {} and its delivery log? This cannot be undone.",
            webhook.name
        ))
        .unwrap_or_default()
    );
    page(
        session,
        Section::Webhooks,
        &webhook.name,
        html! {
            p.lead {
                code { (webhook.url) } " · " (state_text(webhook)) " · "
                @if webhook.secret.is_some() { "signed" } @else { "not signed" }
                " · retries after " (schedule.join(", "))
            }
            @if let Some(message) = &view.message {
                p.notice role="status" { (message) }
            }
            (form_error(view.action_error.as_deref()))
            section #health {
                h2 { "Health" }
                table #webhook-health {
                    thead { tr { th { "Last success" } th { "Last failure" } th { "Consecutive failures" } th { "Disabled reason" } } }
                    tbody { tr {
                        td { (time(webhook.last_success_at, "never")) }
                        td { (time(webhook.last_failure_at, "never")) }
                        td { (webhook.consecutive_failures) }
                        td { (webhook.disabled_reason.as_deref().unwrap_or("none")) }
                    } }
                }
                p {
                    a href=(format!("{base}/deliveries")) { "See the deliveries" }
                }
                form #send-test method="post" action=(format!("{base}/test")) {
                    (csrf_field(session))
                    button type="submit" { "Send test event" }
                }
            }
            section {
                h2 { "Edit" }
                @if !view.edit_errors.is_empty() {
                    p.error role="alert" { "Nothing was changed: see the fields marked below." }
                }
                form #edit-webhook method="post" action=(base) {
                    (csrf_field(session))
                    (webhook_fields(state, input, view.edit_errors, true))
                    button type="submit" { "Save changes" }
                }
            }
            section {
                h2 { "Recover" }
                p { "After fixing the receiver, deliver again every dead delivery created since a time." }
                form #recover method="post" action=(format!("{base}/recover")) {
                    (csrf_field(session))
                    (text_input("recover-since", "since", "Since (RFC 3339, e.g. 2026-11-29T12:00:00Z)", view.since, view.since_errors, true))
                    button type="submit" { "Redeliver dead deliveries" }
                }
            }
            section {
                h2 { "Delete" }
                form #delete-webhook method="post" action=(format!("{base}/delete")) onsubmit=(confirm) {
                    (csrf_field(session))
                    button.danger type="submit" { "Delete webhook" }
                }
            }
        },
    )
}

/// A page saying the caller may not manage webhooks (no controls).
fn refused_page(session: &UiSession) -> Response {
    let markup = page(session, Section::Webhooks, "Webhooks", html! { p.notice { (ADMIN_ONLY) } });
    (StatusCode::FORBIDDEN, markup).into_response()
}

pub async fn show(State(state): State<AppState>, session: UiSession, Path(id): Path<Uuid>) -> Result<Response, Error> {
    if !session.is_admin() {
        return Ok(refused_page(&session));
    }
    let webhook = find(&state, &session, id).await?;
    Ok(webhook_page(&state, &session, &webhook, WebhookView::default()).into_response())
}

/// Changes a webhook as `PUT /v1/webhooks/{id}` does with every field given.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    PostedForm { session, fields: form }: PostedForm,
) -> Result<Response, Error> {
    let input = WebhookInput::from_form(&form);
    match operations::update(&state, &session.caller, id, input.to_patch(), Report::EveryField).await {
        Ok(_) => Ok(Redirect::to(&format!("/ui/webhooks/{id}")).into_response()),
        Err(error) if error.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            let errors = field_errors(&error);
            let view = WebhookView { edit: Some(&input), edit_errors: &errors, ..WebhookView::default() };
            shown_again(&state, &session, id, error.status(), view).await
        }
        Err(error) => Err(error),
    }
}

/// Sends a `webhook.test` event (as `POST /v1/webhooks/{id}/test`) and shows the deliveries.
pub async fn send_test(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    PostedForm { session, .. }: PostedForm,
) -> Result<Response, Error> {
    match operations::send_test(&state, &session.caller, id).await {
        Ok(_) => Ok(Redirect::to(&format!("/ui/webhooks/{id}/deliveries")).into_response()),
        Err(error) if error.status() == StatusCode::CONFLICT => {
            let view = WebhookView { action_error: general_error(Some(&error)), ..WebhookView::default() };
            shown_again(&state, &session, id, error.status(), view).await
        }
        Err(error) => Err(error),
    }
}

/// Redelivers every dead delivery since a time (as `POST /v1/webhooks/{id}/recover`).
pub async fn recover(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    PostedForm { session, fields: form }: PostedForm,
) -> Result<Response, Error> {
    let since_text = form.text("since");
    let result = operations::recover(&state, &session.caller, id, since_text.trim()).await;
    let (status, view_errors, view) = match result {
        Ok(count) => {
            let message = format!("{count} dead deliver{} pending again.", if count == 1 { "y is" } else { "ies are" });
            (StatusCode::OK, Vec::new(), WebhookView { message: Some(message), ..WebhookView::default() })
        }
        // A bad time (422) or a disabled webhook (409) is shown on the page, anything else
        // (not found, not allowed, a failure) as an error page.
        Err(error) if matches!(error.status(), StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY) => {
            let errors = error.problem().errors;
            let view = WebhookView { action_error: general_error(Some(&error)), ..WebhookView::default() };
            (error.status(), errors, view)
        }
        Err(error) => return Err(error),
    };
    let view = WebhookView { since: &since_text, since_errors: &view_errors, ..view };
    shown_again(&state, &session, id, status, view).await
}

/// The webhook's page again after a form on it, with what `view` says (an error, a message).
async fn shown_again(
    state: &AppState,
    session: &UiSession,
    id: Uuid,
    status: StatusCode,
    view: WebhookView<'_>,
) -> Result<Response, Error> {
    let webhook = find(state, session, id).await?;
    Ok((status, webhook_page(state, session, &webhook, view)).into_response())
}

/// Deletes a webhook with its delivery log (as `DELETE /v1/webhooks/{id}`).
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    PostedForm { session, .. }: PostedForm,
) -> Result<Response, Error> {
    operations::delete(&state, &session.caller, id).await?;
    Ok(Redirect::to("/ui/webhooks").into_response())
}

#[derive(Deserialize)]
pub struct DeliveriesQuery {
    status: Option<String>,
    offset: Option<String>,
}

const STATUSES: [DeliveryStatus; 4] =
    [DeliveryStatus::Pending, DeliveryStatus::Succeeded, DeliveryStatus::Dead, DeliveryStatus::Cancelled];

fn delivery_row(base: &str, d: &Delivery) -> Markup {
    html! {
        tr {
            td { a href=(format!("{base}/deliveries/{}", d.id)) { (d.event_type) } }
            td.status data-status=(d.status.as_str()) { (d.status.as_str()) }
            td { @match d.response_status { Some(s) => (s), None => "\u{2014}" } }
            td { (d.attempts) }
            td { (time(Some(d.created_at), "")) }
            td {
                @if let Some(at) = d.delivered_at { "delivered " (time(Some(at), "")) }
                @else if let Some(at) = d.next_attempt_at { "next attempt " (time(Some(at), "")) }
            }
        }
    }
}

/// A webhook's deliveries, newest first, filtered by status.
pub async fn deliveries(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<Uuid>,
    Query(query): Query<DeliveriesQuery>,
) -> Result<Response, Error> {
    if !session.is_admin() {
        return Ok(refused_page(&session));
    }
    let webhook = find(&state, &session, id).await?;
    let status_text = query.status.as_deref().filter(|s| !s.is_empty());
    // An unknown status (a hand-edited URL) is shown next to the filter; the list is unfiltered.
    let status = status_text.and_then(DeliveryStatus::parse);
    let status_invalid = status_text.is_some() && status.is_none();
    let page_request = PageRequest::parse(Some(&PAGE.to_string()), query.offset.as_deref())?;
    let delivery_query = DeliveryQuery {
        webhook_id: webhook.id,
        status,
        event_type: None,
        before: None,
        limit: page_request.limit,
        offset: page_request.offset,
    };
    let (list, total) = store::list_deliveries(&state.db, delivery_query).await?;
    let base = format!("/ui/webhooks/{}", webhook.id);
    let next_offset = page_request.offset + list.len() as i64;
    let status_param = status.map(|s| format!("status={}&", s.as_str())).unwrap_or_default();
    let markup = page(
        &session,
        Section::Webhooks,
        &format!("Deliveries of {}", webhook.name),
        html! {
            p.lead {
                a href=(base) { "Back to " (webhook.name) } " · " (total) " deliver" @if total == 1 { "y" } @else { "ies" }
                @if let Some(s) = status { " " (s.as_str()) }
            }
            form #filter-deliveries method="get" action=(format!("{base}/deliveries")) {
                div.field {
                    label for="delivery-status" { "Status" }
                    select id="delivery-status" name="status" aria-invalid=[status_invalid.then_some("true")]
                        aria-describedby=[status_invalid.then_some("delivery-status-error")] {
                        option value="" selected[status.is_none()] { "any" }
                        @for s in STATUSES {
                            option value=(s.as_str()) selected[status == Some(s)] { (s.as_str()) }
                        }
                    }
                    @if status_invalid {
                        p.error id="delivery-status-error" { "must be pending, succeeded, dead or cancelled" }
                    }
                }
                button type="submit" { "Filter" }
            }
            @if list.is_empty() {
                @if status.is_some() {
                    p.empty { "No deliveries with this status. Choose \u{201c}any\u{201d} to see them all." }
                } @else {
                    p.empty { "No deliveries yet. Send a test event from the webhook's page, or wait for an event it subscribes to." }
                }
                form method="post" action=(format!("{base}/test")) {
                    (csrf_field(&session))
                    button type="submit" { "Send test event" }
                }
            } @else {
                @if list.iter().any(|d| d.status == DeliveryStatus::Pending) {
                    p { "Some deliveries are still pending: " a href="" { "reload" } " to see how they end." }
                }
                table #deliveries {
                    thead { tr { th { "Event" } th { "Status" } th { "Response" } th { "Attempts" } th { "Created" } th { "Outcome" } } }
                    tbody { @for d in &list { (delivery_row(&base, d)) } }
                }
                @if next_offset < total {
                    p { a href=(format!("{base}/deliveries?{status_param}offset={next_offset}")) { "Older deliveries" } }
                }
            }
        },
    );
    let code = if status_invalid { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok((code, markup).into_response())
}

fn attempt_article(n: usize, a: &Attempt) -> Markup {
    html! {
        article.attempt {
            h3 { "Attempt " (n) }
            table.attempt-summary {
                thead { tr { th { "At" } th { "Response status" } th { "Duration" } th { "Error" } } }
                tbody { tr {
                    td { (time(Some(a.attempted_at), "")) }
                    td { @match a.response_status { Some(s) => (s), None => "no answer" } }
                    td { (a.duration_ms) " ms" }
                    td { @match &a.error { Some(error) => span.error { (error) }, None => "none" } }
                } }
            }
            @if let Some(body) = &a.response_body {
                h4 { "Response body (first 1 KiB)" }
                pre { (body) }
            }
        }
    }
}

async fn delivery_page(
    state: &AppState,
    session: &UiSession,
    id: Uuid,
    delivery_id: Uuid,
    error: Option<&Error>,
) -> Result<Markup, Error> {
    let webhook = find(state, session, id).await?;
    let (delivery, attempts) = store::find_delivery(&state.db, webhook.id, delivery_id)
        .await?
        .ok_or_else(|| Error::not_found("no delivery with this id for the webhook"))?;
    let base = format!("/ui/webhooks/{}", webhook.id);
    Ok(page(
        session,
        Section::Webhooks,
        &format!("Delivery of {}", delivery.event_type),
        html! {
            p.lead {
                a href=(format!("{base}/deliveries")) { "Back to the deliveries of " (webhook.name) }
            }
            (form_error(general_error(error).as_deref()))
            table #delivery {
                thead { tr { th { "Status" } th { "Attempts" } th { "Created" } th { "Delivered" } th { "Next attempt" } } }
                tbody { tr {
                    td.status data-status=(delivery.status.as_str()) { (delivery.status.as_str()) }
                    td { (delivery.attempts) }
                    td { (time(Some(delivery.created_at), "")) }
                    td { (time(delivery.delivered_at, "not yet")) }
                    td { (time(delivery.next_attempt_at, "none")) }
                } }
            }
            section #request {
                h2 { "Request" }
                p {
                    "POST " code { (webhook.url) } " with the event " code { (delivery.event_id) }
                    " as its JSON body. Request headers and bodies are not stored; every attempt carries "
                    code { "webhook-id: " (delivery.id) } ", " code { "webhook-timestamp" } " and, when the webhook is signed, "
                    code { "webhook-signature" } "."
                }
            }
            section #attempts {
                h2 { "Attempts" }
                @if attempts.is_empty() {
                    p.empty { "No attempt yet: the first one is due now. Reload in a moment." }
                }
                @for (i, a) in attempts.iter().enumerate() { (attempt_article(i + 1, a)) }
            }
            @if delivery.status != DeliveryStatus::Pending {
                form #redeliver method="post" action=(format!("{base}/deliveries/{}/redeliver", delivery.id)) {
                    (csrf_field(session))
                    button type="submit" { "Redeliver" }
                }
            }
        },
    ))
}

pub async fn delivery(
    State(state): State<AppState>,
    session: UiSession,
    Path((id, delivery_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, Error> {
    if !session.is_admin() {
        return Ok(refused_page(&session));
    }
    Ok(delivery_page(&state, &session, id, delivery_id, None).await?.into_response())
}

/// Delivers again (as `POST …/redeliver`): same id, fresh schedule, attempts appended.
pub async fn redeliver(
    State(state): State<AppState>,
    Path((id, delivery_id)): Path<(Uuid, Uuid)>,
    PostedForm { session, .. }: PostedForm,
) -> Result<Response, Error> {
    match operations::redeliver(&state, &session.caller, id, delivery_id).await {
        Ok(_) => Ok(Redirect::to(&format!("/ui/webhooks/{id}/deliveries/{delivery_id}")).into_response()),
        Err(error) if error.status() == StatusCode::CONFLICT => {
            let markup = delivery_page(&state, &session, id, delivery_id, Some(&error)).await?;
            Ok((error.status(), markup).into_response())
        }
        Err(error) => Err(error),
    }
}
