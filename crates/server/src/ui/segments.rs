//! Segments under Flags: the ones a project's strategies can use (global ones and the
//! project's), created, edited (name, description, constraints) and deleted after a
//! confirmation — each through the API's handler in `flags/segments.rs`.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use signalbox_core::Role;

use super::constraints::{
    ConstraintRow, Errors, Fields, constraint_rows, constraints_of, input, rest_of, rows_from, to_rows,
};
use super::flags::urlencoding;
use super::layout::{Section, csrf_field, form_error, general_error, page};
use super::session::{PostedForm, UiSession};
use crate::Error;
use crate::flags::projects;
use crate::flags::segments::{self as api, Segment, SegmentIn, SegmentPatch};
use crate::http::{ApiJson, ApiPath, Patch};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui/flags/segments", get(list).post(create))
        .route("/ui/flags/segments/{id}", get(edit).post(save))
        .route("/ui/flags/segments/{id}/delete", post(delete))
}

fn can_edit(session: &UiSession) -> bool {
    session.caller.role >= Role::Editor
}

fn list_url(project: &str) -> String {
    format!("/ui/flags/segments?project={}", urlencoding(project))
}

/// A segment as its form shows it.
struct SegmentForm {
    name: String,
    description: String,
    /// `project` (the page's project) or `global`; fixed once created.
    scope: String,
    constraints: Vec<ConstraintRow>,
}

impl SegmentForm {
    fn blank() -> Self {
        Self {
            name: String::new(),
            description: String::new(),
            scope: "project".to_owned(),
            constraints: vec![ConstraintRow::default()],
        }
    }

    fn of(segment: &Segment) -> Self {
        let mut constraints: Vec<ConstraintRow> = segment.constraints.iter().map(ConstraintRow::of).collect();
        constraints.push(ConstraintRow::default());
        Self {
            name: segment.name.clone(),
            description: segment.description.clone().unwrap_or_default(),
            scope: if segment.project.is_some() { "project" } else { "global" }.to_owned(),
            constraints,
        }
    }

    fn from_fields(fields: &Fields) -> Self {
        Self {
            name: fields.text("name"),
            description: fields.text("description"),
            scope: fields.text("scope"),
            constraints: rows_from(fields),
        }
    }
}

/// The form's fields (name, description, constraints; scope when `creating`).
fn segment_fields(form: &SegmentForm, project: &str, creating: bool, errors: &Errors) -> Markup {
    html! {
        (input("segment-name", "name", "Name", &form.name, errors.at("name")))
        @let description_error = errors.at("description");
        div.field {
            label for="segment-description" { "Description (optional)" }
            textarea #segment-description name="description" rows="2"
                aria-invalid=[description_error.as_ref().map(|_| "true")]
                aria-describedby=[description_error.as_ref().map(|_| "segment-description-error")] { (form.description) }
            @if let Some(message) = description_error { p.error #segment-description-error { (message) } }
        }
        @if creating {
            @let scope_error = errors.at("project");
            div.field {
                label for="segment-scope" { "Usable in" }
                select #segment-scope name="scope" aria-invalid=[scope_error.as_ref().map(|_| "true")]
                    aria-describedby=[scope_error.as_ref().map(|_| "segment-scope-error")] {
                    option value="project" selected[form.scope != "global"] { "project " (project) " only" }
                    option value="global" selected[form.scope == "global"] { "every project" }
                }
                @if let Some(message) = scope_error { p.error #segment-scope-error { (message) } }
            }
        }
        fieldset #constraints {
            legend { "Constraints (all must hold)" }
            (constraint_rows("constraints", &form.constraints, errors))
            button type="submit" name="action" value="more" { "Add another constraint row" }
        }
    }
}

fn constraints_summary(segment: &Segment) -> Markup {
    html! {
        @if segment.constraints.is_empty() { "none" } @else {
            ul {
                @for c in &segment.constraints {
                    li {
                        code { (c.context_name) } " " @if c.inverted { "NOT " } (c.operator) " "
                        (c.values.join(", ")) (c.value.as_deref().unwrap_or(""))
                    }
                }
            }
        }
    }
}

async fn list_page(
    state: &AppState,
    session: &UiSession,
    project_key: &str,
    form: &SegmentForm,
    error: Option<&Error>,
) -> Result<Markup, Error> {
    session.caller.require(Role::Viewer)?;
    let project = projects::find(state, &session.caller, project_key).await?;
    let segments = api::list(&state.db, session.caller.workspace_id, Some(project.id)).await?;
    let errors = Errors::of(error);
    let fields = segment_fields(form, &project.key, true, &errors);
    let rest = rest_of(&errors);
    Ok(page(
        session,
        Section::Flags,
        "Segments",
        html! {
            p.lead {
                "Named constraint lists strategies can use, in project " strong { (project.name) } " (its own and the global ones). "
                "Changing a segment changes every flag that uses it at once. "
                a href=(format!("/ui/flags?project={}", urlencoding(&project.key))) { "Back to flags" }
            }
            @if segments.is_empty() {
                p.empty {
                    "No segments yet."
                    @if can_edit(session) { " Create one below, then tick it in a strategy." }
                }
            } @else {
                table #segments {
                    caption { (segments.len()) " segment" @if segments.len() != 1 { "s" } }
                    thead {
                        tr {
                            th scope="col" { "Name" } th scope="col" { "Usable in" } th scope="col" { "Description" } th scope="col" { "Constraints" }
                            @if can_edit(session) { th scope="col" { "Actions" } }
                        }
                    }
                    tbody {
                        @for s in &segments {
                            tr data-segment=(s.id) {
                                th scope="row" { (s.name) }
                                td { @match &s.project { Some(p) => { (p) } None => { "every project" } } }
                                td { (s.description.as_deref().unwrap_or("")) }
                                td { (constraints_summary(s)) }
                                @if can_edit(session) {
                                    td {
                                        a href=(format!("/ui/flags/segments/{}", s.id)) aria-label=(format!("Edit {}", s.name)) { "Edit" }
                                        " "
                                        form.inline method="post" action=(format!("/ui/flags/segments/{}/delete", s.id)) {
                                            (csrf_field(session))
                                            button type="submit" aria-label=(format!("Delete {}", s.name)) { "Delete…" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if can_edit(session) {
                section {
                    h2 { "New segment" }
                    (form_error(general_error(error).as_deref()))
                    (rest)
                    form #create-segment method="post" action=(list_url(&project.key)) {
                        (csrf_field(session))
                        (fields)
                        button type="submit" { "Create segment" }
                    }
                }
            }
        },
    ))
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    project: Option<String>,
}

fn project_of(query: &ListQuery) -> String {
    query.project.clone().filter(|p| !p.is_empty()).unwrap_or_else(|| "default".to_owned())
}

pub async fn list(
    State(state): State<AppState>,
    session: UiSession,
    Query(query): Query<ListQuery>,
) -> Result<Markup, Error> {
    list_page(&state, &session, &project_of(&query), &SegmentForm::blank(), None).await
}

/// Creates a segment through the API's handler.
pub async fn create(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
    PostedForm { session, fields }: PostedForm,
) -> Result<Response, Error> {
    session.caller.require(Role::Editor)?;
    let project = project_of(&query);
    let mut form = SegmentForm::from_fields(&fields);
    if fields.get("action") == Some("more") {
        form.constraints.push(ConstraintRow::default());
        return Ok(list_page(&state, &session, &project, &form, None).await?.into_response());
    }
    let (constraints, rows) = constraints_of(&form.constraints);
    let body = SegmentIn {
        name: form.name.clone(),
        description: Some(form.description.trim().to_owned()).filter(|d| !d.is_empty()),
        project: (form.scope != "global").then(|| project.clone()),
        constraints,
    };
    let created = api::create_segment(State(state.clone()), session.caller.clone(), ApiJson(body))
        .await
        .map_err(|e| to_rows(e, "constraints", &rows));
    match created {
        Ok(_) => Ok(Redirect::to(&list_url(&project)).into_response()),
        Err(error) if error.status().is_client_error() && error.status() != StatusCode::NOT_FOUND => {
            Ok((error.status(), list_page(&state, &session, &project, &form, Some(&error)).await?).into_response())
        }
        Err(error) => Err(error),
    }
}

fn edit_page(session: &UiSession, segment: &Segment, form: &SegmentForm, error: Option<&Error>) -> Markup {
    let errors = Errors::of(error);
    let project = segment.project.clone().unwrap_or_else(|| "default".to_owned());
    let fields = segment_fields(form, &project, false, &errors);
    let rest = rest_of(&errors);
    page(
        session,
        Section::Flags,
        &format!("Segment {}", segment.name),
        html! {
            p.lead {
                "Usable in " @match &segment.project { Some(p) => { "project " (p) } None => { "every project" } } ". "
                "Flags using it see a change at once. "
                a href=(list_url(&project)) { "Back to segments" }
            }
            (form_error(general_error(error).as_deref()))
            (rest)
            form #edit-segment method="post" action=(format!("/ui/flags/segments/{}", segment.id)) {
                (csrf_field(session))
                button type="submit" { "Save segment" }
                (fields)
                button type="submit" { "Save segment" }
            }
        },
    )
}

async fn find(state: &AppState, session: &UiSession, id: i64) -> Result<Segment, Error> {
    Ok(api::get_segment(State(state.clone()), session.caller.clone(), ApiPath(id)).await?.0)
}

pub async fn edit(State(state): State<AppState>, session: UiSession, Path(id): Path<i64>) -> Result<Markup, Error> {
    session.caller.require(Role::Editor)?;
    let segment = find(&state, &session, id).await?;
    Ok(edit_page(&session, &segment, &SegmentForm::of(&segment), None))
}

/// Saves a segment's name, description and constraints through the API's handler.
pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    PostedForm { session, fields }: PostedForm,
) -> Result<Response, Error> {
    session.caller.require(Role::Editor)?;
    let segment = find(&state, &session, id).await?;
    let mut form = SegmentForm::from_fields(&fields);
    if fields.get("action") == Some("more") {
        form.constraints.push(ConstraintRow::default());
        return Ok(edit_page(&session, &segment, &form, None).into_response());
    }
    let (constraints, rows) = constraints_of(&form.constraints);
    let description = form.description.trim();
    let patch = SegmentPatch {
        name: Patch::Value(form.name.clone()),
        description: if description.is_empty() { Patch::Null } else { Patch::Value(description.to_owned()) },
        constraints: Patch::Value(constraints),
    };
    let saved = api::update_segment(State(state.clone()), session.caller.clone(), ApiPath(id), ApiJson(patch))
        .await
        .map_err(|e| to_rows(e, "constraints", &rows));
    let project = segment.project.clone().unwrap_or_else(|| "default".to_owned());
    match saved {
        Ok(_) => Ok(Redirect::to(&list_url(&project)).into_response()),
        Err(error) if error.status().is_client_error() && error.status() != StatusCode::NOT_FOUND => {
            Ok((error.status(), edit_page(&session, &segment, &form, Some(&error))).into_response())
        }
        Err(error) => Err(error),
    }
}

/// Deletes a segment: first a confirmation page, then the API's handler (refused while a
/// strategy uses it).
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    PostedForm { session, fields }: PostedForm,
) -> Result<Response, Error> {
    session.caller.require(Role::Editor)?;
    let segment = find(&state, &session, id).await?;
    let project = segment.project.clone().unwrap_or_else(|| "default".to_owned());
    let result = if fields.get("confirm") == Some("yes") {
        match api::delete_segment(State(state.clone()), session.caller.clone(), ApiPath(id)).await {
            Ok(_) => return Ok(Redirect::to(&list_url(&project)).into_response()),
            Err(error) if error.status().is_client_error() && error.status() != StatusCode::NOT_FOUND => Some(error),
            Err(error) => return Err(error),
        }
    } else {
        None
    };
    let markup = page(
        &session,
        Section::Flags,
        &format!("Delete segment {}?", segment.name),
        html! {
            p { "The segment " strong { (segment.name) } " is deleted for good. A segment a strategy still uses cannot be deleted." }
            (form_error(result.as_ref().map(|e| e.problem().detail).as_deref()))
            form #confirm-delete-segment method="post" action=(format!("/ui/flags/segments/{id}/delete")) {
                (csrf_field(&session))
                input type="hidden" name="confirm" value="yes";
                button type="submit" { "Delete the segment" }
                " "
                a href=(list_url(&project)) { "Keep it" }
            }
        },
    );
    Ok(match result {
        Some(error) => (error.status(), markup).into_response(),
        None => markup.into_response(),
    })
}
