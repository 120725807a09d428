//! SQL for projects, environments, flags and their per-environment configuration.
//!
//! Writes that follow a read (updates, toggles) carry the version they read and change
//! nothing when it moved (`… WHERE version = $n`): the caller answers 412, so concurrent
//! writers never overwrite each other unseen, on both backends.

use signalbox_core::Timestamp;
use signalbox_core::flags::{Strategy, Variant};
use sqlx::FromRow;
use uuid::Uuid;

use super::model::{Environment, Flag, FlagEnvironment, Kill, Project};
use crate::actions::{StepGuard, hold_step};
use crate::db::{Backend, Db, TxExt, row};
use crate::events::NewEvent;
use crate::http::PageRequest;
use crate::{Error, in_flags_tx, on_read};

fn corrupt(what: &str, e: impl std::fmt::Display) -> Error {
    Error::internal(anyhow::anyhow!("stored {what}: {e}"))
}

#[derive(FromRow)]
struct ProjectRow {
    id: String,
    key: String,
    name: String,
    description: Option<String>,
    created_at: String,
    updated_at: String,
}

fn project(r: ProjectRow) -> Result<Project, Error> {
    Ok(Project {
        id: row::id(&r.id)?,
        key: r.key,
        name: r.name,
        description: r.description,
        created_at: row::time(&r.created_at)?,
        updated_at: row::time(&r.updated_at)?,
    })
}

macro_rules! project_select {
    () => {
        "SELECT id, key, name, description, created_at, updated_at FROM projects"
    };
}

pub async fn list_projects(db: &Db, workspace_id: Uuid, page: PageRequest) -> Result<(Vec<Project>, i64), Error> {
    let list = concat!(project_select!(), " WHERE workspace_id = $1 ORDER BY key LIMIT $2 OFFSET $3");
    let ws = workspace_id.to_string();
    let (rows, total): (Vec<ProjectRow>, i64) = on_read!(db, |pool| {
        let rows = sqlx::query_as(list).bind(&ws).bind(page.limit).bind(page.offset).fetch_all(pool).await?;
        let total = sqlx::query_scalar("SELECT COUNT(*) FROM projects WHERE workspace_id = $1")
            .bind(&ws)
            .fetch_one(pool)
            .await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    Ok((rows.into_iter().map(project).collect::<Result<_, _>>()?, total))
}

pub async fn find_project(db: &Db, workspace_id: Uuid, key: &str) -> Result<Option<Project>, Error> {
    let sql = concat!(project_select!(), " WHERE workspace_id = $1 AND key = $2");
    let found: Option<ProjectRow> =
        on_read!(db, |pool| sqlx::query_as(sql).bind(workspace_id.to_string()).bind(key).fetch_optional(pool).await)?;
    found.map(project).transpose()
}

pub async fn create_project(db: &Db, workspace_id: Uuid, p: &Project, event: &NewEvent) -> Result<(), Error> {
    in_flags_tx!(db, |tx| {
        sqlx::query(
            "INSERT INTO projects (id, workspace_id, key, name, description, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(p.id.to_string())
        .bind(workspace_id.to_string())
        .bind(&p.key)
        .bind(&p.name)
        .bind(&p.description)
        .bind(p.created_at.to_string())
        .execute(&mut *tx)
        .await?;
        tx.append_event(event).await?;
    })
}

pub async fn update_project(db: &Db, p: &Project, event: &NewEvent) -> Result<(), Error> {
    in_flags_tx!(db, |tx| {
        sqlx::query("UPDATE projects SET name = $2, description = $3, updated_at = $4 WHERE id = $1")
            .bind(p.id.to_string())
            .bind(&p.name)
            .bind(&p.description)
            .bind(p.updated_at.to_string())
            .execute(&mut *tx)
            .await?;
        tx.append_event(event).await?;
    })
}

/// Deletes an empty project; false when it still has flags.
pub async fn delete_project(db: &Db, id: Uuid, event: &NewEvent) -> Result<bool, Error> {
    in_flags_tx!(db, |tx| {
        let flags: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM flags WHERE project_id = $1")
            .bind(id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        if flags > 0 {
            false
        } else {
            sqlx::query("DELETE FROM projects WHERE id = $1").bind(id.to_string()).execute(&mut *tx).await?;
            tx.append_event(event).await?;
            true
        }
    })
}

#[derive(FromRow)]
struct EnvironmentRow {
    id: String,
    key: String,
    name: String,
    #[sqlx(rename = "type")]
    environment_type: String,
    sort_order: i64,
    requires_approval: bool,
    approvals_required: i64,
    created_at: String,
    updated_at: String,
}

fn environment(r: EnvironmentRow) -> Result<Environment, Error> {
    Ok(Environment {
        id: row::id(&r.id)?,
        key: r.key,
        name: r.name,
        environment_type: r.environment_type,
        sort_order: r.sort_order,
        requires_approval: r.requires_approval,
        approvals_required: r.approvals_required,
        created_at: row::time(&r.created_at)?,
        updated_at: row::time(&r.updated_at)?,
    })
}

macro_rules! environment_select {
    () => {
        "SELECT id, key, name, type, sort_order, requires_approval, approvals_required, created_at, updated_at \
         FROM environments"
    };
}

/// Every environment of a workspace, in sort order.
pub async fn list_environments(db: &Db, workspace_id: Uuid) -> Result<Vec<Environment>, Error> {
    let sql = concat!(environment_select!(), " WHERE workspace_id = $1 ORDER BY sort_order, key");
    let rows: Vec<EnvironmentRow> =
        on_read!(db, |pool| sqlx::query_as(sql).bind(workspace_id.to_string()).fetch_all(pool).await)?;
    rows.into_iter().map(environment).collect()
}

macro_rules! insert_environment {
    ($tx:expr, $workspace_id:expr, $e:expr) => {
        sqlx::query(
            "INSERT INTO environments (id, workspace_id, key, name, type, sort_order, requires_approval, \
             approvals_required, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind($e.id.to_string())
        .bind($workspace_id.to_string())
        .bind(&$e.key)
        .bind(&$e.name)
        .bind(&$e.environment_type)
        .bind($e.sort_order)
        .bind($e.requires_approval)
        .bind($e.approvals_required)
        .bind($e.created_at.to_string())
        .execute(&mut *$tx)
        .await?
    };
}

pub async fn create_environment(db: &Db, workspace_id: Uuid, e: &Environment, event: &NewEvent) -> Result<(), Error> {
    in_flags_tx!(db, |tx| {
        insert_environment!(tx, workspace_id, e);
        tx.append_event(event).await?;
    })
}

pub async fn update_environment(db: &Db, e: &Environment, event: &NewEvent) -> Result<(), Error> {
    in_flags_tx!(db, |tx| {
        sqlx::query(
            "UPDATE environments SET name = $2, type = $3, sort_order = $4, requires_approval = $5, \
             approvals_required = $6, updated_at = $7 WHERE id = $1",
        )
        .bind(e.id.to_string())
        .bind(&e.name)
        .bind(&e.environment_type)
        .bind(e.sort_order)
        .bind(e.requires_approval)
        .bind(e.approvals_required)
        .bind(e.updated_at.to_string())
        .execute(&mut *tx)
        .await?;
        tx.append_event(event).await?;
    })
}

/// Deletes an environment with every flag's configuration there. Unless `force`, refuses
/// (false) while a flag is enabled in it.
pub async fn delete_environment(db: &Db, id: Uuid, force: bool, event: &NewEvent) -> Result<bool, Error> {
    in_flags_tx!(db, |tx| {
        let enabled: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM flag_environments WHERE environment_id = $1 AND enabled")
                .bind(id.to_string())
                .fetch_one(&mut *tx)
                .await?;
        if enabled > 0 && !force {
            false
        } else {
            sqlx::query("DELETE FROM environments WHERE id = $1").bind(id.to_string()).execute(&mut *tx).await?;
            tx.append_event(event).await?;
            true
        }
    })
}

/// The default project and environments every workspace starts with, for workspaces that
/// predate flags (new workspaces get them when they are created).
pub async fn ensure_defaults(db: &Db, now: Timestamp) -> Result<(), Error> {
    let missing: Vec<String> = on_read!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM workspaces w WHERE NOT EXISTS (SELECT 1 FROM projects p WHERE p.workspace_id = w.id) \
         AND NOT EXISTS (SELECT 1 FROM environments e WHERE e.workspace_id = w.id)"
    )
    .fetch_all(pool)
    .await)?;
    for workspace in missing {
        let workspace_id = row::id(&workspace)?;
        in_flags_tx!(db, |tx| tx.insert_flag_defaults(workspace_id, now).await?)?;
    }
    Ok(())
}

#[derive(FromRow)]
struct FlagRow {
    id: String,
    project_key: String,
    key: String,
    name: String,
    description: Option<String>,
    #[sqlx(rename = "type")]
    flag_type: String,
    tags: String,
    impression_data: bool,
    archived_at: Option<String>,
    version: i64,
    created_at: String,
    updated_at: String,
}

#[derive(FromRow)]
struct FlagEnvironmentRow {
    flag_id: String,
    environment_key: String,
    enabled: Option<bool>,
    strategies: Option<String>,
    variants: Option<String>,
    version: Option<i64>,
    killed_at: Option<String>,
    killed_by: Option<String>,
    kill_reason: Option<String>,
    updated_at: Option<String>,
}

fn flag_environment(r: FlagEnvironmentRow) -> Result<(String, FlagEnvironment), Error> {
    let killed = match (r.killed_at, r.kill_reason) {
        (Some(at), Some(reason)) => {
            Some(Kill { at: row::time(&at)?, by: r.killed_by.as_deref().map(row::id).transpose()?, reason })
        }
        _ => None,
    };
    let strategies: Vec<Strategy> = match r.strategies {
        Some(text) => serde_json::from_str(&text).map_err(|e| corrupt("strategies", e))?,
        None => Vec::new(),
    };
    let variants: Vec<Variant> = match r.variants {
        Some(text) => serde_json::from_str(&text).map_err(|e| corrupt("variants", e))?,
        None => Vec::new(),
    };
    let config = FlagEnvironment {
        environment: r.environment_key,
        enabled: r.enabled.unwrap_or(false),
        strategies,
        variants,
        killed,
        version: r.version.unwrap_or(0),
        updated_at: row::opt_time(r.updated_at.as_deref())?,
    };
    Ok((r.flag_id, config))
}

macro_rules! flag_select {
    () => {
        "SELECT f.id, p.key AS project_key, f.key, f.name, f.description, f.type, f.tags, f.impression_data, \
         f.archived_at, f.version, f.created_at, f.updated_at FROM flags f JOIN projects p ON p.id = f.project_id"
    };
}

/// Every environment's configuration of these flags (defaults where never written).
macro_rules! environments_of_flags {
    () => {
        "SELECT f.id AS flag_id, e.key AS environment_key, fe.enabled, fe.strategies, fe.variants, fe.version, \
         fe.killed_at, fe.killed_by, fe.kill_reason, fe.updated_at \
         FROM flags f JOIN environments e ON e.workspace_id = f.workspace_id \
         LEFT JOIN flag_environments fe ON fe.flag_id = f.id AND fe.environment_id = e.id"
    };
}

fn assemble(rows: Vec<FlagRow>, configs: Vec<FlagEnvironmentRow>) -> Result<Vec<Flag>, Error> {
    let mut configs: Vec<(String, FlagEnvironment)> =
        configs.into_iter().map(flag_environment).collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|r| {
            let archived_at = row::opt_time(r.archived_at.as_deref())?;
            let environments = configs.extract_if(.., |(flag, _)| *flag == r.id).map(|(_, c)| c).collect();
            Ok(Flag {
                id: row::id(&r.id)?,
                project: r.project_key,
                key: r.key,
                name: r.name,
                description: r.description,
                flag_type: r.flag_type,
                tags: serde_json::from_str(&r.tags).map_err(|e| corrupt("tags", e))?,
                impression_data: r.impression_data,
                archived: archived_at.is_some(),
                archived_at,
                version: r.version,
                created_at: row::time(&r.created_at)?,
                updated_at: row::time(&r.updated_at)?,
                environments,
                usage: None,
            })
        })
        .collect()
}

/// Which flags of a project to list.
#[derive(Debug, Clone, Copy)]
pub struct FlagQuery<'a> {
    pub project_id: Uuid,
    pub tag: Option<&'a str>,
    /// Only flags enabled in this environment (its key).
    pub enabled_in: Option<&'a str>,
    /// Case-insensitive search in key, name and description.
    pub q: Option<&'a str>,
    pub archived: bool,
    pub page: PageRequest,
}

pub async fn list_flags(db: &Db, query: FlagQuery<'_>) -> Result<(Vec<Flag>, i64), Error> {
    // Tags are a JSON array of strings: the quoted tag is searched as an exact substring
    // (instr/strpos, not LIKE, whose case and wildcards differ between the backends).
    macro_rules! filter {
        ($contains:literal) => {
            concat!(
                " WHERE f.project_id = $1 AND ((f.archived_at IS NOT NULL) = $2) AND ($3 IS NULL OR ",
                $contains,
                " > 0) AND ($4 IS NULL OR lower(f.key) LIKE $4 ESCAPE '\\' OR lower(f.name) LIKE $4 ESCAPE '\\' \
                 OR lower(COALESCE(f.description, '')) LIKE $4 ESCAPE '\\') \
                 AND ($5 IS NULL OR EXISTS (SELECT 1 FROM flag_environments fe JOIN environments e ON e.id = fe.environment_id \
                 WHERE fe.flag_id = f.id AND fe.enabled AND e.key = $5))"
            )
        };
    }
    let (list, count) = match db.backend() {
        Backend::Sqlite => (
            concat!(flag_select!(), filter!("instr(f.tags, $3)"), " ORDER BY f.key LIMIT $6 OFFSET $7"),
            concat!("SELECT COUNT(*) FROM flags f", filter!("instr(f.tags, $3)")),
        ),
        Backend::Postgres => (
            concat!(flag_select!(), filter!("strpos(f.tags, $3)"), " ORDER BY f.key LIMIT $6 OFFSET $7"),
            concat!("SELECT COUNT(*) FROM flags f", filter!("strpos(f.tags, $3)")),
        ),
    };
    let configs = concat!(environments_of_flags!(), " WHERE f.project_id = $1 ORDER BY e.sort_order, e.key");
    // Tags are a JSON array of strings; match the quoted tag.
    let tag = query.tag.map(|t| serde_json::to_string(t).expect("a string serialises"));
    let q = query.q.map(|q| {
        let escaped = q.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        format!("%{escaped}%")
    });
    let project = query.project_id.to_string();
    let (rows, total, config_rows): (Vec<FlagRow>, i64, Vec<FlagEnvironmentRow>) = on_read!(db, |pool| {
        let rows = sqlx::query_as(list)
            .bind(&project)
            .bind(query.archived)
            .bind(&tag)
            .bind(&q)
            .bind(query.enabled_in)
            .bind(query.page.limit)
            .bind(query.page.offset)
            .fetch_all(pool)
            .await?;
        let total = sqlx::query_scalar(count)
            .bind(&project)
            .bind(query.archived)
            .bind(&tag)
            .bind(&q)
            .bind(query.enabled_in)
            .fetch_one(pool)
            .await?;
        let config_rows = sqlx::query_as(configs).bind(&project).fetch_all(pool).await?;
        Ok::<_, sqlx::Error>((rows, total, config_rows))
    })?;
    Ok((assemble(rows, config_rows)?, total))
}

pub async fn find_flag(db: &Db, project_id: Uuid, key: &str) -> Result<Option<Flag>, Error> {
    let one = concat!(flag_select!(), " WHERE f.project_id = $1 AND f.key = $2");
    let configs =
        concat!(environments_of_flags!(), " WHERE f.project_id = $1 AND f.key = $2 ORDER BY e.sort_order, e.key");
    let project = project_id.to_string();
    let (rows, config_rows): (Vec<FlagRow>, Vec<FlagEnvironmentRow>) = on_read!(db, |pool| {
        let config_rows = sqlx::query_as(configs).bind(&project).bind(key).fetch_all(pool).await?;
        let rows = sqlx::query_as(one).bind(&project).bind(key).fetch_all(pool).await?;
        Ok::<_, sqlx::Error>((rows, config_rows))
    })?;
    Ok(assemble(rows, config_rows)?.into_iter().next())
}

pub async fn create_flag(
    db: &Db,
    workspace_id: Uuid,
    project_id: Uuid,
    flag: &Flag,
    created_by: Uuid,
    event: &NewEvent,
) -> Result<(), Error> {
    in_flags_tx!(db, |tx| {
        sqlx::query(
            "INSERT INTO flags (id, workspace_id, project_id, key, name, description, type, tags, impression_data, \
             created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        )
        .bind(flag.id.to_string())
        .bind(workspace_id.to_string())
        .bind(project_id.to_string())
        .bind(&flag.key)
        .bind(&flag.name)
        .bind(&flag.description)
        .bind(&flag.flag_type)
        .bind(serde_json::to_string(&flag.tags).expect("strings serialise"))
        .bind(flag.impression_data)
        .bind(created_by.to_string())
        .bind(flag.created_at.to_string())
        .execute(&mut *tx)
        .await?;
        tx.append_event(event).await?;
    })
}

/// Stores a flag's own fields if its version is still `expected`; false when it moved.
pub async fn update_flag(db: &Db, flag: &Flag, expected: i64, event: &NewEvent) -> Result<bool, Error> {
    in_flags_tx!(db, |tx| {
        let changed = sqlx::query(
            "UPDATE flags SET name = $3, description = $4, type = $5, tags = $6, impression_data = $7, \
             archived_at = $8, updated_at = $9, version = version + 1 WHERE id = $1 AND version = $2",
        )
        .bind(flag.id.to_string())
        .bind(expected)
        .bind(&flag.name)
        .bind(&flag.description)
        .bind(&flag.flag_type)
        .bind(serde_json::to_string(&flag.tags).expect("strings serialise"))
        .bind(flag.impression_data)
        .bind(flag.archived_at.map(|t| t.to_string()))
        .bind(flag.updated_at.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if changed {
            tx.append_event(event).await?;
        }
        changed
    })
}

pub async fn delete_flag(db: &Db, id: Uuid, event: &NewEvent) -> Result<(), Error> {
    in_flags_tx!(db, |tx| {
        sqlx::query("DELETE FROM flags WHERE id = $1").bind(id.to_string()).execute(&mut *tx).await?;
        tx.append_event(event).await?;
    })
}

/// A configuration to store in one environment.
#[derive(Debug)]
pub struct ConfigWrite<'a> {
    pub flag_id: Uuid,
    pub environment_id: Uuid,
    pub config: &'a FlagEnvironment,
    /// The version the change was computed from (0: never written).
    pub expected: i64,
}

/// Writes one configuration in a transaction if it is still at its expected version;
/// evaluates to the number of rows written (0: it moved).
macro_rules! write_config {
    ($tx:expr, $write:expr, $now:expr) => {{
        let write = $write;
        let c = write.config;
        let (strategies, variants) = (
            serde_json::to_string(&c.strategies).expect("strategies serialise"),
            serde_json::to_string(&c.variants).expect("variants serialise"),
        );
        let kill = c.killed.as_ref();
        let written = if write.expected == 0 {
            sqlx::query(
                "INSERT INTO flag_environments (flag_id, environment_id, enabled, strategies, variants, version, \
                 killed_at, killed_by, kill_reason, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9) \
                 ON CONFLICT (flag_id, environment_id) DO NOTHING",
            )
            .bind(write.flag_id.to_string())
            .bind(write.environment_id.to_string())
            .bind(c.enabled)
            .bind(&strategies)
            .bind(&variants)
            .bind(kill.map(|k| k.at.to_string()))
            .bind(kill.and_then(|k| k.by).map(|id| id.to_string()))
            .bind(kill.map(|k| k.reason.clone()))
            .bind($now.to_string())
            .execute(&mut *$tx)
            .await?
        } else {
            sqlx::query(
                "UPDATE flag_environments SET enabled = $4, strategies = $5, variants = $6, version = version + 1, \
                 killed_at = $7, killed_by = $8, kill_reason = $9, updated_at = $10 \
                 WHERE flag_id = $1 AND environment_id = $2 AND version = $3",
            )
            .bind(write.flag_id.to_string())
            .bind(write.environment_id.to_string())
            .bind(write.expected)
            .bind(c.enabled)
            .bind(&strategies)
            .bind(&variants)
            .bind(kill.map(|k| k.at.to_string()))
            .bind(kill.and_then(|k| k.by).map(|id| id.to_string()))
            .bind(kill.map(|k| k.reason.clone()))
            .bind($now.to_string())
            .execute(&mut *$tx)
            .await?
        };
        written.rows_affected()
    }};
}
pub(crate) use write_config;

/// Stores configurations (several for a kill or revive) if each is still at its expected
/// version, with the events, in one transaction; false (and nothing written) when any moved.
/// With a `guard` (an action run's step), the step advances in the same transaction.
pub async fn save_configs(
    db: &Db,
    writes: &[ConfigWrite<'_>],
    now: Timestamp,
    events: &[NewEvent],
    guard: Option<StepGuard>,
) -> Result<bool, Error> {
    in_flags_tx!(db, |tx| {
        hold_step!(tx, guard);
        for write in writes {
            if write_config!(tx, write, now) == 0 {
                // Dropping the transaction rolls back what this call wrote so far.
                return Ok(false);
            }
        }
        for event in events {
            tx.append_event(event).await?;
        }
        true
    })
}

#[derive(FromRow)]
pub(crate) struct StoredConfig {
    pub enabled: bool,
    pub strategies: String,
    pub variants: String,
    pub version: i64,
    pub killed_at: Option<String>,
    pub killed_by: Option<String>,
    pub kill_reason: Option<String>,
    pub updated_at: String,
}

/// Reads one configuration inside a transaction (the default when never written).
macro_rules! read_config {
    ($tx:expr, $flag_id:expr, $environment_id:expr, $environment_key:expr) => {{
        let stored: Option<$crate::flags::store::StoredConfig> = sqlx::query_as(
            "SELECT enabled, strategies, variants, version, killed_at, killed_by, kill_reason, updated_at \
             FROM flag_environments WHERE flag_id = $1 AND environment_id = $2",
        )
        .bind($flag_id.to_string())
        .bind($environment_id.to_string())
        .fetch_optional(&mut *$tx)
        .await?;
        $crate::flags::store::config_from(stored, $environment_key)
    }};
}
pub(crate) use read_config;

/// A stored configuration as the API shows it (`None`: never written, the defaults).
pub(crate) fn config_from(stored: Option<StoredConfig>, environment: &str) -> Result<FlagEnvironment, Error> {
    let Some(s) = stored else {
        return Ok(FlagEnvironment {
            environment: environment.to_owned(),
            enabled: false,
            strategies: Vec::new(),
            variants: Vec::new(),
            killed: None,
            version: 0,
            updated_at: None,
        });
    };
    let row = FlagEnvironmentRow {
        flag_id: String::new(),
        environment_key: environment.to_owned(),
        enabled: Some(s.enabled),
        strategies: Some(s.strategies),
        variants: Some(s.variants),
        version: Some(s.version),
        killed_at: s.killed_at,
        killed_by: s.killed_by,
        kill_reason: s.kill_reason,
        updated_at: Some(s.updated_at),
    };
    flag_environment(row).map(|(_, config)| config)
}
