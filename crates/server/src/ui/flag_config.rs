//! Editing a flag's configuration in one environment: a strategy at a time (`flag_strategy`),
//! the environment's variants, or all of it as JSON. Every save is
//! the API's `change_config` (`PUT …/environments/{environment}`), so the same checks apply
//! and, where the environment requires approval, the change is filed as a change request.
//! Each form carries the version it showed; a save over someone else's change is refused.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use signalbox_core::Role;
use signalbox_core::flags::variants::{PAYLOAD_TYPES, Payload};
use signalbox_core::flags::{Strategy, Variant};

use super::constraints::{Errors, Fields, input, rest_of, to_rows};
use super::flag_strategy::{add_strategy, edit_strategy, new_strategy, remove_strategy, save_strategy};
use super::flags::{back_after, flag_url, urlencoding};
use super::layout::{Section, csrf_field, form_error, general_error, page};
use super::session::{PostedForm, UiSession};
use crate::Error;
use crate::flags::model::{Flag, FlagEnvironment, FlagEnvironmentPatch};
use crate::flags::routes::{change_config, load_config};
use crate::http::json::parse_json;
use crate::http::{IfMatch, Patch};
use crate::state::AppState;

const BASE: &str = "/ui/flags/{project}/{flag}/environments/{environment}";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(&format!("{BASE}/strategies/new"), get(new_strategy))
        .route(&format!("{BASE}/strategies"), post(add_strategy))
        .route(&format!("{BASE}/strategies/{{index}}"), get(edit_strategy).post(save_strategy))
        .route(&format!("{BASE}/strategies/{{index}}/remove"), post(remove_strategy))
        .route(&format!("{BASE}/variants"), get(edit_variants).post(save_variants))
        .route(&format!("{BASE}/json"), get(edit_json).post(save_json))
}

/// The flag and environment a page edits (path parameters).
#[derive(Deserialize)]
pub struct Target {
    pub(super) project: String,
    pub(super) flag: String,
    pub(super) environment: String,
}

impl Target {
    pub(super) fn base(&self) -> String {
        format!("{}/environments/{}", flag_url(&self.project, &self.flag), urlencoding(&self.environment))
    }

    fn parts(&self) -> (&str, &str, &str) {
        (&self.project, &self.flag, &self.environment)
    }
}

#[derive(Deserialize)]
pub struct IndexedTarget {
    project: String,
    flag: String,
    environment: String,
    index: usize,
}

impl IndexedTarget {
    pub(super) fn split(self) -> (Target, usize) {
        (Target { project: self.project, flag: self.flag, environment: self.environment }, self.index)
    }
}

/// The flag, the environment's name and its configuration, for an editor (editors and up).
pub(super) async fn load(
    state: &AppState,
    session: &UiSession,
    target: &Target,
) -> Result<(Flag, String, FlagEnvironment), Error> {
    session.caller.require(Role::Editor)?;
    let (flag, environment, config) =
        load_config(state, &session.caller, &target.project, &target.flag, &target.environment).await?;
    Ok((flag, environment.name, config))
}

/// The version a form showed: the save's `If-Match` (none: last writer wins, as in the API).
fn if_match(fields: &Fields) -> IfMatch {
    fields.get("version").and_then(|v| v.trim().parse::<i64>().ok()).map_or_else(IfMatch::default, IfMatch::version)
}

/// Saves through the API's operation; where should the browser go next.
pub(super) async fn save(
    state: &AppState,
    session: &UiSession,
    target: &Target,
    fields: &Fields,
    patch: FlagEnvironmentPatch,
) -> Result<Response, Error> {
    let committed = change_config(state, &session.caller, target.parts(), &if_match(fields), patch).await?;
    let back = flag_url(&target.project, &target.flag);
    Ok(back_after(&back, &committed).into_response())
}

/// A refused save shows the form again with the problem; other errors are the error page.
pub(super) fn refused(error: Error, markup: impl FnOnce(&Error) -> Markup) -> Result<Response, Error> {
    if error.status().is_client_error() && error.status() != StatusCode::NOT_FOUND {
        let status = error.status();
        Ok((status, markup(&error)).into_response())
    } else {
        Err(error)
    }
}

pub(super) fn strategies_patch(list: Vec<Strategy>) -> FlagEnvironmentPatch {
    FlagEnvironmentPatch { enabled: Patch::Absent, strategies: Patch::Value(list), variants: Patch::Absent }
}

// ---------------------------------------------------------------------------------------
// The environment's variants

#[derive(Debug, Clone, Default)]
struct VariantRow {
    name: String,
    weight_type: String,
    weight: String,
    stickiness: String,
    payload_type: String,
    payload_value: String,
    removed: bool,
}

impl VariantRow {
    fn of(v: &Variant) -> Self {
        Self {
            name: v.name.clone(),
            weight_type: v.weight_type.clone(),
            weight: v.weight.to_string(),
            stickiness: v.stickiness.clone().unwrap_or_default(),
            payload_type: v.payload.as_ref().map(|p| p.payload_type.clone()).unwrap_or_default(),
            payload_value: v.payload.as_ref().map(|p| p.value.clone()).unwrap_or_default(),
            removed: false,
        }
    }

    fn blank() -> Self {
        Self { weight_type: "variable".to_owned(), stickiness: "default".to_owned(), ..Self::default() }
    }

    fn is_blank(&self) -> bool {
        self.name.trim().is_empty() && self.payload_value.trim().is_empty()
    }
}

fn variant_rows(fields: &Fields) -> Vec<VariantRow> {
    (0..fields.count("variant_rows"))
        .map(|k| VariantRow {
            name: fields.text(&format!("v{k}_name")),
            weight_type: fields.text(&format!("v{k}_weight_type")),
            weight: fields.text(&format!("v{k}_weight")),
            stickiness: fields.text(&format!("v{k}_stickiness")),
            payload_type: fields.text(&format!("v{k}_payload_type")),
            payload_value: fields.text(&format!("v{k}_payload_value")),
            removed: fields.checked(&format!("v{k}_remove")),
        })
        .collect()
}

/// The variants to save, each with the row it came from; a row's overrides (not in the form)
/// are kept from the stored variant at that position.
fn variants_of(rows: &[VariantRow], stored: &[Variant]) -> Result<(Vec<Variant>, Vec<usize>), Error> {
    let mut list = Vec::new();
    let mut from = Vec::new();
    for (k, row) in rows.iter().enumerate() {
        if row.removed || row.is_blank() {
            continue;
        }
        let weight = if row.weight_type == "fix" {
            row.weight.trim().parse::<u32>().map_err(|_| {
                Error::invalid_field(format!("variants[{k}].weight"), "must be a whole number of thousandths, 0-1000")
            })?
        } else {
            0
        };
        let payload = (!row.payload_type.is_empty())
            .then(|| Payload { payload_type: row.payload_type.clone(), value: row.payload_value.clone() });
        list.push(Variant {
            name: row.name.trim().to_owned(),
            weight,
            weight_type: row.weight_type.clone(),
            stickiness: Some(row.stickiness.trim().to_owned()).filter(|s| !s.is_empty()),
            payload,
            overrides: stored.get(k).map(|v| v.overrides.clone()).unwrap_or_default(),
        });
        from.push(k);
    }
    Ok((list, from))
}

fn variants_page(
    session: &UiSession,
    target: &Target,
    env_name: &str,
    version: i64,
    rows: &[VariantRow],
    error: Option<&Error>,
) -> Markup {
    let errors = Errors::of(error);
    let list_error = errors.exact("variants");
    let table = html! {
        input type="hidden" name="variant_rows" value=(rows.len());
        @for (k, row) in rows.iter().enumerate() {
            @let at = format!("variants[{k}]");
            fieldset.variant #(format!("variant-{k}")) {
                legend { "Variant " (k + 1) }
                (input(&format!("v{k}-name"), &format!("v{k}_name"), "Name", &row.name, errors.at(&format!("{at}.name"))))
                @let type_error = errors.at(&format!("{at}.weightType"));
                div.field {
                    label for=(format!("v{k}-weight-type")) { "Weight type" }
                    select id=(format!("v{k}-weight-type")) name=(format!("v{k}_weight_type"))
                        aria-invalid=[type_error.as_ref().map(|_| "true")] aria-describedby=[type_error.as_ref().map(|_| format!("v{k}-weight-type-error"))] {
                        option value="variable" selected[row.weight_type != "fix"] { "variable (shares what fixed weights leave)" }
                        option value="fix" selected[row.weight_type == "fix"] { "fix" }
                    }
                    @if let Some(message) = type_error { p.error id=(format!("v{k}-weight-type-error")) { (message) } }
                }
                (input(&format!("v{k}-weight"), &format!("v{k}_weight"), "Weight in thousandths (fixed weights; 1000 = 100 %)",
                    &row.weight, errors.at(&format!("{at}.weight"))))
                (input(&format!("v{k}-stickiness"), &format!("v{k}_stickiness"), "Stickiness (default, userId, sessionId, …)",
                    &row.stickiness, errors.at(&format!("{at}.stickiness"))))
                @let payload_type_error = errors.at(&format!("{at}.payload.type"));
                div.field {
                    label for=(format!("v{k}-payload-type")) { "Payload type" }
                    select id=(format!("v{k}-payload-type")) name=(format!("v{k}_payload_type"))
                        aria-invalid=[payload_type_error.as_ref().map(|_| "true")] aria-describedby=[payload_type_error.as_ref().map(|_| format!("v{k}-payload-type-error"))] {
                        option value="" selected[row.payload_type.is_empty()] { "no payload" }
                        @if !row.payload_type.is_empty() && !PAYLOAD_TYPES.contains(&row.payload_type.as_str()) {
                            option value=(row.payload_type) selected { (row.payload_type) }
                        }
                        @for t in PAYLOAD_TYPES { option value=(t) selected[*t == row.payload_type] { (t) } }
                    }
                    @if let Some(message) = payload_type_error { p.error id=(format!("v{k}-payload-type-error")) { (message) } }
                }
                @let payload_error = errors.at(&format!("{at}.payload"));
                div.field {
                    label for=(format!("v{k}-payload-value")) { "Payload value" }
                    textarea id=(format!("v{k}-payload-value")) name=(format!("v{k}_payload_value")) rows="2"
                        aria-invalid=[payload_error.as_ref().map(|_| "true")] aria-describedby=[payload_error.as_ref().map(|_| format!("v{k}-payload-value-error"))] { (row.payload_value) }
                    @if let Some(message) = payload_error { p.error id=(format!("v{k}-payload-value-error")) { (message) } }
                }
                @if !row.is_blank() {
                    div.field.check {
                        label for=(format!("v{k}-remove")) {
                            input id=(format!("v{k}-remove")) type="checkbox" name=(format!("v{k}_remove")) value="on" checked[row.removed];
                            " Remove this variant"
                        }
                    }
                }
            }
        }
    };
    let rest = rest_of(&errors);
    page(
        session,
        Section::Flags,
        &format!("Variants of {} in {}", target.flag, env_name),
        html! {
            p.lead {
                "Weights are in thousandths and add up to 1000: fixed ones keep theirs, variable ones share the rest. "
                "Leave a row's name empty to skip it. "
                a href=(flag_url(&target.project, &target.flag)) { "Back to the flag" }
            }
            (form_error(general_error(error).as_deref()))
            (rest)
            form #variants-form method="post" action=(format!("{}/variants", target.base())) {
                (csrf_field(session))
                input type="hidden" name="version" value=(version);
                @if let Some(message) = list_error { p.error #variants-error role="alert" { (message) } }
                (table)
                button type="submit" { "Save variants" }
                " "
                button type="submit" name="action" value="more" { "Add another variant row" }
            }
        },
    )
}

pub async fn edit_variants(
    State(state): State<AppState>,
    session: UiSession,
    Path(target): Path<Target>,
) -> Result<Markup, Error> {
    let (_, env_name, config) = load(&state, &session, &target).await?;
    let mut rows: Vec<VariantRow> = config.variants.iter().map(VariantRow::of).collect();
    rows.push(VariantRow::blank());
    Ok(variants_page(&session, &target, &env_name, config.version, &rows, None))
}

/// Saves the environment's variants through `change_config`.
pub async fn save_variants(
    State(state): State<AppState>,
    Path(target): Path<Target>,
    PostedForm { session, fields }: PostedForm,
) -> Result<Response, Error> {
    let (_, env_name, config) = load(&state, &session, &target).await?;
    let version = fields.get("version").and_then(|v| v.parse().ok()).unwrap_or(config.version);
    let mut rows = variant_rows(&fields);
    if fields.get("action") == Some("more") {
        rows.push(VariantRow::blank());
        return Ok(variants_page(&session, &target, &env_name, version, &rows, None).into_response());
    }
    let saved = match variants_of(&rows, &config.variants) {
        Ok((list, from)) => {
            let patch = FlagEnvironmentPatch {
                enabled: Patch::Absent,
                strategies: Patch::Absent,
                variants: Patch::Value(list),
            };
            save(&state, &session, &target, &fields, patch).await.map_err(|e| to_rows(e, "variants", &from))
        }
        Err(error) => Err(error),
    };
    match saved {
        Ok(response) => Ok(response),
        Err(error) => refused(error, |error| variants_page(&session, &target, &env_name, version, &rows, Some(error))),
    }
}

// ---------------------------------------------------------------------------------------
// As JSON

fn json_page(
    session: &UiSession,
    target: &Target,
    env_name: &str,
    version: i64,
    text: &str,
    error: Option<&Error>,
) -> Markup {
    let problems = error.map(|e| e.problem().errors).unwrap_or_default();
    page(
        session,
        Section::Flags,
        &format!("{} in {} as JSON", target.flag, env_name),
        html! {
            p.lead {
                "The environment's " code { "strategies" } " and " code { "variants" } ", as the API's "
                code { "PUT …/environments/" (target.environment) } " takes them (fields left out are unchanged). "
                a href=(flag_url(&target.project, &target.flag)) { "Back to the flag" }
            }
            (form_error(general_error(error).as_deref()))
            form #json-form method="post" action=(format!("{}/json", target.base())) {
                (csrf_field(session))
                input type="hidden" name="version" value=(version);
                div.field.wide {
                    label for="config-json" { "Configuration (JSON)" }
                    textarea #config-json name="config" rows="24" spellcheck="false"
                        aria-invalid=[(!problems.is_empty()).then_some("true")]
                        aria-describedby=[(!problems.is_empty()).then_some("config-json-error")] { (text) }
                    @if !problems.is_empty() {
                        ul.error #config-json-error role="alert" {
                            @for e in &problems { li { code { (e.field) } ": " (e.message) } }
                        }
                    }
                }
                button type="submit" { "Save" }
            }
        },
    )
}

pub async fn edit_json(
    State(state): State<AppState>,
    session: UiSession,
    Path(target): Path<Target>,
) -> Result<Markup, Error> {
    let (_, env_name, config) = load(&state, &session, &target).await?;
    let value = serde_json::json!({ "strategies": config.strategies, "variants": config.variants });
    let text = serde_json::to_string_pretty(&value).unwrap_or_default();
    Ok(json_page(&session, &target, &env_name, config.version, &text, None))
}

/// Saves the JSON through the API's parser and `change_config`; a body that is not JSON is
/// a 422 on the text area.
pub async fn save_json(
    State(state): State<AppState>,
    Path(target): Path<Target>,
    PostedForm { session, fields }: PostedForm,
) -> Result<Response, Error> {
    let (_, env_name, config) = load(&state, &session, &target).await?;
    let version = fields.get("version").and_then(|v| v.parse().ok()).unwrap_or(config.version);
    let text = fields.text("config");
    let saved = match parse_json::<FlagEnvironmentPatch>(text.as_bytes()) {
        Ok(patch) => save(&state, &session, &target, &fields, patch).await,
        Err(error) if error.status() == StatusCode::BAD_REQUEST => {
            Err(Error::invalid_field("config", error.problem().detail))
        }
        Err(error) => Err(error),
    };
    match saved {
        Ok(response) => Ok(response),
        Err(error) => refused(error, |error| json_page(&session, &target, &env_name, version, &text, Some(error))),
    }
}
