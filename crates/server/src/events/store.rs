//! Reading the event log.

use sqlx::FromRow;
use uuid::Uuid;

use super::model::Event;
use signalbox_core::Timestamp;

use crate::db::{Backend, Db, row};
use crate::{Error, on_read};

#[derive(FromRow)]
struct EventRow {
    seq: i64,
    id: String,
    workspace_id: String,
    #[sqlx(rename = "type")]
    event_type: String,
    actor_id: Option<String>,
    data: String,
    created_at: String,
}

impl TryFrom<EventRow> for Event {
    type Error = Error;
    fn try_from(r: EventRow) -> Result<Self, Error> {
        Ok(Event {
            seq: r.seq,
            id: row::id(&r.id)?,
            event_type: r.event_type,
            workspace_id: row::id(&r.workspace_id)?,
            actor_id: r.actor_id.as_deref().map(row::id).transpose()?,
            data: serde_json::value::RawValue::from_string(r.data)
                .map_err(|e| Error::internal(anyhow::anyhow!("stored event data: {e}")))?,
            created_at: row::time(&r.created_at)?,
        })
    }
}

/// Up to `limit` events of a workspace with `seq` below `before`, newest first.
/// What to list from the log: every filter is optional.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventQuery<'a> {
    pub event_type: Option<&'a str>,
    /// Events about this project (its key, `data.project`).
    pub project: Option<&'a str>,
    /// Events about this flag (its key, `data.flag_key`).
    pub flag: Option<&'a str>,
    pub actor: Option<Uuid>,
    /// `created_at >= since`.
    pub since: Option<Timestamp>,
    /// `created_at < until`.
    pub until: Option<Timestamp>,
    pub before: Option<i64>,
    pub limit: i64,
}

macro_rules! list_events_sql {
    ($project:literal, $flag:literal) => {
        concat!(
            "SELECT seq, id, workspace_id, type, actor_id, data, created_at FROM events \
             WHERE workspace_id = $1 AND ($2 IS NULL OR type = $2) AND ($3 IS NULL OR seq < $3) \
             AND ($4 IS NULL OR actor_id = $4) AND ($5 IS NULL OR created_at >= $5) AND ($6 IS NULL OR created_at < $6) \
             AND ($7 IS NULL OR ",
            $project,
            " = $7) AND ($8 IS NULL OR ",
            $flag,
            " = $8) ORDER BY seq DESC LIMIT $9"
        )
    };
}

/// A workspace's events, newest first.
pub async fn list(db: &Db, workspace_id: Uuid, query: EventQuery<'_>) -> Result<Vec<Event>, Error> {
    let sql = match db.backend() {
        Backend::Sqlite => list_events_sql!("json_extract(data, '$.project')", "json_extract(data, '$.flag_key')"),
        Backend::Postgres => list_events_sql!("(data::json ->> 'project')", "(data::json ->> 'flag_key')"),
    };
    let rows: Vec<EventRow> = on_read!(db, |pool| sqlx::query_as(sql)
        .bind(workspace_id.to_string())
        .bind(query.event_type)
        .bind(query.before)
        .bind(query.actor.map(|id| id.to_string()))
        .bind(query.since.map(|t| t.to_string()))
        .bind(query.until.map(|t| t.to_string()))
        .bind(query.project)
        .bind(query.flag)
        .bind(query.limit)
        .fetch_all(pool)
        .await)?;
    rows.into_iter().map(Event::try_from).collect()
}
