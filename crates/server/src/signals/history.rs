//! SQL for the signals an endpoint received: history pages and the live view's reads.

use sqlx::FromRow;
use uuid::Uuid;

use super::model::SignalRecord;
use crate::db::{Db, row};
use crate::{Error, on_read};

#[derive(FromRow)]
struct SignalRow {
    int_id: i64,
    id: String,
    endpoint_id: String,
    endpoint_int_id: i64,
    token_id: Option<String>,
    token_name: String,
    payload: String,
    received_at: String,
    event_seq: i64,
}

fn signal_record(r: SignalRow) -> Result<SignalRecord, Error> {
    Ok(SignalRecord {
        int_id: r.int_id,
        id: row::id(&r.id)?,
        endpoint_id: row::id(&r.endpoint_id)?,
        endpoint_int_id: r.endpoint_int_id,
        token_id: r.token_id.as_deref().map(row::id).transpose()?,
        token_name: r.token_name,
        payload: serde_json::value::RawValue::from_string(r.payload)
            .map_err(|e| Error::internal(anyhow::anyhow!("stored payload: {e}")))?,
        received_at: row::time(&r.received_at)?,
        seq: r.event_seq,
    })
}

macro_rules! signal_select {
    () => {
        "SELECT s.int_id, s.id, s.endpoint_id, e.int_id AS endpoint_int_id, s.token_id, s.token_name, s.payload, \
         s.received_at, s.event_seq FROM signals s JOIN signal_endpoints e ON e.id = s.endpoint_id"
    };
}

/// Which signals of an endpoint to list, newest first.
#[derive(Debug, Clone, Copy)]
pub struct SignalQuery<'a> {
    pub endpoint_id: Uuid,
    /// Only those sent with this token (by id).
    pub token_id: Option<&'a str>,
    /// Only those committed before this `seq`: the cursor.
    pub before: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

/// A page of signals, newest first, and the total matching the filter (without the cursor).
pub async fn list_signals(db: &Db, query: SignalQuery<'_>) -> Result<(Vec<SignalRecord>, i64), Error> {
    macro_rules! filter {
        () => {
            " WHERE s.endpoint_id = $1 AND ($2 IS NULL OR s.token_id = $2)"
        };
    }
    let list = concat!(
        signal_select!(),
        filter!(),
        " AND ($3 IS NULL OR s.event_seq < $3) ORDER BY s.event_seq DESC LIMIT $4 OFFSET $5"
    );
    let count = concat!("SELECT COUNT(*) FROM signals s", filter!());
    let endpoint = query.endpoint_id.to_string();
    let (rows, total): (Vec<SignalRow>, i64) = on_read!(db, |pool| {
        let rows = sqlx::query_as(list)
            .bind(&endpoint)
            .bind(query.token_id)
            .bind(query.before)
            .bind(query.limit)
            .bind(query.offset)
            .fetch_all(pool)
            .await?;
        let total = sqlx::query_scalar(count).bind(&endpoint).bind(query.token_id).fetch_one(pool).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    Ok((rows.into_iter().map(signal_record).collect::<Result<_, _>>()?, total))
}

/// Signals of an endpoint committed after event `after_seq`, oldest first: the live view.
pub async fn signals_after(db: &Db, endpoint_id: Uuid, after_seq: i64, limit: i64) -> Result<Vec<SignalRecord>, Error> {
    let sql = concat!(signal_select!(), " WHERE s.endpoint_id = $1 AND s.event_seq > $2 ORDER BY s.event_seq LIMIT $3");
    let rows: Vec<SignalRow> = on_read!(db, |pool| sqlx::query_as(sql)
        .bind(endpoint_id.to_string())
        .bind(after_seq)
        .bind(limit)
        .fetch_all(pool)
        .await)?;
    rows.into_iter().map(signal_record).collect()
}

/// The newest event `seq` committed so far (0 when none): where a new live view starts.
pub async fn latest_seq(db: &Db) -> Result<i64, Error> {
    Ok(on_read!(db, |pool| sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events").fetch_one(pool).await)?)
}
