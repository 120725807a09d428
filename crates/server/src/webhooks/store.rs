//! SQL for webhooks and the delivery log the API shows. (The delivery engine's own SQL —
//! claiming and recording attempts — is in `delivery`.)

use signalbox_core::Timestamp;
use sqlx::FromRow;
use uuid::Uuid;

use super::model::{Attempt, Delivery, DeliveryStatus, WebhookRecord};
use crate::db::{Db, TxExt, row};
use crate::events::NewEvent;
use crate::http::PageRequest;
use crate::{Error, in_write_tx, on_read};

#[derive(FromRow)]
struct WebhookRow {
    id: String,
    workspace_id: String,
    name: String,
    url: String,
    secret: Option<String>,
    previous_secret: Option<String>,
    previous_secret_until: Option<String>,
    events: String,
    enabled: bool,
    retry_schedule: Option<String>,
    created_at: String,
    updated_at: String,
    last_success_at: Option<String>,
    last_failure_at: Option<String>,
    consecutive_failures: i64,
    disabled_reason: Option<String>,
}

macro_rules! webhook_select {
    () => {
        "SELECT id, workspace_id, name, url, secret, previous_secret, previous_secret_until, events, enabled, \
         retry_schedule, created_at, updated_at, last_success_at, last_failure_at, consecutive_failures, \
         disabled_reason FROM webhooks"
    };
}

fn json_list(text: &str) -> Result<Vec<String>, Error> {
    serde_json::from_str(text).map_err(|e| Error::internal(anyhow::anyhow!("stored list {text:?}: {e}")))
}

fn webhook_record(r: WebhookRow) -> Result<WebhookRecord, Error> {
    Ok(WebhookRecord {
        id: row::id(&r.id)?,
        workspace_id: row::id(&r.workspace_id)?,
        name: r.name,
        url: r.url,
        secret: r.secret,
        previous_secret: r.previous_secret,
        previous_secret_until: row::opt_time(r.previous_secret_until.as_deref())?,
        events: json_list(&r.events)?,
        enabled: r.enabled,
        retry_schedule: r.retry_schedule.as_deref().map(json_list).transpose()?,
        created_at: row::time(&r.created_at)?,
        updated_at: row::time(&r.updated_at)?,
        last_success_at: row::opt_time(r.last_success_at.as_deref())?,
        last_failure_at: row::opt_time(r.last_failure_at.as_deref())?,
        consecutive_failures: r.consecutive_failures,
        disabled_reason: r.disabled_reason,
    })
}

fn to_json(list: &[String]) -> String {
    serde_json::to_string(list).expect("a list of strings serialises")
}

pub async fn create(db: &Db, webhook: &WebhookRecord, created_by: Uuid, event: &NewEvent) -> Result<(), Error> {
    let sql = "INSERT INTO webhooks (id, workspace_id, name, url, secret, events, enabled, retry_schedule, created_by, \
               created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)";
    in_write_tx!(db, |tx| {
        sqlx::query(sql)
            .bind(webhook.id.to_string())
            .bind(webhook.workspace_id.to_string())
            .bind(&webhook.name)
            .bind(&webhook.url)
            .bind(&webhook.secret)
            .bind(to_json(&webhook.events))
            .bind(webhook.enabled)
            .bind(webhook.retry_schedule.as_deref().map(to_json))
            .bind(created_by.to_string())
            .bind(webhook.created_at.to_string())
            .execute(&mut *tx)
            .await?;
        tx.append_event(event).await?;
    })
}

/// A page of a workspace's webhooks, oldest first, and their total.
pub async fn list(db: &Db, workspace_id: Uuid, page: PageRequest) -> Result<(Vec<WebhookRecord>, i64), Error> {
    let list = concat!(webhook_select!(), " WHERE workspace_id = $1 ORDER BY created_at, id LIMIT $2 OFFSET $3");
    let workspace = workspace_id.to_string();
    let (rows, total): (Vec<WebhookRow>, i64) = on_read!(db, |pool| {
        let rows = sqlx::query_as(list).bind(&workspace).bind(page.limit).bind(page.offset).fetch_all(pool).await?;
        let total = sqlx::query_scalar("SELECT COUNT(*) FROM webhooks WHERE workspace_id = $1")
            .bind(&workspace)
            .fetch_one(pool)
            .await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    Ok((rows.into_iter().map(webhook_record).collect::<Result<_, _>>()?, total))
}

pub async fn find(db: &Db, workspace_id: Uuid, id: Uuid) -> Result<Option<WebhookRecord>, Error> {
    let sql = concat!(webhook_select!(), " WHERE workspace_id = $1 AND id = $2");
    let row: Option<WebhookRow> = on_read!(db, |pool| sqlx::query_as(sql)
        .bind(workspace_id.to_string())
        .bind(id.to_string())
        .fetch_optional(pool)
        .await)?;
    row.map(webhook_record).transpose()
}

/// Marks a webhook's pending deliveries `cancelled` (it was disabled).
macro_rules! cancel_pending {
    ($tx:expr, $webhook_id:expr, $now:expr) => {
        sqlx::query(
            "UPDATE deliveries SET status = 'cancelled', lease_until = NULL, next_attempt_at = NULL, updated_at = $2 \
             WHERE webhook_id = $1 AND status = 'pending'",
        )
        .bind($webhook_id)
        .bind($now)
        .execute(&mut *$tx)
        .await?
    };
}
pub(crate) use cancel_pending;

/// Stores a changed webhook. Disabling it cancels its pending deliveries; enabling it clears
/// the server's reason for disabling it. False when it no longer exists.
pub async fn update(db: &Db, webhook: &WebhookRecord, was_enabled: bool, event: &NewEvent) -> Result<bool, Error> {
    let sql = "UPDATE webhooks SET name = $3, url = $4, secret = $5, previous_secret = $6, previous_secret_until = $7, \
               events = $8, enabled = $9, retry_schedule = $10, updated_at = $11, disabled_reason = $12, \
               consecutive_dead = CASE WHEN $9 THEN consecutive_dead ELSE 0 END \
               WHERE workspace_id = $1 AND id = $2";
    in_write_tx!(db, |tx| {
        // Deliveries before the webhook row: the recorder locks in that order too, so the two
        // cannot deadlock on Postgres.
        if was_enabled && !webhook.enabled {
            cancel_pending!(tx, webhook.id.to_string(), webhook.updated_at.to_string());
        }
        let changed = sqlx::query(sql)
            .bind(webhook.workspace_id.to_string())
            .bind(webhook.id.to_string())
            .bind(&webhook.name)
            .bind(&webhook.url)
            .bind(&webhook.secret)
            .bind(&webhook.previous_secret)
            .bind(webhook.previous_secret_until.map(|t| t.to_string()))
            .bind(to_json(&webhook.events))
            .bind(webhook.enabled)
            .bind(webhook.retry_schedule.as_deref().map(to_json))
            .bind(webhook.updated_at.to_string())
            .bind(&webhook.disabled_reason)
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

/// Deletes a webhook with its deliveries and attempts. False when it did not exist.
pub async fn delete(db: &Db, workspace_id: Uuid, id: Uuid, event: &NewEvent) -> Result<bool, Error> {
    in_write_tx!(db, |tx| {
        // Deliveries first (the recorder's lock order); their attempts go by cascade.
        sqlx::query(
            "DELETE FROM deliveries WHERE webhook_id = $2 \
             AND EXISTS (SELECT 1 FROM webhooks WHERE workspace_id = $1 AND id = $2)",
        )
        .bind(workspace_id.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        let deleted = sqlx::query("DELETE FROM webhooks WHERE workspace_id = $1 AND id = $2")
            .bind(workspace_id.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if deleted {
            tx.append_event(event).await?;
        }
        deleted
    })
}

/// Sends a `webhook.test` event to one webhook; returns the delivery id.
pub async fn send_test(db: &Db, webhook_id: Uuid, event: &NewEvent) -> Result<Uuid, Error> {
    in_write_tx!(db, |tx| tx.append_event_for(event, webhook_id).await?)
}

#[derive(FromRow)]
struct DeliveryRow {
    seq: i64,
    id: String,
    event_id: String,
    event_type: String,
    status: String,
    response_status: Option<i64>,
    delivered_at: Option<String>,
    attempts: i64,
    next_attempt_at: Option<String>,
    created_at: String,
}

macro_rules! delivery_select {
    () => {
        "SELECT seq, id, event_id, event_type, status, response_status, delivered_at, attempts, next_attempt_at, \
         created_at FROM deliveries"
    };
}

fn delivery(r: DeliveryRow) -> Result<Delivery, Error> {
    let status = DeliveryStatus::parse(&r.status)
        .ok_or_else(|| Error::internal(anyhow::anyhow!("stored delivery status {:?}", r.status)))?;
    Ok(Delivery {
        id: row::id(&r.id)?,
        event_id: row::id(&r.event_id)?,
        event_type: r.event_type,
        status,
        response_status: r.response_status,
        success: status == DeliveryStatus::Succeeded,
        delivered_at: row::opt_time(r.delivered_at.as_deref())?,
        attempts: r.attempts,
        next_attempt_at: if status == DeliveryStatus::Pending {
            row::opt_time(r.next_attempt_at.as_deref())?
        } else {
            None
        },
        created_at: row::time(&r.created_at)?,
        seq: r.seq,
    })
}

/// Which deliveries of a webhook to list, newest first.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryQuery<'a> {
    pub webhook_id: Uuid,
    pub status: Option<DeliveryStatus>,
    pub event_type: Option<&'a str>,
    pub before: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

/// A page of deliveries and the total matching the filters (without the cursor).
pub async fn list_deliveries(db: &Db, query: DeliveryQuery<'_>) -> Result<(Vec<Delivery>, i64), Error> {
    macro_rules! filter {
        () => {
            " WHERE webhook_id = $1 AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR event_type = $3)"
        };
    }
    let list =
        concat!(delivery_select!(), filter!(), " AND ($4 IS NULL OR seq < $4) ORDER BY seq DESC LIMIT $5 OFFSET $6");
    let count = concat!("SELECT COUNT(*) FROM deliveries", filter!());
    let webhook = query.webhook_id.to_string();
    let status = query.status.map(DeliveryStatus::as_str);
    let (rows, total): (Vec<DeliveryRow>, i64) = on_read!(db, |pool| {
        let rows = sqlx::query_as(list)
            .bind(&webhook)
            .bind(status)
            .bind(query.event_type)
            .bind(query.before)
            .bind(query.limit)
            .bind(query.offset)
            .fetch_all(pool)
            .await?;
        let total =
            sqlx::query_scalar(count).bind(&webhook).bind(status).bind(query.event_type).fetch_one(pool).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    Ok((rows.into_iter().map(delivery).collect::<Result<_, _>>()?, total))
}

#[derive(FromRow)]
struct AttemptRow {
    attempted_at: String,
    response_status: Option<i64>,
    duration_ms: i64,
    response_body: Option<String>,
    error: Option<String>,
}

/// One delivery of a webhook with every attempt, oldest first.
pub async fn find_delivery(db: &Db, webhook_id: Uuid, id: Uuid) -> Result<Option<(Delivery, Vec<Attempt>)>, Error> {
    let one = concat!(delivery_select!(), " WHERE webhook_id = $1 AND id = $2");
    let attempts = "SELECT attempted_at, response_status, duration_ms, response_body, error FROM delivery_attempts \
                    WHERE delivery_id = $1 ORDER BY seq";
    let postgres = db.backend() == crate::db::Backend::Postgres;
    let (found, attempt_rows): (Option<DeliveryRow>, Vec<AttemptRow>) = on_read!(db, |pool| {
        // One snapshot for both reads: an attempt and its delivery's new state commit
        // together, and the answer must show both or neither.
        let mut tx = pool.begin().await?;
        if postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").execute(&mut *tx).await?;
        }
        let found =
            sqlx::query_as(one).bind(webhook_id.to_string()).bind(id.to_string()).fetch_optional(&mut *tx).await?;
        let attempt_rows = sqlx::query_as(attempts).bind(id.to_string()).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>((found, attempt_rows))
    })?;
    let Some(found) = found else { return Ok(None) };
    let attempts = attempt_rows
        .into_iter()
        .map(|a| {
            Ok(Attempt {
                attempted_at: row::time(&a.attempted_at)?,
                response_status: a.response_status,
                duration_ms: a.duration_ms,
                response_body: a.response_body,
                error: a.error,
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok(Some((delivery(found)?, attempts)))
}

/// Makes finished deliveries `pending` again, due now, with a fresh retry schedule (same ids;
/// attempts are appended). `only`: one delivery, else every `dead` one created since `since`.
/// Returns how many were reset.
pub async fn redeliver(db: &Db, webhook_id: Uuid, target: Redelivery, now: Timestamp) -> Result<u64, Error> {
    let now = now.to_string();
    let webhook = webhook_id.to_string();
    macro_rules! reset {
        () => {
            "UPDATE deliveries SET status = 'pending', round_start = attempts, next_attempt_at = $2, \
             lease_until = NULL, updated_at = $2 WHERE webhook_id = $1 AND status <> 'pending'"
        };
    }
    in_write_tx!(db, |tx| {
        let done = match target {
            Redelivery::One(id) => {
                sqlx::query(concat!(reset!(), " AND id = $3"))
                    .bind(&webhook)
                    .bind(&now)
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?
            }
            Redelivery::DeadSince(since) => {
                sqlx::query(concat!(reset!(), " AND status = 'dead' AND created_at >= $3"))
                    .bind(&webhook)
                    .bind(&now)
                    .bind(since.to_string())
                    .execute(&mut *tx)
                    .await?
            }
        };
        done.rows_affected()
    })
}

#[derive(Debug, Clone, Copy)]
pub enum Redelivery {
    One(Uuid),
    DeadSince(Timestamp),
}
