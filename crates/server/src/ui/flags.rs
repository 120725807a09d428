//! Flags: projects, flags with a toggle per environment, a flag's page (its configuration,
//! edited in `flag_config` and `flag_strategy`; the kill switch), and the change requests
//! inbox. Every change goes through the operations the JSON API uses, so roles, approvals and
//! the kill switch hold here too.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use std::collections::BTreeMap;

use serde::Deserialize;
use signalbox_core::flags::strategy::BUILT_IN;
use signalbox_core::flags::{FLAG_TYPES, Strategy, Variant};
use signalbox_core::{Role, Timestamp};
use uuid::Uuid;

use super::layout::{Section, csrf_field, field_errors, form_error, general_error, page, pretty_json, text_input};
use super::session::{CsrfForm, UiSession};
use crate::Error;
use crate::error::FieldError;
use crate::flags::model::{Environment, Flag, FlagEnvironment, FlagIn, Project, ReviveIn};
use crate::flags::projects;
use crate::flags::routes::{self as flag_routes, kill_flag, set_enabled};
use crate::flags::store::{self, FlagQuery};
use crate::flags::workflow::{self, Committed};
use crate::flags::workflow_store::{self as workflows, ChangeRequest, ChangeRequestQuery};
use crate::http::{ApiJson, ApiPath, PageRequest};
use crate::sdk::applications;
use crate::sdk::tokens::{self as sdk_tokens_api, CreatedSdkToken, SdkTokenIn};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/flags", get(list).post(create))
        .route("/ui/flags/change-requests", get(inbox))
        .route("/ui/flags/sdk-tokens", get(sdk_tokens).post(create_sdk_token))
        .route("/ui/flags/sdk-tokens/{id}/revoke", post(revoke_sdk_token))
        .route("/ui/flags/change-requests/{id}/approve", post(approve))
        .route("/ui/flags/change-requests/{id}/reject", post(reject))
        .route("/ui/flags/change-requests/{id}/apply", post(apply))
        .route("/ui/flags/{project}/{flag}", get(show))
        .route("/ui/flags/{project}/{flag}/toggle", post(toggle))
        .route("/ui/flags/{project}/{flag}/kill", post(kill))
        .route("/ui/flags/{project}/{flag}/revive", post(revive))
        .route("/ui/flags/{project}/{flag}/promote", post(promote))
        .route("/ui/flags/{project}/{flag}/schedules", post(schedule))
        .route("/ui/flags/{project}/{flag}/schedules/{id}/cancel", post(cancel_schedule))
}

const ALL_PAGE: PageRequest = PageRequest { limit: 100, offset: 0 };

fn can_edit(session: &UiSession) -> bool {
    session.caller.role >= Role::Editor
}

fn can_approve(session: &UiSession) -> bool {
    session.caller.role >= Role::Admin
}

/// Any problem as one line (for errors shown in a table cell or next to a button).
fn message(error: &Error) -> String {
    error.problem().detail
}

pub(super) fn flag_url(project: &str, flag: &str) -> String {
    format!("/ui/flags/{}/{}", urlencoding(project), urlencoding(flag))
}

fn list_url(project: &str) -> String {
    format!("/ui/flags?project={}", urlencoding(project))
}

pub(super) fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Who a principal is, for people: their email or name (or the id of one no longer a member).
async fn who(state: &AppState, session: &UiSession, principal: Option<Uuid>) -> Result<String, Error> {
    let Some(id) = principal else { return Ok("the system".to_owned()) };
    if id == session.caller.principal_id {
        return Ok("you".to_owned());
    }
    Ok(match crate::auth::store::find_member(&state.db, session.caller.workspace_id, id).await? {
        Some(member) => member.email.unwrap_or(member.name),
        None => id.to_string(),
    })
}

fn state_label(config: &FlagEnvironment) -> &'static str {
    if config.killed.is_some() {
        "Killed"
    } else if config.enabled {
        "On"
    } else {
        "Off"
    }
}

/// A toggle's error: the flag and environment it was for, and the problem.
struct ToggleError {
    flag: String,
    environment: String,
    error: Error,
}

/// The small form that turns a flag on or off in one environment.
fn toggle_cell(
    session: &UiSession,
    flag: &Flag,
    config: &FlagEnvironment,
    back: &str,
    toggle_error: Option<&ToggleError>,
) -> Markup {
    let error = toggle_error.filter(|t| t.flag == flag.key && t.environment == config.environment);
    let id = format!("toggle-{}-{}", flag.key, config.environment);
    let (target, label) = if config.enabled { ("off", "Turn off") } else { ("on", "Turn on") };
    html! {
        div.toggle data-environment=(config.environment) {
            @if config.killed.is_some() {
                strong.state.killed { (state_label(config)) }
            } @else {
                span.state class=(state_label(config).to_lowercase()) { (state_label(config)) }
            }
            @if can_edit(session) && !flag.archived && config.killed.is_none() {
                " "
                form.inline method="post" action=(format!("{}/toggle", flag_url(&flag.project, &flag.key))) {
                    (csrf_field(session))
                    input type="hidden" name="environment" value=(config.environment);
                    input type="hidden" name="enabled" value=(target);
                    input type="hidden" name="back" value=(back);
                    button type="submit" aria-describedby=[error.map(|_| format!("{id}-error"))]
                        aria-label=(format!("{label} {} in {}", flag.key, config.environment)) { (label) }
                }
            }
            @if let Some(error) = error {
                p.error id=(format!("{id}-error")) role="alert" { (message(&error.error)) }
            }
        }
    }
}

fn requested_notice(requested: Option<&str>) -> Markup {
    html! {
        @if let Some(environment) = requested {
            p.notice role="status" {
                (environment) " requires approval: your change was filed as a change request. "
                a href="/ui/flags/change-requests" { "See the change requests" }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The flag list

#[derive(Deserialize, Default)]
pub struct ListQuery {
    project: Option<String>,
    q: Option<String>,
    requested: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct CreateForm {
    #[serde(default)]
    project: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    name: String,
    #[serde(default, rename = "type")]
    flag_type: String,
    csrf: Option<String>,
}

#[derive(Default)]
struct ListView<'a> {
    form: Option<&'a CreateForm>,
    create_error: Option<&'a Error>,
    toggle_error: Option<&'a ToggleError>,
    q: Option<&'a str>,
    requested: Option<&'a str>,
}

async fn list_page(
    state: &AppState,
    session: &UiSession,
    project_key: &str,
    view: ListView<'_>,
) -> Result<Markup, Error> {
    let caller = &session.caller;
    caller.require(Role::Viewer)?;
    let (all_projects, _) = store::list_projects(&state.db, caller.workspace_id, ALL_PAGE).await?;
    let project: Project = projects::find(state, caller, project_key).await?;
    let environments = store::list_environments(&state.db, caller.workspace_id).await?;
    let q = view.q.map(str::trim).filter(|q| !q.is_empty());
    let query = FlagQuery { project_id: project.id, tag: None, enabled_in: None, q, archived: false, page: ALL_PAGE };
    let (flags, total) = store::list_flags(&state.db, query).await?;
    let errors = field_errors(view.create_error);
    let default_form = CreateForm::default();
    let form = view.form.unwrap_or(&default_form);
    let back = format!("list:{}", project.key);
    Ok(page(
        session,
        Section::Flags,
        "Flags",
        html! {
            p.lead {
                "Feature flags of project " strong { (project.name) } ", with their state in every environment. "
                a href="/ui/flags/change-requests" { "Change requests" }
                " · " a href=(format!("/ui/flags/segments?project={}", urlencoding(&project.key))) { "Segments" }
                @if can_approve(session) { " · " a href="/ui/flags/sdk-tokens" { "SDK tokens" } }
            }
            form #pick-project method="get" action="/ui/flags" {
                div.field {
                    label for="project" { "Project" }
                    select #project name="project" {
                        @for p in &all_projects {
                            option value=(p.key) selected[p.key == project.key] { (p.name) " (" (p.key) ")" }
                        }
                    }
                }
                div.field {
                    label for="flag-search" { "Search" }
                    input #flag-search type="search" name="q" value=(q.unwrap_or(""));
                }
                button type="submit" { "Show" }
            }
            (requested_notice(view.requested))
            @if let Some(error) = view.toggle_error.filter(|t| !flags.iter().any(|f| f.key == t.flag)) {
                (form_error(Some(&message(&error.error))))
            }
            @if flags.is_empty() {
                p.empty {
                    @if q.is_some() { "No flags match the search. " a href=(list_url(&project.key)) { "Show all flags" } }
                    @else if can_edit(session) { "No flags in this project yet. Create one below; it starts off in every environment." }
                    @else { "No flags in this project yet. Editors, admins and owners can create them." }
                }
            } @else {
                table #flags {
                    caption { (total) " flag" @if total != 1 { "s" } " in " (project.key) }
                    thead {
                        tr {
                            th scope="col" { "Flag" }
                            th scope="col" { "Type" }
                            @for e in &environments { th scope="col" { (e.name) } }
                        }
                    }
                    tbody {
                        @for flag in &flags {
                            tr data-flag=(flag.key) {
                                th scope="row" {
                                    a href=(flag_url(&project.key, &flag.key)) { (flag.key) }
                                    @if flag.name != flag.key { br; span.lead { (flag.name) } }
                                }
                                td { (flag.flag_type) }
                                @for config in &flag.environments {
                                    td { (toggle_cell(session, flag, config, &back, view.toggle_error)) }
                                }
                            }
                        }
                    }
                }
            }
            @if can_edit(session) {
                section {
                    h2 { "New flag" }
                    (form_error(general_error(view.create_error).as_deref()))
                    form #create-flag method="post" action="/ui/flags" {
                        (csrf_field(session))
                        input type="hidden" name="project" value=(project.key);
                        (text_input("flag-key", "key", "Key (letters, digits, . _ -)", &form.key, &errors, true))
                        (text_input("flag-name", "name", "Name (optional)", &form.name, &errors, false))
                        div.field {
                            label for="flag-type" { "Type" }
                            select #flag-type name="type" {
                                @for t in FLAG_TYPES {
                                    option value=(t) selected[*t == form.flag_type] { (t) }
                                }
                            }
                            @if let Some(e) = errors.iter().find(|e| e.field == "type") { p.error { (e.message) } }
                        }
                        button type="submit" { "Create flag" }
                    }
                }
            }
        },
    ))
}

pub async fn list(
    State(state): State<AppState>,
    session: UiSession,
    Query(query): Query<ListQuery>,
) -> Result<Markup, Error> {
    let project = query.project.as_deref().filter(|p| !p.is_empty()).unwrap_or("default");
    let view = ListView { q: query.q.as_deref(), requested: query.requested.as_deref(), ..Default::default() };
    list_page(&state, &session, project, view).await
}

/// Creates a flag through the API's operation; it starts off everywhere.
pub async fn create(
    State(state): State<AppState>,
    session: UiSession,
    headers: HeaderMap,
    Form(form): Form<CreateForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    session.caller.require(Role::Editor)?;
    let project = if form.project.is_empty() { "default".to_owned() } else { form.project.clone() };
    let body = FlagIn {
        key: form.key.trim().to_owned(),
        name: Some(form.name.trim().to_owned()).filter(|n| !n.is_empty()),
        description: None,
        flag_type: Some(form.flag_type.clone()).filter(|t| !t.is_empty()),
        tags: None,
        impression_data: None,
    };
    let created =
        flag_routes::create_flag(State(state.clone()), session.caller.clone(), ApiPath(project.clone()), ApiJson(body))
            .await;
    match created {
        Ok((_, _, flag)) => Ok(Redirect::to(&flag_url(&flag.project, &flag.key)).into_response()),
        Err(error) if error.status().is_client_error() && error.status() != StatusCode::NOT_FOUND => {
            let view = ListView { form: Some(&form), create_error: Some(&error), ..Default::default() };
            Ok((error.status(), list_page(&state, &session, &project, view).await?).into_response())
        }
        Err(error) => Err(error),
    }
}

#[derive(Deserialize)]
pub struct ToggleForm {
    #[serde(default)]
    environment: String,
    #[serde(default)]
    enabled: String,
    /// `list:<project>` or `flag` (default): the page to come back to.
    #[serde(default)]
    back: String,
    csrf: Option<String>,
}

/// Back to `back` after a change: where it was filed as a change request instead of applied,
/// the page says so (`?requested=<environment>`).
pub(super) fn back_after(back: &str, committed: &Committed) -> Redirect {
    match committed {
        Committed::Applied(_) => Redirect::to(back),
        Committed::Requested(cr) => Redirect::to(&requested_url(back, &cr.environment)),
    }
}

fn requested_url(back: &str, environment: &str) -> String {
    let separator = if back.contains('?') { '&' } else { '?' };
    format!("{back}{separator}requested={}", urlencoding(environment))
}

/// The toggle and schedule forms' `enabled` field.
fn on_or_off(value: &str) -> Result<bool, Error> {
    match value {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(Error::invalid_field("enabled", "must be on or off")),
    }
}

/// Turns a flag on or off in one environment (`set_enabled`, as the API's `…/on` and `…/off`).
pub async fn toggle(
    State(state): State<AppState>,
    session: UiSession,
    Path((project, key)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<ToggleForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    session.caller.require(Role::Editor)?;
    let result = match on_or_off(&form.enabled) {
        Ok(enabled) => set_enabled(&state, &session.caller, (&project, &key, &form.environment), enabled).await,
        Err(error) => Err(error),
    };
    let back_to_list = form.back.starts_with("list:");
    let back = if back_to_list { list_url(&project) } else { flag_url(&project, &key) };
    match result {
        Ok(committed) => Ok(back_after(&back, &committed).into_response()),
        Err(error) if error.status().is_client_error() && error.status() != StatusCode::NOT_FOUND => {
            let status = error.status();
            let toggle_error = ToggleError { flag: key.clone(), environment: form.environment.clone(), error };
            let markup = if back_to_list {
                let view = ListView { toggle_error: Some(&toggle_error), ..Default::default() };
                list_page(&state, &session, &project, view).await?
            } else {
                let view = FlagView { toggle_error: Some(&toggle_error), ..Default::default() };
                flag_page(&state, &session, &project, &key, view).await?
            };
            Ok((status, markup).into_response())
        }
        Err(error) => Err(error),
    }
}

// ---------------------------------------------------------------------------------------
// A flag's page

#[derive(Default)]
struct FlagView<'a> {
    toggle_error: Option<&'a ToggleError>,
    kill_error: Option<&'a Error>,
    kill_form: Option<&'a KillForm>,
    revive_error: Option<&'a Error>,
    promote_error: Option<&'a Error>,
    promote_form: Option<&'a PromoteForm>,
    schedule_error: Option<&'a Error>,
    schedule_form: Option<&'a ScheduleForm>,
    /// A cancel that failed: the schedule and the problem.
    cancel_error: Option<(Uuid, &'a Error)>,
    requested: Option<&'a str>,
}

/// What SDKs reported about a flag in one environment: its counts, and the applications.
#[derive(Default)]
struct EnvironmentUsage {
    yes: i64,
    no: i64,
    variants: BTreeMap<String, i64>,
    /// Application name → when it was last seen in this environment.
    apps: BTreeMap<String, Timestamp>,
}

/// How far back the usage on a flag's page goes (as the API's flag detail).
const USAGE_WINDOW: std::time::Duration = std::time::Duration::from_secs(48 * 3600);

/// A flag's SDK usage per environment, from client metrics (`usage_of`, as the API's flag
/// detail) and the instances the applications registered (`list_applications`).
async fn usage_by_environment(
    state: &AppState,
    session: &UiSession,
    flag: &str,
) -> Result<BTreeMap<String, EnvironmentUsage>, Error> {
    let since = state.clock.now().minus(USAGE_WINDOW);
    let rows = applications::usage_of(&state.db, session.caller.workspace_id, flag, since).await?;
    let apps = applications::list_applications(State(state.clone()), session.caller.clone()).await?.0.data;
    let mut usage: BTreeMap<String, EnvironmentUsage> = BTreeMap::new();
    for row in rows {
        let entry = usage.entry(row.environment.clone()).or_default();
        entry.yes += row.yes;
        entry.no += row.no;
        for (variant, count) in &row.variants {
            *entry.variants.entry(variant.clone()).or_default() += count;
        }
        let hour = Timestamp::parse(&row.hour).ok();
        let seen = apps
            .iter()
            .filter(|a| a.app_name == row.app_name)
            .flat_map(|a| &a.instances)
            .filter(|i| i.environment == row.environment)
            .map(|i| i.last_seen_at)
            .max()
            .or(hour);
        if let Some(seen) = seen {
            let last = entry.apps.entry(row.app_name.clone()).or_insert(seen);
            if seen > *last {
                *last = seen;
            }
        }
    }
    Ok(usage)
}

fn usage_section(usage: &BTreeMap<String, EnvironmentUsage>, env_name: &dyn Fn(&str) -> String) -> Markup {
    html! {
        section #sdk-usage aria-labelledby="usage-heading" {
            h2 #usage-heading { "SDK usage" }
            @if usage.is_empty() {
                p.empty { "No SDK has reported this flag yet (in the last 48 hours). Usage appears here once SDKs send metrics." }
            } @else {
                p.lead { "Evaluations SDKs reported in their metrics over the last 48 hours." }
                table #usage {
                    caption { "Evaluations per environment" }
                    thead {
                        tr {
                            th scope="col" { "Environment" }
                            th scope="col" { "Yes" }
                            th scope="col" { "No" }
                            th scope="col" { "Variants" }
                            th scope="col" { "Applications (last seen)" }
                        }
                    }
                    tbody {
                        @for (environment, u) in usage {
                            tr data-environment=(environment) {
                                th scope="row" { (env_name(environment)) }
                                td.yes { (u.yes) }
                                td.no { (u.no) }
                                td {
                                    @if u.variants.is_empty() { "—" } @else {
                                        ul { @for (variant, count) in &u.variants { li { (variant) ": " (count) } } }
                                    }
                                }
                                td {
                                    ul {
                                        @for (app, seen) in &u.apps {
                                            li.app { (app) " — " time datetime=(seen.to_string()) { (seen.to_string()) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn constraint_values(c: &signalbox_core::flags::Constraint) -> String {
    let mut values = c.values.join(", ");
    if let Some(value) = &c.value {
        if !values.is_empty() {
            values.push_str(", ");
        }
        values.push_str(value);
    }
    values
}

fn variants_table(variants: &[Variant], caption: &str) -> Markup {
    html! {
        table.variants {
            caption { (caption) }
            thead { tr { th scope="col" { "Variant" } th scope="col" { "Weight" } th scope="col" { "Stickiness" } th scope="col" { "Payload" } } }
            tbody {
                @for v in variants {
                    tr {
                        th scope="row" { (v.name) }
                        td { (format!("{:.1}%", f64::from(v.weight) / 10.0)) @if v.weight_type == "fix" { " (fixed)" } }
                        td { (v.stickiness.as_deref().unwrap_or("strategy's")) }
                        td {
                            @match &v.payload {
                                Some(payload) => { (pretty_json(&serde_json::to_string(payload).unwrap_or_default())) }
                                None => { "—" }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn strategy_block(
    strategy: &Strategy,
    position: usize,
    segment_names: &BTreeMap<i64, String>,
    edit: Option<Markup>,
) -> Markup {
    let title = strategy.title.clone().unwrap_or_else(|| strategy.name.clone());
    html! {
        article.strategy {
            h4 { (position) ". " (title) @if strategy.disabled { " (disabled)" } }
            @if let Some(edit) = edit { (edit) }
            dl {
                dt { "Strategy" }
                dd { code { (strategy.name) } }
                @if !strategy.parameters.is_empty() {
                    dt { "Parameters" }
                    dd {
                        dl.params {
                            @for (name, value) in &strategy.parameters { dt { (name) } dd { code { (value) } } }
                        }
                    }
                }
                dt { "Constraints" }
                dd {
                    @if strategy.constraints.is_empty() {
                        "None: it applies to every context."
                    } @else {
                        table.constraints {
                            caption { "All must hold" }
                            thead { tr { th scope="col" { "Context field" } th scope="col" { "Operator" } th scope="col" { "Values" } } }
                            tbody {
                                @for c in &strategy.constraints {
                                    tr {
                                        td { code { (c.context_name) } }
                                        td {
                                            @if c.inverted { "NOT " }
                                            (c.operator)
                                            @if c.case_insensitive { " (case-insensitive)" }
                                        }
                                        td { (constraint_values(c)) }
                                    }
                                }
                            }
                        }
                    }
                }
                @if !strategy.segments.is_empty() {
                    dt { "Segments" }
                    dd {
                        (strategy.segments.iter().map(|s| segment_names.get(s).cloned().unwrap_or_else(|| format!("#{s}")))
                            .collect::<Vec<_>>().join(", "))
                    }
                }
                @if !strategy.variants.is_empty() {
                    dt { "Variants" }
                    dd { (variants_table(&strategy.variants, "The strategy's variants")) }
                }
            }
            details {
                summary { "Raw JSON" }
                (pretty_json(&serde_json::to_string(strategy).unwrap_or_default()))
            }
        }
    }
}

/// A strategy's Edit link and Remove button (editors).
fn strategy_actions(session: &UiSession, base: &str, environment: &str, index: usize, version: i64) -> Markup {
    html! {
        p.actions {
            a href=(format!("{base}/strategies/{index}")) aria-label=(format!("Edit strategy {} in {environment}", index + 1)) { "Edit" }
            " "
            form.inline method="post" action=(format!("{base}/strategies/{index}/remove")) {
                (csrf_field(session))
                input type="hidden" name="version" value=(version);
                button type="submit" aria-label=(format!("Remove strategy {} in {environment}", index + 1)) { "Remove…" }
            }
        }
    }
}

async fn flag_page(
    state: &AppState,
    session: &UiSession,
    project_key: &str,
    key: &str,
    view: FlagView<'_>,
) -> Result<Markup, Error> {
    let caller = &session.caller;
    caller.require(Role::Viewer)?;
    let project = projects::find(state, caller, project_key).await?;
    let flag = store::find_flag(&state.db, project.id, key)
        .await?
        .ok_or_else(|| Error::not_found(format!("no flag {key:?} in project {:?}", project.key)))?;
    let environments: Vec<Environment> = store::list_environments(&state.db, caller.workspace_id).await?;
    let mut killers = Vec::new();
    for config in &flag.environments {
        if let Some(kill) = &config.killed {
            killers.push((config.environment.clone(), who(state, session, kill.by).await?, kill.clone()));
        }
    }
    let schedules = workflows::schedules_of(&state.db, flag.id).await?;
    let pending = pending_requests(state, session, Some(&project.key)).await?;
    let pending: Vec<&ChangeRequest> = pending.iter().filter(|cr| cr.flag == flag.key).collect();
    let kill_errors = field_errors(view.kill_error);
    let reason = view.kill_form.map(|f| f.reason.as_str()).unwrap_or("");
    let chosen = view.kill_form.map(|f| f.environment.as_str()).unwrap_or("");
    let all_killed = flag.environments.iter().all(|c| c.killed.is_some());
    let env_name = |key: &str| {
        environments.iter().find(|e| e.key == key).map(|e| e.name.clone()).unwrap_or_else(|| key.to_owned())
    };
    let usage = usage_by_environment(state, session, &flag.key).await?;
    let promote_errors = field_errors(view.promote_error);
    let promote_from = view.promote_form.map(|f| f.from.as_str()).unwrap_or("");
    let promote_to = view.promote_form.map(|f| f.to.as_str()).unwrap_or("");
    let schedule_errors = field_errors(view.schedule_error);
    let default_schedule = ScheduleForm::default();
    let schedule_form = view.schedule_form.unwrap_or(&default_schedule);
    let schedules_url = format!("{}/schedules", flag_url(&project.key, &flag.key));
    let segment_names: BTreeMap<i64, String> =
        crate::flags::segments::list(&state.db, caller.workspace_id, Some(project.id))
            .await?
            .into_iter()
            .map(|s| (s.id, s.name))
            .collect();
    Ok(page(
        session,
        Section::Flags,
        &flag.key,
        html! {
            p.lead {
                (flag.name) " · " (flag.flag_type) " flag in project "
                a href=(list_url(&project.key)) { (project.name) }
                @if let Some(description) = &flag.description { " · " (description) }
                @if !flag.tags.is_empty() { " · tags: " (flag.tags.join(", ")) }
            }
            @if flag.archived { p.notice { "This flag is archived: it cannot be changed until it is restored." } }
            (requested_notice(view.requested))
            @if !killers.is_empty() {
                section #killed.killed aria-labelledby="killed-heading" {
                    h2 #killed-heading { "Killed" }
                    ul {
                        @for (environment, by, kill) in &killers {
                            li data-environment=(environment) {
                                strong { (env_name(environment)) } ": killed by " (by) " at "
                                time datetime=(kill.at.to_string()) { (kill.at.to_string()) }
                                ". Reason: " q.reason { (kill.reason) }
                            }
                        }
                    }
                    p { "Nothing can turn the flag on where it is killed until it is revived; reviving leaves it off." }
                    @if can_edit(session) {
                        @if let Some(error) = view.revive_error { (form_error(Some(&message(error)))) }
                        form #revive-flag method="post" action=(format!("{}/revive", flag_url(&project.key, &flag.key))) {
                            (csrf_field(session))
                            button type="submit" { "Revive" }
                        }
                    }
                }
            }
            section aria-labelledby="environments-heading" {
                h2 #environments-heading { "Environments" }
                @for config in &flag.environments {
                    @let environment = environments.iter().find(|e| e.key == config.environment);
                    section.environment data-environment=(config.environment) {
                        h3 { (env_name(&config.environment)) }
                        dl {
                            dt { "State" }
                            dd { (toggle_cell(session, &flag, config, "flag", view.toggle_error)) }
                            @if environment.is_some_and(|e| e.requires_approval) {
                                dt { "Approval" }
                                dd { "Changes here need " (environment.map_or(1, |e| e.approvals_required)) " approval(s)." }
                            }
                            dt { "Last changed" }
                            dd {
                                @match config.updated_at { Some(at) => (at.to_string()), None => "never" }
                                " (version " (config.version) ")"
                            }
                        }
                        h4.sub { "Strategies" }
                        @let editable = can_edit(session) && !flag.archived;
                        @let base = format!("{}/environments/{}", flag_url(&project.key, &flag.key), urlencoding(&config.environment));
                        @if config.strategies.is_empty() {
                            p.empty { "No strategies: when on, the flag is on for everyone." }
                        } @else {
                            @for (i, strategy) in config.strategies.iter().enumerate() {
                                (strategy_block(strategy, i + 1, &segment_names, editable.then(|| strategy_actions(session, &base, &config.environment, i, config.version))))
                            }
                        }
                        @if editable {
                            form.inline.add-strategy method="get" action=(format!("{base}/strategies/new")) {
                                label for=(format!("add-strategy-{}", config.environment)) { "Add a strategy" }
                                " "
                                select id=(format!("add-strategy-{}", config.environment)) name="name" {
                                    @for b in BUILT_IN { option value=(b.name) { (b.name) " — " (b.description) } }
                                }
                                " "
                                button type="submit" { "Add…" }
                            }
                        }
                        @if !config.variants.is_empty() {
                            (variants_table(&config.variants, "Variants"))
                        }
                        @if editable {
                            p.edit-links {
                                a href=(format!("{base}/variants")) { "Edit variants in " (env_name(&config.environment)) }
                                " · "
                                a href=(format!("{base}/json")) { "Edit " (env_name(&config.environment)) " as JSON" }
                            }
                        }
                    }
                }
            }
            (usage_section(&usage, &env_name))
            @if can_edit(session) && !flag.archived && environments.len() > 1 {
                section #promote aria-labelledby="promote-heading" {
                    h2 #promote-heading { "Promote" }
                    p { "Copies one environment's configuration (on or off, strategies and variants) to another. "
                        "Into an environment that requires approval it is filed as a change request." }
                    (form_error(general_error(view.promote_error).as_deref()))
                    form #promote-flag method="post" action=(format!("{}/promote", flag_url(&project.key, &flag.key))) {
                        (csrf_field(session))
                        @for (field, id, label, chosen) in [("from", "promote-from", "From", promote_from), ("to", "promote-to", "To", promote_to)] {
                            @let error = promote_errors.iter().find(|e| e.field == field);
                            div.field {
                                label for=(id) { (label) }
                                select id=(id) name=(field) aria-invalid=[error.map(|_| "true")]
                                    aria-describedby=[error.map(|_| format!("{id}-error"))] {
                                    @for (i, e) in environments.iter().enumerate() {
                                        @let selected = if chosen.is_empty() { (field == "from") == (i == 0) } else { chosen == e.key };
                                        option value=(e.key) selected[selected] { (e.name) }
                                    }
                                }
                                @if let Some(error) = error { p.error id=(format!("{id}-error")) { (error.message) } }
                            }
                        }
                        button type="submit" { "Promote" }
                    }
                }
            }
            @if can_edit(session) && !all_killed && !flag.archived {
                section #kill-switch aria-labelledby="kill-heading" {
                    h2 #kill-heading { "Kill switch" }
                    p { "Turns the flag off at once, bypassing approvals, and keeps it off until someone revives it." }
                    (form_error(general_error(view.kill_error).as_deref()))
                    form #kill-flag method="post" action=(format!("{}/kill", flag_url(&project.key, &flag.key))) {
                        (csrf_field(session))
                        (text_input("kill-reason", "reason", "Reason", reason, &kill_errors, true))
                        div.field {
                            label for="kill-environment" { "Where" }
                            select #kill-environment name="environment" {
                                option value="" selected[chosen.is_empty()] { "All environments" }
                                @for e in &environments {
                                    option value=(e.key) selected[chosen == e.key] { (e.name) }
                                }
                            }
                        }
                        button type="submit" { "Kill flag…" }
                    }
                }
            }
            section #scheduled aria-labelledby="schedules-heading" {
                h2 #schedules-heading { "Scheduled toggles" }
                @if schedules.is_empty() {
                    p.empty {
                        "No scheduled toggles."
                        @if can_edit(session) && !flag.archived { " Schedule one below: the flag is turned on or off at that time, once." }
                    }
                } @else {
                    table #schedules {
                        caption { "Scheduled toggles, by time" }
                        thead {
                            tr {
                                th scope="col" { "When" } th scope="col" { "Environment" } th scope="col" { "Turns" } th scope="col" { "State" }
                                @if can_edit(session) { th scope="col" { "Actions" } }
                            }
                        }
                        tbody {
                            @for s in &schedules {
                                @let error = view.cancel_error.filter(|(id, _)| *id == s.id).map(|(_, e)| e);
                                tr data-schedule=(s.id) {
                                    td { time datetime=(s.at.to_string()) { (s.at.to_string()) } }
                                    td { (env_name(&s.environment)) }
                                    td { @if s.enabled { "on" } @else { "off" } }
                                    td { (s.state.replace('_', " ")) @if let Some(e) = &s.error { ": " (e) } }
                                    @if can_edit(session) {
                                        td {
                                            @if s.state == "pending" || s.state == "awaiting_approval" {
                                                form.inline method="post" action=(format!("{schedules_url}/{}/cancel", s.id)) {
                                                    (csrf_field(session))
                                                    button type="submit"
                                                        aria-describedby=[error.map(|_| format!("cancel-{}-error", s.id))]
                                                        aria-label=(format!("Cancel the toggle {} in {} at {}", if s.enabled { "on" } else { "off" }, s.environment, s.at)) { "Cancel…" }
                                                }
                                            }
                                            @if let Some(error) = error {
                                                p.error id=(format!("cancel-{}-error", s.id)) role="alert" { (message(error)) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if can_edit(session) && !flag.archived {
                    h3 { "Schedule a toggle" }
                    p { "In an environment that requires approval the schedule waits for a change request's approval; once approved it runs at its time." }
                    (form_error(general_error(view.schedule_error).as_deref()))
                    form #schedule-flag method="post" action=(schedules_url) {
                        (csrf_field(session))
                        @let env_error = schedule_errors.iter().find(|e| e.field == "environment");
                        div.field {
                            label for="schedule-environment" { "Environment" }
                            select #schedule-environment name="environment" aria-invalid=[env_error.map(|_| "true")]
                                aria-describedby=[env_error.map(|_| "schedule-environment-error")] {
                                @for e in &environments {
                                    option value=(e.key) selected[schedule_form.environment == e.key] { (e.name) }
                                }
                            }
                            @if let Some(error) = env_error { p.error #schedule-environment-error { (error.message) } }
                        }
                        @let enabled_error = schedule_errors.iter().find(|e| e.field == "enabled");
                        div.field {
                            label for="schedule-enabled" { "Turn" }
                            select #schedule-enabled name="enabled" aria-invalid=[enabled_error.map(|_| "true")]
                                aria-describedby=[enabled_error.map(|_| "schedule-enabled-error")] {
                                option value="on" selected[schedule_form.enabled != "off"] { "on" }
                                option value="off" selected[schedule_form.enabled == "off"] { "off" }
                            }
                            @if let Some(error) = enabled_error { p.error #schedule-enabled-error { (error.message) } }
                        }
                        (text_input("schedule-at", "at", "When (RFC 3339, e.g. 2026-12-01T09:00:00Z)", &schedule_form.at, &schedule_errors, true))
                        button type="submit" { "Schedule" }
                    }
                }
            }
            section aria-labelledby="requests-heading" {
                h2 #requests-heading { "Pending change requests" }
                @if pending.is_empty() {
                    p.empty { "None. Changes in environments that require approval appear here and in the " a href="/ui/flags/change-requests" { "inbox" } "." }
                } @else {
                    ul {
                        @for cr in &pending {
                            li { (cr.kind) " in " (env_name(&cr.environment)) ", " (cr.state) " (" (cr.approvals.len()) "/" (cr.approvals_required) " approvals) — "
                                a href=(format!("/ui/flags/change-requests#cr-{}", cr.id)) { "review" } }
                        }
                    }
                }
            }
        },
    ))
}

#[derive(Deserialize, Default)]
pub struct ShowQuery {
    requested: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    session: UiSession,
    Path((project, key)): Path<(String, String)>,
    Query(query): Query<ShowQuery>,
) -> Result<Markup, Error> {
    let view = FlagView { requested: query.requested.as_deref(), ..Default::default() };
    flag_page(&state, &session, &project, &key, view).await
}

#[derive(Deserialize, Default)]
pub struct KillForm {
    #[serde(default)]
    reason: String,
    /// One environment's key; empty: all.
    #[serde(default)]
    environment: String,
    /// `yes` once the confirmation page was answered.
    #[serde(default)]
    confirm: String,
    csrf: Option<String>,
}

fn confirm_page(session: &UiSession, project: &str, key: &str, form: &KillForm) -> Markup {
    let target = if form.environment.is_empty() { "every environment".to_owned() } else { form.environment.clone() };
    page(
        session,
        Section::Flags,
        &format!("Kill {key}?"),
        html! {
            p { "This turns " strong { (key) } " off at once in " strong { (target) } ", bypassing approvals. "
                "Until someone revives it there, nothing can turn it on." }
            p { "Reason: " q #confirm-reason { (form.reason.trim()) } }
            form #confirm-kill method="post" action=(format!("{}/kill", flag_url(project, key))) {
                (csrf_field(session))
                input type="hidden" name="reason" value=(form.reason);
                input type="hidden" name="environment" value=(form.environment);
                input type="hidden" name="confirm" value="yes";
                button type="submit" { "Kill now" }
                " "
                a href=(flag_url(project, key)) { "Cancel" }
            }
        },
    )
}

/// The kill switch: first a confirmation page, then `kill_flag` (the API's operation).
pub async fn kill(
    State(state): State<AppState>,
    session: UiSession,
    Path((project, key)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<KillForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    session.caller.require(Role::Editor)?;
    let result = if form.confirm == "yes" {
        let environments = Some(form.environment.clone()).filter(|e| !e.is_empty()).map(|e| vec![e]);
        kill_flag(&state, &session.caller, (&project, &key), &form.reason, environments).await.map(|_| ())
    } else if form.reason.trim().is_empty() || form.reason.trim().chars().count() > 500 {
        // The same check kill_flag makes, before asking for confirmation of nothing.
        Err(Error::invalid_field("reason", "must be 1-500 characters"))
    } else {
        // The flag must exist before its kill is confirmed.
        flag_page(&state, &session, &project, &key, FlagView::default()).await?;
        return Ok(confirm_page(&session, &project, &key, &form).into_response());
    };
    match result {
        Ok(()) => Ok(Redirect::to(&flag_url(&project, &key)).into_response()),
        Err(error) if error.status().is_client_error() && error.status() != StatusCode::NOT_FOUND => {
            let view = FlagView { kill_error: Some(&error), kill_form: Some(&form), ..Default::default() };
            Ok((error.status(), flag_page(&state, &session, &project, &key, view).await?).into_response())
        }
        Err(error) => Err(error),
    }
}

/// Lifts the kill switch wherever it holds (the API's `…/revive`); the flag stays off.
pub async fn revive(
    State(state): State<AppState>,
    session: UiSession,
    Path((project, key)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    session.caller.require(Role::Editor)?;
    let revived = flag_routes::revive(
        State(state.clone()),
        session.caller.clone(),
        ApiPath((project.clone(), key.clone())),
        ApiJson(ReviveIn { environments: None }),
    )
    .await;
    match revived {
        Ok(_) => Ok(Redirect::to(&flag_url(&project, &key)).into_response()),
        Err(error) if error.status().is_client_error() && error.status() != StatusCode::NOT_FOUND => {
            let view = FlagView { revive_error: Some(&error), ..Default::default() };
            Ok((error.status(), flag_page(&state, &session, &project, &key, view).await?).into_response())
        }
        Err(error) => Err(error),
    }
}

#[derive(Deserialize, Default)]
pub struct PromoteForm {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    csrf: Option<String>,
}

/// Copies one environment's configuration to another (`promote`, the API's `…/promote`);
/// where approval is required it files a change request, which the page then points to.
pub async fn promote(
    State(state): State<AppState>,
    session: UiSession,
    Path((project, key)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<PromoteForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    session.caller.require(Role::Editor)?;
    let body = workflow::PromoteIn { from: form.from.clone(), to: form.to.clone() };
    let promoted = workflow::promote(
        State(state.clone()),
        session.caller.clone(),
        ApiPath((project.clone(), key.clone())),
        ApiJson(body),
    )
    .await;
    let back = flag_url(&project, &key);
    match promoted {
        Ok(committed) => Ok(back_after(&back, &committed).into_response()),
        Err(error) if error.status().is_client_error() && error.status() != StatusCode::NOT_FOUND => {
            let view = FlagView { promote_error: Some(&error), promote_form: Some(&form), ..Default::default() };
            Ok((error.status(), flag_page(&state, &session, &project, &key, view).await?).into_response())
        }
        Err(error) => Err(error),
    }
}

#[derive(Deserialize, Default)]
pub struct ScheduleForm {
    #[serde(default)]
    environment: String,
    /// `on` or `off`.
    #[serde(default)]
    enabled: String,
    /// RFC 3339.
    #[serde(default)]
    at: String,
    csrf: Option<String>,
}

/// Schedules a toggle (`create_schedule`, the API's `POST …/schedules`); where approval is
/// required it files a change request, which the page then points to.
pub async fn schedule(
    State(state): State<AppState>,
    session: UiSession,
    Path((project, key)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<ScheduleForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    session.caller.require(Role::Editor)?;
    let result = match on_or_off(&form.enabled) {
        Ok(enabled) => {
            let body =
                workflow::ScheduleIn { environment: form.environment.clone(), enabled, at: form.at.trim().to_owned() };
            workflow::create_schedule(
                State(state.clone()),
                session.caller.clone(),
                ApiPath((project.clone(), key.clone())),
                ApiJson(body),
            )
            .await
        }
        Err(error) => Err(error),
    };
    let back = flag_url(&project, &key);
    match result {
        Ok(response) if response.status() == StatusCode::ACCEPTED => {
            Ok(Redirect::to(&requested_url(&back, &form.environment)).into_response())
        }
        Ok(_) => Ok(Redirect::to(&back).into_response()),
        Err(error) if error.status().is_client_error() && error.status() != StatusCode::NOT_FOUND => {
            let view = FlagView { schedule_error: Some(&error), schedule_form: Some(&form), ..Default::default() };
            Ok((error.status(), flag_page(&state, &session, &project, &key, view).await?).into_response())
        }
        Err(error) => Err(error),
    }
}

/// Cancels a schedule that has not run: first a confirmation page, then `cancel_schedule`
/// (the API's `DELETE …/schedules/{id}`).
pub async fn cancel_schedule(
    State(state): State<AppState>,
    session: UiSession,
    Path((project, key, id)): Path<(String, String, Uuid)>,
    headers: HeaderMap,
    Form(form): Form<RevokeForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    session.caller.require(Role::Editor)?;
    let back = flag_url(&project, &key);
    if form.confirm == "yes" {
        let cancelled = workflow::cancel_schedule(
            State(state.clone()),
            session.caller.clone(),
            ApiPath((project.clone(), key.clone(), id)),
        )
        .await;
        return match cancelled {
            Ok(_) => Ok(Redirect::to(&back).into_response()),
            Err(error) if error.status().is_client_error() && error.status() != StatusCode::NOT_FOUND => {
                let view = FlagView { cancel_error: Some((id, &error)), ..Default::default() };
                Ok((error.status(), flag_page(&state, &session, &project, &key, view).await?).into_response())
            }
            Err(error) => Err(error),
        };
    }
    let project_row = projects::find(&state, &session.caller, &project).await?;
    let flag = store::find_flag(&state.db, project_row.id, &key)
        .await?
        .ok_or_else(|| Error::not_found(format!("no flag {key:?} in project {:?}", project_row.key)))?;
    let schedule = workflows::find_schedule(&state.db, flag.id, id)
        .await?
        .ok_or_else(|| Error::not_found("no schedule with this id for the flag"))?;
    let turns = if schedule.enabled { "on" } else { "off" };
    Ok(page(
        &session,
        Section::Flags,
        "Cancel the scheduled toggle?",
        html! {
            p { "The toggle of " strong { (key) } " " (turns) " in " strong { (schedule.environment) } " at "
                time datetime=(schedule.at.to_string()) { (schedule.at.to_string()) } " will not run."
                @if schedule.change_request_id.is_some() { " Its change request is cancelled too." } }
            form #confirm-cancel-schedule method="post" action=(format!("{back}/schedules/{id}/cancel")) {
                (csrf_field(&session))
                input type="hidden" name="confirm" value="yes";
                button type="submit" { "Cancel the schedule" }
                " "
                a href=(back) { "Keep it" }
            }
        },
    )
    .into_response())
}

// ---------------------------------------------------------------------------------------
// Change requests

/// Open and approved change requests (optionally of one project), newest first.
async fn pending_requests(
    state: &AppState,
    session: &UiSession,
    project: Option<&str>,
) -> Result<Vec<ChangeRequest>, Error> {
    let mut all = Vec::new();
    for wanted in ["open", "approved"] {
        let query = ChangeRequestQuery { state: Some(wanted), project, environment: None, author: None };
        let (found, _) = workflows::list(&state.db, session.caller.workspace_id, query, ALL_PAGE).await?;
        all.extend(found);
    }
    all.sort_by_key(|cr| std::cmp::Reverse(cr.created_at));
    Ok(all)
}

fn diff_value(value: Option<&serde_json::Value>) -> Markup {
    match value {
        None => html! { "—" },
        Some(serde_json::Value::Bool(on)) => html! { @if *on { "on" } @else { "off" } },
        Some(serde_json::Value::Array(list)) if list.is_empty() => html! { "none" },
        Some(value) => html! {
            details {
                summary { @if let Some(list) = value.as_array() { (list.len()) " item" @if list.len() != 1 { "s" } } @else { "value" } }
                (pretty_json(&value.to_string()))
            }
        },
    }
}

fn diff_table(cr: &ChangeRequest) -> Markup {
    let mut keys: Vec<String> = Vec::new();
    for side in [&cr.diff.before, &cr.diff.after] {
        if let Some(object) = side.as_object() {
            for key in object.keys() {
                if !keys.contains(key) {
                    keys.push(key.clone());
                }
            }
        }
    }
    html! {
        table.diff {
            caption { "Changes" }
            thead { tr { th scope="col" { "Field" } th scope="col" { "Before" } th scope="col" { "After" } } }
            tbody {
                @for key in &keys {
                    @let (before, after) = (cr.diff.before.get(key), cr.diff.after.get(key));
                    tr.changed[before != after] {
                        th scope="row" { (key) @if before != after { " (changed)" } }
                        td { (diff_value(before)) }
                        td { (diff_value(after)) }
                    }
                }
            }
        }
    }
}

struct InboxError<'a> {
    id: Uuid,
    error: &'a Error,
    comment: &'a str,
}

async fn inbox_page(state: &AppState, session: &UiSession, failed: Option<InboxError<'_>>) -> Result<Markup, Error> {
    session.caller.require(Role::Viewer)?;
    let requests = pending_requests(state, session, None).await?;
    let mut authors = Vec::new();
    for cr in &requests {
        authors.push(who(state, session, Some(cr.author_id)).await?);
    }
    Ok(page(
        session,
        Section::Flags,
        "Change requests",
        html! {
            p.lead {
                "Changes to flags in environments that require approval wait here. Owners and admins approve or reject them "
                "(not their own); once approved, an editor applies them. "
                a href="/ui/flags" { "Back to flags" }
            }
            @if requests.is_empty() {
                p.empty { "No pending change requests. Turning a flag on or off in an environment that requires approval files one." }
            }
            @for (cr, author) in requests.iter().zip(&authors) {
                @let error = failed.as_ref().filter(|f| f.id == cr.id);
                @let errors = field_errors(error.map(|f| f.error));
                @let enough = cr.state == "approved" || cr.approvals.len() as i64 >= cr.approvals_required;
                article.change-request #(format!("cr-{}", cr.id)) {
                    h2 {
                        a href=(flag_url(&cr.project, &cr.flag)) { (cr.project) "/" (cr.flag) }
                        " in " (cr.environment)
                    }
                    p {
                        (cr.kind)
                        @if let Some(from) = &cr.source_environment { " from " (from) }
                        " by " (author) " at " (cr.created_at.to_string()) " · " strong { (cr.state) }
                        " · " (cr.approvals.len()) " of " (cr.approvals_required) " approvals"
                    }
                    (diff_table(cr))
                    @if let Some(error) = error { (form_error(general_error(Some(error.error)).as_deref())) }
                    div.actions {
                        @if can_approve(session) && cr.state == "open" && cr.author_id != session.caller.principal_id
                            && !cr.approvals.iter().any(|a| a.principal_id == session.caller.principal_id) {
                            form.inline method="post" action=(format!("/ui/flags/change-requests/{}/approve", cr.id)) {
                                (csrf_field(session))
                                button type="submit" { "Approve" }
                            }
                        }
                        @if can_edit(session) && enough && cr.kind != "schedule" {
                            form.inline method="post" action=(format!("/ui/flags/change-requests/{}/apply", cr.id)) {
                                (csrf_field(session))
                                button type="submit" { "Apply" }
                            }
                        }
                        @if can_approve(session) {
                            form method="post" action=(format!("/ui/flags/change-requests/{}/reject", cr.id)) {
                                (csrf_field(session))
                                (text_input(&format!("comment-{}", cr.id), "comment", "Why reject it?",
                                    error.map_or("", |f| f.comment), &errors, true))
                                button type="submit" { "Reject" }
                            }
                        }
                    }
                }
            }
        },
    ))
}

pub async fn inbox(State(state): State<AppState>, session: UiSession) -> Result<Markup, Error> {
    inbox_page(&state, &session, None).await
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    comment: String,
    csrf: Option<String>,
}

/// Answers a decision: back to the inbox, or the inbox with the API's error at the request.
async fn decided<T>(
    state: &AppState,
    session: &UiSession,
    id: Uuid,
    comment: &str,
    result: Result<T, Error>,
) -> Result<Response, Error> {
    match result {
        Ok(_) => Ok(Redirect::to("/ui/flags/change-requests").into_response()),
        Err(error) if error.status().is_client_error() && error.status() != StatusCode::NOT_FOUND => {
            let markup = inbox_page(state, session, Some(InboxError { id, error: &error, comment })).await?;
            Ok((error.status(), markup).into_response())
        }
        Err(error) => Err(error),
    }
}

pub async fn approve(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Form(form): Form<DecisionForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    session.caller.require(Role::Admin)?;
    let result = workflow::approve(State(state.clone()), session.caller.clone(), ApiPath(id)).await;
    decided(&state, &session, id, "", result).await
}

pub async fn reject(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Form(form): Form<DecisionForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    session.caller.require(Role::Admin)?;
    let body = workflow::RejectIn { comment: form.comment.clone() };
    let result = workflow::reject(State(state.clone()), session.caller.clone(), ApiPath(id), ApiJson(body)).await;
    decided(&state, &session, id, &form.comment, result).await
}

pub async fn apply(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Form(form): Form<DecisionForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    session.caller.require(Role::Editor)?;
    let result = workflow::apply(State(state.clone()), session.caller.clone(), ApiPath(id)).await;
    decided(&state, &session, id, "", result).await
}

// ---------------------------------------------------------------------------------------
// SDK tokens

#[derive(Deserialize, Default)]
pub struct SdkTokenForm {
    #[serde(default)]
    name: String,
    #[serde(default, rename = "type")]
    token_type: String,
    #[serde(default)]
    environment: String,
    /// Comma-separated project keys, or `*` (empty: every project).
    #[serde(default)]
    projects: String,
    /// Comma-separated origins (frontend tokens).
    #[serde(default)]
    cors_origins: String,
    csrf: Option<String>,
}

#[derive(Default)]
struct SdkTokensView<'a> {
    form: Option<&'a SdkTokenForm>,
    error: Option<&'a Error>,
    created: Option<&'a CreatedSdkToken>,
}

fn comma_list(text: &str) -> Option<Vec<String>> {
    let list: Vec<String> = text.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect();
    (!list.is_empty()).then_some(list)
}

async fn sdk_tokens_page(state: &AppState, session: &UiSession, view: SdkTokensView<'_>) -> Result<Markup, Error> {
    let tokens = sdk_tokens_api::list_tokens(State(state.clone()), session.caller.clone()).await?.0.data;
    let environments = store::list_environments(&state.db, session.caller.workspace_id).await?;
    // The API names list items (`projects[1]`); the form has one field for the list.
    let errors: Vec<FieldError> = field_errors(view.error)
        .into_iter()
        .map(|mut e| {
            if let Some((field, _)) = e.field.split_once('[') {
                e.field = field.to_owned();
            }
            e
        })
        .collect();
    let default_form = SdkTokenForm { projects: "*".to_owned(), ..Default::default() };
    let form = view.form.unwrap_or(&default_form);
    Ok(page(
        session,
        Section::Flags,
        "SDK tokens",
        html! {
            p.lead {
                "Tokens for Unleash SDKs: client tokens for backend SDKs, frontend tokens for browsers and apps. "
                "Each is bound to one environment and to projects. "
                a href="/ui/flags" { "Back to flags" }
            }
            @if let Some(created) = view.created {
                section.secret role="status" {
                    h2 { "Token " (created.token.name) " created" }
                    p { "Copy the secret now: it is shown only this once." }
                    div.copy-row {
                        code #sdk-token-secret { (created.secret) }
                        button type="button" data-copy="#sdk-token-secret" { "Copy" }
                    }
                }
            }
            @if tokens.is_empty() {
                p.empty { "No SDK tokens yet. Create one below for an SDK to fetch flags and send metrics." }
            } @else {
                table #sdk-tokens {
                    caption { (tokens.len()) " SDK token" @if tokens.len() != 1 { "s" } }
                    thead {
                        tr {
                            th scope="col" { "Name" }
                            th scope="col" { "Type" }
                            th scope="col" { "Environment" }
                            th scope="col" { "Projects" }
                            th scope="col" { "CORS origins" }
                            th scope="col" { "Created" }
                            th scope="col" { "Last used" }
                            th scope="col" { "Actions" }
                        }
                    }
                    tbody {
                        @for t in &tokens {
                            tr data-token=(t.id) {
                                th scope="row" { (t.name) }
                                td { (t.token_type) }
                                td { (t.environment) }
                                td { (t.projects.join(", ")) }
                                td { @if t.cors_origins.is_empty() { "—" } @else { (t.cors_origins.join(", ")) } }
                                td { (t.created_at.to_string()) }
                                td { @match t.last_used_at { Some(at) => (at.to_string()), None => "never" } }
                                td {
                                    form.inline method="post" action=(format!("/ui/flags/sdk-tokens/{}/revoke", t.id)) {
                                        (csrf_field(session))
                                        button type="submit" aria-label=(format!("Revoke {}", t.name)) { "Revoke…" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section {
                h2 { "New SDK token" }
                (form_error(general_error(view.error).as_deref()))
                form #create-sdk-token method="post" action="/ui/flags/sdk-tokens" {
                    (csrf_field(session))
                    (text_input("sdk-token-name", "name", "Name", &form.name, &errors, true))
                    div.field {
                        label for="sdk-token-type" { "Type" }
                        select #sdk-token-type name="type" {
                            option value="client" selected[form.token_type == "client"] { "client (backend SDKs)" }
                            option value="frontend" selected[form.token_type == "frontend"] { "frontend (browsers and apps)" }
                        }
                        @if let Some(e) = errors.iter().find(|e| e.field == "type") { p.error { (e.message) } }
                    }
                    div.field {
                        label for="sdk-token-environment" { "Environment" }
                        select #sdk-token-environment name="environment" {
                            @for e in &environments {
                                option value=(e.key) selected[form.environment == e.key] { (e.name) }
                            }
                        }
                        @if let Some(e) = errors.iter().find(|e| e.field == "environment") { p.error { (e.message) } }
                    }
                    (text_input("sdk-token-projects", "projects", "Projects (comma-separated keys, or * for all)", &form.projects, &errors, false))
                    (text_input("sdk-token-origins", "cors_origins", "CORS origins (frontend tokens; comma-separated, or *)", &form.cors_origins, &errors, false))
                    button type="submit" { "Create token" }
                }
            }
        },
    ))
}

/// The workspace's SDK tokens (admins, as the API's `GET /v1/sdk-tokens`), without secrets.
pub async fn sdk_tokens(State(state): State<AppState>, session: UiSession) -> Result<Markup, Error> {
    sdk_tokens_page(&state, &session, SdkTokensView::default()).await
}

/// Creates an SDK token (`create_token`, the API's) and shows its secret this once (no
/// redirect: the secret must not land in a URL or the history).
pub async fn create_sdk_token(
    State(state): State<AppState>,
    session: UiSession,
    headers: HeaderMap,
    Form(form): Form<SdkTokenForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    session.caller.require(Role::Admin)?;
    let body = SdkTokenIn {
        name: form.name.clone(),
        token_type: form.token_type.clone(),
        environment: form.environment.clone(),
        projects: comma_list(&form.projects),
        cors_origins: comma_list(&form.cors_origins),
    };
    let created = sdk_tokens_api::create_token(State(state.clone()), session.caller.clone(), ApiJson(body)).await;
    match created {
        Ok((_, axum::Json(created))) => {
            let view = SdkTokensView { created: Some(&created), ..Default::default() };
            Ok(sdk_tokens_page(&state, &session, view).await?.into_response())
        }
        Err(error) if error.status().is_client_error() && error.status() != StatusCode::NOT_FOUND => {
            let view = SdkTokensView { form: Some(&form), error: Some(&error), ..Default::default() };
            Ok((error.status(), sdk_tokens_page(&state, &session, view).await?).into_response())
        }
        Err(error) => Err(error),
    }
}

#[derive(Deserialize)]
pub struct RevokeForm {
    /// `yes` once the confirmation page was answered.
    #[serde(default)]
    confirm: String,
    csrf: Option<String>,
}

/// Revokes an SDK token: first a confirmation page, then `revoke_token` (the API's).
pub async fn revoke_sdk_token(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Form(form): Form<RevokeForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    session.caller.require(Role::Admin)?;
    if form.confirm == "yes" {
        sdk_tokens_api::revoke_token(State(state.clone()), session.caller.clone(), ApiPath(id)).await?;
        return Ok(Redirect::to("/ui/flags/sdk-tokens").into_response());
    }
    let tokens = sdk_tokens_api::list_tokens(State(state.clone()), session.caller.clone()).await?.0.data;
    let token = tokens
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| Error::not_found("no SDK token with this id in the workspace"))?;
    Ok(page(
        &session,
        Section::Flags,
        &format!("Revoke {}?", token.name),
        html! {
            p { "SDKs using " strong { (token.name) } " (" (token.token_type) ", " (token.environment) ") "
                "are refused at once on every server. This cannot be undone." }
            form #confirm-revoke method="post" action=(format!("/ui/flags/sdk-tokens/{id}/revoke")) {
                (csrf_field(&session))
                input type="hidden" name="confirm" value="yes";
                button type="submit" { "Revoke now" }
                " "
                a href="/ui/flags/sdk-tokens" { "Cancel" }
            }
        },
    )
    .into_response())
}
