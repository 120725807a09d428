//! Signal endpoints (the seed's Integrations → Signals): the list with counters, create, an
//! endpoint's tokens (the secret shown once, with a ready-to-paste `curl`), and the live view
//! of its signals.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use signalbox_core::Role;
use uuid::Uuid;

use super::layout::{Section, csrf_field, field_errors, form_error, general_error, page, pretty_json, text_input};
use super::session::{CsrfForm, UiSession};
use crate::Error;
use crate::error::FieldError;
use crate::http::Patch;
use crate::signals::history::{self, SignalQuery};
use crate::signals::model::{EndpointRecord, SignalRecord};
use crate::signals::operations;
use crate::signals::store::{self, EndpointKey};
use crate::state::AppState;

/// Signals shown when the page opens, and per "older" page.
const PAGE: i64 = 20;

#[derive(Deserialize, Default)]
pub struct EndpointForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    csrf: Option<String>,
}

fn list_page(session: &UiSession, endpoints: &[EndpointRecord], form: &EndpointForm, error: Option<&Error>) -> Markup {
    let errors = field_errors(error);
    let general = general_error(error);
    page(
        session,
        Section::SignalEndpoints,
        "Signal endpoints",
        html! {
            p.lead { "External systems POST \"something happened\" to an endpoint with one of its tokens; watch the signals arrive on the endpoint's page." }
            @if !session.is_admin() {
                p.notice { "Signal endpoints are managed by owners and admins; ask one of them for access." }
            } @else {
                @if endpoints.is_empty() {
                    p.empty { "No signal endpoints yet. Create one below, then a token for the system that will send signals." }
                } @else {
                    table #endpoints {
                        thead { tr { th { "Name" } th { "State" } th { "Tokens" } th { "Accepted" } th { "Rejected 401 / 413 / 429" } } }
                        tbody {
                            @for e in endpoints {
                                tr {
                                    td { a href=(format!("/ui/signal-endpoints/{}", e.id)) { (e.name) } }
                                    td { @if e.enabled { "enabled" } @else { "disabled" } }
                                    td { (e.tokens.len()) }
                                    td { (e.counters.accepted) }
                                    td { (e.counters.unauthorized) " / " (e.counters.too_large) " / " (e.counters.rate_limited) }
                                }
                            }
                        }
                    }
                }
                section {
                    h2 { "New endpoint" }
                    (form_error(general.as_deref()))
                    form #create-endpoint method="post" action="/ui/signal-endpoints" {
                        (csrf_field(session))
                        (text_input("endpoint-name", "name", "Name", &form.name, &errors, true))
                        (text_input("endpoint-description", "description", "Description", &form.description, &errors, false))
                        button type="submit" { "Create endpoint" }
                    }
                }
            }
        },
    )
}

async fn endpoints_of(state: &AppState, session: &UiSession) -> Result<Vec<EndpointRecord>, Error> {
    if !session.is_admin() {
        return Ok(Vec::new());
    }
    let (mut endpoints, _) = store::list_endpoints(&state.db, session.caller.workspace_id, None).await?;
    for endpoint in &mut endpoints {
        operations::with_live_counters(state, endpoint);
    }
    Ok(endpoints)
}

pub async fn list(State(state): State<AppState>, session: UiSession) -> Result<Markup, Error> {
    let endpoints = endpoints_of(&state, &session).await?;
    Ok(list_page(&session, &endpoints, &EndpointForm::default(), None))
}

/// Creates through the same operation as the API; its errors appear next to their fields.
pub async fn create(
    State(state): State<AppState>,
    session: UiSession,
    headers: HeaderMap,
    Form(form): Form<EndpointForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    session.caller.require(Role::Admin)?;
    let description = Some(form.description.as_str()).filter(|d| !d.trim().is_empty());
    match operations::create(&state, &session.caller, &form.name, description, None).await {
        Ok(created) => Ok(Redirect::to(&format!("/ui/signal-endpoints/{}", created.id)).into_response()),
        Err(error) if error.status().is_client_error() => {
            let endpoints = endpoints_of(&state, &session).await?;
            let status = error.status();
            Ok((status, list_page(&session, &endpoints, &form, Some(&error))).into_response())
        }
        Err(error) => Err(error),
    }
}

/// A token just created: its secret, shown this once.
struct NewSecret<'a> {
    token_name: &'a str,
    secret: &'a str,
}

fn curl_example(state: &AppState, endpoint: &EndpointRecord, secret: &str) -> String {
    let base = state.config.public_url.clone().unwrap_or_else(|| format!("http://{}", state.config.listen));
    format!(
        "curl -X POST '{}/api/signal-endpoint/{}' \\\n  -H 'Authorization: Bearer {secret}' \\\n  -H 'Content-Type: application/json' \\\n  -d '{{\"hello\":\"signalbox\"}}'",
        base.trim_end_matches('/'),
        endpoint.name
    )
}

fn signal_article(signal: &SignalRecord) -> Markup {
    html! {
        article.signal data-seq=(signal.seq) {
            header {
                span.token { (signal.token_name) }
                " "
                time datetime=(signal.received_at.to_string()) { (signal.received_at.to_string()) }
            }
            (pretty_json(signal.payload.get()))
        }
    }
}

/// Older signals below the ones shown, and a button for the page after them.
fn older_block(endpoint_id: Uuid, signals: &[SignalRecord]) -> Markup {
    html! {
        @for signal in signals { (signal_article(signal)) }
        @if let Some(last) = signals.last().filter(|_| signals.len() as i64 == PAGE) {
            button.older type="button" hx-get=(format!("/ui/signal-endpoints/{endpoint_id}/signals?before={}", last.seq))
                hx-target="this" hx-swap="outerHTML" { "Show older signals" }
        }
    }
}

async fn endpoint_page(
    state: &AppState,
    session: &UiSession,
    id: Uuid,
    created: Option<NewSecret<'_>>,
    token_error: Option<&Error>,
    edit: Option<(&EndpointForm, &Error)>,
) -> Result<Markup, Error> {
    // The API's rule: an endpoint, its tokens and its signals are for admins (a viewer's
    // list is empty, and the page by its URL is refused as `GET /v1/signal-endpoints/{id}`).
    operations::require_admin(&session.caller)?;
    let edit_errors: Vec<FieldError> = edit.map(|(_, e)| e.problem().errors).unwrap_or_default();
    let edit_general = edit.filter(|_| edit_errors.is_empty()).map(|(_, e)| e.problem().detail);
    let edit = edit.map(|(form, _)| form);
    let mut endpoint = operations::find(state, &session.caller, EndpointKey::Id(id)).await?;
    operations::with_live_counters(state, &mut endpoint);
    let after = history::latest_seq(&state.db).await?;
    let query = SignalQuery { endpoint_id: endpoint.id, token_id: None, before: None, limit: PAGE, offset: 0 };
    let (recent, total) = history::list_signals(&state.db, query).await?;
    let token_errors = field_errors(token_error);
    let token_general = general_error(token_error);
    let token_errors: Vec<FieldError> = token_errors
        .into_iter()
        .map(|e| FieldError { field: if e.field == "name" { "token_name".into() } else { e.field }, ..e })
        .collect();
    Ok(page(
        session,
        Section::SignalEndpoints,
        &endpoint.name,
        html! {
            p.lead {
                @if let Some(description) = &endpoint.description { (description) " · " }
                @if endpoint.enabled { "Enabled" } @else { "Disabled: signals are refused with 403" }
                " · accepted " (endpoint.counters.accepted)
                ", rejected 401 / 413 / 429: " (endpoint.counters.unauthorized) " / " (endpoint.counters.too_large) " / " (endpoint.counters.rate_limited)
            }
            @if let Some(created) = &created {
                section.secret role="status" {
                    h2 { "Token " (created.token_name) " created" }
                    p { "Copy the secret now: it is shown only this once." }
                    div.copy-row {
                        code #token-secret { (created.secret) }
                        button type="button" data-copy="#token-secret" { "Copy" }
                    }
                    p { "Send a test signal:" }
                    pre #token-curl { (curl_example(state, &endpoint, created.secret)) }
                    button type="button" data-copy="#token-curl" { "Copy curl command" }
                }
            }
            section {
                h2 { "Tokens" }
                @if endpoint.tokens.is_empty() {
                    p.empty { "No tokens yet: create one for each system that sends signals here." }
                } @else {
                    table #tokens {
                        thead { tr { th { "Name" } th { "Created" } th { "Last used" } th { "Change" } } }
                        tbody {
                            @for t in &endpoint.tokens {
                                tr {
                                    td { (t.name) }
                                    td { (t.created_at.to_string()) }
                                    td { @match t.last_used_at { Some(at) => (at.to_string()), None => "never" } }
                                    td.row-actions {
                                        form method="post" action=(format!("/ui/signal-endpoints/{}/tokens/{}/rename", endpoint.id, t.id)) {
                                            (csrf_field(session))
                                            label.visually-hidden for=(format!("rename-{}", t.id)) { "New name for " (t.name) }
                                            input id=(format!("rename-{}", t.id)) name="token_name" type="text" value=(t.name) required;
                                            button type="submit" { "Rename" }
                                        }
                                        form method="post" action=(format!("/ui/signal-endpoints/{}/tokens/{}/revoke", endpoint.id, t.id))
                                            onsubmit="return confirm('Revoke this token? Senders using it are refused at once.')" {
                                            (csrf_field(session))
                                            button type="submit" { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                (form_error(token_general.as_deref()))
                form #create-token method="post" action=(format!("/ui/signal-endpoints/{}/tokens", endpoint.id)) {
                    (csrf_field(session))
                    (text_input("token-name", "token_name", "Token name", "", &token_errors, true))
                    button type="submit" { "Create token" }
                }
            }
            section {
                h2 { "Endpoint" }
                (form_error(edit_general.as_deref()))
                form #edit-endpoint method="post" action=(format!("/ui/signal-endpoints/{}", endpoint.id)) {
                    (csrf_field(session))
                    (text_input("edit-name", "name", "Name", edit.map_or(&endpoint.name, |f| &f.name), &edit_errors, true))
                    (text_input("edit-description", "description", "Description",
                        edit.map_or(endpoint.description.as_deref().unwrap_or(""), |f| &f.description), &edit_errors, false))
                    button type="submit" { "Save" }
                }
                div.row-actions {
                    form method="post" action=(format!("/ui/signal-endpoints/{}/enabled", endpoint.id)) {
                        (csrf_field(session))
                        input type="hidden" name="enabled" value=(if endpoint.enabled { "false" } else { "true" });
                        button type="submit" { @if endpoint.enabled { "Disable" } @else { "Enable" } }
                    }
                    form method="post" action=(format!("/ui/signal-endpoints/{}/delete", endpoint.id))
                        onsubmit="return confirm('Delete this endpoint, its tokens and its signals? Action sets that use it are disabled.')" {
                        (csrf_field(session))
                        button.danger type="submit" { "Delete endpoint" }
                    }
                }
            }
            section #live data-stream=(format!("/ui/signal-endpoints/{}/stream?after={after}", endpoint.id)) {
                h2 { "Signals" }
                p {
                    "New signals appear here as they arrive. "
                    button #live-pause type="button" aria-pressed="false" { "Pause" }
                    " "
                    span #live-state role="status" { "Connecting…" }
                }
                div #live-signals aria-live="polite" {}
                @if total == 0 {
                    p.empty #no-signals { "No signals yet. Send one with the curl command of a new token." }
                }
                div #older-signals { (older_block(endpoint.id, &recent)) }
            }
        },
    ))
}

pub async fn show(State(state): State<AppState>, session: UiSession, Path(id): Path<Uuid>) -> Result<Markup, Error> {
    endpoint_page(&state, &session, id, None, None, None).await
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    token_name: String,
    csrf: Option<String>,
}

/// Creates a token and answers with the endpoint's page showing its secret once (no redirect:
/// the secret must not land in a URL or the history).
pub async fn create_token(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    session.caller.require(Role::Admin)?;
    match operations::create_token(&state, &session.caller, EndpointKey::Id(id), &form.token_name).await {
        Ok((_, token, secret)) => {
            let created = NewSecret { token_name: &token.name, secret: &secret };
            let mut response = endpoint_page(&state, &session, id, Some(created), None, None).await?.into_response();
            response.headers_mut().insert("cache-control", HeaderValue::from_static("no-store"));
            Ok(response)
        }
        Err(error) if error.status().is_client_error() && error.status() != StatusCode::NOT_FOUND => {
            let markup = endpoint_page(&state, &session, id, None, Some(&error), None).await?;
            Ok((error.status(), markup).into_response())
        }
        Err(error) => Err(error),
    }
}

#[derive(Deserialize)]
pub struct OlderQuery {
    before: i64,
}

/// The next page of older signals (htmx swaps it in place of its button).
pub async fn older(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<Uuid>,
    Query(query): Query<OlderQuery>,
) -> Result<Markup, Error> {
    session.caller.require(Role::Admin)?;
    let endpoint = operations::find(&state, &session.caller, EndpointKey::Id(id)).await?;
    let page_query =
        SignalQuery { endpoint_id: endpoint.id, token_id: None, before: Some(query.before), limit: PAGE, offset: 0 };
    let (signals, _) = history::list_signals(&state.db, page_query).await?;
    Ok(older_block(endpoint.id, &signals))
}

#[derive(Deserialize)]
pub struct StreamQuery {
    after: Option<i64>,
}

/// The live view's events, with the cookie's session: the API's stream, resumed from the
/// newest signal the page was rendered with (`after`) so nothing committed in between is lost.
pub async fn stream(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<Uuid>,
    Query(query): Query<StreamQuery>,
    mut headers: HeaderMap,
) -> Result<Response, Error> {
    if !headers.contains_key("last-event-id")
        && let Some(after) = query.after
    {
        headers.insert("last-event-id", HeaderValue::from(after));
    }
    Ok(crate::signals::stream::open(state, &session.caller, id, &headers).await?.into_response())
}

/// Saves the name and description (the API's partial update).
pub async fn edit(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Form(form): Form<EndpointForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    let description = match form.description.trim() {
        "" => Patch::Null,
        text => Patch::Value(text.to_owned()),
    };
    let key = EndpointKey::Id(id);
    match operations::update(&state, &session.caller, key, Patch::Value(form.name.clone()), description, Patch::Absent)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/ui/signal-endpoints/{id}")).into_response()),
        Err(error) if error.status().is_client_error() && error.status() != StatusCode::NOT_FOUND => {
            let markup = endpoint_page(&state, &session, id, None, None, Some((&form, &error))).await?;
            Ok((error.status(), markup).into_response())
        }
        Err(error) => Err(error),
    }
}

#[derive(Deserialize)]
pub struct EnabledForm {
    enabled: bool,
    csrf: Option<String>,
}

/// Enables or disables the endpoint (a disabled endpoint refuses signals with 403).
pub async fn set_enabled(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Form(form): Form<EnabledForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    let key = EndpointKey::Id(id);
    operations::update(&state, &session.caller, key, Patch::Absent, Patch::Absent, Patch::Value(form.enabled)).await?;
    Ok(Redirect::to(&format!("/ui/signal-endpoints/{id}")).into_response())
}

/// Deletes the endpoint, its tokens and signals (the page asked for confirmation).
pub async fn delete(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    operations::delete(&state, &session.caller, EndpointKey::Id(id)).await?;
    Ok(Redirect::to("/ui/signal-endpoints").into_response())
}

/// Renames a token.
pub async fn rename_token(
    State(state): State<AppState>,
    session: UiSession,
    Path((id, token)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    let (key, token) = (EndpointKey::Id(id), operations::TokenKey::Id(token));
    match operations::change_token(&state, &session.caller, key, token, Some(&form.token_name)).await {
        Ok(_) => Ok(Redirect::to(&format!("/ui/signal-endpoints/{id}")).into_response()),
        Err(error) if error.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            let markup = endpoint_page(&state, &session, id, None, Some(&error), None).await?;
            Ok((error.status(), markup).into_response())
        }
        Err(error) => Err(error),
    }
}

/// Revokes a token at once (the page asked for confirmation).
pub async fn revoke_token(
    State(state): State<AppState>,
    session: UiSession,
    Path((id, token)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    let (key, token) = (EndpointKey::Id(id), operations::TokenKey::Id(token));
    operations::change_token(&state, &session.caller, key, token, None).await?;
    Ok(Redirect::to(&format!("/ui/signal-endpoints/{id}")).into_response())
}
