//! Editing typed-signal settings in place: a signal type (source description, sub-rules as
//! name + CEL condition rows, autoqualify, enabled) through `types::update`, and an ICP or
//! persona profile (code, weighted rules) through `profiles::update` — the API's operations.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use maud::{Markup, html};
use signalbox_core::Role;
use uuid::Uuid;

use super::constraints::{Errors, input, rest_of, to_rows as list_rows};
use super::layout::{Section, csrf_field, form_error, general_error, page, text_input};
use super::session::UiSession;
use super::typed::{ProfileForm, rule_fields, rules_of, split_error, subnav, to_rows};
use crate::Error;
use crate::http::Patch;
use crate::state::AppState;
use crate::typed::model::{SignalType, SignalTypePatch, SubRule};
use crate::typed::profiles::{self, Kind, ProfileIn, ProfileView};
use crate::typed::types;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/typed/types/{slug}/edit", get(edit_type).post(save_type))
        .route("/ui/typed/profiles/{kind}/{id}/edit", get(edit_profile).post(save_profile))
}

// ---- signal types ----

struct TypeForm {
    source_description: String,
    enabled: bool,
    autoqualify: bool,
    /// (name, condition) rows.
    rules: Vec<(String, String)>,
}

impl TypeForm {
    fn of(t: &SignalType) -> Self {
        let mut rules: Vec<(String, String)> =
            t.sub_rules.iter().map(|r| (r.name.clone(), r.condition.clone())).collect();
        rules.push(Default::default());
        Self {
            source_description: t.source_description.clone().unwrap_or_default(),
            enabled: t.enabled,
            autoqualify: t.autoqualify,
            rules,
        }
    }

    fn from_fields(fields: &HashMap<String, String>) -> Self {
        let get = |name: &str| fields.get(name).cloned().unwrap_or_default();
        let rows = fields.get("sub_rule_rows").and_then(|n| n.trim().parse::<usize>().ok()).unwrap_or(0).min(100);
        Self {
            source_description: get("source_description"),
            enabled: fields.contains_key("enabled"),
            autoqualify: fields.contains_key("autoqualify"),
            rules: (0..rows).map(|k| (get(&format!("rule_name_{k}")), get(&format!("rule_condition_{k}")))).collect(),
        }
    }

    /// The sub-rules of the rows that are not blank, and the row each came from.
    fn sub_rules(&self) -> (Vec<SubRule>, Vec<usize>) {
        self.rules
            .iter()
            .enumerate()
            .filter(|(_, (name, condition))| !name.trim().is_empty() || !condition.trim().is_empty())
            .map(|(k, (name, condition))| (SubRule { name: name.trim().to_owned(), condition: condition.clone() }, k))
            .unzip()
    }
}

fn type_page(session: &UiSession, t: &SignalType, form: &TypeForm, error: Option<&Error>) -> Markup {
    let errors = Errors::of(error);
    let fields = html! {
        @if t.builtin {
            p.hint { "A built-in type: its name and description are fixed." }
        } @else {
            (input("type-source", "source_description", "Source description", &form.source_description, errors.at("source_description")))
        }
        div.field.check {
            label for="type-enabled" {
                input #type-enabled type="checkbox" name="enabled" value="on" checked[form.enabled];
                " Enabled: signals of this type are accepted"
            }
            label for="type-autoqualify" {
                input #type-autoqualify type="checkbox" name="autoqualify" value="on" checked[form.autoqualify];
                " Autoqualify: score captures of this type against the profiles as they arrive"
            }
        }
        fieldset #sub-rules {
            legend { "Sub-rules: the first whose condition holds names the capture's sub-rule" }
            input type="hidden" name="sub_rule_rows" value=(form.rules.len());
            @for (k, (name, condition)) in form.rules.iter().enumerate() {
                @let at = format!("sub_rules[{k}]");
                fieldset.rule {
                    legend { "Sub-rule " (k + 1) }
                    (input(&format!("rule-name-{k}"), &format!("rule_name_{k}"), "Name", name, errors.at(&format!("{at}.name"))))
                    @let condition_error = errors.at(&format!("{at}.condition"));
                    div.field {
                        label for=(format!("rule-condition-{k}")) { "Condition (CEL over signals and identity)" }
                        textarea id=(format!("rule-condition-{k}")) name=(format!("rule_condition_{k}")) rows="2"
                            aria-invalid=[condition_error.as_ref().map(|_| "true")]
                            aria-describedby=[condition_error.as_ref().map(|_| format!("rule-condition-{k}-error"))] { (condition) }
                        @if let Some(message) = condition_error { p.error id=(format!("rule-condition-{k}-error")) { (message) } }
                    }
                }
            }
            p.hint { "Leave a row empty to remove it." }
            button type="submit" name="action" value="more" { "Add another sub-rule row" }
        }
    };
    let rest = rest_of(&errors);
    page(
        session,
        Section::TypedSignals,
        &format!("Signal type {}", t.name),
        html! {
            (subnav(""))
            p { a href="/ui/typed" { "← All signal types" } " · slug " code { (t.slug) } }
            (form_error(general_error(error).as_deref()))
            (rest)
            form #edit-type method="post" action=(format!("/ui/typed/types/{}/edit", t.slug)) {
                (csrf_field(session))
                button type="submit" { "Save signal type" }
                (fields)
                button type="submit" { "Save signal type" }
            }
        },
    )
}

async fn find_type(state: &AppState, session: &UiSession, slug: &str) -> Result<SignalType, Error> {
    session.caller.require(Role::Admin)?;
    types::find(&state.db, session.caller.workspace_id, slug)
        .await?
        .ok_or_else(|| Error::not_found("no signal type with this slug"))
}

pub async fn edit_type(
    State(state): State<AppState>,
    session: UiSession,
    Path(slug): Path<String>,
) -> Result<Markup, Error> {
    let t = find_type(&state, &session, &slug).await?;
    Ok(type_page(&session, &t, &TypeForm::of(&t), None))
}

/// Saves a signal type through `types::update`: errors next to their fields, nothing written.
pub async fn save_type(
    State(state): State<AppState>,
    session: UiSession,
    Path(slug): Path<String>,
    headers: HeaderMap,
    Form(fields): Form<HashMap<String, String>>,
) -> Result<Response, Error> {
    session.check_csrf(fields.get("csrf").map(String::as_str), &headers)?;
    let t = find_type(&state, &session, &slug).await?;
    let mut form = TypeForm::from_fields(&fields);
    if fields.get("action").map(String::as_str) == Some("more") {
        form.rules.push(Default::default());
        return Ok(type_page(&session, &t, &form, None).into_response());
    }
    let (sub_rules, rows) = form.sub_rules();
    let description = form.source_description.trim();
    let patch = SignalTypePatch {
        source_description: match (t.builtin, description.is_empty()) {
            (true, _) => Patch::Absent,
            (false, true) => Patch::Null,
            (false, false) => Patch::Value(description.to_owned()),
        },
        sub_rules: Patch::Value(sub_rules),
        autoqualify: Patch::Value(form.autoqualify),
        enabled: Patch::Value(form.enabled),
    };
    match types::update(&state, &session.caller, &slug, patch).await.map_err(|e| list_rows(e, "sub_rules", &rows)) {
        Ok(_) => Ok(Redirect::to("/ui/typed").into_response()),
        Err(error) if error.status().is_client_error() && error.status() != axum::http::StatusCode::NOT_FOUND => {
            Ok((error.status(), type_page(&session, &t, &form, Some(&error))).into_response())
        }
        Err(error) => Err(error),
    }
}

// ---- profiles ----

fn kind_of(text: &str) -> Result<Kind, Error> {
    match text {
        "icp" => Ok(Kind::Icp),
        "persona" => Ok(Kind::Persona),
        _ => Err(Error::not_found("no such kind of profile")),
    }
}

async fn find_profile(state: &AppState, session: &UiSession, kind: Kind, id: Uuid) -> Result<ProfileView, Error> {
    session.caller.require(Role::Admin)?;
    profiles::list(&state.db, session.caller.workspace_id, Some(kind))
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| Error::not_found("no profile with this id"))
}

fn profile_page(session: &UiSession, profile: &ProfileView, form: &ProfileForm, error: Option<&Error>) -> Markup {
    let (field_errors, general) = split_error(error);
    let rules_error = field_errors.iter().find(|e| e.field == "rules").map(|e| e.message.clone());
    let kind = if profile.kind == "persona" { "Persona" } else { "ICP" };
    page(
        session,
        Section::TypedSignals,
        &format!("{kind} profile {}", profile.code),
        html! {
            (subnav(""))
            p { a href="/ui/typed/profiles" { "← All profiles" } }
            (form_error(general.as_deref()))
            @if let Some(message) = rules_error { p.error role="alert" { "Rules " (message) } }
            form #edit-profile method="post" action=(format!("/ui/typed/profiles/{}/{}/edit", profile.kind, profile.id)) {
                (csrf_field(session))
                (text_input("profile-code", "code", "Code", &form.code, &field_errors, true))
                (rule_fields(session, form, &field_errors))
                p.hint { "Leave a rule's condition empty to remove it." }
                button type="submit" { "Save profile" }
            }
        },
    )
}

pub async fn edit_profile(
    State(state): State<AppState>,
    session: UiSession,
    Path((kind, id)): Path<(String, Uuid)>,
) -> Result<Markup, Error> {
    let profile = find_profile(&state, &session, kind_of(&kind)?, id).await?;
    let mut rules: Vec<(String, String)> =
        profile.rules.iter().map(|r| (r.condition.clone(), r.weight.to_string())).collect();
    rules.push(Default::default());
    let form = ProfileForm { kind: profile.kind.clone(), code: profile.code.clone(), rules };
    Ok(profile_page(&session, &profile, &form, None))
}

/// Saves a profile through `profiles::update` (the API's `PUT`): errors next to their rows.
pub async fn save_profile(
    State(state): State<AppState>,
    session: UiSession,
    Path((kind, id)): Path<(String, Uuid)>,
    headers: HeaderMap,
    Form(fields): Form<HashMap<String, String>>,
) -> Result<Response, Error> {
    session.check_csrf(fields.get("csrf").map(String::as_str), &headers)?;
    let kind = kind_of(&kind)?;
    let profile = find_profile(&state, &session, kind, id).await?;
    let form = ProfileForm::from_fields(&fields);
    let saved = match rules_of(&form) {
        Ok((rules, rows)) => {
            profiles::update(&state, &session.caller, kind, id, ProfileIn { code: form.code.clone(), rules })
                .await
                .map_err(|e| to_rows(e, &rows))
        }
        Err(error) => Err(error),
    };
    match saved {
        Ok(_) => Ok(Redirect::to("/ui/typed/profiles").into_response()),
        Err(error) if error.status().is_client_error() && error.status() != axum::http::StatusCode::NOT_FOUND => {
            Ok((error.status(), profile_page(&session, &profile, &form, Some(&error))).into_response())
        }
        Err(error) => Err(error),
    }
}
