//! Typed signals: signal types (built-in and custom; enabled, autoqualify), ICP and persona
//! profiles (their CEL conditions checked on the server as they are typed), and leads with
//! their latest qualification and capture timeline. Every write calls the API's operation, so
//! roles are refused here as there.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;
use signalbox_core::Role;
use signalbox_core::typed::scoring::compile_condition;

use super::layout::{Section, csrf_field, field_errors, form_error, general_error, page, pretty_json, text_input};
use super::session::{CsrfForm, UiSession};
use crate::Error;
use crate::error::FieldError;
use crate::http::{PageRequest, Patch};
use crate::state::AppState;
use crate::typed::ingest::Qualification;
use crate::typed::leads_api::{self, LeadFilter, LeadView};
use crate::typed::model::{SignalType, SignalTypeIn, SignalTypePatch};
use crate::typed::profiles::{self, Kind, ProfileIn, ProfileRule, ProfileView};
use crate::typed::types;

/// Rule rows the profile form offers.
const RULE_ROWS: usize = 3;
/// Leads per page.
const LEADS_PAGE: i64 = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/typed", get(types_page).post(create_type))
        .route("/ui/typed/types/{slug}", post(update_type))
        .route("/ui/typed/types/{slug}/delete", post(delete_type))
        .route("/ui/typed/profiles/{kind}/{id}/delete", post(delete_profile))
        .route("/ui/typed/profiles", get(profiles_page).post(create_profile))
        .route("/ui/typed/profiles/check", post(check_condition))
        .route("/ui/typed/leads", get(leads_page))
        .route("/ui/typed/leads/{id}", get(lead_page))
}

/// The section's own navigation: types, profiles, leads.
pub(super) fn subnav(current: &str) -> Markup {
    let entries = [("/ui/typed", "Signal types"), ("/ui/typed/profiles", "Profiles"), ("/ui/typed/leads", "Leads")];
    html! {
        nav.subnav aria-label="Typed signals" {
            @for (href, label) in entries {
                a href=(href) aria-current=[(href == current).then_some("page")] { (label) }
                " "
            }
        }
    }
}

pub(super) fn split_error(error: Option<&Error>) -> (Vec<FieldError>, Option<String>) {
    let errors: Vec<FieldError> = field_errors(error);
    let general = general_error(error);
    (errors, general)
}

// ---- signal types ----

#[derive(Deserialize, Default)]
pub struct TypeForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    source_description: String,
    autoqualify: Option<String>,
    csrf: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct TypesQuery {
    created: Option<String>,
}

fn types_view(
    session: &UiSession,
    list: &[SignalType],
    form: &TypeForm,
    error: Option<&Error>,
    created: Option<&SignalType>,
) -> Markup {
    let (field_errors, general) = split_error(error);
    page(
        session,
        Section::TypedSignals,
        "Typed signals",
        html! {
            (subnav("/ui/typed"))
            p.lead { "Systems send typed signals (POST /signals) naming a signal type by its slug; each is matched to a lead and, with autoqualify on, scored against your ICP and persona profiles." }
            @if !session.is_admin() {
                p.notice { "Signal types and profiles are managed by owners and admins; ask one of them for access. You can browse the " a href="/ui/typed/leads" { "leads" } "." }
            } @else {
                @if let Some(created) = created {
                    p.success role="status" #type-created {
                        "Declared " (created.name) ". Send it as "
                        code #created-slug { (created.slug) }
                        " in signal_type."
                    }
                }
                h2 { "Signal types" }
                table #signal-types {
                    thead { tr { th { "Name" } th { "Slug" } th { "Kind" } th { "Source" } th { "State" } th { "Autoqualify" } th { "Edit" } th { "Delete" } } }
                    tbody {
                        @for t in list {
                            tr data-slug=(t.slug) {
                                td { (t.name) }
                                td { code { (t.slug) } }
                                td { @if t.builtin { "built-in" } @else { "custom" } }
                                td { (t.source_description.as_deref().unwrap_or("")) }
                                td { (toggle(session, t, "enabled", t.enabled)) }
                                td { (toggle(session, t, "autoqualify", t.autoqualify)) }
                                td { a href=(format!("/ui/typed/types/{}/edit", t.slug)) aria-label=(format!("Edit {}", t.name)) { "Edit" } }
                                td {
                                    @if !t.builtin {
                                        form.inline method="post" action=(format!("/ui/typed/types/{}/delete", t.slug))
                                            onsubmit=(format!("return confirm('Delete the signal type {}? Its captures stay.')", t.slug)) {
                                            (csrf_field(session))
                                            button.danger type="submit" aria-label=(format!("Delete {}", t.name)) { "Delete" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if list.iter().all(|t| t.builtin) {
                    p.empty { "No custom signal types yet. Declare one below for signals your own systems send; the built-in types work as they are." }
                }
                section {
                    h2 { "New signal type" }
                    (form_error(general.as_deref()))
                    form #create-type method="post" action="/ui/typed" {
                        (csrf_field(session))
                        (text_input("type-name", "name", "Name", &form.name, &field_errors, true))
                        p.hint { "Its slug is made from the name: lower-case, other characters become _." }
                        (text_input("type-source", "source_description", "Source description", &form.source_description, &field_errors, false))
                        div.field.check {
                            label for="type-autoqualify" {
                                input #type-autoqualify type="checkbox" name="autoqualify" value="on" checked[form.autoqualify.is_some()];
                                " Autoqualify: score captures of this type against the profiles as they arrive"
                            }
                        }
                        button type="submit" { "Declare signal type" }
                    }
                }
            }
        },
    )
}

/// A one-button form that flips `field` of a type.
fn toggle(session: &UiSession, t: &SignalType, field: &str, on: bool) -> Markup {
    let (state, action) = match (field, on) {
        ("enabled", true) => ("enabled", "Disable"),
        ("enabled", false) => ("disabled", "Enable"),
        (_, true) => ("on", "Turn off"),
        (_, false) => ("off", "Turn on"),
    };
    let what = if field == "enabled" { "" } else { " autoqualify for" };
    html! {
        form.inline method="post" action=(format!("/ui/typed/types/{}", t.slug)) {
            (csrf_field(session))
            input type="hidden" name=(field) value=(if on { "false" } else { "true" });
            span { (state) } " "
            button type="submit" aria-label=(format!("{action}{what} {}", t.name)) { (action) }
        }
    }
}

async fn types_of(state: &AppState, session: &UiSession) -> Result<Vec<SignalType>, Error> {
    if !session.is_admin() {
        return Ok(Vec::new());
    }
    types::list(&state.db, session.caller.workspace_id).await
}

pub async fn types_page(
    State(state): State<AppState>,
    session: UiSession,
    Query(query): Query<TypesQuery>,
) -> Result<Markup, Error> {
    let list = types_of(&state, &session).await?;
    let created = query.created.as_deref().and_then(|slug| list.iter().find(|t| t.slug == slug));
    Ok(types_view(&session, &list, &TypeForm::default(), None, created))
}

pub async fn create_type(
    State(state): State<AppState>,
    session: UiSession,
    headers: HeaderMap,
    Form(form): Form<TypeForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    session.caller.require(Role::Admin)?;
    let body = SignalTypeIn {
        name: form.name.clone(),
        source_description: Some(form.source_description.trim().to_owned()).filter(|d| !d.is_empty()),
        sub_rules: Vec::new(),
        autoqualify: Some(form.autoqualify.is_some()),
        enabled: None,
    };
    match types::create(&state, &session.caller, body).await {
        Ok(created) => Ok(Redirect::to(&format!("/ui/typed?created={}", created.slug)).into_response()),
        Err(error) if error.status().is_client_error() => {
            let list = types_of(&state, &session).await?;
            Ok((error.status(), types_view(&session, &list, &form, Some(&error), None)).into_response())
        }
        Err(error) => Err(error),
    }
}

#[derive(Deserialize)]
pub struct ToggleForm {
    enabled: Option<bool>,
    autoqualify: Option<bool>,
    csrf: Option<String>,
}

fn patch_of(value: Option<bool>) -> Patch<bool> {
    value.map_or(Patch::Absent, Patch::Value)
}

pub async fn update_type(
    State(state): State<AppState>,
    session: UiSession,
    Path(slug): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ToggleForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    session.caller.require(Role::Admin)?;
    let patch = SignalTypePatch {
        enabled: patch_of(form.enabled),
        autoqualify: patch_of(form.autoqualify),
        ..SignalTypePatch::default()
    };
    types::update(&state, &session.caller, &slug, patch).await?;
    Ok(Redirect::to("/ui/typed").into_response())
}

// ---- profiles ----

/// The profile form: a kind, a code and up to `RULE_ROWS` rule rows (`condition_N`,
/// `weight_N`); rows whose condition is empty are left out.
#[derive(Default)]
pub(super) struct ProfileForm {
    pub(super) kind: String,
    pub(super) code: String,
    pub(super) rules: Vec<(String, String)>,
}

impl ProfileForm {
    /// The form's fields: `rule_rows` rows (`RULE_ROWS` when it does not say).
    pub(super) fn from_fields(fields: &HashMap<String, String>) -> Self {
        let get = |name: &str| fields.get(name).cloned().unwrap_or_default();
        let rows = fields.get("rule_rows").and_then(|n| n.trim().parse::<usize>().ok()).unwrap_or(RULE_ROWS).min(100);
        ProfileForm {
            kind: get("kind"),
            code: get("code"),
            rules: (0..rows).map(|i| (get(&format!("condition_{i}")), get(&format!("weight_{i}")))).collect(),
        }
    }
}

fn profiles_view(session: &UiSession, list: &[ProfileView], form: &ProfileForm, error: Option<&Error>) -> Markup {
    let (field_errors, general) = split_error(error);
    let field_error = |name: &str| field_errors.iter().find(|e| e.field == name).map(|e| e.message.clone());
    page(
        session,
        Section::TypedSignals,
        "Qualification profiles",
        html! {
            (subnav("/ui/typed/profiles"))
            p.lead { "A profile is a code and weighted CEL rules over signals, identity and lead; a lead's score is the share of the weights whose rules hold. The best ICP and the best persona are kept on the lead." }
            @if !session.is_admin() {
                p.notice { "Profiles are managed by owners and admins; ask one of them for access." }
            } @else {
                @for (kind, title) in [("icp", "ICP profiles"), ("persona", "Persona profiles")] {
                    h2 { (title) }
                    @let of_kind: Vec<&ProfileView> = list.iter().filter(|p| p.kind == kind).collect();
                    @if of_kind.is_empty() {
                        p.empty { "None yet. Create one below, then turn on autoqualify for a signal type so its captures are scored." }
                    } @else {
                        table.profiles id=(format!("{kind}-profiles")) {
                            thead { tr { th { "Code" } th { "Rules (condition → weight)" } th { "Edit" } th { "Delete" } } }
                            tbody {
                                @for p in of_kind {
                                    tr {
                                        td { (p.code) }
                                        td { ul { @for r in &p.rules { li { code { (r.condition) } " → " (r.weight) } } } }
                                        td { a href=(format!("/ui/typed/profiles/{kind}/{}/edit", p.id)) aria-label=(format!("Edit profile {}", p.code)) { "Edit" } }
                                        td {
                                            form.inline method="post" action=(format!("/ui/typed/profiles/{kind}/{}/delete", p.id))
                                                onsubmit=(format!("return confirm('Delete the profile {}?')", p.code)) {
                                                (csrf_field(session))
                                                button.danger type="submit" aria-label=(format!("Delete profile {}", p.code)) { "Delete" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                section {
                    h2 { "New profile" }
                    (form_error(general.as_deref()))
                    @if let Some(message) = field_error("rules") { p.error role="alert" { "Rules " (message) } }
                    form #create-profile method="post" action="/ui/typed/profiles" {
                        (csrf_field(session))
                        div.field {
                            label for="profile-kind" { "Kind" }
                            select #profile-kind name="kind" {
                                option value="icp" selected[form.kind != "persona"] { "ICP" }
                                option value="persona" selected[form.kind == "persona"] { "Persona" }
                            }
                        }
                        (text_input("profile-code", "code", "Code", &form.code, &field_errors, true))
                        (rule_fields(session, form, &field_errors))
                        button type="submit" { "Create profile" }
                    }
                }
            }
        },
    )
}

/// The profile form's rule rows (at least `RULE_ROWS`, one per rule otherwise), each with
/// its CEL condition checked as it is typed.
pub(super) fn rule_fields(session: &UiSession, form: &ProfileForm, field_errors: &[FieldError]) -> Markup {
    let field_error = |name: &str| field_errors.iter().find(|e| e.field == name).map(|e| e.message.clone());
    let rows = form.rules.len().max(RULE_ROWS);
    html! {
            input type="hidden" name="rule_rows" value=(rows);
            @for i in 0..rows {
                @let (condition, weight) = form.rules.get(i).cloned().unwrap_or_default();
                @let condition_error = field_error(&format!("rules[{i}].condition"));
                @let weight_error = field_error(&format!("rules[{i}].weight"));
                fieldset.rule {
                    legend { "Rule " (i + 1) @if i > 0 { " (optional)" } }
                    div.field {
                        label for=(format!("condition-{i}")) { "Condition (CEL)" }
                        textarea id=(format!("condition-{i}")) name=(format!("condition_{i}")) rows="2"
                            required[i == 0]
                            placeholder="identity.company_domain.endsWith('.io')"
                            aria-invalid=[condition_error.as_ref().map(|_| "true")]
                            aria-describedby=(format!("condition-{i}-check"))
                            hx-post="/ui/typed/profiles/check"
                            hx-trigger="keyup changed delay:400ms"
                            hx-vals=(format!(r#"{{"rule": "{i}"}}"#))
                            hx-headers=(format!(r#"{{"X-CSRF-Token": "{}"}}"#, session.csrf))
                            hx-target=(format!("#condition-{i}-check"))
                            hx-swap="innerHTML" { (condition) }
                        p.check id=(format!("condition-{i}-check")) aria-live="polite" {
                            @if let Some(message) = &condition_error { span.error { (message) } }
                        }
                    }
                    div.field {
                        label for=(format!("weight-{i}")) { "Weight (1-100)" }
                        input id=(format!("weight-{i}")) name=(format!("weight_{i}")) type="number" min="1" max="100"
                            value=(if weight.is_empty() && i == 0 { "1".to_owned() } else { weight.clone() })
                            aria-invalid=[weight_error.as_ref().map(|_| "true")]
                            aria-describedby=[weight_error.as_ref().map(|_| format!("weight-{i}-error"))];
                        @if let Some(message) = &weight_error {
                            p.error id=(format!("weight-{i}-error")) { (message) }
                        }
                    }
                }
            }
    }
}

async fn profiles_of(state: &AppState, session: &UiSession) -> Result<Vec<ProfileView>, Error> {
    if !session.is_admin() {
        return Ok(Vec::new());
    }
    profiles::list(&state.db, session.caller.workspace_id, None).await
}

pub async fn profiles_page(State(state): State<AppState>, session: UiSession) -> Result<Markup, Error> {
    let list = profiles_of(&state, &session).await?;
    Ok(profiles_view(&session, &list, &ProfileForm::default(), None))
}

/// The form's rows as the API's rules, each with the row it came from.
pub(super) fn rules_of(form: &ProfileForm) -> Result<(Vec<ProfileRule>, Vec<usize>), Error> {
    let mut rules = Vec::new();
    let mut rows = Vec::new();
    for (i, (condition, weight)) in form.rules.iter().enumerate() {
        if condition.trim().is_empty() {
            continue;
        }
        let weight = weight
            .trim()
            .parse::<u32>()
            .map_err(|_| Error::invalid_field(format!("rules[{i}].weight"), "must be a whole number from 1 to 100"))?;
        rules.push(ProfileRule { condition: condition.clone(), weight });
        rows.push(i);
    }
    Ok((rules, rows))
}

/// The API names rules by their index among the rules sent; the form by its row.
pub(super) fn to_rows(error: Error, rows: &[usize]) -> Error {
    let problem = error.problem();
    if problem.errors.is_empty() {
        return error;
    }
    let errors = problem
        .errors
        .into_iter()
        .map(|e| {
            let field = e
                .field
                .strip_prefix("rules[")
                .and_then(|rest| rest.split_once(']'))
                .and_then(|(n, tail)| Some(format!("rules[{}]{tail}", rows.get(n.parse::<usize>().ok()?)?)))
                .unwrap_or(e.field);
            FieldError { field, ..e }
        })
        .collect();
    Error::invalid_fields(errors)
}

pub async fn create_profile(
    State(state): State<AppState>,
    session: UiSession,
    headers: HeaderMap,
    Form(fields): Form<HashMap<String, String>>,
) -> Result<Response, Error> {
    session.check_csrf(fields.get("csrf").map(String::as_str), &headers)?;
    session.caller.require(Role::Admin)?;
    let form = ProfileForm::from_fields(&fields);
    let kind = if form.kind == "persona" { Kind::Persona } else { Kind::Icp };
    let created = match rules_of(&form) {
        Ok((rules, rows)) => {
            profiles::create(&state, &session.caller, kind, ProfileIn { code: form.code.clone(), rules })
                .await
                .map_err(|e| to_rows(e, &rows))
        }
        Err(error) => Err(error),
    };
    match created {
        Ok(_) => Ok(Redirect::to("/ui/typed/profiles").into_response()),
        Err(error) if error.status().is_client_error() => {
            let list = profiles_of(&state, &session).await?;
            Ok((error.status(), profiles_view(&session, &list, &form, Some(&error))).into_response())
        }
        Err(error) => Err(error),
    }
}

/// Checks one CEL condition as it is typed: answers a fragment saying "valid" or the error
/// with its line and column. Sent by htmx with the whole form; `rule` names the row.
pub async fn check_condition(
    session: UiSession,
    headers: HeaderMap,
    Form(fields): Form<HashMap<String, String>>,
) -> Result<Markup, Error> {
    session.check_csrf(fields.get("csrf").map(String::as_str), &headers)?;
    session.caller.require(Role::Admin)?;
    let name = fields.get("rule").map_or_else(|| "condition".to_owned(), |n| format!("condition_{}", n.trim()));
    let condition = fields.get(&name).or_else(|| fields.get("condition")).map(String::as_str).unwrap_or("");
    Ok(match compile_condition(condition) {
        Ok(_) => html! { span.valid { "valid" } },
        Err(e) => html! { span.error { "line " (e.line) ", column " (e.column) ": " (e.message) } },
    })
}

// ---- leads ----

#[derive(Deserialize, Default)]
pub struct LeadsQuery {
    q: Option<String>,
    offset: Option<i64>,
}

fn lead_name(lead: &LeadView) -> String {
    let name =
        [lead.first_name.as_deref(), lead.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
    if !name.is_empty() {
        return name;
    }
    lead.email
        .clone()
        .or_else(|| lead.linkedin_url.clone())
        .or_else(|| lead.company_domain.clone())
        .unwrap_or_else(|| lead.id.clone())
}

fn score(code: Option<&str>, score: Option<i64>) -> Markup {
    html! {
        @match (code, score) {
            (Some(code), Some(score)) => { (code) " " strong { (score) } }
            _ => { "—" }
        }
    }
}

pub async fn leads_page(
    State(state): State<AppState>,
    session: UiSession,
    Query(query): Query<LeadsQuery>,
) -> Result<Markup, Error> {
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let filter = LeadFilter {
        q: q.map(str::to_owned),
        email: None,
        domain: None,
        icp_code: None,
        persona_code: None,
        min_score: None,
    };
    let page_request = PageRequest { limit: LEADS_PAGE, offset: query.offset.unwrap_or(0).max(0) };
    let (leads, total) = leads_api::search(&state, &session.caller, &filter, page_request).await?;
    let next = page_request.offset + LEADS_PAGE;
    Ok(page(
        &session,
        Section::TypedSignals,
        "Leads",
        html! {
            (subnav("/ui/typed/leads"))
            form.search method="get" action="/ui/typed/leads" role="search" {
                div.field {
                    label for="lead-q" { "Search by email, domain or name" }
                    input #lead-q type="search" name="q" value=(q.unwrap_or(""));
                }
                button type="submit" { "Search" }
            }
            @if leads.is_empty() {
                @if q.is_some() {
                    p.empty { "No lead matches. Try part of an email, a company domain or a name." }
                } @else {
                    p.empty { "No leads yet. They appear when typed signals arrive: POST /signals with a signal type and an identity (see docs/typed-signals.md)." }
                }
            } @else {
                p { (total) @if total == 1 { " lead" } @else { " leads" } @if let Some(q) = q { " matching " q { (q) } } }
                table #leads {
                    thead { tr { th { "Lead" } th { "Company domain" } th { "Captures" } th { "ICP" } th { "Persona" } th { "Last seen" } } }
                    tbody {
                        @for lead in &leads {
                            tr {
                                td { a href=(format!("/ui/typed/leads/{}", lead.id)) { (lead_name(lead)) } }
                                td { (lead.company_domain.as_deref().unwrap_or("")) }
                                td { (lead.capture_count) }
                                td { (score(lead.qualification.icp_code.as_deref(), lead.qualification.icp_score)) }
                                td { (score(lead.qualification.persona_code.as_deref(), lead.qualification.persona_score)) }
                                td { (lead.last_seen_at.to_string()) }
                            }
                        }
                    }
                }
                @if next < total {
                    a.more href=(format!("/ui/typed/leads?offset={next}{}", q.map(|q| format!("&q={}", url_encode(q))).unwrap_or_default())) { "Next page" }
                }
            }
        },
    ))
}

fn url_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn qualification_block(q: &Qualification) -> Markup {
    html! {
        dl.qualification {
            dt { "ICP" } dd.icp { (score(q.icp_code.as_deref(), q.icp_score)) }
            dt { "Persona" } dd.persona { (score(q.persona_code.as_deref(), q.persona_score)) }
        }
    }
}

pub async fn lead_page(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<String>,
) -> Result<Markup, Error> {
    session.caller.require(Role::Viewer)?;
    let lead = leads_api::find_lead(&state, &session.caller, &id).await?;
    let captures = leads_api::captures_of(&state, &lead.id, 100).await?;
    let identity = [
        ("Email", lead.email.clone()),
        ("LinkedIn", lead.linkedin_url.clone()),
        ("Company domain", lead.company_domain.clone()),
        ("First name", lead.first_name.clone()),
        ("Last name", lead.last_name.clone()),
        ("Title", lead.title.clone()),
    ];
    Ok(page(
        &session,
        Section::TypedSignals,
        &lead_name(&lead),
        html! {
            (subnav(""))
            p { a href="/ui/typed/leads" { "← All leads" } }
            section {
                h2 { "Identity" }
                dl.identity {
                    @for (label, value) in &identity {
                        @if let Some(value) = value { dt { (label) } dd { (value) } }
                    }
                    dt { "Captures" } dd { (lead.capture_count) }
                    dt { "First seen" } dd { (lead.first_seen_at.to_string()) }
                    dt { "Last seen" } dd { (lead.last_seen_at.to_string()) }
                }
            }
            section #latest-qualification {
                h2 { "Latest qualification" }
                @if let Some(at) = lead.qualified_at {
                    (qualification_block(&lead.qualification))
                    p.hint { "Qualified at " (at.to_string()) }
                } @else {
                    p.empty { "Not qualified yet. Create ICP or persona profiles and turn on autoqualify for the signal type, or qualify the lead with POST /v1/leads/{id}/qualify." }
                }
            }
            section {
                h2 { "Capture timeline" }
                @if captures.is_empty() {
                    p.empty { "No captures." }
                } @else {
                    ol #captures.timeline {
                        @for c in &captures {
                            li {
                                h3 {
                                    code { (c.signal_type) } " from " (c.source)
                                    @if let Some(event) = &c.event_name { " · " (event) }
                                }
                                p {
                                    time datetime=(c.occurred_at.to_string()) { (c.occurred_at.to_string()) }
                                    @if let Some(rule) = &c.sub_rule { " · sub-rule " (rule) }
                                    @if let Some(conflict) = &c.conflict { " · identity also matched lead " (conflict) }
                                }
                                @if c.qualification.icp_code.is_some() || c.qualification.persona_code.is_some() {
                                    (qualification_block(&c.qualification))
                                }
                                @if let Some(context) = &c.context { (pretty_json(&context.to_string())) }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// Deletes a custom signal type through the API's code (built-in ones are refused there).
pub async fn delete_type(
    State(state): State<AppState>,
    session: UiSession,
    Path(slug): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    types::delete(&state, &session.caller, &slug).await?;
    Ok(Redirect::to("/ui/typed").into_response())
}

/// Deletes an ICP or persona profile through the API's code.
pub async fn delete_profile(
    State(state): State<AppState>,
    session: UiSession,
    Path((kind, id)): Path<(String, uuid::Uuid)>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    let kind = match kind.as_str() {
        "icp" => Kind::Icp,
        "persona" => Kind::Persona,
        _ => return Err(Error::not_found("no such kind of profile")),
    };
    profiles::delete(&state, &session.caller, kind, id).await?;
    Ok(Redirect::to("/ui/typed/profiles").into_response())
}
