//! Actions: the action sets of a project (`default`) with their state, turning them on and
//! off, and each set's run log (runs with each action's state). Owner and admin only, as on
//! `/v1/projects/{project}/action-sets`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
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

use super::constraints::{Errors, Fields, input, rest_of, to_rows};
use super::layout::{Section, csrf_field, form_error, general_error, page, pretty_json};
use super::session::{CsrfForm, PostedForm, UiSession};
use crate::Error;
use crate::actions::catalogue::{CATALOGUE, Parameter};
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

fn operator_name(operator: Operator) -> &'static str {
    Operator::ALL.iter().find(|(_, o)| *o == operator).map_or("?", |(name, _)| name)
}

/// Operators that take a list of values (`values`); the others compare with one `value`.
fn is_list_operator(name: &str) -> bool {
    matches!(name, "IN" | "NOT_IN") || name.starts_with("STR_")
}

/// The parameters the action rows offer: every parameter of the catalogue's actions, in
/// catalogue order, but `project` (always the set's own, so left out).
fn parameters() -> Vec<&'static Parameter> {
    let mut list: Vec<&'static Parameter> = Vec::new();
    for p in CATALOGUE.iter().flat_map(|d| d.parameters.iter()) {
        if p.name != "project" && !list.iter().any(|known| known.name == p.name) {
            list.push(p);
        }
    }
    list
}

/// Parameters whose value is a list (comma-separated in the form).
fn is_list_parameter(name: &str) -> bool {
    name == "environments"
}

fn parameter_label(p: &Parameter) -> String {
    let title = match p.name {
        "feature_name" => "Flag key".to_owned(),
        "environment" => "Environment".to_owned(),
        "environments" => "Environments (comma-separated)".to_owned(),
        "reason" => "Reason".to_owned(),
        other => other.to_owned(),
    };
    let required: Vec<&str> = CATALOGUE
        .iter()
        .filter(|d| d.parameters.iter().any(|q| q.name == p.name && q.required))
        .map(|d| d.label)
        .collect();
    let optional: Vec<&str> = CATALOGUE
        .iter()
        .filter(|d| d.parameters.iter().any(|q| q.name == p.name && !q.required))
        .map(|d| d.label)
        .collect();
    let mut uses = Vec::new();
    if !required.is_empty() {
        uses.push(format!("required for {}", required.join(", ")));
    }
    if !optional.is_empty() {
        uses.push(format!("optional for {}", optional.join(", ")));
    }
    format!("{title} ({}): {}", uses.join("; "), p.description)
}

/// One filter row as the form shows it.
#[derive(Debug, Clone, Default)]
struct FilterRow {
    path: String,
    operator: String,
    /// Comma-separated for list operators, else the one value.
    values: String,
    inverted: bool,
    case_insensitive: bool,
    /// Ticked "remove": left out when saved.
    removed: bool,
}

impl FilterRow {
    fn of(path: &str, f: &Filter) -> Self {
        let values = if f.values.is_empty() { f.value.clone().unwrap_or_default() } else { f.values.join(", ") };
        Self {
            path: path.to_owned(),
            operator: f.operator.clone(),
            values,
            inverted: f.inverted,
            case_insensitive: f.case_insensitive,
            removed: false,
        }
    }

    fn is_blank(&self) -> bool {
        self.path.trim().is_empty() && self.values.trim().is_empty()
    }

    fn filter(&self) -> Filter {
        let operator = self.operator.trim().to_owned();
        let (value, values) = if is_list_operator(&operator) {
            let values = self.values.split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned).collect();
            (None, values)
        } else {
            (Some(self.values.trim().to_owned()).filter(|v| !v.is_empty()), Vec::new())
        };
        Filter { operator, value, values, inverted: self.inverted, case_insensitive: self.case_insensitive }
    }
}

/// One action row: the action and its parameters (by the names of [`parameters`]).
#[derive(Debug, Clone, Default)]
struct ActionRow {
    action: String,
    params: Vec<(String, String)>,
    removed: bool,
}

impl ActionRow {
    fn of(a: &Action) -> Self {
        let params = parameters()
            .iter()
            .map(|p| {
                let value = match a.execution_params.get(p.name) {
                    Some(Value::String(text)) => text.clone(),
                    Some(Value::Array(list)) => list
                        .iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                        .collect::<Vec<_>>()
                        .join(", "),
                    Some(Value::Null) | None => String::new(),
                    Some(other) => other.to_string(),
                };
                (p.name.to_owned(), value)
            })
            .collect();
        Self { action: a.action.clone(), params, removed: false }
    }

    fn param(&self, name: &str) -> &str {
        self.params.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str())
    }

    fn is_blank(&self) -> bool {
        self.params.iter().all(|(_, v)| v.trim().is_empty())
    }

    /// The action to save: the parameters its catalogue entry takes (all, for an unknown
    /// action, so the API names what is wrong), the empty ones left out.
    fn action(&self) -> Action {
        let action = self.action.trim().to_owned();
        let takes = CATALOGUE.iter().find(|d| d.action == action).map(|d| d.parameters);
        let mut execution_params = Map::new();
        for (name, value) in &self.params {
            let value = value.trim();
            if value.is_empty() || takes.is_some_and(|ps| !ps.iter().any(|p| p.name == name.as_str())) {
                continue;
            }
            let value = if is_list_parameter(name) {
                Value::Array(
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .map(|v| Value::String(v.to_owned()))
                        .collect(),
                )
            } else {
                Value::String(value.to_owned())
            };
            execution_params.insert(name.clone(), value);
        }
        Action { action, execution_params }
    }
}

/// The create and edit form: the set's fields, its filter rows (`f{j}_path`, `f{j}_operator`,
/// `f{j}_values`, `f{j}_inverted`, `f{j}_case_insensitive`, `f{j}_remove`; `filter_rows` of
/// them) and its action rows in order (`a{j}_action`, `a{j}_<parameter>`, `a{j}_remove`;
/// `action_rows` of them).
#[derive(Default)]
struct SetForm {
    name: String,
    description: String,
    condition: String,
    actor_id: String,
    /// `signal-endpoint:<id>` or `signal-type:<slug>`.
    source: String,
    filters: Vec<FilterRow>,
    actions: Vec<ActionRow>,
}

impl SetForm {
    /// A new set's form: one empty row of each.
    fn new() -> Self {
        Self { filters: vec![FilterRow::default()], actions: vec![ActionRow::default()], ..Self::default() }
    }

    /// A stored set as the form shows it: all its filters and actions, and an empty row of each.
    fn of(set: &ActionSet) -> Self {
        let mut filters: Vec<FilterRow> = set.filters.iter().map(|(path, f)| FilterRow::of(path, f)).collect();
        filters.push(FilterRow::default());
        let mut actions: Vec<ActionRow> = set.actions.iter().map(ActionRow::of).collect();
        actions.push(ActionRow::default());
        SetForm {
            name: set.name.clone(),
            description: set.description.clone().unwrap_or_default(),
            condition: set.condition.clone().unwrap_or_default(),
            actor_id: set.actor_id.to_string(),
            source: format!("{}:{}", set.source.as_str(), set.source_id),
            filters,
            actions,
        }
    }

    fn from_fields(fields: &Fields) -> Self {
        let filters = (0..fields.count("filter_rows"))
            .map(|j| FilterRow {
                path: fields.text(&format!("f{j}_path")),
                operator: fields.text(&format!("f{j}_operator")),
                values: fields.text(&format!("f{j}_values")),
                inverted: fields.checked(&format!("f{j}_inverted")),
                case_insensitive: fields.checked(&format!("f{j}_case_insensitive")),
                removed: fields.checked(&format!("f{j}_remove")),
            })
            .collect();
        let actions = (0..fields.count("action_rows"))
            .map(|j| ActionRow {
                action: fields.text(&format!("a{j}_action")),
                params: parameters()
                    .iter()
                    .map(|p| (p.name.to_owned(), fields.text(&format!("a{j}_{}", p.name))))
                    .collect(),
                removed: fields.checked(&format!("a{j}_remove")),
            })
            .collect();
        SetForm {
            name: fields.text("name"),
            description: fields.text("description"),
            condition: fields.text("condition"),
            actor_id: fields.text("actor_id"),
            source: fields.text("source"),
            filters,
            actions,
        }
    }
}

/// What the form sent the API, to put its errors back on the rows: each filter's path and
/// row, and each action's row.
struct Sent {
    filters: Vec<(String, usize)>,
    actions: Vec<usize>,
}

impl Sent {
    /// Renames the API's `match.payload.<path>…` and `actions[i]…` fields to the form's rows
    /// (`filters[j].path|operator|values|value…`, `actions[j]…`).
    fn rename(&self, error: Error) -> Error {
        let error = to_rows(error, "actions", &self.actions);
        let problem = error.problem();
        if problem.errors.is_empty() {
            return error;
        }
        let mut by_length: Vec<&(String, usize)> = self.filters.iter().collect();
        by_length.sort_by_key(|(path, _)| std::cmp::Reverse(path.len()));
        let errors = problem
            .errors
            .into_iter()
            .map(|e| {
                let renamed = e.field.strip_prefix("match.payload.").and_then(|rest| {
                    by_length.iter().find_map(|(path, j)| {
                        let tail = rest.strip_prefix(path.as_str())?;
                        match tail {
                            "" => Some(format!("filters[{j}].path")),
                            _ if tail.starts_with('.') => Some(format!("filters[{j}]{tail}")),
                            _ => None,
                        }
                    })
                });
                FieldError { field: renamed.unwrap_or(e.field), ..e }
            })
            .collect();
        Error::invalid_fields(errors)
    }
}

/// A labelled select whose error sits next to it.
fn select(id: &str, name: &str, label: &str, error: Option<String>, options: Markup) -> Markup {
    html! {
        div.field {
            label for=(id) { (label) }
            select id=(id) name=(name) aria-invalid=[error.as_ref().map(|_| "true")]
                aria-describedby=[error.as_ref().map(|_| format!("{id}-error"))] { (options) }
            @if let Some(message) = error { p.error id=(format!("{id}-error")) { (message) } }
        }
    }
}

/// A labelled text area whose error sits next to it.
fn textarea(id: &str, name: &str, label: &str, value: &str, error: Option<String>) -> Markup {
    html! {
        div.field {
            label for=(id) { (label) }
            textarea id=(id) name=(name) rows="2" aria-invalid=[error.as_ref().map(|_| "true")]
                aria-describedby=[error.as_ref().map(|_| format!("{id}-error"))] { (value) }
            @if let Some(message) = error { p.error id=(format!("{id}-error")) { (message) } }
        }
    }
}

fn checkbox(id: &str, name: &str, label: &str, checked: bool) -> Markup {
    html! {
        label for=(id) {
            input id=(id) type="checkbox" name=(name) value="on" checked[checked];
            " " (label)
        }
    }
}

fn filter_rows(rows: &[FilterRow], errors: &Errors) -> Markup {
    html! {
        input type="hidden" name="filter_rows" value=(rows.len());
        @for (j, row) in rows.iter().enumerate() {
            @let at = format!("filters[{j}]");
            @let operator_error = errors.at(&format!("{at}.operator"));
            @let values_error = errors.at(&format!("{at}.values")).or_else(|| errors.at(&format!("{at}.value")));
            @let path_error = errors.at(&format!("{at}.path")).or_else(|| errors.at(&at));
            @let known = OPERATORS.iter().any(|o| operator_name(*o) == row.operator);
            fieldset.filter #(format!("filter-{j}")) {
                legend { "Filter " (j + 1) }
                (input(&format!("f{j}-path"), &format!("f{j}_path"), "Path (e.g. labels.severity)", &row.path, path_error))
                (select(&format!("f{j}-operator"), &format!("f{j}_operator"), "Operator", operator_error, html! {
                    @if !known && !row.operator.is_empty() { option value=(row.operator) selected { (row.operator) } }
                    @for operator in OPERATORS {
                        @let name = operator_name(*operator);
                        option value=(name) selected[row.operator == name] { (name) }
                    }
                }))
                (input(&format!("f{j}-values"), &format!("f{j}_values"),
                    "Values (comma-separated for IN, NOT_IN and STR_*; one value for the others)", &row.values, values_error))
                div.field.check {
                    (checkbox(&format!("f{j}-inverted"), &format!("f{j}_inverted"), "Inverted (NOT)", row.inverted))
                    (checkbox(&format!("f{j}-case-insensitive"), &format!("f{j}_case_insensitive"), "Case-insensitive (STR_*)", row.case_insensitive))
                    @if !row.is_blank() {
                        (checkbox(&format!("f{j}-remove"), &format!("f{j}_remove"), "Remove this filter", row.removed))
                    }
                }
            }
        }
    }
}

fn action_rows(rows: &[ActionRow], errors: &Errors) -> Markup {
    let parameters = parameters();
    html! {
        input type="hidden" name="action_rows" value=(rows.len());
        @for (j, row) in rows.iter().enumerate() {
            @let at = format!("actions[{j}]");
            @let action_error = errors.at(&format!("{at}.action"));
            @let param_errors: Vec<Option<String>> = parameters.iter()
                .map(|p| errors.at(&format!("{at}.execution_params.{}", p.name))).collect();
            @let action_error = action_error.or_else(|| errors.at(&at));
            @let known = CATALOGUE.iter().any(|d| d.action == row.action);
            fieldset.action #(format!("action-{j}")) {
                legend { "Action " (j + 1) }
                (select(&format!("a{j}-action"), &format!("a{j}_action"), "Action", action_error, html! {
                    @if !known && !row.action.is_empty() { option value=(row.action) selected { (row.action) } }
                    @for d in CATALOGUE {
                        option value=(d.action) selected[row.action == d.action] { (d.label) " (" (d.action) ")" }
                    }
                }))
                @for (p, error) in parameters.iter().zip(param_errors) {
                    (input(&format!("a{j}-{}", p.name.replace('_', "-")), &format!("a{j}_{}", p.name), &parameter_label(p),
                        row.param(p.name), error))
                }
                @if !row.is_blank() {
                    div.field.check {
                        (checkbox(&format!("a{j}-remove"), &format!("a{j}_remove"), "Remove this action", row.removed))
                    }
                }
            }
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

fn set_form(
    session: &UiSession,
    choices: &Choices,
    form: &SetForm,
    error: Option<&Error>,
    target: &FormTarget<'_>,
) -> Markup {
    let errors = Errors::of(error);
    let general = general_error(error);
    let name_error = errors.at("name");
    let description_error = errors.at("description");
    let actor_error = errors.at("actor_id");
    let source_error = errors.at("match.source").or_else(|| errors.at("match.source_id"));
    let condition_error = errors.at("condition");
    let filters = filter_rows(&form.filters, &errors);
    let filters_error = errors.exact("match.payload");
    let actions = action_rows(&form.actions, &errors);
    let actions_error = errors.exact("actions");
    let rest = rest_of(&errors);
    let action = if target.action.is_empty() { "/ui/actions" } else { target.action.as_str() };
    html! {
        section {
            h2 { (target.heading) }
            @if choices.actors.is_empty() {
                p.notice { "Action sets run as a service account: create one in Settings first (an editor can toggle flags)." }
            }
            (form_error(general.as_deref()))
            (rest)
            form id=(target.id) method="post" action=(action) {
                (csrf_field(session))
                div.field {
                    label for="set-name" { "Name" }
                    input #set-name name="name" type="text" value=(form.name) required
                        aria-invalid=[name_error.as_ref().map(|_| "true")]
                        aria-describedby=[name_error.as_ref().map(|_| "set-name-error")];
                    @if let Some(message) = &name_error { p.error #set-name-error { (message) } }
                }
                (textarea("set-description", "description", "Description (optional)", &form.description, description_error))
                (select("set-actor", "actor_id", "Runs as (service account)", actor_error, html! {
                    @for a in &choices.actors {
                        option value=(a.id) selected[form.actor_id == a.id.to_string()] { (a.name) " (" (a.role) ")" }
                    }
                }))
                (select("set-source", "source", "When a signal comes from", source_error, html! {
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
                fieldset #filters {
                    legend { "Filters (optional; all must hold): the payload's field at a path" }
                    @if let Some(message) = filters_error { p.error #filters-error role="alert" { (message) } }
                    (filters)
                    button type="submit" name="add" value="filter" formnovalidate { "Add another filter row" }
                }
                (textarea("set-condition", "condition",
                    "Condition (optional): a CEL expression over payload that must hold too, e.g. payload.count > 3",
                    &form.condition, condition_error))
                fieldset #actions {
                    legend { "Actions (run in this order)" }
                    @if let Some(message) = actions_error { p.error #actions-error role="alert" { (message) } }
                    (actions)
                    button type="submit" name="add" value="action" formnovalidate { "Add another action row" }
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
                    p.empty { "No action sets yet. Create one below: a service account to run as, a source, optional filters and the actions to run." }
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
                @if let Some(choices) = choices { (set_form(session, choices, form, error, &CREATE)) }
            }
        },
    )
}

pub async fn list(State(state): State<AppState>, session: UiSession) -> Result<Markup, Error> {
    if !session.is_admin() {
        return Ok(list_view(&session, &[], None, &SetForm::new(), None));
    }
    let (sets, _) = operations::list(&state, &session.caller, PROJECT, None).await?;
    let choices = choices(&state, &session).await?;
    Ok(list_view(&session, &sets, Some(&choices), &SetForm::new(), None))
}

/// The text of an optional field: `None` when blank.
fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

/// The form as the API's input, and what was sent from which row. A malformed id is the
/// field's error, as on the API; two filters on one path are the second one's error.
fn set_in(form: &SetForm) -> Result<(SetIn, Sent), Error> {
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
    let mut sent = Sent { filters: Vec::new(), actions: Vec::new() };
    for (j, row) in form.filters.iter().enumerate() {
        if row.removed || row.is_blank() {
            continue;
        }
        let path = row.path.trim().to_owned();
        if payload.contains_key(&path) {
            return Err(Error::invalid_field(
                format!("filters[{j}].path"),
                "another filter has this path: one filter per path",
            ));
        }
        payload.insert(path.clone(), row.filter());
        sent.filters.push((path, j));
    }
    let mut actions = Vec::new();
    for (j, row) in form.actions.iter().enumerate() {
        if row.removed || row.is_blank() {
            continue;
        }
        actions.push(row.action());
        sent.actions.push(j);
    }
    let input = SetIn {
        name: form.name.clone(),
        description: optional(&form.description),
        enabled: None,
        actor: ActorRef::Id(actor),
        matches: MatchIn { source: source.to_owned(), source_id, payload },
        condition: optional(&form.condition),
        actions,
    };
    Ok((input, sent))
}

/// What "Add another … row" asks for, if it was pressed: the form with one more row.
fn with_more_rows(form: &mut SetForm, fields: &Fields) -> bool {
    match fields.get("add") {
        Some("filter") => form.filters.push(FilterRow::default()),
        Some("action") => form.actions.push(ActionRow::default()),
        _ => return false,
    }
    true
}

/// Whether an error is the form's to show (the rest are error pages).
fn shown_in_form(error: &Error) -> bool {
    let status = error.status();
    status.is_client_error() && status != StatusCode::FORBIDDEN && status != StatusCode::NOT_FOUND
}

/// Creates through the API's operation; its errors appear next to their fields. "Add
/// another … row" shows the form again with one more row and saves nothing.
pub async fn create(
    State(state): State<AppState>,
    PostedForm { session, fields }: PostedForm,
) -> Result<Response, Error> {
    operations::require_admin(&session.caller)?;
    let mut form = SetForm::from_fields(&fields);
    let created = if with_more_rows(&mut form, &fields) {
        None
    } else {
        Some(match set_in(&form) {
            Ok((input, sent)) => {
                operations::create(&state, &session.caller, PROJECT, input, V1_NAMES).await.map_err(|e| sent.rename(e))
            }
            Err(error) => Err(error),
        })
    };
    match created {
        Some(Ok(set)) => Ok(Redirect::to(&format!("/ui/actions/{}", set.id)).into_response()),
        Some(Err(error)) if !shown_in_form(&error) => Err(error),
        outcome => {
            let error = outcome.and_then(Result::err);
            let status = error.as_ref().map_or(StatusCode::OK, Error::status);
            let (sets, _) = operations::list(&state, &session.caller, PROJECT, None).await?;
            let choices = choices(&state, &session).await?;
            Ok((status, list_view(&session, &sets, Some(&choices), &form, error.as_ref())).into_response())
        }
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
            (set_form(session, choices, form, error, &target))
        },
    )
}

/// The set's edit form, prefilled with all its filters and actions (owners and admins, as the API).
pub async fn edit(State(state): State<AppState>, session: UiSession, Path(id): Path<Uuid>) -> Result<Markup, Error> {
    let set = operations::find(&state, &session.caller, PROJECT, SetKey::Id(id)).await?;
    let choices = choices(&state, &session).await?;
    Ok(edit_view(&session, &set, &choices, &SetForm::of(&set), None))
}

/// The form as a change replacing the set's definition whole (its state is kept); a blank
/// description or condition clears it.
fn set_change(form: &SetForm) -> Result<(SetChange, Sent), Error> {
    let (input, sent) = set_in(form)?;
    let patch = |text: Option<String>| text.map_or(Patch::Null, Patch::Value);
    let change = SetChange {
        name: Some(input.name),
        description: patch(input.description),
        enabled: None,
        actor: Some(input.actor),
        matches: Some(input.matches),
        condition: patch(input.condition),
        actions: Some(input.actions),
    };
    Ok((change, sent))
}

/// Saves through the API's update operation; its errors appear next to their fields. "Add
/// another … row" shows the form again with one more row and saves nothing.
pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    PostedForm { session, fields }: PostedForm,
) -> Result<Response, Error> {
    operations::require_admin(&session.caller)?;
    let set = operations::find(&state, &session.caller, PROJECT, SetKey::Id(id)).await?;
    let mut form = SetForm::from_fields(&fields);
    let updated = if with_more_rows(&mut form, &fields) {
        None
    } else {
        Some(match set_change(&form) {
            Ok((change, sent)) => {
                operations::update(&state, &session.caller, PROJECT, SetKey::Id(id), change, V1_NAMES)
                    .await
                    .map_err(|e| sent.rename(e))
            }
            Err(error) => Err(error),
        })
    };
    match updated {
        Some(Ok(_)) => Ok(Redirect::to(&format!("/ui/actions/{id}")).into_response()),
        Some(Err(error)) if !shown_in_form(&error) => Err(error),
        outcome => {
            let error = outcome.and_then(Result::err);
            let status = error.as_ref().map_or(StatusCode::OK, Error::status);
            let choices = choices(&state, &session).await?;
            Ok((status, edit_view(&session, &set, &choices, &form, error.as_ref())).into_response())
        }
    }
}
