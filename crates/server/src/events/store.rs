//! Reading the event log.

use sqlx::FromRow;
use uuid::Uuid;

use super::model::Event;
use crate::db::{Db, row};
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
pub async fn list(
    db: &Db,
    workspace_id: Uuid,
    event_type: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Event>, Error> {
    let sql = "SELECT seq, id, workspace_id, type, actor_id, data, created_at FROM events \
               WHERE workspace_id = $1 AND ($2 IS NULL OR type = $2) AND ($3 IS NULL OR seq < $3) \
               ORDER BY seq DESC LIMIT $4";
    let rows: Vec<EventRow> = on_read!(db, |pool| sqlx::query_as(sql)
        .bind(workspace_id.to_string())
        .bind(event_type)
        .bind(before)
        .bind(limit)
        .fetch_all(pool)
        .await)?;
    rows.into_iter().map(Event::try_from).collect()
}
