//! Settings: the workspace switcher, your API tokens (the secret shown once), the users and
//! their roles and the workspace's settings and limits (admin), and the audit log with
//! filters (admin).

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;
use signalbox_core::{Role, Timestamp};
use uuid::Uuid;

use super::layout::{Section, csrf_field, form_error, page, pretty_json, text_input};
use super::session::{self, CsrfForm, UiSession};
use crate::Error;
use crate::auth::api_tokens::model::{ApiTokenIn, CreatedApiToken};
use crate::auth::members::users::{self, UserIn, UserOut, UserPatch};
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
    let field_errors: Vec<FieldError> = outcome.error.map(|e| e.problem().errors).unwrap_or_default();
    let general = outcome.error.filter(|_| field_errors.is_empty()).map(|e| e.problem().detail);
    let typed_name = outcome.form.map(|f| f.name.as_str()).unwrap_or("");
    let grantable: Vec<Role> = Role::ALL.into_iter().filter(|r| *r <= caller.role).collect();
    let owner = caller.role >= Role::Owner;
    let user_errors: Vec<FieldError> = outcome.user_error.map(|e| e.problem().errors).unwrap_or_default();
    let user_general = outcome.user_error.filter(|_| user_errors.is_empty()).map(|e| e.problem().detail);
    let user_form = outcome.user_form;
    let typed = |f: fn(&UserForm) -> &str| user_form.map(f).unwrap_or("");
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
                        (text_input("api-token-name", "name", "Token name", typed_name, &field_errors, true))
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
                    @if accounts.is_empty() {
                        p.empty { "No service accounts. Create one with " code { "POST /v1/service-accounts" } " for systems that act on their own (action sets run as one)." }
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
                }
                section {
                    h2 { "Workspace settings and limits" }
                    p.lead { "Overrides of the server's limits for this workspace (empty: the server's value). Change them with " code { "PUT /v1/workspace/settings" } "." }
                    (pretty_json(&serde_json::to_string(&settings).unwrap_or_default()))
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
    let secure = state.config.public_url.as_deref().is_some_and(|url| url.starts_with("https://"));
    let cookie = session::start(&state.db, session_id, now, secure).await?;
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
    let field_errors: Vec<FieldError> = error.as_ref().map(|e| e.problem().errors).unwrap_or_default();
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
