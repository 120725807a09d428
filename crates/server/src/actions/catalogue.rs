//! The actions an action set can run: what each takes, how its parameters are checked when
//! the set is saved, and how it runs — through the very flag code the API uses, as the set's
//! actor.

use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::model::Action;
use crate::Error;
use crate::auth::model::Caller;
use crate::flags::model::Project;
use crate::flags::routes::{kill_flag, set_enabled};
use crate::flags::store;
use crate::flags::workflow::Committed;
use crate::state::AppState;

/// The actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    ToggleOn,
    ToggleOff,
    Kill,
}

/// One parameter of an action.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Parameter {
    pub name: &'static str,
    /// The name on the Unleash paths.
    #[serde(skip)]
    pub unleash_name: &'static str,
    pub required: bool,
    pub description: &'static str,
}

/// An action as the catalogue lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActionDefinition {
    pub action: &'static str,
    pub label: &'static str,
    pub description: &'static str,
    pub parameters: &'static [Parameter],
}

const FEATURE_NAME: Parameter = Parameter {
    name: "feature_name",
    unleash_name: "featureName",
    required: true,
    description: "The flag's key, in the action set's project.",
};
const ENVIRONMENT: Parameter = Parameter {
    name: "environment",
    unleash_name: "environment",
    required: true,
    description: "The environment's key.",
};
const PROJECT: Parameter = Parameter {
    name: "project",
    unleash_name: "project",
    required: false,
    description: "The action set's project (Unleash sends it; any other project is refused).",
};

pub const CATALOGUE: &[ActionDefinition] = &[
    ActionDefinition {
        action: "TOGGLE_FEATURE_ON",
        label: "Enable flag",
        description: "Enables a flag in one environment. Into an environment that requires approval it opens a \
                      change request; on a killed flag it fails with flag-killed.",
        parameters: &[FEATURE_NAME, ENVIRONMENT, PROJECT],
    },
    ActionDefinition {
        action: "TOGGLE_FEATURE_OFF",
        label: "Disable flag",
        description: "Disables a flag in one environment. Into an environment that requires approval it opens a \
                      change request.",
        parameters: &[FEATURE_NAME, ENVIRONMENT, PROJECT],
    },
    ActionDefinition {
        action: "KILL_FEATURE",
        label: "Kill flag",
        description: "The kill switch: disables the flag at once in the named environments (all by default), \
                      bypassing approval; nothing can enable it there until it is revived.",
        parameters: &[
            FEATURE_NAME,
            Parameter {
                name: "environments",
                unleash_name: "environments",
                required: false,
                description: "Environment keys; default: every environment.",
            },
            Parameter {
                name: "reason",
                unleash_name: "reason",
                required: false,
                description: "Recorded with the kill (1-500 characters); default \"action set <name>, run <id>\".",
            },
            PROJECT,
        ],
    },
];

impl ActionKind {
    pub fn parse(text: &str) -> Option<(Self, &'static ActionDefinition)> {
        let kind = match text {
            "TOGGLE_FEATURE_ON" => ActionKind::ToggleOn,
            "TOGGLE_FEATURE_OFF" => ActionKind::ToggleOff,
            "KILL_FEATURE" => ActionKind::Kill,
            _ => return None,
        };
        CATALOGUE.iter().find(|d| d.action == text).map(|d| (kind, d))
    }
}

/// Unleash names parameters in camelCase (`featureName`); stored and `/v1` names are snake_case.
pub fn params_from_unleash(params: Map<String, Value>) -> Map<String, Value> {
    params.into_iter().map(|(key, value)| (rename(&key, |p| p.unleash_name, |p| p.name), value)).collect()
}

pub fn params_to_unleash(params: &Map<String, Value>) -> Map<String, Value> {
    params.iter().map(|(key, value)| (rename(key, |p| p.name, |p| p.unleash_name), value.clone())).collect()
}

/// A parameter's name on the Unleash paths (`feature_name` → `featureName`).
pub fn unleash_param_name(name: &str) -> String {
    rename(name, |p| p.name, |p| p.unleash_name)
}

fn rename(key: &str, from: fn(&Parameter) -> &'static str, to: fn(&Parameter) -> &'static str) -> String {
    CATALOGUE
        .iter()
        .flat_map(|d| d.parameters.iter())
        .find(|p| from(p) == key)
        .map_or_else(|| key.to_owned(), |p| to(p).to_owned())
}

fn text_param<'a>(params: &'a Map<String, Value>, name: &str, at: &str) -> Result<Option<&'a str>, Error> {
    match params.get(name) {
        None => Ok(None),
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(Some(text.as_str())),
        Some(_) => Err(Error::invalid_field(format!("{at}.{name}"), "must be a non-empty string")),
    }
}

/// Checks a set's actions: known actions, known and valid parameters, flags and environments
/// that exist. Problems name `actions[i]…`.
pub async fn check_actions(
    state: &AppState,
    workspace_id: Uuid,
    project: &Project,
    actions: &[Action],
    max_actions: u32,
) -> Result<(), Error> {
    if actions.is_empty() {
        return Err(Error::invalid_field("actions", "at least one action is required"));
    }
    if max_actions > 0 && actions.len() > max_actions as usize {
        return Err(Error::invalid_field("actions", format!("at most {max_actions} actions per action set")));
    }
    let environments = store::list_environments(&state.db, workspace_id).await?;
    for (i, action) in actions.iter().enumerate() {
        let at = format!("actions[{i}].execution_params");
        let Some((kind, definition)) = ActionKind::parse(&action.action) else {
            let known: Vec<&str> = CATALOGUE.iter().map(|d| d.action).collect();
            return Err(Error::invalid_field(
                format!("actions[{i}].action"),
                format!("must be one of {}", known.join(", ")),
            ));
        };
        let params = &action.execution_params;
        if let Some(unknown) = params.keys().find(|k| !definition.parameters.iter().any(|p| p.name == k.as_str())) {
            let names: Vec<&str> = definition.parameters.iter().map(|p| p.name).collect();
            return Err(Error::invalid_field(
                format!("{at}.{unknown}"),
                format!("{} takes {}", definition.action, names.join(", ")),
            ));
        }
        if let Some(named) = text_param(params, "project", &at)?
            && named != project.key
        {
            return Err(Error::invalid_field(format!("{at}.project"), "must be the action set's project"));
        }
        let feature = text_param(params, "feature_name", &at)?
            .ok_or_else(|| Error::invalid_field(format!("{at}.feature_name"), "is required"))?;
        match store::find_flag(&state.db, project.id, feature).await? {
            Some(flag) if !flag.archived => {}
            Some(_) => return Err(Error::invalid_field(format!("{at}.feature_name"), "the flag is archived")),
            None => {
                return Err(Error::invalid_field(
                    format!("{at}.feature_name"),
                    format!("no flag {feature:?} in project {}", project.key),
                ));
            }
        }
        let environment_exists = |key: &str| environments.iter().any(|e| e.key == key);
        match kind {
            ActionKind::ToggleOn | ActionKind::ToggleOff => {
                let environment = text_param(params, "environment", &at)?
                    .ok_or_else(|| Error::invalid_field(format!("{at}.environment"), "is required"))?;
                if !environment_exists(environment) {
                    return Err(Error::invalid_field(
                        format!("{at}.environment"),
                        format!("no environment {environment:?}"),
                    ));
                }
            }
            ActionKind::Kill => {
                match params.get("environments") {
                    None => {}
                    Some(Value::Array(list)) if !list.is_empty() => {
                        for (j, item) in list.iter().enumerate() {
                            match item.as_str() {
                                Some(key) if environment_exists(key) => {}
                                Some(key) => {
                                    return Err(Error::invalid_field(
                                        format!("{at}.environments[{j}]"),
                                        format!("no environment {key:?}"),
                                    ));
                                }
                                None => {
                                    return Err(Error::invalid_field(
                                        format!("{at}.environments[{j}]"),
                                        "must be an environment key",
                                    ));
                                }
                            }
                        }
                    }
                    Some(_) => {
                        return Err(Error::invalid_field(
                            format!("{at}.environments"),
                            "must be a non-empty list of environment keys; leave it out for all",
                        ));
                    }
                }
                if let Some(reason) = text_param(params, "reason", &at)?
                    && reason.chars().count() > 500
                {
                    return Err(Error::invalid_field(format!("{at}.reason"), "must be 1-500 characters"));
                }
            }
        }
    }
    Ok(())
}

/// What running one action did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub details: String,
    pub change_request_id: Option<Uuid>,
}

/// Runs one action as `caller` (the set's actor, with the run's step guard). `run_label`
/// names the run in a default kill reason.
pub async fn execute(
    state: &AppState,
    caller: &Caller,
    project: &str,
    action: &Action,
    run_label: &str,
) -> Result<Outcome, Error> {
    let Some((kind, _)) = ActionKind::parse(&action.action) else {
        return Err(Error::invalid_field("action", format!("unknown action {}", action.action)));
    };
    let params = &action.execution_params;
    let text = |name: &str| params.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
    let feature = text("feature_name");
    match kind {
        ActionKind::ToggleOn | ActionKind::ToggleOff => {
            let enabled = kind == ActionKind::ToggleOn;
            let environment = text("environment");
            let verb = if enabled { "enabled" } else { "disabled" };
            match set_enabled(state, caller, (project, &feature, &environment), enabled).await? {
                Committed::Applied(_) => {
                    Ok(Outcome { details: format!("{feature} {verb} in {environment}"), change_request_id: None })
                }
                Committed::Requested(request) => Ok(Outcome {
                    details: format!(
                        "{environment} requires approval: change request {} asks for {feature} to be {verb}",
                        request.id
                    ),
                    change_request_id: Some(request.id),
                }),
            }
        }
        ActionKind::Kill => {
            let environments = params
                .get("environments")
                .and_then(Value::as_array)
                .map(|list| list.iter().filter_map(Value::as_str).map(str::to_owned).collect::<Vec<_>>());
            let reason =
                params.get("reason").and_then(Value::as_str).map_or_else(|| run_label.to_owned(), str::to_owned);
            let flag = kill_flag(state, caller, (project, &feature), &reason, environments.clone()).await?;
            let killed: Vec<&str> =
                flag.environments.iter().filter(|c| c.killed.is_some()).map(|c| c.environment.as_str()).collect();
            Ok(Outcome {
                details: format!("{feature} killed in {}: {reason}", killed.join(", ")),
                change_request_id: None,
            })
        }
    }
}
