//! The runner: claims pending runs, decides them (filters, condition, storm guard) and carries
//! out their actions in order, fail-fast, as the set's actor.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;
use signalbox_core::Timestamp;
use signalbox_core::actions::{Condition, filter};
use tokio::sync::watch;
use uuid::Uuid;

use super::catalogue;
use super::model::{ActionResult, ActionSet, ActionState, Run, RunState, SignalSnapshot};
use super::{STEP_TAKEN, store};
use crate::auth::model::{Caller, Credential, PrincipalKind};
use crate::events::{NewEvent, types};
use crate::state::AppState;

/// How long a claimed run is this node's; a crashed node's runs are taken over after it.
const LEASE: Duration = Duration::from_secs(30);
/// The longest sleep: runs written on another node are found within this.
const SWEEP: Duration = Duration::from_secs(1);
const BATCH: i64 = 32;
/// Tries for an action whose flag another writer changed at the same moment (another node's
/// run on the same flag, a person's edit): each try reads the flag again.
const TRIES: u32 = 8;

/// Compiled conditions by (set, version), so each is compiled once.
#[derive(Default)]
struct Conditions(std::sync::Mutex<HashMap<(Uuid, Timestamp), Option<Condition>>>);

impl Conditions {
    fn matches(&self, set: &ActionSet, signal: &SignalSnapshot) -> bool {
        if !filter::all_hold(&set.filters, &signal.payload) {
            return false;
        }
        let Some(source) = &set.condition else { return true };
        let mut cache = self.0.lock().expect("conditions lock");
        if cache.len() > 1000 {
            cache.clear();
        }
        // A stored condition always compiled when it was saved; one that no longer does
        // (another CEL version) holds for nothing.
        let condition = cache.entry((set.id, set.updated_at)).or_insert_with(|| Condition::compile(source).ok());
        condition.as_ref().is_some_and(|c| c.holds(&signal.payload))
    }
}

/// Claims and runs what is due; returns how many runs the claim looked at.
pub async fn run_once(state: &AppState) -> Result<usize, crate::Error> {
    run_batch(state, &Conditions::default()).await
}

async fn run_batch(state: &AppState, conditions: &Conditions) -> Result<usize, crate::Error> {
    let now = state.clock.now();
    let storm = state.config.actions.action_runs_per_minute;
    let claimed =
        store::claim(&state.db, now, now.plus(LEASE), BATCH, storm, |set, signal| conditions.matches(set, signal))
            .await?;
    // Runs of one set go in signal order; different sets' runs go side by side (a backlog
    // drains about twice as fast: one run spends most of its time waiting on the database).
    let mut by_set: Vec<(Uuid, Vec<Run>)> = Vec::new();
    for run in claimed.runs {
        match by_set.iter_mut().find(|(set, _)| *set == run.action_set_id) {
            Some((_, runs)) => runs.push(run),
            None => by_set.push((run.action_set_id, vec![run])),
        }
    }
    let mut sets = tokio::task::JoinSet::new();
    for (_, runs) in by_set {
        let state = state.clone();
        sets.spawn(async move {
            for run in runs {
                execute_run(&state, run).await;
            }
        });
    }
    while let Some(done) = sets.join_next().await {
        if let Err(error) = done {
            tracing::error!(%error, "an action run task failed");
        }
    }
    Ok(claimed.candidates)
}

/// Runs runs until shutdown: woken by ingest commits here, and every second for the rest.
pub async fn run(state: AppState, mut shutting_down: watch::Receiver<bool>) {
    let conditions = Conditions::default();
    // SQLite has one node: whatever an earlier process leased, it no longer works on.
    if let crate::db::Db::Sqlite { .. } = state.db
        && let Err(error) = store::release_leases(&state.db).await
    {
        tracing::warn!(%error, "releasing the leases of a previous run failed; they run out in 30 s");
    }
    while !*shutting_down.borrow() {
        let looked_at = run_batch(&state, &conditions).await.unwrap_or_else(|error| {
            tracing::warn!(%error, "running action sets failed; will retry");
            0
        });
        // A full batch (even of runs that were dropped or skipped): more may be waiting.
        if looked_at as i64 == BATCH {
            continue;
        }
        tokio::select! {
            () = state.actions.wake.notified() => {}
            () = tokio::time::sleep(SWEEP) => {}
            _ = shutting_down.changed() => {}
        }
    }
}

fn run_event(set: &ActionSet, run: &Run, index: usize, outcome: serde_json::Value, now: Timestamp) -> NewEvent {
    let action = &set.actions[index];
    let mut data = json!({
        "action_set_id": set.int_id, "action_set": set.id, "run_id": run.int_id, "run": run.id,
        "project": set.project, "action": action.action, "index": index,
    });
    if let (Some(data), serde_json::Value::Object(extra)) = (data.as_object_mut(), outcome) {
        data.extend(extra);
    }
    let event_type = if data.get("error").is_some() { types::ACTION_FAILED } else { types::ACTION_SUCCEEDED };
    NewEvent::new(set.workspace_id, event_type, Some(set.actor_id), data, now)
}

/// Carries out a started run from its next action. Errors of the server (not of the action)
/// leave the run leased: it is taken up again when the lease runs out.
async fn execute_run(state: &AppState, mut run: Run) {
    let Some(set) = run.action_set.clone() else { return };
    let now = state.clock.now();
    let member = match crate::auth::store::find_member(&state.db, set.workspace_id, set.actor_id).await {
        Ok(member) => member,
        Err(error) => {
            tracing::warn!(run = %run.id, %error, "loading an action set's actor failed; will retry");
            return;
        }
    };
    let Some(member) = member.filter(|m| !m.disabled) else {
        let detail = format!("the actor {} is no longer an active member of the workspace", set.actor_id);
        if let Err(error) = store::finish_without_actions(&state.db, &run, &detail, now).await {
            tracing::warn!(run = %run.id, %error, "recording a run failed; will retry");
        }
        return;
    };
    run.results.resize(set.actions.len(), ActionResult::not_started());
    let label = format!("action set {}, run {}", set.name, run.int_id);
    let first = usize::try_from(run.next_action).unwrap_or(0).min(set.actions.len());
    // A node that crashed between an action's change (which advanced the run) and its record
    // leaves that one action unrecorded — only that one: the next starts after the record.
    if first > 0 && run.results[first - 1].state != ActionState::Success {
        let details = "carried out; the node that ran it stopped before recording the details";
        run.results[first - 1] =
            ActionResult { state: ActionState::Success, details: Some(details.into()), change_request_id: None };
        let finish = (first == set.actions.len()).then_some((RunState::Success, None, now));
        let event = run_event(&set, &run, first - 1, json!({ "details": details }), now);
        match store::record(&state.db, &run, (first - 1) as i64, finish, &event).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::warn!(run = %run.id, %error, "recording a resumed run failed; will retry");
                return;
            }
        }
    }
    for index in first..set.actions.len() {
        let caller = Caller {
            principal_id: set.actor_id,
            kind: PrincipalKind::ServiceAccount,
            workspace_id: set.workspace_id,
            role: member.role,
            credential: Credential::ActionRun { run_id: run.id, step: index as i64 },
        };
        let mut outcome = catalogue::execute(state, &caller, &set.project, &set.actions[index], &label).await;
        for attempt in 1..TRIES {
            match &outcome {
                Err(e) if e.status() == axum::http::StatusCode::PRECONDITION_FAILED => {
                    // Back off a little, differently per run, so two writers stop colliding.
                    let spread = u64::from(run.id.as_bytes()[15] % 8);
                    tokio::time::sleep(Duration::from_millis(u64::from(attempt) * (2 + spread))).await;
                    outcome = catalogue::execute(state, &caller, &set.project, &set.actions[index], &label).await;
                }
                _ => break,
            }
        }
        let now = state.clock.now();
        let last = index + 1 == set.actions.len();
        let (finish, event): (Option<store::Finish<'_>>, NewEvent) = match outcome {
            Ok(done) => {
                let change_request = done.change_request_id;
                run.results[index] = ActionResult {
                    state: ActionState::Success,
                    details: Some(done.details.clone()),
                    change_request_id: change_request,
                };
                let mut extra = json!({ "details": done.details });
                if let Some(id) = change_request {
                    extra["change_request_id"] = json!(id);
                }
                (last.then_some((RunState::Success, None, now)), run_event(&set, &run, index, extra, now))
            }
            Err(error) if error.problem().detail == STEP_TAKEN => return,
            Err(error) if error.status().is_server_error() => {
                tracing::warn!(run = %run.id, index, %error, "an action could not run; the run will be retried");
                return;
            }
            Err(error) => {
                let problem = error.problem();
                let kind = problem.problem_type.trim_start_matches("/problems/");
                let reason = match problem.errors.first() {
                    Some(field) => format!("{kind}: {} ({}: {})", problem.detail, field.field, field.message),
                    None => format!("{kind}: {}", problem.detail),
                };
                run.results[index] =
                    ActionResult { state: ActionState::Failed, details: Some(reason.clone()), change_request_id: None };
                let detail = format!("action {index} ({}) failed: {reason}", set.actions[index].action);
                let event = run_event(&set, &run, index, json!({ "error": reason }), now);
                match store::record(&state.db, &run, index as i64, Some((RunState::Failed, Some(&detail), now)), &event)
                    .await
                {
                    Ok(_) => {}
                    Err(error) => tracing::warn!(run = %run.id, %error, "recording a failed action failed"),
                }
                return;
            }
        };
        match store::record(&state.db, &run, index as i64, finish, &event).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::warn!(run = %run.id, %error, "recording an action failed; the run will be resumed");
                return;
            }
        }
    }
}
