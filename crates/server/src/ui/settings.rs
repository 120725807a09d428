//! Settings: the workspace switcher, your API tokens (the secret shown once), the users and
//! their roles and the workspace's settings and limits (admin), and the audit log with
//! filters (admin).

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use std::collections::HashMap;

use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;
use signalbox_core::{Role, Timestamp};
use uuid::Uuid;

use super::layout::{Section, csrf_field, field_errors, form_error, general_error, page, pretty_json, text_input};
use super::session::{self, CsrfForm, UiSession};
use crate::Error;
use crate::auth::api_tokens::model::{ApiTokenIn, CreatedApiToken};
use crate::auth::members::service_accounts::{self, ServiceAccountIn};
use crate::auth::members::users::{self, UserIn, UserOut, UserPatch};
use crate::auth::model::Member;
use crate::auth::model::PrincipalKind;
use crate::error::FieldError;
use crate::http::{PageRequest, Patch};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/settings", get(show))
        .route("/ui/settings/api-tokens", post(create_token))
        .route("/ui/settings/api-tokens/{id}/revoke", post(revoke_token))
        .route("/ui/settings/workspace", post(switch_workspace))
        .route("/ui/settings/audit", get(audit))
        .route("/ui/settings/users", post(add_user))
        .route("/ui/settings/users/{id}", post(update_user))
        .route("/ui/settings/limits", post(update_limits))
        .route("/ui/settings/service-accounts", post(create_service_account))
        .route("/ui/settings/service-accounts/tokens", post(create_service_account_token))
}

const ALL: PageRequest = PageRequest { limit: 200, offset: 0 };

#[derive(Deserialize, Default)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    access: String,
    csrf: Option<String>,
}

/// What the page shows after a token was made, or a token form's error.
#[derive(Default)]
struct TokenOutcome<'a> {
    created: Option<&'a CreatedApiToken>,
    error: Option<&'a Error>,
    form: Option<&'a TokenForm>,
    user_added: Option<&'a UserOut>,
    user_error: Option<&'a Error>,
    user_form: Option<&'a UserForm>,
    limits_saved: bool,
    limits_error: Option<&'a Error>,
    limits_form: Option<&'a HashMap<String, String>>,
    account_created: Option<&'a Member>,
    account_error: Option<&'a Error>,
    account_form: Option<&'a ServiceAccountForm>,
    account_token: Option<&'a CreatedApiToken>,
    account_token_error: Option<&'a Error>,
    account_token_form: Option<&'a AccountTokenForm>,
}

/// The create-service-account form: the fields of `POST /v1/service-accounts`.
#[derive(Deserialize, Default)]
pub struct ServiceAccountForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    csrf: Option<String>,
}

/// Minting an API token for a service account (`POST /v1/api-tokens` with `service_account_id`).
#[derive(Deserialize, Default)]
pub struct AccountTokenForm {
    #[serde(default)]
    service_account_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    access: String,
    csrf: Option<String>,
}

/// The workspace's overridable limits: the field, its label, its override and the server's
/// cap (`None`: not capped by the server; 0: the server has no limit).
fn limit_rows(
    settings: &crate::workspaces::model::WorkspaceSettings,
    caps: &crate::workspaces::model::SettingsCaps,
) -> [(&'static str, &'static str, Option<u64>, Option<u64>); 8] {
    [
        (
            "session_lifetime_seconds",
            "Session lifetime (seconds)",
            settings.session_lifetime_seconds,
            Some(caps.session_lifetime_seconds),
        ),
        (
            "signal_rate_limit",
            "Signals per second per endpoint",
            settings.signal_rate_limit,
            Some(caps.signal_rate_limit),
        ),
        ("max_signal_endpoints", "Signal endpoints", settings.max_signal_endpoints, Some(caps.max_signal_endpoints)),
        (
            "max_tokens_per_endpoint",
            "Tokens per signal endpoint",
            settings.max_tokens_per_endpoint,
            Some(caps.max_tokens_per_endpoint),
        ),
        (
            "max_signal_payload_bytes",
            "Largest signal payload (bytes)",
            settings.max_signal_payload_bytes,
            Some(caps.max_signal_payload_bytes),
        ),
        (
            "typed_signal_rate_per_minute",
            "Typed signals per minute",
            settings.typed_signal_rate_per_minute,
            Some(caps.typed_signal_rate_per_minute),
        ),
        (
            "typed_signal_rate_per_day",
            "Typed signals per day",
            settings.typed_signal_rate_per_day,
            Some(caps.typed_signal_rate_per_day),
        ),
        (
            "qualification_threshold",
            "Qualification threshold (ICP score 0-100)",
            settings.qualification_threshold,
            None,
        ),
    ]
}

/// A labelled number input for one override, the server's cap next to it and the API's
/// error for the field, if any.
fn limit_input(name: &str, label: &str, value: &str, cap: Option<u64>, errors: &[FieldError]) -> Markup {
    let id = format!("limit-{name}");
    let error = errors.iter().find(|e| e.field == name);
    let hint = match cap {
        Some(0) => "Server's cap: no limit".to_owned(),
        Some(cap) => format!("Server's cap: {cap}"),
        None => "From 0 to 100 (default 60)".to_owned(),
    };
    let described = match error {
        Some(_) => format!("{id}-cap {id}-error"),
        None => format!("{id}-cap"),
    };
    html! {
        div.field {
            label for=(id) { (label) }
            input id=(id) name=(name) type="number" min="0" step="1" value=(value)
                aria-invalid=[error.map(|_| "true")] aria-describedby=(described);
            p.hint id=(format!("{id}-cap")) { (hint) }
            @if let Some(error) = error {
                p.error id=(format!("{id}-error")) { (error.message) }
            }
        }
    }
}

/// The field errors and the general message of a form's error.
fn errors_of(error: Option<&Error>) -> (Vec<FieldError>, Option<String>) {
    let fields: Vec<FieldError> = field_errors(error);
    let general = general_error(error);
    (fields, general)
}

/// The add-user form: the fields of `POST /v1/users`.
#[derive(Deserialize, Default)]
pub struct UserForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
    csrf: Option<String>,
}

/// A user's row: a new role, or disabling / enabling them (`PUT /v1/users/{id}`).
#[derive(Deserialize, Default)]
pub struct UserChangeForm {
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    disabled: Option<bool>,
    csrf: Option<String>,
}

async fn render(state: &AppState, session: &UiSession, outcome: TokenOutcome<'_>) -> Result<Markup, Error> {
    let caller = &session.caller;
    let admin = caller.role >= Role::Admin;
    let (workspaces, _) = crate::workspaces::store::list_for_principal(&state.db, caller.principal_id, ALL).await?;
    let only_own = (!admin).then_some(caller.principal_id);
    let (tokens, _) = crate::auth::api_tokens::store::list(&state.db, caller.workspace_id, only_own, ALL).await?;
    let users = match admin {
        true => crate::auth::store::list_members(&state.db, caller.workspace_id, PrincipalKind::User, 200, 0).await?.0,
        false => Vec::new(),
    };
    let accounts = match admin {
        true => {
            let kind = PrincipalKind::ServiceAccount;
            crate::auth::store::list_members(&state.db, caller.workspace_id, kind, 200, 0).await?.0
        }
        false => Vec::new(),
    };
    let settings = crate::workspaces::store::settings(&state.db, caller.workspace_id).await?;
    let token_errors = field_errors(outcome.error);
    let general = general_error(outcome.error);
    let typed_name = outcome.form.map(|f| f.name.as_str()).unwrap_or("");
    let grantable: Vec<Role> = Role::ALL.into_iter().filter(|r| *r <= caller.role).collect();
    let owner = caller.role >= Role::Owner;
    let user_errors = field_errors(outcome.user_error);
    let user_general = general_error(outcome.user_error);
    let user_form = outcome.user_form;
    let typed = |f: fn(&UserForm) -> &str| user_form.map(f).unwrap_or("");
    let caps = crate::workspaces::caps(state);
    let limits = limit_rows(&settings, &caps);
    let (limit_errors, limit_general) = errors_of(outcome.limits_error);
    let limit_value = |name: &str, current: Option<u64>| match outcome.limits_form {
        Some(form) => form.get(name).cloned().unwrap_or_default(),
        None => current.map(|v| v.to_string()).unwrap_or_default(),
    };
    let (account_errors, account_general) = errors_of(outcome.account_error);
    let account_form = outcome.account_form;
    let (account_token_errors, account_token_general) = errors_of(outcome.account_token_error);
    let account_token_form = outcome.account_token_form;
    Ok(page(
        session,
        Section::Settings,
        "Settings",
        html! {
            section {
                h2 { "Workspace" }
                form method="post" action="/ui/settings/workspace" {
                    (csrf_field(session))
                    div.field {
                        label for="workspace" { "Switch to workspace" }
                        select id="workspace" name="workspace_id" {
                            @for w in &workspaces {
                                option value=(w.id) selected[w.id == caller.workspace_id] disabled[w.disabled] {
                                    (w.name) " (" (w.role) ")"
                                }
                            }
                        }
                    }
                    button type="submit" { "Switch" }
                }
            }
            section {
                h2 { "API tokens" }
                p.lead { "Tokens let your systems call the API as you (with a role no higher than yours) or only send typed signals (ingest)." }
                @if let Some(created) = outcome.created {
                    div.secret role="status" {
                        p { "Token " strong { (created.name) } " created. Copy it now: it is shown only this once." }
                        div.copy-row {
                            code #api-token-secret { (created.token) }
                            button type="button" data-copy="#api-token-secret" { "Copy" }
                        }
                    }
                }
                @if tokens.is_empty() {
                    p.empty { "No API tokens yet." }
                } @else {
                    table #api-tokens {
                        thead { tr { th { "Name" } th { "Access" } th { "Created" } th { "Last used" } th { span.visually-hidden { "Revoke" } } } }
                        tbody {
                            @for t in &tokens {
                                tr {
                                    td { (t.name) }
                                    td { @if let Some(role) = t.role { (role) } @else { "ingest" } }
                                    td { (t.created_at.to_string()) }
                                    td { @match t.last_used_at { Some(at) => (at.to_string()), None => "never" } }
                                    td {
                                        form method="post" action=(format!("/ui/settings/api-tokens/{}/revoke", t.id))
                                            onsubmit="return confirm('Revoke this token? Systems using it stop working at once.')" {
                                            (csrf_field(session))
                                            button type="submit" { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if caller.role >= Role::Editor {
                    (form_error(general.as_deref()))
                    form #create-api-token method="post" action="/ui/settings/api-tokens" {
                        (csrf_field(session))
                        (text_input("api-token-name", "name", "Token name", typed_name, &token_errors, true))
                        div.field {
                            label for="api-token-access" { "Access" }
                            select id="api-token-access" name="access" {
                                option value="scope:ingest" { "ingest: send typed signals only" }
                                @for role in &grantable {
                                    option value=(format!("role:{role}")) { "role: " (role) }
                                }
                            }
                        }
                        button type="submit" { "Create API token" }
                    }
                }
            }
            @if admin {
                section {
                    h2 { "Users and roles" }
                    @if let Some(added) = outcome.user_added {
                        div.secret role="status" #user-added {
                            p { "Added " strong { (added.member.name) } " as " (added.member.role) "." }
                            @if let Some(password) = &added.initial_password {
                                p { "Their generated password, shown only this once:" }
                                div.copy-row {
                                    code #user-initial-password { (password) }
                                    button type="button" data-copy="#user-initial-password" { "Copy" }
                                }
                            }
                        }
                    }
                    table #users {
                        thead { tr { th { "Name" } th { "Email" } th { "Role" } th { "State" } } }
                        tbody {
                            @for u in &users {
                                tr data-user=(u.id) {
                                    td { (u.name) }
                                    td { (u.email.as_deref().unwrap_or("")) }
                                    td {
                                        @if owner {
                                            form.inline method="post" action=(format!("/ui/settings/users/{}", u.id)) {
                                                (csrf_field(session))
                                                label.visually-hidden for=(format!("role-{}", u.id)) { "Role of " (u.name) }
                                                select id=(format!("role-{}", u.id)) name="role" {
                                                    @for role in &grantable {
                                                        option value=(role) selected[*role == u.role] { (role) }
                                                    }
                                                }
                                                " "
                                                button type="submit" aria-label=(format!("Change the role of {}", u.name)) { "Change role" }
                                            }
                                        } @else { (u.role) }
                                    }
                                    td {
                                        @if u.disabled { "disabled" } @else { "active" }
                                        @if owner && u.id != caller.principal_id {
                                            " "
                                            form.inline method="post" action=(format!("/ui/settings/users/{}", u.id))
                                                onsubmit=[(!u.disabled).then(|| format!("return confirm('Disable {}? They can no longer log in, and their sessions and tokens stop working.')", u.name.replace('\'', "")))] {
                                                (csrf_field(session))
                                                input type="hidden" name="disabled" value=(if u.disabled { "false" } else { "true" });
                                                @let action = if u.disabled { "Enable" } else { "Disable" };
                                                button type="submit" aria-label=(format!("{action} {}", u.name)) { (action) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if owner {
                        h3 { "Add a user" }
                        (form_error(user_general.as_deref()))
                        form #add-user method="post" action="/ui/settings/users" {
                            (csrf_field(session))
                            (text_input("user-email", "email", "Email", typed(|f| &f.email), &user_errors, true))
                            (text_input("user-name", "name", "Name (optional: the email)", typed(|f| &f.name), &user_errors, false))
                            div.field {
                                label for="user-role" { "Role" }
                                select id="user-role" name="role" {
                                    @for role in &grantable {
                                        option value=(role) selected[typed(|f| &f.role) == role.to_string()] { (role) }
                                    }
                                }
                            }
                            (text_input("user-password", "password", "Password (at least 12 characters; empty: one is generated and shown once)", typed(|f| &f.password), &user_errors, false))
                            button type="submit" { "Add user" }
                        }
                    } @else {
                        p.notice { "Owners add users and change their roles." }
                    }
                }
                section {
                    h2 { "Service accounts" }
                    @if let Some(created) = outcome.account_created {
                        p role="status" #service-account-created { "Service account " strong { (created.name) } " created as " (created.role) "." }
                    }
                    @if let Some(created) = outcome.account_token {
                        div.secret role="status" {
                            p { "Token " strong { (created.name) } " created for the service account. Copy it now: it is shown only this once." }
                            div.copy-row {
                                code #service-account-token-secret { (created.token) }
                                button type="button" data-copy="#service-account-token-secret" { "Copy" }
                            }
                        }
                    }
                    @if accounts.is_empty() {
                        p.empty { "No service accounts yet: they are for systems that act on their own (action sets run as one)." }
                    } @else {
                        table #service-accounts {
                            thead { tr { th { "Name" } th { "Role" } th { "Id" } } }
                            tbody {
                                @for a in &accounts {
                                    tr { td { (a.name) } td { (a.role) } td { code { (a.id) } } }
                                }
                            }
                        }
                    }
                    h3 { "Create a service account" }
                    (form_error(account_general.as_deref()))
                    form #create-service-account method="post" action="/ui/settings/service-accounts" {
                        (csrf_field(session))
                        (text_input("service-account-name", "name", "Name", account_form.map_or("", |f| f.name.as_str()), &account_errors, true))
                        div.field {
                            label for="service-account-role" { "Role" }
                            select id="service-account-role" name="role" {
                                @for role in &grantable {
                                    option value=(role) selected[account_form.is_some_and(|f| f.role == role.to_string())] { (role) }
                                }
                            }
                        }
                        button type="submit" { "Create service account" }
                    }
                    @if !accounts.is_empty() {
                        h3 { "Mint an API token for a service account" }
                        (form_error(account_token_general.as_deref()))
                        form #service-account-token method="post" action="/ui/settings/service-accounts/tokens" {
                            (csrf_field(session))
                            @let account_error = account_token_errors.iter().find(|e| e.field == "service_account_id");
                            div.field {
                                label for="service-account-token-account" { "Service account" }
                                select id="service-account-token-account" name="service_account_id"
                                    aria-invalid=[account_error.map(|_| "true")]
                                    aria-describedby=[account_error.map(|_| "service-account-token-account-error")] {
                                    @for a in &accounts {
                                        option value=(a.id) selected[account_token_form.is_some_and(|f| f.service_account_id == a.id.to_string())] { (a.name) " (" (a.role) ")" }
                                    }
                                }
                                @if let Some(error) = account_error {
                                    p.error id="service-account-token-account-error" { (error.message) }
                                }
                            }
                            (text_input("service-account-token-name", "name", "Token name", account_token_form.map_or("", |f| f.name.as_str()), &account_token_errors, true))
                            div.field {
                                label for="service-account-token-access" { "Access" }
                                select id="service-account-token-access" name="access" {
                                    option value="scope:ingest" { "ingest: send typed signals only" }
                                    @for role in &grantable {
                                        option value=(format!("role:{role}")) selected[account_token_form.is_some_and(|f| f.access == format!("role:{role}"))] { "role: " (role) }
                                    }
                                }
                            }
                            button type="submit" { "Create token for the service account" }
                        }
                    }
                }
                section {
                    h2 { "Workspace settings and limits" }
                    @if owner {
                        p.lead { "Overrides of the server's limits for this workspace: empty uses the server's value; none may exceed the server's cap." }
                        @if outcome.limits_saved {
                            p role="status" #limits-saved { "Settings saved." }
                        }
                        (form_error(limit_general.as_deref()))
                        form #workspace-limits method="post" action="/ui/settings/limits" {
                            (csrf_field(session))
                            @for (name, label, current, cap) in &limits {
                                (limit_input(name, label, &limit_value(name, *current), *cap, &limit_errors))
                            }
                            button type="submit" { "Save settings" }
                        }
                    } @else {
                        p.lead { "Overrides of the server's limits for this workspace (empty: the server's value). Owners change them." }
                        (pretty_json(&serde_json::to_string(&settings).unwrap_or_default()))
                    }
                    p { a href="/ui/settings/audit" { "Audit log" } }
                }
            }
        },
    ))
}

pub async fn show(State(state): State<AppState>, session: UiSession) -> Result<Markup, Error> {
    render(&state, &session, TokenOutcome::default()).await
}

pub async fn create_token(
    State(state): State<AppState>,
    session: UiSession,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    let (role, scope) = match form.access.split_once(':') {
        Some(("role", role)) => (Some(role.to_owned()), None),
        Some(("scope", scope)) => (None, Some(scope.to_owned())),
        _ => (None, None),
    };
    let body = ApiTokenIn { name: form.name.clone(), role, scope, expires_at: None, service_account_id: None };
    match crate::auth::api_tokens::create(&state, &session.caller, body).await {
        Ok(created) => {
            let outcome = TokenOutcome { created: Some(&created), ..Default::default() };
            let mut response = render(&state, &session, outcome).await?.into_response();
            response.headers_mut().insert("cache-control", axum::http::HeaderValue::from_static("no-store"));
            Ok(response)
        }
        Err(error) if error.status().is_client_error() => {
            let outcome = TokenOutcome { error: Some(&error), form: Some(&form), ..Default::default() };
            Ok((error.status(), render(&state, &session, outcome).await?).into_response())
        }
        Err(error) => Err(error),
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    crate::auth::api_tokens::revoke(&state, &session.caller, id).await?;
    Ok(Redirect::to("/ui/settings").into_response())
}

#[derive(Deserialize)]
pub struct SwitchForm {
    workspace_id: String,
    csrf: Option<String>,
}

/// Moves this browser to another workspace the user belongs to: a new login session there
/// (as logging in to it would start), and this one ends.
pub async fn switch_workspace(
    State(state): State<AppState>,
    session: UiSession,
    headers: HeaderMap,
    Form(form): Form<SwitchForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    let invalid = || Error::invalid_field("workspace_id", "not a workspace you belong to");
    let target = Uuid::parse_str(&form.workspace_id).map_err(|_| invalid())?;
    let principal = session.caller.principal_id;
    let membership = crate::auth::store::login_membership(&state.db, principal, Some(target)).await?;
    let Some((workspace_id, _, disabled)) = membership else { return Err(invalid()) };
    if disabled {
        return Err(Error::forbidden("this account is disabled in that workspace"));
    }
    let now = state.clock.now();
    let lifetime =
        crate::workspaces::store::session_lifetime(&state.db, workspace_id, state.config.jwt_lifetime).await?;
    let session_id = signalbox_core::new_id();
    crate::auth::store::create_session(&state.db, session_id, principal, workspace_id, now, now.plus(lifetime)).await?;
    let cookie = session::start(&state, session_id, now).await?;
    crate::auth::store::end_session(&state.db, session.session_id, now).await?;
    Ok(([(SET_COOKIE, cookie)], Redirect::to("/ui/")).into_response())
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default, rename = "type")]
    event_type: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    before: Option<i64>,
}

fn time_filter(text: &str, field: &str) -> Result<Option<Timestamp>, Error> {
    match text.trim() {
        "" => Ok(None),
        text => Timestamp::parse(text)
            .map(Some)
            .map_err(|_| Error::invalid_field(field, "must be an RFC 3339 time, e.g. 2026-11-29T12:00:00Z")),
    }
}

/// The audit log (admin), newest first, 50 a page.
pub async fn audit(
    State(state): State<AppState>,
    session: UiSession,
    Query(query): Query<AuditQuery>,
) -> Result<Response, Error> {
    session.caller.require(Role::Admin)?;
    let filters = (time_filter(&query.since, "since"), time_filter(&query.until, "until"));
    let (since, until, error) = match filters {
        (Ok(since), Ok(until)) => (since, until, None),
        (Err(e), _) | (_, Err(e)) => (None, None, Some(e)),
    };
    let event_type = Some(query.event_type.trim()).filter(|t| !t.is_empty());
    let events = match &error {
        Some(_) => Vec::new(),
        None => {
            let filter = crate::events::store::EventQuery {
                event_type,
                project: None,
                flag: None,
                actor: None,
                since,
                until,
                before: query.before,
                limit: 50,
            };
            crate::events::store::list(&state.db, session.caller.workspace_id, filter).await?
        }
    };
    let field_errors: Vec<FieldError> = field_errors(error.as_ref());
    let next = events.last().filter(|_| events.len() == 50).map(|e| {
        let params = [("type", query.event_type.as_str()), ("since", &query.since), ("until", &query.until)];
        let mut link = url::form_urlencoded::Serializer::new(String::new());
        link.extend_pairs(params.iter().filter(|(_, v)| !v.is_empty()));
        link.append_pair("before", &e.seq.to_string());
        format!("/ui/settings/audit?{}", link.finish())
    });
    let markup = page(
        &session,
        Section::Settings,
        "Audit log",
        html! {
            form.filters method="get" action="/ui/settings/audit" {
                (text_input("audit-type", "type", "Event type", &query.event_type, &field_errors, false))
                (text_input("audit-since", "since", "Since (RFC 3339)", &query.since, &field_errors, false))
                (text_input("audit-until", "until", "Until (RFC 3339)", &query.until, &field_errors, false))
                button type="submit" { "Filter" }
            }
            @if events.is_empty() {
                p.empty { "No events match." }
            } @else {
                table #audit {
                    thead { tr { th { "Time" } th { "Event" } th { "Actor" } th { "Data" } } }
                    tbody {
                        @for e in &events {
                            tr {
                                td { (e.created_at.to_string()) }
                                td { code { (e.event_type) } }
                                td { @match e.actor_id { Some(id) => code { (id) }, None => "server" } }
                                td { details { summary { "data" } (pretty_json(e.data.get())) } }
                            }
                        }
                    }
                }
            }
            @if let Some(next) = next { p { a href=(next) { "Older events" } } }
        },
    );
    let status = error.as_ref().map_or(axum::http::StatusCode::OK, Error::status);
    Ok((status, markup).into_response())
}

/// Adds a user through `POST /v1/users`'s code; a generated password is shown once.
pub async fn add_user(
    State(state): State<AppState>,
    session: UiSession,
    headers: HeaderMap,
    Form(form): Form<UserForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    session.caller.require(Role::Owner)?;
    let optional = |text: &str| Some(text.trim().to_owned()).filter(|t| !t.is_empty());
    let body = UserIn {
        email: form.email.trim().to_owned(),
        role: form.role.clone(),
        name: optional(&form.name),
        password: Some(form.password.clone()).filter(|p| !p.is_empty()),
    };
    match users::add(&state, &session.caller, body).await {
        Ok(added) => {
            let outcome = TokenOutcome { user_added: Some(&added), ..Default::default() };
            let mut response = render(&state, &session, outcome).await?.into_response();
            response.headers_mut().insert("cache-control", axum::http::HeaderValue::from_static("no-store"));
            Ok(response)
        }
        Err(error) if error.status().is_client_error() && error.status() != axum::http::StatusCode::FORBIDDEN => {
            let outcome = TokenOutcome { user_error: Some(&error), user_form: Some(&form), ..Default::default() };
            Ok((error.status(), render(&state, &session, outcome).await?).into_response())
        }
        Err(error) => Err(error),
    }
}

/// Changes a user's role or disables / enables them through `PUT /v1/users/{id}`'s code.
pub async fn update_user(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Form(form): Form<UserChangeForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    session.caller.require(Role::Owner)?;
    let patch = UserPatch {
        role: form.role.map_or(Patch::Absent, Patch::Value),
        disabled: form.disabled.map_or(Patch::Absent, Patch::Value),
    };
    users::update(&state, &session.caller, id, patch).await?;
    Ok(Redirect::to("/ui/settings").into_response())
}

/// Saves the workspace's overrides through `PUT /v1/workspace/settings`'s code (owner): an
/// empty field restores the server's value; a value over its cap is refused, nothing saved.
pub async fn update_limits(
    State(state): State<AppState>,
    session: UiSession,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, Error> {
    session.check_csrf(form.get("csrf").map(String::as_str), &headers)?;
    session.caller.require(Role::Owner)?;
    let value = |name: &str| match form.get(name).map(|v| v.trim()).unwrap_or("") {
        "" => Patch::Null,
        text => Patch::Value(text.parse::<u64>().map_or_else(|_| serde_json::json!(text), |n| serde_json::json!(n))),
    };
    let patch = crate::workspaces::model::WorkspaceSettingsPatch {
        session_lifetime_seconds: value("session_lifetime_seconds"),
        signal_rate_limit: value("signal_rate_limit"),
        max_signal_endpoints: value("max_signal_endpoints"),
        max_tokens_per_endpoint: value("max_tokens_per_endpoint"),
        max_signal_payload_bytes: value("max_signal_payload_bytes"),
        typed_signal_rate_per_minute: value("typed_signal_rate_per_minute"),
        typed_signal_rate_per_day: value("typed_signal_rate_per_day"),
        qualification_threshold: value("qualification_threshold"),
    };
    match crate::workspaces::apply_settings(&state, &session.caller, patch).await {
        Ok(_) => {
            let outcome = TokenOutcome { limits_saved: true, ..Default::default() };
            Ok(render(&state, &session, outcome).await?.into_response())
        }
        Err(error) if error.status().is_client_error() && error.status() != axum::http::StatusCode::FORBIDDEN => {
            let outcome = TokenOutcome { limits_error: Some(&error), limits_form: Some(&form), ..Default::default() };
            Ok((error.status(), render(&state, &session, outcome).await?).into_response())
        }
        Err(error) => Err(error),
    }
}

/// Creates a service account through `POST /v1/service-accounts`'s code (admin).
pub async fn create_service_account(
    State(state): State<AppState>,
    session: UiSession,
    headers: HeaderMap,
    Form(form): Form<ServiceAccountForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    session.caller.require(Role::Admin)?;
    let body = ServiceAccountIn { name: form.name.clone(), role: form.role.clone() };
    match service_accounts::create(&state, &session.caller, body).await {
        Ok(created) => {
            let outcome = TokenOutcome { account_created: Some(&created), ..Default::default() };
            Ok(render(&state, &session, outcome).await?.into_response())
        }
        Err(error) if error.status().is_client_error() && error.status() != axum::http::StatusCode::FORBIDDEN => {
            let outcome = TokenOutcome { account_error: Some(&error), account_form: Some(&form), ..Default::default() };
            Ok((error.status(), render(&state, &session, outcome).await?).into_response())
        }
        Err(error) => Err(error),
    }
}

/// Mints an API token for a service account through `POST /v1/api-tokens`'s code (admin);
/// the secret is shown once.
pub async fn create_service_account_token(
    State(state): State<AppState>,
    session: UiSession,
    headers: HeaderMap,
    Form(form): Form<AccountTokenForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    session.caller.require(Role::Admin)?;
    let (role, scope) = match form.access.split_once(':') {
        Some(("role", role)) => (Some(role.to_owned()), None),
        Some(("scope", scope)) => (None, Some(scope.to_owned())),
        _ => (None, None),
    };
    let body = ApiTokenIn {
        name: form.name.clone(),
        role,
        scope,
        expires_at: None,
        service_account_id: Some(form.service_account_id.clone()),
    };
    match crate::auth::api_tokens::create(&state, &session.caller, body).await {
        Ok(created) => {
            let outcome = TokenOutcome { account_token: Some(&created), ..Default::default() };
            let mut response = render(&state, &session, outcome).await?.into_response();
            response.headers_mut().insert("cache-control", axum::http::HeaderValue::from_static("no-store"));
            Ok(response)
        }
        Err(error) if error.status().is_client_error() && error.status() != axum::http::StatusCode::FORBIDDEN => {
            let outcome = TokenOutcome {
                account_token_error: Some(&error),
                account_token_form: Some(&form),
                ..Default::default()
            };
            Ok((error.status(), render(&state, &session, outcome).await?).into_response())
        }
        Err(error) => Err(error),
    }
}
