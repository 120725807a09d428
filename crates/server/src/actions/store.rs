//! SQL for action sets and their runs.

use std::collections::HashMap;

use signalbox_core::Timestamp;
use sqlx::{FromRow, QueryBuilder};
use uuid::Uuid;

use super::model::{ActionResult, ActionSet, Run, RunSnapshot, RunState, SignalSnapshot, Source};
use crate::db::{Db, SerialKey, TxExt, row};
use crate::events::NewEvent;
use crate::http::PageRequest;
use crate::{Error, in_write_tx, on_read};

/// A pending run, written in its signal's own transaction by a group-commit writer.
#[derive(Debug)]
pub struct NewRun<'a> {
    pub id: &'a str,
    pub workspace_id: &'a str,
    pub action_set_id: &'a str,
    pub signal_id: &'a str,
    /// The signal as the set's filters and actions see it (JSON).
    pub snapshot: &'a str,
    pub created_at: &'a str,
}

/// `INSERT INTO action_runs …` of `rows` (at least one), each `pending`.
pub fn insert_pending_runs<'a>(
    backend: crate::db::Backend,
    rows: &'a [NewRun<'a>],
) -> crate::db::statement::Statement<'a> {
    let mut query = crate::db::statement::Statement::new(
        backend,
        "INSERT INTO action_runs (id, workspace_id, action_set_id, signal_id, signal, state, created_at) ",
    );
    query.push_values(rows, |mut row, r| {
        row.push_bind(r.id)
            .push_bind(r.workspace_id)
            .push_bind(r.action_set_id)
            .push_bind(r.signal_id)
            .push_bind(r.snapshot)
            .push("'pending'")
            .push_bind(r.created_at);
    });
    query
}

#[derive(FromRow)]
struct SetRow {
    int_id: i64,
    id: String,
    workspace_id: String,
    project_id: String,
    project: String,
    name: String,
    description: Option<String>,
    enabled: bool,
    actor_id: String,
    actor_int_id: Option<i64>,
    source: String,
    source_id: String,
    source_int_id: Option<i64>,
    filters: String,
    condition: Option<String>,
    actions: String,
    created_by: Option<String>,
    created_by_int: Option<i64>,
    created_at: String,
    updated_at: String,
}

macro_rules! set_select {
    () => {
        "SELECT s.int_id, s.id, s.workspace_id, s.project_id, p.key AS project, s.name, s.description, s.enabled, \
         s.actor_id, a.int_id AS actor_int_id, s.source, s.source_id, e.int_id AS source_int_id, s.filters, \
         s.condition, s.actions, s.created_by, c.int_id AS created_by_int, s.created_at, s.updated_at \
         FROM action_sets s JOIN projects p ON p.id = s.project_id LEFT JOIN principals a ON a.id = s.actor_id \
         LEFT JOIN signal_endpoints e ON e.id = s.source_id LEFT JOIN principals c ON c.id = s.created_by"
    };
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> Error {
    Error::internal(anyhow::anyhow!("stored {what}: {e}"))
}

fn action_set(r: SetRow) -> Result<ActionSet, Error> {
    Ok(ActionSet {
        int_id: r.int_id,
        id: row::id(&r.id)?,
        workspace_id: row::id(&r.workspace_id)?,
        project_id: row::id(&r.project_id)?,
        project: r.project,
        name: r.name,
        description: r.description,
        enabled: r.enabled,
        actor_id: row::id(&r.actor_id)?,
        actor_int_id: r.actor_int_id,
        source: Source::parse(&r.source).map_err(|e| corrupt("action set source", e))?,
        source_id: r.source_id,
        source_int_id: r.source_int_id,
        filters: serde_json::from_str(&r.filters).map_err(|e| corrupt("action set filters", e))?,
        condition: r.condition,
        actions: serde_json::from_str(&r.actions).map_err(|e| corrupt("action set actions", e))?,
        created_by: r.created_by.as_deref().map(row::id).transpose()?,
        created_by_int: r.created_by_int,
        created_at: row::time(&r.created_at)?,
        updated_at: row::time(&r.updated_at)?,
    })
}

/// How an action set is named in a path.
#[derive(Debug, Clone, Copy)]
pub enum SetKey {
    Id(Uuid),
    IntId(i64),
}

/// A project's action sets, oldest first; `page` `None` for all.
pub async fn list_sets(db: &Db, project_id: Uuid, page: Option<PageRequest>) -> Result<(Vec<ActionSet>, i64), Error> {
    let (limit, offset) = page.map_or((i64::MAX, 0), |p| (p.limit, p.offset));
    let sql = concat!(set_select!(), " WHERE s.project_id = $1 ORDER BY s.int_id LIMIT $2 OFFSET $3");
    let (rows, total): (Vec<SetRow>, i64) = on_read!(db, |pool| async {
        let rows = sqlx::query_as(sql).bind(project_id.to_string()).bind(limit).bind(offset).fetch_all(pool).await?;
        let total = sqlx::query_scalar("SELECT COUNT(*) FROM action_sets WHERE project_id = $1")
            .bind(project_id.to_string())
            .fetch_one(pool)
            .await?;
        Ok::<_, sqlx::Error>((rows, total))
    }
    .await)?;
    Ok((rows.into_iter().map(action_set).collect::<Result<_, _>>()?, total))
}

pub async fn find_set(db: &Db, project_id: Uuid, key: SetKey) -> Result<Option<ActionSet>, Error> {
    let found: Option<SetRow> = match key {
        SetKey::Id(id) => {
            let sql = concat!(set_select!(), " WHERE s.project_id = $1 AND s.id = $2");
            on_read!(db, |pool| sqlx::query_as(sql)
                .bind(project_id.to_string())
                .bind(id.to_string())
                .fetch_optional(pool)
                .await)?
        }
        SetKey::IntId(int_id) => {
            let sql = concat!(set_select!(), " WHERE s.project_id = $1 AND s.int_id = $2");
            on_read!(db, |pool| sqlx::query_as(sql)
                .bind(project_id.to_string())
                .bind(int_id)
                .fetch_optional(pool)
                .await)?
        }
    };
    found.map(action_set).transpose()
}

/// Every enabled action set by source, for the in-memory index.
pub async fn enabled_sources(db: &Db) -> Result<Vec<(Source, String, String)>, Error> {
    let rows: Vec<(String, String, String)> =
        on_read!(db, |pool| sqlx::query_as("SELECT source, source_id, id FROM action_sets WHERE enabled = $1")
            .bind(true)
            .fetch_all(pool)
            .await)?;
    rows.into_iter()
        .map(|(source, source_id, id)| {
            Ok((Source::parse(&source).map_err(|e| corrupt("action set source", e))?, source_id, id))
        })
        .collect()
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("action set parts serialise")
}

/// A unique violation on `(project_id, name)` is the client's `409`.
fn name_taken(error: sqlx::Error, set: &ActionSet) -> Error {
    if crate::db::is_unique_violation(&error) {
        Error::conflict(format!("the project already has an action set named {:?}", set.name))
    } else {
        error.into()
    }
}

/// Creates an action set unless its project has `limit` already (0 = no limit); `409` when
/// the name is taken.
pub async fn create_set(db: &Db, set: &ActionSet, limit: u32, event: &NewEvent) -> Result<(), Error> {
    in_write_tx!(db, |tx| {
        tx.serialize(SerialKey::CountLimits).await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM action_sets WHERE project_id = $1")
            .bind(set.project_id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        if limit > 0 && count >= i64::from(limit) {
            return Err(Error::limit_exceeded("max_action_sets_per_project", u64::from(limit)));
        }
        let inserted = sqlx::query(
            "INSERT INTO action_sets (id, workspace_id, project_id, name, description, enabled, actor_id, source, \
             source_id, filters, condition, actions, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)",
        )
        .bind(set.id.to_string())
        .bind(set.workspace_id.to_string())
        .bind(set.project_id.to_string())
        .bind(&set.name)
        .bind(&set.description)
        .bind(set.enabled)
        .bind(set.actor_id.to_string())
        .bind(set.source.as_str())
        .bind(&set.source_id)
        .bind(json(&set.filters))
        .bind(&set.condition)
        .bind(json(&set.actions))
        .bind(set.created_by.map(|id| id.to_string()))
        .bind(set.created_at.to_string())
        .execute(&mut *tx)
        .await;
        inserted.map_err(|e| name_taken(e, set))?;
        tx.append_event(event).await?;
    })
}

/// Stores every field of a changed set; false when it no longer exists.
pub async fn update_set(db: &Db, set: &ActionSet, event: &NewEvent) -> Result<bool, Error> {
    in_write_tx!(db, |tx| {
        let updated = sqlx::query(
            "UPDATE action_sets SET name = $2, description = $3, enabled = $4, actor_id = $5, source = $6, \
             source_id = $7, filters = $8, condition = $9, actions = $10, updated_at = $11 WHERE id = $1",
        )
        .bind(set.id.to_string())
        .bind(&set.name)
        .bind(&set.description)
        .bind(set.enabled)
        .bind(set.actor_id.to_string())
        .bind(set.source.as_str())
        .bind(&set.source_id)
        .bind(json(&set.filters))
        .bind(&set.condition)
        .bind(json(&set.actions))
        .bind(set.updated_at.to_string())
        .execute(&mut *tx)
        .await;
        let updated = updated.map_err(|e| name_taken(e, set))?.rows_affected();
        if updated > 0 {
            tx.append_event(event).await?;
        }
        updated > 0
    })
}

/// Deletes a set with its runs.
pub async fn delete_set(db: &Db, id: Uuid, event: &NewEvent) -> Result<bool, Error> {
    in_write_tx!(db, |tx| {
        let deleted =
            sqlx::query("DELETE FROM action_sets WHERE id = $1").bind(id.to_string()).execute(&mut *tx).await?;
        if deleted.rows_affected() > 0 {
            tx.append_event(event).await?;
        }
        deleted.rows_affected() > 0
    })
}

// ---- runs ----

#[derive(FromRow)]
struct RunRow {
    int_id: i64,
    id: String,
    action_set_id: String,
    action_set_int_id: i64,
    signal: String,
    state: String,
    next_action: i64,
    action_set: Option<String>,
    detail: Option<String>,
    created_at: String,
    started_at: Option<String>,
    finished_at: Option<String>,
}

macro_rules! run_select {
    () => {
        "SELECT r.int_id, r.id, r.action_set_id, s.int_id AS action_set_int_id, r.signal, r.state, r.next_action, \
         r.action_set, r.detail, r.created_at, r.started_at, r.finished_at \
         FROM action_runs r JOIN action_sets s ON s.id = r.action_set_id"
    };
}

fn run(r: RunRow) -> Result<Run, Error> {
    let snapshot: Option<RunSnapshot> =
        r.action_set.as_deref().map(serde_json::from_str).transpose().map_err(|e| corrupt("run snapshot", e))?;
    let (action_set, results) = match snapshot {
        Some(s) => (Some(s.set), s.results),
        None => (None, Vec::new()),
    };
    Ok(Run {
        int_id: r.int_id,
        id: row::id(&r.id)?,
        action_set_id: row::id(&r.action_set_id)?,
        action_set_int_id: r.action_set_int_id,
        state: RunState::parse(&r.state).ok_or_else(|| corrupt("run state", &r.state))?,
        next_action: r.next_action,
        signal: serde_json::from_str(&r.signal).map_err(|e| corrupt("run signal", e))?,
        action_set,
        results,
        detail: r.detail,
        created_at: row::time(&r.created_at)?,
        started_at: row::opt_time(r.started_at.as_deref())?,
        finished_at: row::opt_time(r.finished_at.as_deref())?,
    })
}

/// A set's runs, newest first, without those still pending: by cursor (`before` an
/// `int_id`) or by offset.
pub async fn list_runs(db: &Db, set_id: Uuid, before: Option<i64>, limit: i64, offset: i64) -> Result<Vec<Run>, Error> {
    let sql = concat!(
        run_select!(),
        " WHERE r.action_set_id = $1 AND r.state <> 'pending' AND r.int_id < $2 ORDER BY r.int_id DESC LIMIT $3 OFFSET $4"
    );
    let rows: Vec<RunRow> = on_read!(db, |pool| sqlx::query_as(sql)
        .bind(set_id.to_string())
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await)?;
    rows.into_iter().map(run).collect()
}

/// What to do with a claimed pending run, decided from its set and signal.
pub enum Decision {
    /// The set is disabled or its filters do not hold: the run is deleted.
    Drop,
    /// The storm guard holds it back.
    Skip(String),
    Start,
}

/// What a claim found: the runs to carry out, and how many candidates it looked at (a full
/// batch means more may be waiting, even if most were dropped or skipped).
pub struct Claimed {
    pub runs: Vec<Run>,
    pub candidates: usize,
}

/// Claims runs to work on, oldest first, in one transaction: pending runs are decided
/// (`decide` sees the set and the signal) — dropped, skipped or started with a snapshot of
/// the set — and started runs whose lease ran out (a crashed node's) are taken over. Every
/// run returned is `started` and leased to the caller until `lease_until`. `storm_limit`
/// (0 = none) caps the runs started per set in the minute before `now`.
pub async fn claim(
    db: &Db,
    now: Timestamp,
    lease_until: Timestamp,
    limit: i64,
    storm_limit: u32,
    decide: impl Fn(&ActionSet, &SignalSnapshot) -> bool,
) -> Result<Claimed, Error> {
    let now_text = now.to_string();
    let lease_text = lease_until.to_string();
    let minute_ago = now.minus(std::time::Duration::from_secs(60)).to_string();
    // Postgres: rows another node is claiming are skipped, not waited for.
    let candidates_sql = match db {
        Db::Postgres(_) => concat!(
            run_select!(),
            " WHERE r.state IN ('pending', 'started') \
             AND (r.lease_until IS NULL OR r.lease_until <= $1) ORDER BY r.int_id LIMIT $2 FOR UPDATE OF r SKIP LOCKED"
        ),
        Db::Sqlite { .. } => concat!(
            run_select!(),
            " WHERE r.state IN ('pending', 'started') \
             AND (r.lease_until IS NULL OR r.lease_until <= $1) ORDER BY r.int_id LIMIT $2"
        ),
    };
    in_write_tx!(db, |tx| {
        let rows: Vec<RunRow> = sqlx::query_as(candidates_sql).bind(&now_text).bind(limit).fetch_all(&mut *tx).await?;
        let mut runs: Vec<Run> = rows.into_iter().map(run).collect::<Result<_, _>>()?;
        let candidates = runs.len();
        let mut sets: HashMap<Uuid, ActionSet> = HashMap::new();
        let pending: Vec<Uuid> =
            runs.iter().filter(|r| r.state == RunState::Pending).map(|r| r.action_set_id).collect();
        if !pending.is_empty() {
            let mut query = QueryBuilder::new(concat!(set_select!(), " WHERE s.id IN ("));
            let mut list = query.separated(", ");
            for id in &pending {
                list.push_bind(id.to_string());
            }
            query.push(")");
            let rows: Vec<SetRow> = query.build_query_as().fetch_all(&mut *tx).await?;
            for set in rows.into_iter().map(action_set) {
                let set = set?;
                sets.insert(set.id, set);
            }
        }
        let mut started_now: HashMap<Uuid, i64> = HashMap::new();
        let mut claimed = Vec::new();
        for mut run in runs.drain(..) {
            let id = run.id.to_string();
            if run.state == RunState::Started {
                sqlx::query("UPDATE action_runs SET lease_until = $2 WHERE id = $1")
                    .bind(&id)
                    .bind(&lease_text)
                    .execute(&mut *tx)
                    .await?;
                claimed.push(run);
                continue;
            }
            let decision = match sets.get(&run.action_set_id) {
                Some(set) if set.enabled && decide(set, &run.signal) => {
                    let recent = match started_now.get(&set.id) {
                        Some(n) => *n,
                        None if storm_limit == 0 => 0,
                        None => {
                            sqlx::query_scalar(
                                "SELECT COUNT(*) FROM action_runs WHERE action_set_id = $1 AND started_at >= $2",
                            )
                            .bind(set.id.to_string())
                            .bind(&minute_ago)
                            .fetch_one(&mut *tx)
                            .await?
                        }
                    };
                    if storm_limit > 0 && recent >= i64::from(storm_limit) {
                        Decision::Skip(format!(
                            "storm guard: this action set already started {recent} runs in the last minute \
                             (limit {storm_limit})"
                        ))
                    } else {
                        started_now.insert(set.id, recent + 1);
                        Decision::Start
                    }
                }
                _ => Decision::Drop,
            };
            match decision {
                Decision::Drop => {
                    sqlx::query("DELETE FROM action_runs WHERE id = $1").bind(&id).execute(&mut *tx).await?;
                }
                Decision::Skip(reason) => {
                    let set = sets.get(&run.action_set_id).cloned().expect("decided with a set");
                    let results = vec![ActionResult::not_started(); set.actions.len()];
                    sqlx::query(
                        "UPDATE action_runs SET state = 'skipped', detail = $2, action_set = $3, started_at = $4, \
                         finished_at = $4 WHERE id = $1",
                    )
                    .bind(&id)
                    .bind(&reason)
                    .bind(json(&RunSnapshot { set, results }))
                    .bind(&now_text)
                    .execute(&mut *tx)
                    .await?;
                }
                Decision::Start => {
                    let set = sets.get(&run.action_set_id).cloned().expect("decided with a set");
                    if let (Source::SignalEndpoint, Some(event_id)) = (set.source, run.signal.event_id) {
                        run.signal.int_id = sqlx::query_scalar(
                            "SELECT int_id FROM signals WHERE endpoint_id = $1 \
                             AND event_seq = (SELECT seq FROM events WHERE id = $2)",
                        )
                        .bind(&run.signal.source_id)
                        .bind(event_id.to_string())
                        .fetch_optional(&mut *tx)
                        .await?;
                    }
                    let results = vec![ActionResult::not_started(); set.actions.len()];
                    sqlx::query(
                        "UPDATE action_runs SET state = 'started', action_set = $2, signal = $3, started_at = $4, \
                         lease_until = $5 WHERE id = $1",
                    )
                    .bind(&id)
                    .bind(json(&RunSnapshot { set: set.clone(), results: results.clone() }))
                    .bind(json(&run.signal))
                    .bind(&now_text)
                    .bind(&lease_text)
                    .execute(&mut *tx)
                    .await?;
                    run.state = RunState::Started;
                    run.started_at = Some(now);
                    run.action_set = Some(set);
                    run.results = results;
                    claimed.push(run);
                }
            }
        }
        Claimed { runs: claimed, candidates }
    })
}

/// Records what action `index` of a run did, with its event, if the run is still where this
/// runner left it: `next_action` is `index` (the action wrote nothing, or failed) or
/// `index + 1` (its change advanced it). `finish` ends the run. False: another node owns it.
/// How a run ends: its state, why (for a failure), and when.
pub type Finish<'a> = (RunState, Option<&'a str>, Timestamp);

pub async fn record(
    db: &Db,
    run: &Run,
    index: i64,
    finish: Option<Finish<'_>>,
    event: &NewEvent,
) -> Result<bool, Error> {
    let snapshot = RunSnapshot {
        set: run.action_set.clone().ok_or_else(|| Error::internal(anyhow::anyhow!("a started run has no snapshot")))?,
        results: run.results.clone(),
    };
    let (state, detail, finished_at) = match finish {
        Some((state, detail, at)) => (Some(state.as_str()), detail, Some(at.to_string())),
        None => (None, None, None),
    };
    in_write_tx!(db, |tx| {
        let updated = sqlx::query(
            "UPDATE action_runs SET next_action = $3, action_set = $4, state = COALESCE($5, state), \
             detail = COALESCE($6, detail), finished_at = $7, \
             lease_until = CASE WHEN $7 IS NULL THEN lease_until ELSE NULL END \
             WHERE id = $1 AND state = 'started' AND next_action IN ($2, $3)",
        )
        .bind(run.id.to_string())
        .bind(index)
        .bind(index + 1)
        .bind(json(&snapshot))
        .bind(state)
        .bind(detail)
        .bind(finished_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated > 0 {
            tx.append_event(event).await?;
        }
        updated > 0
    })
}

/// Ends a run that cannot go on before any action (e.g. its actor left the workspace).
pub async fn finish_without_actions(db: &Db, run: &Run, detail: &str, now: Timestamp) -> Result<(), Error> {
    in_write_tx!(db, |tx| {
        sqlx::query(
            "UPDATE action_runs SET state = 'failed', detail = $2, finished_at = $3, lease_until = NULL \
             WHERE id = $1 AND state = 'started'",
        )
        .bind(run.id.to_string())
        .bind(detail)
        .bind(now.to_string())
        .execute(&mut *tx)
        .await?;
    })
}

/// Forgets every lease (SQLite, at start: no other node can hold one).
pub async fn release_leases(db: &Db) -> Result<(), Error> {
    crate::on_write!(db, |pool| sqlx::query(
        "UPDATE action_runs SET lease_until = NULL WHERE state IN ('pending', 'started') AND lease_until IS NOT NULL"
    )
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}
