//! Action sets and their runs: the stored form, the `/v1` shapes (snake_case, UUIDs) and the
//! Unleash shapes (camelCase, integer ids). One domain record behind both.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use signalbox_core::Timestamp;
use signalbox_core::actions::Filters;
use uuid::Uuid;

use crate::http::Patch;

/// Where an action set's signals come from: a signal endpoint (`source_id` its id) or a typed
/// signal type (`source_id` its slug). Each is one key in the index that ingest consults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Source {
    #[serde(rename = "signal-endpoint")]
    SignalEndpoint,
    #[serde(rename = "signal-type")]
    SignalType,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::SignalEndpoint => "signal-endpoint",
            Source::SignalType => "signal-type",
        }
    }

    pub fn parse(text: &str) -> Result<Self, &'static str> {
        match text {
            "signal-endpoint" => Ok(Source::SignalEndpoint),
            "signal-type" => Ok(Source::SignalType),
            _ => Err("must be signal-endpoint or signal-type"),
        }
    }
}

/// One action of a set, as stored and shown on `/v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Action {
    /// `TOGGLE_FEATURE_ON`, `TOGGLE_FEATURE_OFF` or `KILL_FEATURE` (see `…/action-sets/config`).
    pub action: String,
    #[schema(value_type = Object)]
    pub execution_params: Map<String, Value>,
}

/// An action set as stored, with the integer ids the Unleash paths show.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActionSet {
    pub int_id: i64,
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub project_id: Uuid,
    pub project: String,
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub actor_id: Uuid,
    pub actor_int_id: Option<i64>,
    pub source: Source,
    /// The endpoint's id, or the signal type's slug.
    pub source_id: String,
    pub source_int_id: Option<i64>,
    pub filters: Filters,
    pub condition: Option<String>,
    pub actions: Vec<Action>,
    pub created_by: Option<Uuid>,
    pub created_by_int: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

// ---- /v1 ----

/// What an action set reacts to.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MatchView {
    /// `signal-endpoint`.
    pub source: String,
    /// The signal endpoint's id, or the signal type's slug.
    pub source_id: String,
    /// Filters by dotted payload path; all must hold.
    #[schema(value_type = Object)]
    #[serde(default)]
    pub payload: Filters,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActionSetView {
    pub id: Uuid,
    pub project: String,
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    /// The service account the actions run as.
    pub actor_id: Uuid,
    #[serde(rename = "match")]
    pub matches: MatchView,
    /// A CEL expression over `payload`; `null` when the filters say everything.
    pub condition: Option<String>,
    /// In order (never empty; a run's view lists them with their states instead).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
    pub created_by: Option<Uuid>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl ActionSet {
    pub fn view(&self) -> ActionSetView {
        ActionSetView {
            id: self.id,
            project: self.project.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            enabled: self.enabled,
            actor_id: self.actor_id,
            matches: MatchView {
                source: self.source.as_str().to_owned(),
                source_id: self.source_id.clone(),
                payload: self.filters.clone(),
            },
            condition: self.condition.clone(),
            actions: self.actions.clone(),
            created_by: self.created_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// A new action set (`/v1`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ActionSetIn {
    /// 1-100 characters, unique in the project.
    pub name: String,
    pub description: Option<String>,
    /// Default `true`.
    pub enabled: Option<bool>,
    /// A service account of the workspace.
    pub actor_id: String,
    #[serde(rename = "match")]
    pub matches: MatchView,
    pub condition: Option<String>,
    /// At least one, run in order.
    pub actions: Vec<Action>,
}

/// A partial change (`/v1`): absent fields are unchanged; `null` clears `description` and
/// `condition`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ActionSetPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub enabled: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub actor_id: Patch<String>,
    #[serde(default, rename = "match")]
    #[schema(value_type = Option<MatchView>)]
    pub matches: Patch<MatchView>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub condition: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<Action>>)]
    pub actions: Patch<Vec<Action>>,
}

// ---- runs ----

/// A run's state: `started` (running), `success`, `failed` (an action failed; the rest did not
/// start), `skipped` (the storm guard held it back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Pending,
    Started,
    Success,
    Failed,
    Skipped,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Pending => "pending",
            RunState::Started => "started",
            RunState::Success => "success",
            RunState::Failed => "failed",
            RunState::Skipped => "skipped",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [RunState::Pending, RunState::Started, RunState::Success, RunState::Failed, RunState::Skipped]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// One action's state in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum ActionState {
    #[serde(rename = "not started")]
    NotStarted,
    #[serde(rename = "started")]
    Started,
    #[serde(rename = "success")]
    Success,
    #[serde(rename = "failed")]
    Failed,
}

/// What became of one action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActionResult {
    pub state: ActionState,
    pub details: Option<String>,
    /// The change request opened, for a toggle into an environment that requires approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_request_id: Option<Uuid>,
}

impl ActionResult {
    pub fn not_started() -> Self {
        Self { state: ActionState::NotStarted, details: None, change_request_id: None }
    }
}

/// The signal a run reacts to, as it was received (kept with the run).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignalSnapshot {
    /// The signal's id (a typed signal's is its capture id, `sig_capture_…`).
    pub id: String,
    /// The signal's integer id (Unleash paths), when it could be found.
    #[serde(default)]
    pub int_id: Option<i64>,
    /// Internal: finds the integer id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<Uuid>,
    pub source: String,
    pub source_id: String,
    /// The signal endpoint's name when the signal arrived (a typed signal: its type's slug).
    #[serde(default)]
    pub source_name: Option<String>,
    pub token_name: String,
    pub received_at: Timestamp,
    #[schema(value_type = Object)]
    pub payload: Value,
}

/// A run as stored.
#[derive(Debug, Clone)]
pub struct Run {
    pub int_id: i64,
    pub id: Uuid,
    pub action_set_id: Uuid,
    pub action_set_int_id: i64,
    pub state: RunState,
    pub next_action: i64,
    pub signal: SignalSnapshot,
    /// The action set when the run started (absent while pending).
    pub action_set: Option<ActionSet>,
    pub results: Vec<ActionResult>,
    pub detail: Option<String>,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

/// What the `action_set` column of a run holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSnapshot {
    pub set: ActionSet,
    pub results: Vec<ActionResult>,
}

/// An action of a run: what it was and what became of it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunActionView {
    pub action: String,
    #[schema(value_type = Object)]
    pub execution_params: Map<String, Value>,
    /// `not started`, `started`, `success` or `failed`.
    pub state: ActionState,
    pub details: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_request_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunSetView {
    #[serde(flatten)]
    pub set: ActionSetView,
    /// Replaces the set's `actions`: each with its state in this run.
    pub actions: Vec<RunActionView>,
}

/// One run in the run log (`/v1`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunView {
    pub id: Uuid,
    pub action_set_id: Uuid,
    pub state: RunState,
    /// Why a run was skipped or failed.
    pub detail: Option<String>,
    pub signal: SignalSnapshot,
    pub action_set: Option<RunSetView>,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

impl Run {
    pub fn view(&self) -> RunView {
        let action_set = self.action_set.as_ref().map(|set| {
            let mut view = set.view();
            let actions = set
                .actions
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    let result = self.results.get(i).cloned().unwrap_or_else(ActionResult::not_started);
                    RunActionView {
                        action: a.action.clone(),
                        execution_params: a.execution_params.clone(),
                        state: result.state,
                        details: result.details,
                        change_request_id: result.change_request_id,
                    }
                })
                .collect();
            view.actions = Vec::new();
            RunSetView { set: view, actions }
        });
        let mut signal = self.signal.clone();
        signal.event_id = None;
        RunView {
            id: self.id,
            action_set_id: self.action_set_id,
            state: self.state,
            detail: self.detail.clone(),
            signal,
            action_set,
            created_at: self.created_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
        }
    }
}
