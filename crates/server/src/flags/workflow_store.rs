//! SQL for change requests and scheduled toggles. Each state change is one conditional
//! `UPDATE … WHERE state = …`, so two people (or two servers) acting at once cannot both
//! succeed: approving twice, applying twice or running a schedule twice changes nothing the
//! second time.

use serde::Serialize;
use signalbox_core::Timestamp;
use sqlx::FromRow;
use uuid::Uuid;

use super::model::FlagEnvironment;
use super::store::{ConfigWrite, read_config, write_config};
use crate::actions::{StepGuard, hold_step};
use crate::db::{Db, TxExt, row};
use crate::events::NewEvent;
use crate::http::PageRequest;
use crate::{Error, in_flags_tx, on_read};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Approval {
    pub principal_id: Uuid,
    pub approved_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Diff {
    #[schema(value_type = Object)]
    pub before: serde_json::Value,
    #[schema(value_type = Object)]
    pub after: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChangeRequest {
    pub id: Uuid,
    /// `change`, `promotion` or `schedule`.
    pub kind: String,
    /// `open`, `approved`, `rejected`, `applied` or `cancelled`.
    pub state: String,
    pub project: String,
    pub flag: String,
    pub environment: String,
    /// Promotion: the environment copied from.
    pub source_environment: Option<String>,
    pub schedule_id: Option<Uuid>,
    pub author_id: Uuid,
    /// The reason given when rejecting.
    pub comment: Option<String>,
    pub approvals: Vec<Approval>,
    pub approvals_required: i64,
    /// The configuration when requested, and the one asked for.
    pub diff: Diff,
    /// The configuration's version when requested; applying refuses if it moved.
    pub base_version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub applied_at: Option<Timestamp>,
    #[serde(skip)]
    pub flag_id: Uuid,
    #[serde(skip)]
    pub environment_id: Uuid,
}

impl ChangeRequest {
    /// The configuration asked for.
    pub fn after(&self) -> Result<FlagEnvironment, Error> {
        let value = &self.diff.after;
        Ok(FlagEnvironment {
            environment: self.environment.clone(),
            enabled: value["enabled"].as_bool().unwrap_or(false),
            strategies: serde_json::from_value(value["strategies"].clone())
                .map_err(|e| Error::internal(anyhow::anyhow!(e)))?,
            variants: serde_json::from_value(value["variants"].clone())
                .map_err(|e| Error::internal(anyhow::anyhow!(e)))?,
            killed: None,
            version: 0,
            updated_at: None,
        })
    }
}

#[derive(FromRow)]
struct ChangeRequestRow {
    id: String,
    kind: String,
    state: String,
    project_key: String,
    flag_key: String,
    environment_key: String,
    source_environment: Option<String>,
    schedule_id: Option<String>,
    author_id: String,
    comment: Option<String>,
    approvals_required: i64,
    before: String,
    after: String,
    base_version: i64,
    created_at: String,
    updated_at: String,
    applied_at: Option<String>,
    flag_id: String,
    environment_id: String,
}

macro_rules! change_request_select {
    () => {
        "SELECT cr.id, cr.kind, cr.state, p.key AS project_key, f.key AS flag_key, e.key AS environment_key, \
         cr.source_environment, cr.schedule_id, cr.author_id, cr.comment, e.approvals_required, cr.before, cr.after, \
         cr.base_version, cr.created_at, cr.updated_at, cr.applied_at, cr.flag_id, cr.environment_id \
         FROM change_requests cr JOIN flags f ON f.id = cr.flag_id JOIN projects p ON p.id = f.project_id \
         JOIN environments e ON e.id = cr.environment_id"
    };
}

fn json(text: &str) -> Result<serde_json::Value, Error> {
    serde_json::from_str(text).map_err(|e| Error::internal(anyhow::anyhow!("stored change: {e}")))
}

fn change_request(r: ChangeRequestRow, approvals: Vec<Approval>) -> Result<ChangeRequest, Error> {
    Ok(ChangeRequest {
        id: row::id(&r.id)?,
        kind: r.kind,
        state: r.state,
        project: r.project_key,
        flag: r.flag_key,
        environment: r.environment_key,
        source_environment: r.source_environment,
        schedule_id: r.schedule_id.as_deref().map(row::id).transpose()?,
        author_id: row::id(&r.author_id)?,
        comment: r.comment,
        approvals,
        approvals_required: r.approvals_required,
        diff: Diff { before: json(&r.before)?, after: json(&r.after)? },
        base_version: r.base_version,
        created_at: row::time(&r.created_at)?,
        updated_at: row::time(&r.updated_at)?,
        applied_at: row::opt_time(r.applied_at.as_deref())?,
        flag_id: row::id(&r.flag_id)?,
        environment_id: row::id(&r.environment_id)?,
    })
}

#[derive(FromRow)]
struct ApprovalRow {
    change_request_id: String,
    principal_id: String,
    approved_at: String,
}

async fn with_approvals(db: &Db, rows: Vec<ChangeRequestRow>) -> Result<Vec<ChangeRequest>, Error> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut approvals: Vec<ApprovalRow> = Vec::new();
    for id in &ids {
        let found: Vec<ApprovalRow> = on_read!(db, |pool| sqlx::query_as(
            "SELECT change_request_id, principal_id, approved_at FROM change_request_approvals \
             WHERE change_request_id = $1 ORDER BY approved_at"
        )
        .bind(id)
        .fetch_all(pool)
        .await)?;
        approvals.extend(found);
    }
    rows.into_iter()
        .map(|r| {
            let mine = approvals
                .iter()
                .filter(|a| a.change_request_id == r.id)
                .map(|a| {
                    Ok(Approval { principal_id: row::id(&a.principal_id)?, approved_at: row::time(&a.approved_at)? })
                })
                .collect::<Result<_, Error>>()?;
            change_request(r, mine)
        })
        .collect()
}

/// Filters for the change request list.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChangeRequestQuery<'a> {
    pub state: Option<&'a str>,
    pub project: Option<&'a str>,
    pub environment: Option<&'a str>,
    pub author: Option<Uuid>,
}

pub async fn list(
    db: &Db,
    workspace_id: Uuid,
    query: ChangeRequestQuery<'_>,
    page: PageRequest,
) -> Result<(Vec<ChangeRequest>, i64), Error> {
    macro_rules! filter {
        () => {
            " WHERE cr.workspace_id = $1 AND ($2 IS NULL OR cr.state = $2) AND ($3 IS NULL OR p.key = $3) \
             AND ($4 IS NULL OR e.key = $4) AND ($5 IS NULL OR cr.author_id = $5)"
        };
    }
    let list = concat!(change_request_select!(), filter!(), " ORDER BY cr.created_at DESC, cr.id LIMIT $6 OFFSET $7");
    let count = concat!(
        "SELECT COUNT(*) FROM change_requests cr JOIN flags f ON f.id = cr.flag_id JOIN projects p ON p.id = f.project_id \
         JOIN environments e ON e.id = cr.environment_id",
        filter!()
    );
    let author = query.author.map(|a| a.to_string());
    let ws = workspace_id.to_string();
    let (rows, total): (Vec<ChangeRequestRow>, i64) = on_read!(db, |pool| {
        let rows = sqlx::query_as(list)
            .bind(&ws)
            .bind(query.state)
            .bind(query.project)
            .bind(query.environment)
            .bind(&author)
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(pool)
            .await?;
        let total = sqlx::query_scalar(count)
            .bind(&ws)
            .bind(query.state)
            .bind(query.project)
            .bind(query.environment)
            .bind(&author)
            .fetch_one(pool)
            .await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    Ok((with_approvals(db, rows).await?, total))
}

pub async fn find(db: &Db, workspace_id: Uuid, id: Uuid) -> Result<Option<ChangeRequest>, Error> {
    let sql = concat!(change_request_select!(), " WHERE cr.workspace_id = $1 AND cr.id = $2");
    let rows: Vec<ChangeRequestRow> = on_read!(db, |pool| sqlx::query_as(sql)
        .bind(workspace_id.to_string())
        .bind(id.to_string())
        .fetch_all(pool)
        .await)?;
    Ok(with_approvals(db, rows).await?.into_iter().next())
}

/// A change request about to be created.
pub struct NewChangeRequest<'a> {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub flag_id: Uuid,
    pub environment_id: Uuid,
    pub kind: &'a str,
    pub before: &'a FlagEnvironment,
    pub after: &'a FlagEnvironment,
    pub source_environment: Option<&'a str>,
    pub schedule: Option<NewSchedule>,
    pub author_id: Uuid,
    pub now: Timestamp,
}

fn config_json(config: &FlagEnvironment) -> String {
    serde_json::json!({ "enabled": config.enabled, "strategies": config.strategies, "variants": config.variants })
        .to_string()
}

macro_rules! insert_schedule {
    ($tx:expr, $s:expr, $state:expr, $change_request:expr) => {
        sqlx::query(
            "INSERT INTO flag_schedules (id, workspace_id, flag_id, environment_id, enabled, at, state, \
             change_request_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind($s.id.to_string())
        .bind($s.workspace_id.to_string())
        .bind($s.flag_id.to_string())
        .bind($s.environment_id.to_string())
        .bind($s.enabled)
        .bind($s.at.to_string())
        .bind($state)
        .bind($change_request)
        .bind($s.created_by.to_string())
        .bind($s.created_at.to_string())
        .execute(&mut *$tx)
        .await?
    };
}

pub async fn create(
    db: &Db,
    new: &NewChangeRequest<'_>,
    event: &NewEvent,
    guard: Option<StepGuard>,
) -> Result<(), Error> {
    in_flags_tx!(db, |tx| {
        hold_step!(tx, guard);
        if let Some(schedule) = &new.schedule {
            insert_schedule!(tx, schedule, "awaiting_approval", Some(new.id.to_string()));
        }
        sqlx::query(
            "INSERT INTO change_requests (id, workspace_id, flag_id, environment_id, kind, state, before, after, \
             base_version, source_environment, schedule_id, author_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $9, $10, $11, $12, $12)",
        )
        .bind(new.id.to_string())
        .bind(new.workspace_id.to_string())
        .bind(new.flag_id.to_string())
        .bind(new.environment_id.to_string())
        .bind(new.kind)
        .bind(config_json(new.before))
        .bind(config_json(new.after))
        .bind(new.before.version)
        .bind(new.source_environment)
        .bind(new.schedule.as_ref().map(|s| s.id.to_string()))
        .bind(new.author_id.to_string())
        .bind(new.now.to_string())
        .execute(&mut *tx)
        .await?;
        tx.append_event(event).await?;
    })
}

/// Records an approval; when it is the last one needed, the request becomes `approved` (and
/// its schedule, if any, `pending`). Returns false if the request was no longer open.
pub async fn approve(db: &Db, cr: &ChangeRequest, by: Uuid, now: Timestamp, event: &NewEvent) -> Result<bool, Error> {
    in_flags_tx!(db, |tx| {
        let open: Option<String> =
            sqlx::query_scalar("SELECT state FROM change_requests WHERE id = $1 AND state = 'open'")
                .bind(cr.id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        if open.is_none() {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO change_request_approvals (change_request_id, principal_id, approved_at) VALUES ($1, $2, $3)",
        )
        .bind(cr.id.to_string())
        .bind(by.to_string())
        .bind(now.to_string())
        .execute(&mut *tx)
        .await?;
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM change_request_approvals WHERE change_request_id = $1")
                .bind(cr.id.to_string())
                .fetch_one(&mut *tx)
                .await?;
        if count >= cr.approvals_required {
            sqlx::query(
                "UPDATE change_requests SET state = 'approved', updated_at = $2 WHERE id = $1 AND state = 'open'",
            )
            .bind(cr.id.to_string())
            .bind(now.to_string())
            .execute(&mut *tx)
            .await?;
            if let Some(schedule) = cr.schedule_id {
                sqlx::query(
                    "UPDATE flag_schedules SET state = 'pending' WHERE id = $1 AND state = 'awaiting_approval'",
                )
                .bind(schedule.to_string())
                .execute(&mut *tx)
                .await?;
            }
        } else {
            sqlx::query("UPDATE change_requests SET updated_at = $2 WHERE id = $1")
                .bind(cr.id.to_string())
                .bind(now.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.append_event(event).await?;
        true
    })
}

/// Moves a request from one of `from` to `to` (reject, cancel), cancelling its schedule;
/// false when it was in no state of `from`.
pub async fn close(
    db: &Db,
    cr: &ChangeRequest,
    from: &[&str],
    to: &str,
    comment: Option<&str>,
    now: Timestamp,
    event: &NewEvent,
) -> Result<bool, Error> {
    in_flags_tx!(db, |tx| {
        let state: Option<String> = sqlx::query_scalar("SELECT state FROM change_requests WHERE id = $1")
            .bind(cr.id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if !state.is_some_and(|s| from.contains(&s.as_str())) {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE change_requests SET state = $2, comment = COALESCE($3, comment), updated_at = $4 WHERE id = $1",
        )
        .bind(cr.id.to_string())
        .bind(to)
        .bind(comment)
        .bind(now.to_string())
        .execute(&mut *tx)
        .await?;
        if let Some(schedule) = cr.schedule_id {
            sqlx::query(
                "UPDATE flag_schedules SET state = 'cancelled' WHERE id = $1 AND state IN ('awaiting_approval', 'pending')",
            )
            .bind(schedule.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.append_event(event).await?;
        true
    })
}

pub enum Applied {
    Done,
    /// The request was not (or no longer) approved.
    NotApproved,
    /// The configuration changed since the request; the current one.
    Moved(Box<FlagEnvironment>),
}

/// Applies an approved request: writes the configuration if it is still at the request's
/// base version, marks the request applied, and appends the event, in one transaction.
pub async fn apply(
    db: &Db,
    cr: &ChangeRequest,
    after: &FlagEnvironment,
    now: Timestamp,
    event: &NewEvent,
) -> Result<Applied, Error> {
    in_flags_tx!(db, |tx| {
        let marked = sqlx::query(
            "UPDATE change_requests SET state = 'applied', applied_at = $2, updated_at = $2 \
             WHERE id = $1 AND state IN ('approved', 'open')",
        )
        .bind(cr.id.to_string())
        .bind(now.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if marked == 0 {
            return Ok(Applied::NotApproved);
        }
        let current = read_config!(tx, cr.flag_id, cr.environment_id, &cr.environment)?;
        if current.version != cr.base_version {
            return Ok(Applied::Moved(Box::new(current)));
        }
        let mut config = after.clone();
        config.killed = current.killed.clone();
        let write = ConfigWrite {
            flag_id: cr.flag_id,
            environment_id: cr.environment_id,
            config: &config,
            expected: cr.base_version,
        };
        if write_config!(tx, &write, now) == 0 {
            return Ok(Applied::Moved(Box::new(current)));
        }
        tx.append_event(event).await?;
        Applied::Done
    })
}

/// A scheduled toggle about to be created.
#[derive(Debug, Clone)]
pub struct NewSchedule {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub flag_id: Uuid,
    pub environment_id: Uuid,
    pub enabled: bool,
    pub at: Timestamp,
    pub created_by: Uuid,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Schedule {
    pub id: Uuid,
    pub environment: String,
    pub enabled: bool,
    pub at: Timestamp,
    /// `awaiting_approval`, `pending`, `done`, `cancelled` or `failed`.
    pub state: String,
    pub change_request_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub created_at: Timestamp,
    pub executed_at: Option<Timestamp>,
    pub error: Option<String>,
}

#[derive(FromRow)]
struct ScheduleRow {
    id: String,
    environment_key: String,
    enabled: bool,
    at: String,
    state: String,
    change_request_id: Option<String>,
    created_by: Option<String>,
    created_at: String,
    executed_at: Option<String>,
    error: Option<String>,
}

fn schedule(r: ScheduleRow) -> Result<Schedule, Error> {
    Ok(Schedule {
        id: row::id(&r.id)?,
        environment: r.environment_key,
        enabled: r.enabled,
        at: row::time(&r.at)?,
        state: r.state,
        change_request_id: r.change_request_id.as_deref().map(row::id).transpose()?,
        created_by: r.created_by.as_deref().map(row::id).transpose()?,
        created_at: row::time(&r.created_at)?,
        executed_at: row::opt_time(r.executed_at.as_deref())?,
        error: r.error,
    })
}

macro_rules! schedule_select {
    () => {
        "SELECT s.id, e.key AS environment_key, s.enabled, s.at, s.state, s.change_request_id, s.created_by, \
         s.created_at, s.executed_at, s.error FROM flag_schedules s JOIN environments e ON e.id = s.environment_id"
    };
}

pub async fn schedules_of(db: &Db, flag_id: Uuid) -> Result<Vec<Schedule>, Error> {
    let sql = concat!(schedule_select!(), " WHERE s.flag_id = $1 ORDER BY s.at, s.id");
    let rows: Vec<ScheduleRow> =
        on_read!(db, |pool| sqlx::query_as(sql).bind(flag_id.to_string()).fetch_all(pool).await)?;
    rows.into_iter().map(schedule).collect()
}

pub async fn find_schedule(db: &Db, flag_id: Uuid, id: Uuid) -> Result<Option<Schedule>, Error> {
    let sql = concat!(schedule_select!(), " WHERE s.flag_id = $1 AND s.id = $2");
    let found: Option<ScheduleRow> = on_read!(db, |pool| sqlx::query_as(sql)
        .bind(flag_id.to_string())
        .bind(id.to_string())
        .fetch_optional(pool)
        .await)?;
    found.map(schedule).transpose()
}

pub async fn create_schedule(db: &Db, new: &NewSchedule, event: &NewEvent) -> Result<(), Error> {
    in_flags_tx!(db, |tx| {
        insert_schedule!(tx, new, "pending", None::<String>);
        tx.append_event(event).await?;
    })
}

/// Cancels a schedule that has not run (and its change request); false if it had.
pub async fn cancel_schedule(db: &Db, s: &Schedule, now: Timestamp, event: &NewEvent) -> Result<bool, Error> {
    in_flags_tx!(db, |tx| {
        let cancelled = sqlx::query(
            "UPDATE flag_schedules SET state = 'cancelled' WHERE id = $1 AND state IN ('awaiting_approval', 'pending')",
        )
        .bind(s.id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if cancelled {
            if let Some(cr) = s.change_request_id {
                sqlx::query(
                    "UPDATE change_requests SET state = 'cancelled', updated_at = $2 WHERE id = $1 AND state IN ('open', 'approved')",
                )
                .bind(cr.to_string())
                .bind(now.to_string())
                .execute(&mut *tx)
                .await?;
            }
            tx.append_event(event).await?;
        }
        cancelled
    })
}

/// Schedules due at `now`, oldest first.
pub async fn due_schedules(db: &Db, now: Timestamp, limit: i64) -> Result<Vec<Uuid>, Error> {
    let ids: Vec<String> = on_read!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM flag_schedules WHERE state = 'pending' AND at <= $1 ORDER BY at LIMIT $2"
    )
    .bind(now.to_string())
    .bind(limit)
    .fetch_all(pool)
    .await)?;
    ids.iter().map(|id| row::id(id)).collect()
}

/// When the next pending schedule is due.
pub async fn next_schedule(db: &Db) -> Result<Option<Timestamp>, Error> {
    let next: Option<String> =
        on_read!(db, |pool| sqlx::query_scalar("SELECT MIN(at) FROM flag_schedules WHERE state = 'pending'")
            .fetch_one(pool)
            .await)?;
    row::opt_time(next.as_deref())
}

#[derive(FromRow)]
struct DueRow {
    workspace_id: String,
    flag_id: String,
    flag_key: String,
    project_key: String,
    environment_id: String,
    environment_key: String,
    enabled: bool,
    at: String,
    change_request_id: Option<String>,
    created_by: Option<String>,
}

/// What running a schedule did.
#[derive(Debug, PartialEq, Eq)]
pub enum Ran {
    /// Toggled (or already in that state), with the event written.
    Toggled,
    /// It would have enabled a killed flag.
    Failed,
    /// Another server ran it, or it was cancelled.
    NotDue,
}

/// Runs one schedule exactly once: the `pending → done` transition is the guard, in the same
/// transaction as the toggle and its `flag.scheduled_toggle` event. `event` builds the event
/// from the toggle's details.
pub async fn run_schedule(
    db: &Db,
    id: Uuid,
    now: Timestamp,
    event: impl Fn(&ScheduledToggle, &FlagEnvironment, &FlagEnvironment) -> NewEvent,
) -> Result<Ran, Error> {
    in_flags_tx!(db, |tx| {
        let claimed = sqlx::query(
            "UPDATE flag_schedules SET state = 'done', executed_at = $2 WHERE id = $1 AND state = 'pending'",
        )
        .bind(id.to_string())
        .bind(now.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            return Ok(Ran::NotDue);
        }
        let due: DueRow = sqlx::query_as(
            "SELECT s.workspace_id, s.flag_id, f.key AS flag_key, p.key AS project_key, s.environment_id, \
             e.key AS environment_key, s.enabled, s.at, s.change_request_id, s.created_by FROM flag_schedules s \
             JOIN flags f ON f.id = s.flag_id JOIN projects p ON p.id = f.project_id \
             JOIN environments e ON e.id = s.environment_id WHERE s.id = $1",
        )
        .bind(id.to_string())
        .fetch_one(&mut *tx)
        .await?;
        let toggle = ScheduledToggle {
            schedule_id: id,
            workspace_id: row::id(&due.workspace_id)?,
            flag_key: due.flag_key,
            project_key: due.project_key,
            environment: due.environment_key.clone(),
            enabled: due.enabled,
            at: row::time(&due.at)?,
            actor: due.created_by.as_deref().map(row::id).transpose()?,
        };
        let before = read_config!(tx, due.flag_id, due.environment_id, &due.environment_key)?;
        if due.enabled && before.killed.is_some() {
            // Committed (not an early return, which would roll back): it must not run again.
            sqlx::query("UPDATE flag_schedules SET state = 'failed', error = $2 WHERE id = $1")
                .bind(id.to_string())
                .bind("the flag is killed in this environment")
                .execute(&mut *tx)
                .await?;
            Ran::Failed
        } else {
            let mut after = before.clone();
            after.enabled = due.enabled;
            let write = ConfigWrite {
                flag_id: row::id(&due.flag_id)?,
                environment_id: row::id(&due.environment_id)?,
                config: &after,
                expected: before.version,
            };
            if write_config!(tx, &write, now) == 0 {
                // Changed between the read and the write (another node): roll back, run later.
                return Err(Error::conflict("the configuration changed while the schedule ran"));
            }
            if let Some(cr) = &due.change_request_id {
                sqlx::query(
                    "UPDATE change_requests SET state = 'applied', applied_at = $2, updated_at = $2 WHERE id = $1",
                )
                .bind(cr)
                .bind(now.to_string())
                .execute(&mut *tx)
                .await?;
            }
            tx.append_event(&event(&toggle, &before, &after)).await?;
            Ran::Toggled
        }
    })
}

/// The details of a schedule that is running.
#[derive(Debug, Clone)]
pub struct ScheduledToggle {
    pub schedule_id: Uuid,
    pub workspace_id: Uuid,
    pub flag_key: String,
    pub project_key: String,
    pub environment: String,
    pub enabled: bool,
    pub at: Timestamp,
    pub actor: Option<Uuid>,
}
