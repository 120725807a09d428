//! One strategy of a flag in an environment, in a form: which built-in strategy, its
//! parameters, constraints (rows) and segments (checkboxes). Added, replaced or removed in
//! the environment's list and saved with `change_config`, as the other editors.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use signalbox_core::flags::Strategy;
use signalbox_core::flags::strategy::{BUILT_IN, built_in};

use super::constraints::{
    ConstraintRow, Errors, Fields, constraint_rows, constraints_of, input, rest_of, rows_from, to_rows,
};
use super::flag_config::{IndexedTarget, Target, load, refused, save, strategies_patch};
use super::flags::flag_url;
use super::layout::{Section, csrf_field, form_error, general_error, page};
use super::session::{PostedForm, UiSession};
use crate::Error;
use crate::flags::model::Flag;
use crate::flags::projects;
use crate::flags::segments::{self, Segment};
use crate::state::AppState;

/// A strategy as its form shows it.
struct StrategyForm {
    name: String,
    title: String,
    disabled: bool,
    /// The built-in strategy's parameters, by name.
    params: Vec<(String, String)>,
    /// Any other parameters (name, value) rows.
    extra: Vec<(String, String)>,
    constraints: Vec<ConstraintRow>,
    segments: Vec<i64>,
    version: i64,
}

impl StrategyForm {
    fn of(strategy: &Strategy, version: i64) -> Self {
        let known: Vec<&str> =
            built_in(&strategy.name).map(|b| b.parameters.iter().map(|(p, _)| *p).collect()).unwrap_or_default();
        let params =
            known.iter().map(|p| ((*p).to_owned(), strategy.parameters.get(*p).cloned().unwrap_or_default())).collect();
        let mut extra: Vec<(String, String)> = strategy
            .parameters
            .iter()
            .filter(|(k, _)| !known.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        extra.push(Default::default());
        let mut constraints: Vec<ConstraintRow> = strategy.constraints.iter().map(ConstraintRow::of).collect();
        constraints.push(ConstraintRow::default());
        Self {
            name: strategy.name.clone(),
            title: strategy.title.clone().unwrap_or_default(),
            disabled: strategy.disabled,
            params,
            extra,
            constraints,
            segments: strategy.segments.clone(),
            version,
        }
    }

    fn from_fields(fields: &Fields) -> Self {
        let name = fields.text("name");
        let params = built_in(&name)
            .map(|b| b.parameters.iter().map(|(p, _)| ((*p).to_owned(), fields.text(&format!("param:{p}")))).collect())
            .unwrap_or_default();
        let extra = (0..fields.count("param_rows"))
            .map(|k| (fields.text(&format!("pn_{k}")), fields.text(&format!("pv_{k}"))))
            .collect();
        Self {
            name,
            title: fields.text("title"),
            disabled: fields.checked("disabled"),
            params,
            extra,
            constraints: rows_from(fields),
            segments: fields.all("segment").filter_map(|s| s.trim().parse().ok()).collect(),
            version: fields.get("version").and_then(|v| v.trim().parse().ok()).unwrap_or_default(),
        }
    }

    /// The strategy to save: `base` (the stored one, or a new one) with the form's values;
    /// and for each constraint the form row it came from.
    fn strategy(&self, mut base: Strategy) -> (Strategy, Vec<usize>) {
        base.name = self.name.trim().to_owned();
        base.title = Some(self.title.trim().to_owned()).filter(|t| !t.is_empty());
        base.disabled = self.disabled;
        base.parameters = self
            .params
            .iter()
            .chain(&self.extra)
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
            .collect();
        let (constraints, rows) = constraints_of(&self.constraints);
        base.constraints = constraints;
        base.segments = self.segments.clone();
        (base, rows)
    }
}

fn new_strategy_of(name: &str, flag: &str) -> Strategy {
    let mut parameters = std::collections::BTreeMap::new();
    if name == "flexibleRollout" {
        parameters.insert("rollout".to_owned(), "100".to_owned());
        parameters.insert("stickiness".to_owned(), "default".to_owned());
        parameters.insert("groupId".to_owned(), flag.to_owned());
    }
    Strategy {
        id: None,
        name: name.to_owned(),
        title: None,
        disabled: false,
        sort_order: 0,
        parameters,
        constraints: Vec::new(),
        segments: Vec::new(),
        variants: Vec::new(),
    }
}

async fn usable_segments(state: &AppState, session: &UiSession, flag: &Flag) -> Result<Vec<Segment>, Error> {
    let project = projects::find(state, &session.caller, &flag.project).await?;
    segments::list(&state.db, session.caller.workspace_id, Some(project.id)).await
}

/// What a strategy's page is about, whatever the form holds.
struct StrategyPage<'a> {
    target: &'a Target,
    env_name: &'a str,
    /// Its position; `None`: a new one (it goes last, at `count`).
    index: Option<usize>,
    count: usize,
    segments: &'a [Segment],
}

fn strategy_page(
    session: &UiSession,
    p: &StrategyPage<'_>,
    form: &StrategyForm,
    error: Option<&Error>,
    notice: Option<&str>,
) -> Markup {
    let position = p.index.unwrap_or(p.count);
    let at = format!("strategies[{position}]");
    let errors = Errors::of(error);
    let action = match p.index {
        Some(i) => format!("{}/strategies/{i}", p.target.base()),
        None => format!("{}/strategies", p.target.base()),
    };
    let title = match p.index {
        Some(i) => format!("Strategy {} of {} in {}", i + 1, p.target.flag, p.env_name),
        None => format!("New strategy for {} in {}", p.target.flag, p.env_name),
    };
    let described = built_in(&form.name);
    let fields = html! {
        @let name_error = errors.at(&format!("{at}.name"));
        div.field {
            label for="strategy-name" { "Strategy" }
            select #strategy-name name="name" aria-invalid=[name_error.as_ref().map(|_| "true")]
                aria-describedby=[name_error.as_ref().map(|_| "strategy-name-error")] {
                @if described.is_none() { option value=(form.name) selected { (form.name) " (custom)" } }
                @for b in BUILT_IN {
                    option value=(b.name) selected[b.name == form.name] { (b.name) " — " (b.description) }
                }
            }
            @if let Some(message) = name_error { p.error #strategy-name-error { (message) } }
        }
        (input("strategy-title", "title", "Title (optional)", &form.title, errors.at(&format!("{at}.title"))))
        div.field.check {
            label for="strategy-disabled" {
                input #strategy-disabled type="checkbox" name="disabled" value="on" checked[form.disabled];
                " Disabled (kept, but not evaluated)"
            }
        }
        fieldset #parameters {
            legend { "Parameters" }
            @for (name, value) in &form.params {
                @let hint = described.and_then(|b| b.parameters.iter().find(|(p, _)| p == name)).map_or("", |(_, h)| *h);
                (input(&format!("param-{name}"), &format!("param:{name}"), &format!("{name}: {hint}"), value,
                    errors.at(&format!("{at}.parameters.{name}"))))
            }
            input type="hidden" name="param_rows" value=(form.extra.len());
            @for (k, (name, value)) in form.extra.iter().enumerate() {
                div.pair {
                    (input(&format!("pn-{k}"), &format!("pn_{k}"), "Other parameter: name", name, None))
                    (input(&format!("pv-{k}"), &format!("pv_{k}"), "Value", value,
                        Some(name.trim()).filter(|n| !n.is_empty()).and_then(|n| errors.at(&format!("{at}.parameters.{n}")))))
                }
            }
        }
        fieldset #constraints {
            legend { "Constraints (all must hold)" }
            (constraint_rows(&format!("{at}.constraints"), &form.constraints, &errors))
            button type="submit" name="action" value="more" formnovalidate { "Add another constraint row" }
        }
        fieldset #segments {
            legend { "Segments (their constraints must hold too)" }
            @let segment_error = errors.at(&format!("{at}.segments"));
            @if p.segments.is_empty() {
                p.empty { "No segments in this project. " a href="/ui/flags/segments" { "Create one" } " to reuse constraints across flags." }
            }
            @for s in p.segments {
                div.field.check {
                    label for=(format!("segment-{}", s.id)) {
                        input id=(format!("segment-{}", s.id)) type="checkbox" name="segment" value=(s.id) checked[form.segments.contains(&s.id)];
                        " " (s.name) @if s.project.is_none() { " (global)" }
                    }
                }
            }
            @if let Some(message) = segment_error { p.error #segments-error role="alert" { (message) } }
        }
    };
    let rest = rest_of(&errors);
    page(
        session,
        Section::Flags,
        &title,
        html! {
            p.lead {
                "Saved as the flag's configuration in " strong { (p.env_name) } "; where approval is required it is filed as a change request. "
                "The strategy's own variants, if any, are kept; edit them "
                a href=(format!("{}/json", p.target.base())) { "as JSON" } ". "
                a href=(flag_url(&p.target.project, &p.target.flag)) { "Back to the flag" }
            }
            @if let Some(notice) = notice { p.notice role="status" { (notice) } }
            (form_error(general_error(error).as_deref()))
            (rest)
            form #strategy-form method="post" action=(action) {
                (csrf_field(session))
                input type="hidden" name="version" value=(form.version);
                input type="hidden" name="shown_name" value=(form.name);
                button type="submit" { "Save strategy" }
                (fields)
                button type="submit" { "Save strategy" }
            }
        },
    )
}

#[derive(Deserialize)]
pub struct NewQuery {
    #[serde(default)]
    name: String,
}

/// The form for a new strategy of the chosen kind (the flag page offers the catalogue).
pub async fn new_strategy(
    State(state): State<AppState>,
    session: UiSession,
    Path(target): Path<Target>,
    Query(query): Query<NewQuery>,
) -> Result<Markup, Error> {
    let (flag, env_name, config) = load(&state, &session, &target).await?;
    let name = if query.name.trim().is_empty() { "flexibleRollout" } else { query.name.trim() };
    let form = StrategyForm::of(&new_strategy_of(name, &flag.key), config.version);
    let segments = usable_segments(&state, &session, &flag).await?;
    let view = StrategyPage {
        target: &target,
        env_name: &env_name,
        index: None,
        count: config.strategies.len(),
        segments: &segments,
    };
    Ok(strategy_page(&session, &view, &form, None, None))
}

pub async fn edit_strategy(
    State(state): State<AppState>,
    session: UiSession,
    Path(target): Path<IndexedTarget>,
) -> Result<Markup, Error> {
    let (target, index) = target.split();
    let (flag, env_name, config) = load(&state, &session, &target).await?;
    let strategy = config.strategies.get(index).ok_or_else(|| Error::not_found("no strategy at this position"))?;
    let form = StrategyForm::of(strategy, config.version);
    let segments = usable_segments(&state, &session, &flag).await?;
    let count = config.strategies.len();
    let view = StrategyPage { target: &target, env_name: &env_name, index: Some(index), count, segments: &segments };
    Ok(strategy_page(&session, &view, &form, None, None))
}

/// Adds (`index` None) or replaces a strategy, through `change_config`. "Add another
/// constraint row", or another strategy chosen in the form, shows the form again (with one
/// more row, or the new strategy's parameters) and saves nothing.
async fn put_strategy(
    state: &AppState,
    session: &UiSession,
    target: Target,
    index: Option<usize>,
    fields: Fields,
) -> Result<Response, Error> {
    let (flag, env_name, config) = load(state, session, &target).await?;
    let mut form = StrategyForm::from_fields(&fields);
    let segments = usable_segments(state, session, &flag).await?;
    let count = config.strategies.len();
    let view = StrategyPage { target: &target, env_name: &env_name, index, count, segments: &segments };
    if fields.get("action") == Some("more") {
        form.constraints.push(ConstraintRow::default());
        return Ok(strategy_page(session, &view, &form, None, None).into_response());
    }
    if fields.get("shown_name").is_some_and(|shown| shown != form.name) {
        let notice = format!("Now a {} strategy: fill in its parameters, then save.", form.name);
        return Ok(strategy_page(session, &view, &form, None, Some(&notice)).into_response());
    }
    let mut list = config.strategies.clone();
    let base = match index {
        Some(i) => list.get(i).cloned().ok_or_else(|| Error::not_found("no strategy at this position"))?,
        None => new_strategy_of(&form.name, &flag.key),
    };
    let (strategy, rows) = form.strategy(base);
    let position = index.unwrap_or(count);
    match index {
        Some(i) => list[i] = strategy,
        None => list.push(strategy),
    }
    let saved = save(state, session, &target, &fields, strategies_patch(list))
        .await
        .map_err(|e| to_rows(e, &format!("strategies[{position}].constraints"), &rows));
    match saved {
        Ok(response) => Ok(response),
        Err(error) => refused(error, |error| strategy_page(session, &view, &form, Some(error), None)),
    }
}

pub async fn add_strategy(
    State(state): State<AppState>,
    Path(target): Path<Target>,
    PostedForm { session, fields }: PostedForm,
) -> Result<Response, Error> {
    put_strategy(&state, &session, target, None, fields).await
}

pub async fn save_strategy(
    State(state): State<AppState>,
    Path(target): Path<IndexedTarget>,
    PostedForm { session, fields }: PostedForm,
) -> Result<Response, Error> {
    let (target, index) = target.split();
    put_strategy(&state, &session, target, Some(index), fields).await
}

/// Removes a strategy: first a confirmation page, then `change_config` without it.
pub async fn remove_strategy(
    State(state): State<AppState>,
    Path(target): Path<IndexedTarget>,
    PostedForm { session, fields }: PostedForm,
) -> Result<Response, Error> {
    let (target, index) = target.split();
    let (_, env_name, config) = load(&state, &session, &target).await?;
    let strategy = config.strategies.get(index).ok_or_else(|| Error::not_found("no strategy at this position"))?;
    let label = strategy.title.clone().unwrap_or_else(|| strategy.name.clone());
    let confirm = |error: Option<&Error>| {
        page(
            &session,
            Section::Flags,
            &format!("Remove strategy {} of {}?", index + 1, target.flag),
            html! {
                p { "Strategy " strong { (index + 1) ". " (label) } " is removed from " strong { (target.flag) } " in " strong { (env_name) } ". "
                    "Where approval is required, the removal is filed as a change request." }
                (form_error(error.map(|e| e.problem().detail).as_deref()))
                form #confirm-remove-strategy method="post" action=(format!("{}/strategies/{index}/remove", target.base())) {
                    (csrf_field(&session))
                    input type="hidden" name="version" value=(config.version);
                    input type="hidden" name="confirm" value="yes";
                    button type="submit" { "Remove the strategy" }
                    " "
                    a href=(flag_url(&target.project, &target.flag)) { "Keep it" }
                }
            },
        )
    };
    if fields.get("confirm") != Some("yes") {
        return Ok(confirm(None).into_response());
    }
    let mut list = config.strategies.clone();
    list.remove(index);
    match save(&state, &session, &target, &fields, strategies_patch(list)).await {
        Ok(response) => Ok(response),
        Err(error) => refused(error, |error| confirm(Some(error))),
    }
}
