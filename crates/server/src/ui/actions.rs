//! Actions: the action sets of a project (`default`) with their state, turning them on and
//! off, and each set's run log (runs with each action's state). Owner and admin only, as on
//! `/v1/projects/{project}/action-sets`.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;
use signalbox_core::Role;
use uuid::Uuid;

use serde_json::{Map, Value};
use signalbox_core::actions::filter::{Filter, Filters, OPERATORS};
use signalbox_core::flags::strategy::Operator;

use super::layout::{Section, csrf_field, field_errors, form_error, general_error, page, pretty_json, text_input};
use super::session::{CsrfForm, UiSession};
use crate::Error;
use crate::actions::model::{Action, ActionSet, RunView, Source};
use crate::actions::operations::{self, ActorRef, MatchIn, SetChange, SetIn, SourceRef, V1_NAMES};
use crate::actions::store::SetKey;
use crate::auth::model::{Member, PrincipalKind};
use crate::error::FieldError;
use crate::http::Patch;
use crate::on_read;
use crate::signals::model::EndpointRecord;
use crate::signals::store::EndpointKey;
use crate::state::AppState;
use crate::typed::model::SignalType;
use signalbox_core::actions::Condition;

/// The project whose action sets the pages show.
const PROJECT: &str = "default";
/// Runs shown on a set's page.
const RUNS: i64 = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/actions", get(list).post(create))
        .route("/ui/actions/{id}", get(show))
        .route("/ui/actions/{id}/edit", get(edit).post(save))
        .route("/ui/actions/{id}/enabled", post(set_enabled))
        .route("/ui/actions/{id}/delete", post(delete_set))
}

fn source_of(set: &ActionSet) -> String {
    format!("{} {}", set.source.as_str(), set.source_id)
}

fn enabled_form(session: &UiSession, set: &ActionSet) -> Markup {
    let (state, action) = if set.enabled { ("enabled", "Disable") } else { ("disabled", "Enable") };
    html! {
        form.inline method="post" action=(format!("/ui/actions/{}/enabled", set.id)) {
            (csrf_field(session))
            input type="hidden" name="enabled" value=(if set.enabled { "false" } else { "true" });
            span.state { (state) } " "
            button type="submit" aria-label=(format!("{action} {}", set.name)) { (action) }
        }
    }
}

/// What the create form offers: service accounts, endpoints and signal types.
struct Choices {
    actors: Vec<Member>,
    endpoints: Vec<EndpointRecord>,
    types: Vec<SignalType>,
}

async fn choices(state: &AppState, session: &UiSession) -> Result<Choices, Error> {
    let workspace = session.caller.workspace_id;
    let (actors, _) =
        crate::auth::store::list_members(&state.db, workspace, PrincipalKind::ServiceAccount, 200, 0).await?;
    let (endpoints, _) = crate::signals::store::list_endpoints(&state.db, workspace, None).await?;
    let types = crate::typed::types::list(&state.db, workspace).await?;
    Ok(Choices { actors, endpoints, types })
}

const ACTIONS: &[(&str, &str)] =
    &[("TOGGLE_FEATURE_ON", "Enable flag"), ("TOGGLE_FEATURE_OFF", "Disable flag"), ("KILL_FEATURE", "Kill flag")];

fn operator_name(operator: Operator) -> &'static str {
    Operator::ALL.iter().find(|(_, o)| *o == operator).map_or("?", |(name, _)| name)
}

/// The create and edit form's fields: one filter row and one action.
#[derive(Deserialize, Default)]
pub struct SetForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    actor_id: String,
    /// `signal-endpoint:<id>` or `signal-type:<slug>`.
    #[serde(default)]
    source: String,
    #[serde(default)]
    filter_path: String,
    #[serde(default)]
    filter_operator: String,
    #[serde(default)]
    filter_values: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    feature_name: String,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    reason: String,
    csrf: Option<String>,
}

fn select_field(
    id: &str,
    name: &str,
    label: &str,
    errors: &[FieldError],
    error_fields: &[&str],
    options: Markup,
) -> Markup {
    let error =
        errors.iter().find(|e| error_fields.iter().any(|f| e.field == *f || e.field.starts_with(&format!("{f}."))));
    html! {
        div.field {
            label for=(id) { (label) }
            select id=(id) name=(name) aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| format!("{id}-error"))] { (options) }
            @if let Some(error) = error { p.error id=(format!("{id}-error")) { (error.message) } }
        }
    }
}

impl SetForm {
    /// A stored set as the form shows it: its first filter and its first action.
    fn of(set: &ActionSet) -> Self {
        let (filter_path, filter_operator, filter_values) = match set.filters.iter().next() {
            Some((path, f)) => {
                let values =
                    if f.values.is_empty() { f.value.clone().unwrap_or_default() } else { f.values.join(", ") };
                (path.clone(), f.operator.clone(), values)
            }
            None => Default::default(),
        };
        let action = set.actions.first();
        let param = |name: &str| {
            action.and_then(|a| a.execution_params.get(name)).and_then(Value::as_str).unwrap_or_default().to_owned()
        };
        let environment = action
            .and_then(|a| a.execution_params.get("environments"))
            .and_then(|e| e.get(0))
            .and_then(Value::as_str)
            .map_or_else(|| param("environment"), str::to_owned);
        SetForm {
            name: set.name.clone(),
            actor_id: set.actor_id.to_string(),
            source: format!("{}:{}", set.source.as_str(), set.source_id),
            filter_path,
            filter_operator,
            filter_values,
            action: action.map(|a| a.action.clone()).unwrap_or_default(),
            feature_name: param("feature_name"),
            environment,
            reason: param("reason"),
            csrf: None,
        }
    }
}

/// Where the set form posts, and what it says.
struct FormTarget<'a> {
    id: &'a str,
    action: String,
    heading: &'a str,
    button: &'a str,
}

const CREATE: FormTarget<'static> = FormTarget {
    id: "create-action-set",
    action: String::new(),
    heading: "New action set",
    button: "Create action set",
};

fn create_form(session: &UiSession, choices: &Choices, form: &SetForm, error: Option<&Error>) -> Markup {
    set_form(session, choices, form, error, &CREATE)
}

fn set_form(
    session: &UiSession,
    choices: &Choices,
    form: &SetForm,
    error: Option<&Error>,
    target: &FormTarget<'_>,
) -> Markup {
    let errors: Vec<FieldError> = field_errors(error);
    let general = general_error(error);
    // The API names filter and parameter fields by their paths; show them by the row's inputs.
    let errors: Vec<FieldError> = errors
        .into_iter()
        .map(|e| {
            let field = if e.field.starts_with("match.payload") {
                "filter_values".to_owned()
            } else if e.field.starts_with("actions") {
                if e.field.contains("environment") {
                    "environment".to_owned()
                } else if e.field.contains("reason") {
                    "reason".to_owned()
                } else {
                    "feature_name".to_owned()
                }
            } else {
                e.field
            };
            FieldError { field, ..e }
        })
        .collect();
    html! {
        section {
            h2 { (target.heading) }
            @if choices.actors.is_empty() {
                p.notice { "Action sets run as a service account: create one in Settings first (an editor can toggle flags)." }
            }
            (form_error(general.as_deref()))
            form id=(target.id) method="post" action=(if target.action.is_empty() { "/ui/actions" } else { target.action.as_str() }) {
                (csrf_field(session))
                (text_input("set-name", "name", "Name", &form.name, &errors, true))
                (select_field("set-actor", "actor_id", "Runs as (service account)", &errors, &["actor_id"], html! {
                    @for a in &choices.actors {
                        option value=(a.id) selected[form.actor_id == a.id.to_string()] { (a.name) " (" (a.role) ")" }
                    }
                }))
                (select_field("set-source", "source", "When a signal comes from", &errors, &["match.source", "match.source_id"], html! {
                    optgroup label="Signal endpoints" {
                        @for e in &choices.endpoints {
                            @let value = format!("signal-endpoint:{}", e.id);
                            option value=(value) selected[form.source == value] { "endpoint " (e.name) }
                        }
                    }
                    optgroup label="Signal types" {
                        @for t in &choices.types {
                            @let value = format!("signal-type:{}", t.slug);
                            option value=(value) selected[form.source == value] { "type " (t.slug) }
                        }
                    }
                }))
                fieldset {
                    legend { "Filter (optional): the payload's field at a path" }
                    (text_input("filter-path", "filter_path", "Path (e.g. labels.severity)", &form.filter_path, &errors, false))
                    (select_field("filter-operator", "filter_operator", "Operator", &errors, &[], html! {
                        @for operator in OPERATORS {
                            @let name = operator_name(*operator);
                            option value=(name) selected[form.filter_operator == name] { (name) }
                        }
                    }))
                    (text_input("filter-values", "filter_values", "Values (comma-separated)", &form.filter_values, &errors, false))
                }
                fieldset {
                    legend { "Action" }
                    (select_field("set-action", "action", "Action", &errors, &["actions"], html! {
                        @for (action, label) in ACTIONS {
                            option value=(action) selected[form.action == *action] { (label) " (" (action) ")" }
                        }
                    }))
                    (text_input("action-flag", "feature_name", "Flag key", &form.feature_name, &errors, true))
                    (text_input("action-environment", "environment", "Environment (to enable or disable; kill: empty for all)", &form.environment, &errors, false))
                    (text_input("action-reason", "reason", "Reason (kill only, optional)", &form.reason, &errors, false))
                }
                button type="submit" { (target.button) }
            }
        }
    }
}

fn list_view(
    session: &UiSession,
    sets: &[ActionSet],
    choices: Option<&Choices>,
    form: &SetForm,
    error: Option<&Error>,
) -> Markup {
    page(
        session,
        Section::Actions,
        "Actions",
        html! {
            p.lead { "An action set reacts to signals from a signal endpoint or of a signal type: when a signal's payload passes its filters, its actions (turning a feature flag on or off, killing a feature) run in order. Project: " code { (PROJECT) } "." }
            @if !session.is_admin() {
                p.notice { "Action sets are managed by owners and admins; ask one of them for access." }
            } @else {
                @if sets.is_empty() {
                    p.empty { "No action sets yet. Create one below: a service account to run as, a source, an optional filter and the action to run." }
                } @else {
                    table #action-sets {
                        thead { tr { th { "Name" } th { "Source" } th { "Actions" } th { "State" } } }
                        tbody {
                            @for set in sets {
                                tr {
                                    td { a href=(format!("/ui/actions/{}", set.id)) { (set.name) } }
                                    td { (source_of(set)) }
                                    td { @for (i, a) in set.actions.iter().enumerate() { @if i > 0 { ", " } code { (a.action) } } }
                                    td { (enabled_form(session, set)) }
                                }
                            }
                        }
                    }
                }
                @if let Some(choices) = choices { (create_form(session, choices, form, error)) }
            }
        },
    )
}

pub async fn list(State(state): State<AppState>, session: UiSession) -> Result<Markup, Error> {
    if !session.is_admin() {
        return Ok(list_view(&session, &[], None, &SetForm::default(), None));
    }
    let (sets, _) = operations::list(&state, &session.caller, PROJECT, None).await?;
    let choices = choices(&state, &session).await?;
    Ok(list_view(&session, &sets, Some(&choices), &SetForm::default(), None))
}

/// The form as the API's input; a malformed id is the field's error, as on the API.
fn set_in(form: &SetForm) -> Result<SetIn, Error> {
    let actor = Uuid::parse_str(form.actor_id.trim())
        .map_err(|_| Error::invalid_field("actor_id", "choose a service account"))?;
    let (source, source_id) = form.source.split_once(':').unwrap_or(("", ""));
    let source_id = match source {
        "signal-type" => SourceRef::Slug(source_id.to_owned()),
        "signal-endpoint" => SourceRef::Endpoint(EndpointKey::Id(
            Uuid::parse_str(source_id).map_err(|_| Error::invalid_field("match.source_id", "must be an id (UUID)"))?,
        )),
        _ => return Err(Error::invalid_field("match.source", "choose a signal endpoint or a signal type")),
    };
    let mut payload = Filters::new();
    let path = form.filter_path.trim();
    if !path.is_empty() {
        let list = matches!(form.filter_operator.as_str(), "IN" | "NOT_IN") || form.filter_operator.starts_with("STR_");
        let values: Vec<String> =
            form.filter_values.split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned).collect();
        let (value, values) =
            if list { (None, values) } else { (Some(form.filter_values.trim().to_owned()), Vec::new()) };
        let filter =
            Filter { operator: form.filter_operator.clone(), value, values, inverted: false, case_insensitive: false };
        payload.insert(path.to_owned(), filter);
    }
    let mut params = Map::new();
    params.insert("feature_name".into(), Value::String(form.feature_name.trim().to_owned()));
    let environment = form.environment.trim();
    if form.action == "KILL_FEATURE" {
        if !environment.is_empty() {
            params.insert("environments".into(), Value::Array(vec![Value::String(environment.to_owned())]));
        }
        if !form.reason.trim().is_empty() {
            params.insert("reason".into(), Value::String(form.reason.trim().to_owned()));
        }
    } else {
        params.insert("environment".into(), Value::String(environment.to_owned()));
    }
    Ok(SetIn {
        name: form.name.clone(),
        description: None,
        enabled: None,
        actor: ActorRef::Id(actor),
        matches: MatchIn { source: source.to_owned(), source_id, payload },
        condition: None,
        actions: vec![Action { action: form.action.clone(), execution_params: params }],
    })
}

/// Creates through the API's operation; its errors appear next to their fields.
pub async fn create(
    State(state): State<AppState>,
    session: UiSession,
    headers: HeaderMap,
    Form(form): Form<SetForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    operations::require_admin(&session.caller)?;
    let created = match set_in(&form) {
        Ok(input) => operations::create(&state, &session.caller, PROJECT, input, V1_NAMES).await,
        Err(error) => Err(error),
    };
    match created {
        Ok(set) => Ok(Redirect::to(&format!("/ui/actions/{}", set.id)).into_response()),
        Err(error) if error.status().is_client_error() && error.status() != axum::http::StatusCode::FORBIDDEN => {
            let (sets, _) = operations::list(&state, &session.caller, PROJECT, None).await?;
            let choices = choices(&state, &session).await?;
            Ok((error.status(), list_view(&session, &sets, Some(&choices), &form, Some(&error))).into_response())
        }
        Err(error) => Err(error),
    }
}

fn text_of<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn run_item(run: &RunView) -> Markup {
    html! {
        li.run data-state=(run.state.as_str()) {
            h3 {
                span.state { (run.state.as_str()) } " · "
                time datetime=(run.created_at.to_string()) { (run.created_at.to_string()) }
            }
            p {
                "Signal from " (run.signal.source) " "
                (run.signal.source_name.as_deref().unwrap_or(&run.signal.source_id))
                " (" (run.signal.token_name) ")"
                @if let Some(detail) = &run.detail { " · " (detail) }
            }
            @if let Some(set) = &run.action_set {
                table.run-actions {
                    thead { tr { th { "Action" } th { "Parameters" } th { "State" } th { "Details" } } }
                    tbody {
                        @for a in &set.actions {
                            tr {
                                td { code { (a.action) } }
                                td { (serde_json::Value::Object(a.execution_params.clone()).to_string()) }
                                td { (text_of(&a.state)) }
                                td { (a.details.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
            details {
                summary { "Payload" }
                (pretty_json(&run.signal.payload.to_string()))
            }
        }
    }
}

/// The newest signal of a set's source as a run would see it: a signal endpoint's payload
/// verbatim (`signals::writer::signal_snapshot`), a typed signal as `typed::writer` builds
/// the run's snapshot. `None` when the source has no signal yet.
async fn latest_signal(state: &AppState, set: &ActionSet) -> Result<Option<(String, String, Value)>, Error> {
    let workspace = set.workspace_id.to_string();
    let text = |t: &str| serde_json::from_str::<Value>(t).unwrap_or(Value::Null);
    match set.source {
        Source::SignalEndpoint => {
            let query = "SELECT id, received_at, payload FROM signals WHERE workspace_id = $1 AND endpoint_id = $2 \
                         ORDER BY event_seq DESC, int_id DESC LIMIT 1";
            let row: Option<(String, String, String)> = on_read!(&state.db, |pool| {
                sqlx::query_as(query).bind(&workspace).bind(&set.source_id).fetch_optional(pool).await
            })?;
            Ok(row.map(|(id, at, payload)| (id, at, text(&payload))))
        }
        Source::SignalType => {
            type Row = (
                String,
                String,
                String,
                Option<String>,
                String,
                String,
                Option<String>,
                Option<String>,
                String,
                String,
            );
            let query = "SELECT id, signal_type, source, event_name, occurred_at, identity, context, sub_rule, lead_id, \
                         response FROM signal_captures WHERE workspace_id = $1 AND signal_type = $2 \
                         ORDER BY seq DESC LIMIT 1";
            let row: Option<(Row, String)> = on_read!(&state.db, |pool| {
                let row: Option<Row> =
                    sqlx::query_as(query).bind(&workspace).bind(&set.source_id).fetch_optional(pool).await?;
                let at: Option<String> = match &row {
                    Some(r) => {
                        sqlx::query_scalar("SELECT created_at FROM signal_captures WHERE id = $1")
                            .bind(&r.0)
                            .fetch_optional(pool)
                            .await?
                    }
                    None => None,
                };
                Ok::<_, sqlx::Error>(row.zip(at))
            })?;
            Ok(row.map(
                |(
                    (id, signal_type, source, event_name, occurred_at, identity, context, sub_rule, lead_id, response),
                    at,
                )| {
                    let qualification = text(&response).get("qualification").cloned().unwrap_or(Value::Null);
                    let payload = serde_json::json!({
                        "signal_type": signal_type, "source": source, "event_name": event_name,
                        "occurred_at": occurred_at, "identity": text(&identity),
                        "context": context.as_deref().map(text), "sub_rule": sub_rule, "lead_id": lead_id,
                        "qualification": qualification,
                    });
                    (id, at, payload)
                },
            ))
        }
    }
}

/// "Would the latest signal from this source match?": the set's filters and condition, as the
/// runner evaluates them, on the source's newest signal.
async fn preview(state: &AppState, set: &ActionSet) -> Result<Markup, Error> {
    let Some((id, received_at, payload)) = latest_signal(state, set).await? else {
        return Ok(html! {
            section #preview {
                h2 { "Preview" }
                p.empty { "No signal from this source yet: once one arrives, this shows whether it would match." }
            }
        });
    };
    let failed: Vec<(&String, &Filter)> = set.filters.iter().filter(|(path, f)| !f.holds(path, &payload)).collect();
    let condition = set.condition.as_deref().map(|source| match Condition::compile(source) {
        Ok(c) => c.holds(&payload),
        Err(_) => false,
    });
    let matches = failed.is_empty() && condition.unwrap_or(true);
    Ok(html! {
        section #preview {
            h2 { "Preview" }
            p { "Would the latest signal from this source match? Signal " code { (id) } " received " (received_at) "." }
            @if matches {
                p.result data-match="true" { strong { "Match" } ": its actions would run." }
            } @else {
                p.result data-match="false" { strong { "No match" } ": its actions would not run." }
                ul.failed {
                    @for (path, f) in &failed {
                        li { "Filter failed: " code { (path) } " " (f.operator)
                            @if let Some(v) = &f.value { " " (v) }
                            @if !f.values.is_empty() { " " (f.values.join(", ")) } }
                    }
                    @if condition == Some(false) {
                        li { "Condition failed: " code { (set.condition.as_deref().unwrap_or_default()) } }
                    }
                }
            }
            details { summary { "Payload" } (pretty_json(&payload.to_string())) }
        }
    })
}

pub async fn show(State(state): State<AppState>, session: UiSession, Path(id): Path<Uuid>) -> Result<Markup, Error> {
    let (set, runs) = operations::runs(&state, &session.caller, PROJECT, SetKey::Id(id), None, RUNS, 0).await?;
    let runs: Vec<RunView> = runs.iter().map(|r| r.view()).collect();
    let preview = preview(&state, &set).await?;
    Ok(page(
        &session,
        Section::Actions,
        &set.name,
        html! {
            p { a href="/ui/actions" { "← All action sets" } }
            @if let Some(description) = &set.description { p.lead { (description) } }
            section {
                h2 { "Definition" }
                dl {
                    dt { "State" } dd { (enabled_form(&session, &set)) }
                    @if session.is_admin() {
                        dt { "Edit" }
                        dd { a #edit-link href=(format!("/ui/actions/{}/edit", set.id)) { "Edit " (set.name) } }
                        dt { "Delete" }
                        dd {
                            form.inline method="post" action=(format!("/ui/actions/{}/delete", set.id))
                                onsubmit=(format!("return confirm('Delete the action set {}? Its run log goes with it.')", set.name.replace('\'', ""))) {
                                (csrf_field(&session))
                                button.danger type="submit" aria-label=(format!("Delete {}", set.name)) { "Delete" }
                            }
                        }
                    }
                    dt { "Source" } dd { (source_of(&set)) }
                    @if let Some(condition) = &set.condition { dt { "Condition" } dd { code { (condition) } } }
                    dt { "Filters" } dd { (pretty_json(&serde_json::to_string(&set.filters).unwrap_or_default())) }
                    dt { "Actions" }
                    dd {
                        ol {
                            @for a in &set.actions {
                                li { code { (a.action) } " " (serde_json::Value::Object(a.execution_params.clone()).to_string()) }
                            }
                        }
                    }
                }
            }
            (preview)
            section {
                h2 { "Run log" }
                @if runs.is_empty() {
                    p.empty { "No runs yet. A run starts when a matching signal arrives; signals that do not pass the filters leave no run." }
                } @else {
                    ol #runs.runs { @for run in &runs { (run_item(run)) } }
                }
            }
        },
    ))
}

#[derive(Deserialize)]
pub struct EnabledForm {
    enabled: bool,
    csrf: Option<String>,
}

pub async fn set_enabled(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Form(form): Form<EnabledForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    session.caller.require(Role::Admin)?;
    let change = SetChange { enabled: Some(form.enabled), description: Patch::Absent, ..SetChange::default() };
    operations::update(&state, &session.caller, PROJECT, SetKey::Id(id), change, V1_NAMES).await?;
    Ok(Redirect::to(&format!("/ui/actions/{id}")).into_response())
}

/// Deletes an action set through the API's operation.
pub async fn delete_set(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    session.caller.require(Role::Admin)?;
    operations::delete(&state, &session.caller, PROJECT, SetKey::Id(id)).await?;
    Ok(Redirect::to("/ui/actions").into_response())
}

fn edit_view(session: &UiSession, set: &ActionSet, choices: &Choices, form: &SetForm, error: Option<&Error>) -> Markup {
    let target = FormTarget {
        id: "edit-action-set",
        action: format!("/ui/actions/{}/edit", set.id),
        heading: "Definition",
        button: "Save action set",
    };
    page(
        session,
        Section::Actions,
        &format!("Edit {}", set.name),
        html! {
            p { a href=(format!("/ui/actions/{}", set.id)) { "← Back to " (set.name) } }
            @if set.filters.len() > 1 || set.actions.len() > 1 {
                p.notice {
                    "This set has " (set.filters.len()) " filter(s) and " (set.actions.len()) " action(s): the form edits the first of each "
                    "and keeps the others as they are."
                }
            }
            (set_form(session, choices, form, error, &target))
        },
    )
}

/// The set's edit form, prefilled (owners and admins, as the API).
pub async fn edit(State(state): State<AppState>, session: UiSession, Path(id): Path<Uuid>) -> Result<Markup, Error> {
    let set = operations::find(&state, &session.caller, PROJECT, SetKey::Id(id)).await?;
    let choices = choices(&state, &session).await?;
    Ok(edit_view(&session, &set, &choices, &SetForm::of(&set), None))
}

/// The form as a change to `set`: its first filter and first action replaced, the rest kept.
fn set_change(form: &SetForm, set: &ActionSet) -> Result<SetChange, Error> {
    let input = set_in(form)?;
    let mut payload = set.filters.clone();
    if let Some(first) = set.filters.keys().next() {
        payload.remove(first);
    }
    payload.extend(input.matches.payload);
    let mut actions = input.actions;
    actions.extend(set.actions.iter().skip(1).cloned());
    Ok(SetChange {
        name: Some(input.name),
        actor: Some(input.actor),
        matches: Some(MatchIn { payload, ..input.matches }),
        actions: Some(actions),
        ..SetChange::default()
    })
}

/// Saves through the API's update operation; its errors appear next to their fields.
pub async fn save(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Form(form): Form<SetForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    operations::require_admin(&session.caller)?;
    let set = operations::find(&state, &session.caller, PROJECT, SetKey::Id(id)).await?;
    let updated = match set_change(&form, &set) {
        Ok(change) => operations::update(&state, &session.caller, PROJECT, SetKey::Id(id), change, V1_NAMES).await,
        Err(error) => Err(error),
    };
    match updated {
        Ok(_) => Ok(Redirect::to(&format!("/ui/actions/{id}")).into_response()),
        Err(error) if error.status().is_client_error() && error.status() != axum::http::StatusCode::NOT_FOUND => {
            let choices = choices(&state, &session).await?;
            Ok((error.status(), edit_view(&session, &set, &choices, &form, Some(&error))).into_response())
        }
        Err(error) => Err(error),
    }
}
