//! SQL for API tokens.

use signalbox_core::{Role, Timestamp, TokenScope};
use sqlx::FromRow;
use uuid::Uuid;

use super::cache::Resolved;
use super::model::ApiToken;
use crate::auth::model::{Caller, Credential, PrincipalKind};
use crate::db::{Db, TxExt, row};
use crate::events::NewEvent;
use crate::http::pagination::PageRequest;
use crate::{Error, in_write_tx, on_read, on_write};

#[derive(FromRow)]
struct TokenRow {
    id: String,
    principal_id: String,
    name: String,
    role: Option<String>,
    scope: Option<String>,
    created_at: String,
    expires_at: Option<String>,
    last_used_at: Option<String>,
}

impl TryFrom<TokenRow> for ApiToken {
    type Error = Error;
    fn try_from(r: TokenRow) -> Result<Self, Error> {
        Ok(ApiToken {
            id: row::id(&r.id)?,
            principal_id: row::id(&r.principal_id)?,
            name: r.name,
            role: r.role.as_deref().map(row::role).transpose()?,
            scope: r.scope.as_deref().map(parse_scope).transpose()?,
            created_at: row::time(&r.created_at)?,
            expires_at: row::opt_time(r.expires_at.as_deref())?,
            last_used_at: row::opt_time(r.last_used_at.as_deref())?,
        })
    }
}

fn parse_scope(text: &str) -> Result<TokenScope, Error> {
    text.parse().map_err(|()| Error::internal(anyhow::anyhow!("stored token scope {text:?}")))
}

macro_rules! columns {
    () => {
        "id, principal_id, name, role, scope, created_at, expires_at, last_used_at"
    };
}

/// The caller a token stands for, and when it was last used; `None` when the token is
/// unknown, expired, or its principal is no longer an enabled member.
pub async fn caller_for_token(db: &Db, hash: &str, now: Timestamp) -> Result<Option<Resolved>, Error> {
    let sql = "SELECT t.id, t.principal_id, t.workspace_id, t.role, t.scope, t.last_used_at, p.kind, m.role, \
               t.expires_at \
               FROM api_tokens t \
               JOIN memberships m ON m.workspace_id = t.workspace_id AND m.principal_id = t.principal_id \
               JOIN principals p ON p.id = t.principal_id \
               WHERE t.token_hash = $1 AND (t.expires_at IS NULL OR t.expires_at > $2) AND NOT m.disabled";
    type Found =
        (String, String, String, Option<String>, Option<String>, Option<String>, String, String, Option<String>);
    let found: Option<Found> =
        on_read!(db, |pool| sqlx::query_as(sql).bind(hash).bind(now.to_string()).fetch_optional(pool).await)?;
    let Some((id, principal, workspace, token_role, scope, last_used, kind, member_role, expires)) = found else {
        return Ok(None);
    };
    let member_role = row::role(&member_role)?;
    let scope = scope.as_deref().map(parse_scope).transpose()?;
    // An ingest token has no role of its own; it acts with the lowest, and its scope limits
    // it further.
    let token_role = token_role.as_deref().map(row::role).transpose()?.unwrap_or(Role::Viewer);
    let caller = Caller {
        principal_id: row::id(&principal)?,
        kind: PrincipalKind::parse(&kind)?,
        workspace_id: row::id(&workspace)?,
        role: token_role.min(member_role),
        credential: Credential::ApiToken { id: row::id(&id)?, scope },
    };
    Ok(Some(Resolved {
        caller,
        expires_at: row::opt_time(expires.as_deref())?,
        last_used_at: row::opt_time(last_used.as_deref())?,
    }))
}

pub async fn touch_last_used(db: &Db, id: Uuid, now: Timestamp, stale_before: Timestamp) -> Result<(), Error> {
    let sql = "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $3)";
    on_write!(db, |pool| sqlx::query(sql)
        .bind(id.to_string())
        .bind(now.to_string())
        .bind(stale_before.to_string())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

pub struct NewApiToken<'a> {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub principal_id: Uuid,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub role: Option<Role>,
    pub scope: Option<TokenScope>,
    pub created_by: Option<Uuid>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

pub async fn insert(db: &Db, token: &NewApiToken<'_>, event: &NewEvent) -> Result<(), Error> {
    let sql = "INSERT INTO api_tokens (id, workspace_id, principal_id, name, token_hash, role, scope, created_by, created_at, expires_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    in_write_tx!(db, |tx| {
        sqlx::query(sql)
            .bind(token.id.to_string())
            .bind(token.workspace_id.to_string())
            .bind(token.principal_id.to_string())
            .bind(token.name)
            .bind(token.token_hash)
            .bind(token.role.map(Role::as_str))
            .bind(token.scope.map(TokenScope::as_str))
            .bind(token.created_by.map(|id| id.to_string()))
            .bind(token.created_at.to_string())
            .bind(token.expires_at.map(|t| t.to_string()))
            .execute(&mut *tx)
            .await?;
        tx.append_event(event).await?;
    })
}

/// Tokens of a workspace, optionally only one principal's, oldest first.
pub async fn list(
    db: &Db,
    workspace_id: Uuid,
    principal_id: Option<Uuid>,
    page: PageRequest,
) -> Result<(Vec<ApiToken>, i64), Error> {
    macro_rules! filter {
        () => {
            " FROM api_tokens WHERE workspace_id = $1 AND ($2 IS NULL OR principal_id = $2)"
        };
    }
    let list = concat!("SELECT ", columns!(), filter!(), " ORDER BY created_at, id LIMIT $3 OFFSET $4");
    let count = concat!("SELECT COUNT(*)", filter!());
    let principal = principal_id.map(|id| id.to_string());
    let (rows, total): (Vec<TokenRow>, i64) = on_read!(db, |pool| {
        let rows = sqlx::query_as(list)
            .bind(workspace_id.to_string())
            .bind(principal.clone())
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(pool)
            .await?;
        let total =
            sqlx::query_scalar(count).bind(workspace_id.to_string()).bind(principal.clone()).fetch_one(pool).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    Ok((rows.into_iter().map(ApiToken::try_from).collect::<Result<_, _>>()?, total))
}

pub async fn find(db: &Db, workspace_id: Uuid, id: Uuid) -> Result<Option<ApiToken>, Error> {
    let sql = concat!("SELECT ", columns!(), " FROM api_tokens WHERE workspace_id = $1 AND id = $2");
    let found: Option<TokenRow> = on_read!(db, |pool| sqlx::query_as(sql)
        .bind(workspace_id.to_string())
        .bind(id.to_string())
        .fetch_optional(pool)
        .await)?;
    found.map(ApiToken::try_from).transpose()
}

/// Deletes the token; false when it was already gone.
pub async fn delete(db: &Db, workspace_id: Uuid, id: Uuid, event: &NewEvent) -> Result<bool, Error> {
    let sql = "DELETE FROM api_tokens WHERE workspace_id = $1 AND id = $2";
    in_write_tx!(db, |tx| {
        let deleted = sqlx::query(sql)
            .bind(workspace_id.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted > 0 {
            tx.append_event(event).await?;
        }
        deleted > 0
    })
}
