//! SQL for signal endpoints, their tokens and their signals.

use signalbox_core::Timestamp;
use sqlx::FromRow;
use uuid::Uuid;

use super::model::{EndpointCounters, EndpointRecord, TokenRecord};
use crate::db::{Db, SerialKey, TxExt, row};
use crate::events::NewEvent;
use crate::http::{PageRequest, Patch};
use crate::{Error, in_write_tx, on_read};

#[derive(FromRow)]
struct EndpointRow {
    int_id: i64,
    id: String,
    workspace_id: String,
    name: String,
    description: Option<String>,
    enabled: bool,
    created_by_int: Option<i64>,
    created_at: String,
    updated_at: String,
    accepted_count: i64,
    unauthorized_count: i64,
    too_large_count: i64,
    rate_limited_count: i64,
}

#[derive(FromRow)]
struct TokenRow {
    int_id: i64,
    id: String,
    endpoint_id: String,
    name: String,
    created_by_int: Option<i64>,
    created_at: String,
    last_used_at: Option<String>,
}

macro_rules! endpoint_select {
    () => {
        "SELECT e.int_id, e.id, e.workspace_id, e.name, e.description, e.enabled, p.int_id AS created_by_int, \
         e.created_at, e.updated_at, e.accepted_count, e.unauthorized_count, e.too_large_count, e.rate_limited_count \
         FROM signal_endpoints e LEFT JOIN principals p ON p.id = e.created_by"
    };
}

macro_rules! token_select {
    () => {
        "SELECT t.int_id, t.id, t.endpoint_id, t.name, p.int_id AS created_by_int, t.created_at, t.last_used_at \
         FROM signal_endpoint_tokens t JOIN signal_endpoints e ON e.id = t.endpoint_id \
         LEFT JOIN principals p ON p.id = t.created_by"
    };
}

fn token_record(r: TokenRow) -> Result<TokenRecord, Error> {
    Ok(TokenRecord {
        int_id: r.int_id,
        id: row::id(&r.id)?,
        endpoint_id: row::id(&r.endpoint_id)?,
        name: r.name,
        created_by_int: r.created_by_int,
        created_at: row::time(&r.created_at)?,
        last_used_at: row::opt_time(r.last_used_at.as_deref())?,
    })
}

/// Joins endpoints with their tokens (tokens are few: bounded by the per-endpoint limit).
fn assemble(rows: Vec<EndpointRow>, tokens: Vec<TokenRow>) -> Result<Vec<EndpointRecord>, Error> {
    let tokens: Vec<TokenRecord> = tokens.into_iter().map(token_record).collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|r| {
            let id = row::id(&r.id)?;
            Ok(EndpointRecord {
                int_id: r.int_id,
                id,
                workspace_id: row::id(&r.workspace_id)?,
                name: r.name,
                description: r.description,
                enabled: r.enabled,
                created_by_int: r.created_by_int,
                created_at: row::time(&r.created_at)?,
                updated_at: row::time(&r.updated_at)?,
                counters: EndpointCounters {
                    accepted: r.accepted_count,
                    unauthorized: r.unauthorized_count,
                    too_large: r.too_large_count,
                    rate_limited: r.rate_limited_count,
                },
                tokens: tokens.iter().filter(|t| t.endpoint_id == id).cloned().collect(),
            })
        })
        .collect()
}

/// A page of a workspace's endpoints (oldest first), or all of them with `page: None`.
pub async fn list_endpoints(
    db: &Db,
    workspace_id: Uuid,
    page: Option<PageRequest>,
) -> Result<(Vec<EndpointRecord>, i64), Error> {
    let list = concat!(endpoint_select!(), " WHERE e.workspace_id = $1 ORDER BY e.int_id LIMIT $2 OFFSET $3");
    let tokens = concat!(token_select!(), " WHERE e.workspace_id = $1 ORDER BY t.int_id");
    let count = "SELECT COUNT(*) FROM signal_endpoints WHERE workspace_id = $1";
    let (limit, offset) = page.map_or((i64::MAX, 0), |p| (p.limit, p.offset));
    let workspace = workspace_id.to_string();
    let (rows, token_rows, total): (Vec<EndpointRow>, Vec<TokenRow>, i64) = on_read!(db, |pool| {
        let rows = sqlx::query_as(list).bind(&workspace).bind(limit).bind(offset).fetch_all(pool).await?;
        let token_rows = sqlx::query_as(tokens).bind(&workspace).fetch_all(pool).await?;
        let total = sqlx::query_scalar(count).bind(&workspace).fetch_one(pool).await?;
        Ok::<_, sqlx::Error>((rows, token_rows, total))
    })?;
    Ok((assemble(rows, token_rows)?, total))
}

/// One endpoint of a workspace, by its UUID or its integer id.
pub async fn find_endpoint(db: &Db, workspace_id: Uuid, key: EndpointKey) -> Result<Option<EndpointRecord>, Error> {
    let (by_id, by_int) = match key {
        EndpointKey::Id(id) => (Some(id.to_string()), None),
        EndpointKey::IntId(n) => (None, Some(n)),
    };
    let one = concat!(endpoint_select!(), " WHERE e.workspace_id = $1 AND (e.id = $2 OR e.int_id = $3)");
    let tokens =
        concat!(token_select!(), " WHERE e.workspace_id = $1 AND (e.id = $2 OR e.int_id = $3) ORDER BY t.int_id");
    let workspace = workspace_id.to_string();
    let (rows, token_rows): (Vec<EndpointRow>, Vec<TokenRow>) = on_read!(db, |pool| {
        let rows = sqlx::query_as(one).bind(&workspace).bind(&by_id).bind(by_int).fetch_all(pool).await?;
        let token_rows = sqlx::query_as(tokens).bind(&workspace).bind(&by_id).bind(by_int).fetch_all(pool).await?;
        Ok::<_, sqlx::Error>((rows, token_rows))
    })?;
    Ok(assemble(rows, token_rows)?.into_iter().next())
}

#[derive(Debug, Clone, Copy)]
pub enum EndpointKey {
    Id(Uuid),
    IntId(i64),
}

pub struct NewEndpoint<'a> {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub enabled: bool,
    pub created_by: Uuid,
    pub now: Timestamp,
}

const NAME_TAKEN: &str = "a signal endpoint with this name exists in the workspace";

/// Creates an endpoint unless the workspace has `limit` already (0 = no limit).
pub async fn create_endpoint(db: &Db, new: &NewEndpoint<'_>, limit: u64, event: &NewEvent) -> Result<(), Error> {
    let workspace = new.workspace_id.to_string();
    in_write_tx!(db, |tx| {
        tx.serialize(SerialKey::CountLimits).await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM signal_endpoints WHERE workspace_id = $1")
            .bind(&workspace)
            .fetch_one(&mut *tx)
            .await?;
        if limit > 0 && count as u64 >= limit {
            return Err(Error::limit_exceeded("max_signal_endpoints", limit));
        }
        let taken: Option<String> =
            sqlx::query_scalar("SELECT id FROM signal_endpoints WHERE workspace_id = $1 AND name = $2")
                .bind(&workspace)
                .bind(new.name)
                .fetch_optional(&mut *tx)
                .await?;
        if taken.is_some() {
            return Err(Error::conflict(NAME_TAKEN));
        }
        sqlx::query(
            "INSERT INTO signal_endpoints (id, workspace_id, name, description, enabled, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(new.id.to_string())
        .bind(&workspace)
        .bind(new.name)
        .bind(new.description)
        .bind(new.enabled)
        .bind(new.created_by.to_string())
        .bind(new.now.to_string())
        .execute(&mut *tx)
        .await?;
        tx.append_event(event).await?;
    })
}

/// What a partial update changes.
#[derive(Debug, Default)]
pub struct EndpointUpdate {
    pub name: Option<String>,
    pub description: Patch<String>,
    pub enabled: Option<bool>,
}

/// `Ok(false)` when there is no such endpoint.
pub async fn update_endpoint(
    db: &Db,
    workspace_id: Uuid,
    id: Uuid,
    update: &EndpointUpdate,
    now: Timestamp,
    event: &NewEvent,
) -> Result<bool, Error> {
    let workspace = workspace_id.to_string();
    let id_text = id.to_string();
    let (set_description, description) = match &update.description {
        Patch::Absent => (false, None),
        Patch::Null => (true, None),
        Patch::Value(text) => (true, Some(text.clone())),
    };
    in_write_tx!(db, |tx| {
        if let Some(name) = &update.name {
            let taken: Option<String> = sqlx::query_scalar(
                "SELECT id FROM signal_endpoints WHERE workspace_id = $1 AND name = $2 AND id <> $3",
            )
            .bind(&workspace)
            .bind(name)
            .bind(&id_text)
            .fetch_optional(&mut *tx)
            .await?;
            if taken.is_some() {
                return Err(Error::conflict(NAME_TAKEN));
            }
        }
        let updated = sqlx::query(
            "UPDATE signal_endpoints SET name = COALESCE($3, name), \
             description = CASE WHEN $4 THEN $5 ELSE description END, \
             enabled = COALESCE($6, enabled), updated_at = $7 WHERE workspace_id = $1 AND id = $2",
        )
        .bind(&workspace)
        .bind(&id_text)
        .bind(update.name.as_deref())
        .bind(set_description)
        .bind(description.as_deref())
        .bind(update.enabled)
        .bind(now.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated > 0 {
            tx.append_event(event).await?;
        }
        updated > 0
    })
}

/// Deletes an endpoint with its tokens and signals. `Ok(false)` when there is none.
/// Deletes an endpoint with its tokens and signals, and disables the action sets that use it
/// (each with an `action_set.updated` event), in one transaction.
pub async fn delete_endpoint(db: &Db, workspace_id: Uuid, id: Uuid, event: &NewEvent) -> Result<bool, Error> {
    in_write_tx!(db, |tx| {
        let deleted = sqlx::query("DELETE FROM signal_endpoints WHERE workspace_id = $1 AND id = $2")
            .bind(workspace_id.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted > 0 {
            tx.append_event(event).await?;
            let using: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT s.id, s.name, p.key FROM action_sets s JOIN projects p ON p.id = s.project_id \
                 WHERE s.source = 'signal-endpoint' AND s.source_id = $1 AND s.enabled = $2",
            )
            .bind(id.to_string())
            .bind(true)
            .fetch_all(&mut *tx)
            .await?;
            for (set_id, name, project) in using {
                sqlx::query("UPDATE action_sets SET enabled = $2, updated_at = $3 WHERE id = $1")
                    .bind(&set_id)
                    .bind(false)
                    .bind(event.created_at.to_string())
                    .execute(&mut *tx)
                    .await?;
                let disabled = NewEvent::new(
                    workspace_id,
                    crate::events::types::ACTION_SET_UPDATED,
                    event.actor_id,
                    serde_json::json!({ "id": set_id, "name": name, "project": project, "enabled": false,
                                        "reason": "its signal endpoint was deleted" }),
                    event.created_at,
                );
                tx.append_event(&disabled).await?;
            }
        }
        deleted > 0
    })
}

pub struct NewToken<'a> {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub created_by: Uuid,
    pub now: Timestamp,
}

/// Creates a token unless the endpoint has `limit` already (0 = no limit). Returns its
/// integer id.
pub async fn create_token(db: &Db, new: &NewToken<'_>, limit: u64, event: &NewEvent) -> Result<i64, Error> {
    let endpoint = new.endpoint_id.to_string();
    in_write_tx!(db, |tx| {
        tx.serialize(SerialKey::CountLimits).await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM signal_endpoint_tokens WHERE endpoint_id = $1")
            .bind(&endpoint)
            .fetch_one(&mut *tx)
            .await?;
        if limit > 0 && count as u64 >= limit {
            return Err(Error::limit_exceeded("max_tokens_per_endpoint", limit));
        }
        let int_id: i64 = sqlx::query_scalar(
            "INSERT INTO signal_endpoint_tokens (id, endpoint_id, name, token_hash, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING int_id",
        )
        .bind(new.id.to_string())
        .bind(&endpoint)
        .bind(new.name)
        .bind(new.token_hash)
        .bind(new.created_by.to_string())
        .bind(new.now.to_string())
        .fetch_one(&mut *tx)
        .await?;
        tx.append_event(event).await?;
        int_id
    })
}

/// Renames (`Some(name)`) or deletes (`None`) a token. `Ok(false)` when there is none.
pub async fn change_token(
    db: &Db,
    endpoint_id: Uuid,
    token_id: Uuid,
    rename: Option<&str>,
    event: &NewEvent,
) -> Result<bool, Error> {
    in_write_tx!(db, |tx| {
        let query = match rename {
            Some(name) => sqlx::query("UPDATE signal_endpoint_tokens SET name = $3 WHERE endpoint_id = $1 AND id = $2")
                .bind(endpoint_id.to_string())
                .bind(token_id.to_string())
                .bind(name),
            None => sqlx::query("DELETE FROM signal_endpoint_tokens WHERE endpoint_id = $1 AND id = $2")
                .bind(endpoint_id.to_string())
                .bind(token_id.to_string()),
        };
        let changed = query.execute(&mut *tx).await?.rows_affected();
        if changed > 0 {
            tx.append_event(event).await?;
        }
        changed > 0
    })
}
