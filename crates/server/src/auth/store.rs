//! SQL for principals, memberships and sessions.

use signalbox_core::{Email, Role, Timestamp};
use sqlx::FromRow;
use uuid::Uuid;

use super::model::{Caller, Credential, Member, PrincipalKind, UserLogin};
use crate::db::{Db, TxExt, row};
use crate::events::NewEvent;
use crate::{Error, in_write_tx, on_read, on_write};

#[derive(FromRow)]
struct MemberRow {
    id: String,
    kind: String,
    email: Option<String>,
    name: String,
    role: String,
    disabled: bool,
    created_at: String,
    updated_at: String,
}

impl TryFrom<MemberRow> for Member {
    type Error = Error;
    fn try_from(r: MemberRow) -> Result<Self, Error> {
        Ok(Member {
            id: row::id(&r.id)?,
            kind: PrincipalKind::parse(&r.kind)?,
            email: r.email,
            name: r.name,
            role: row::role(&r.role)?,
            disabled: r.disabled,
            created_at: row::time(&r.created_at)?,
            updated_at: row::time(&r.updated_at)?,
        })
    }
}

macro_rules! member_columns {
    () => {
        "p.id, p.kind, p.email, p.name, m.role, m.disabled, m.created_at, m.updated_at"
    };
}

pub async fn find_user_login(db: &Db, email: &Email) -> Result<Option<UserLogin>, Error> {
    let sql = "SELECT id, password_hash FROM principals WHERE email = $1 AND kind = 'user'";
    let found: Option<(String, Option<String>)> =
        on_read!(db, |pool| sqlx::query_as(sql).bind(email.as_str()).fetch_optional(pool).await)?;
    found.map(|(id, password_hash)| Ok(UserLogin { id: row::id(&id)?, password_hash })).transpose()
}

pub async fn find_user_id_by_email(db: &Db, email: &Email) -> Result<Option<Uuid>, Error> {
    Ok(find_user_login(db, email).await?.map(|u| u.id))
}

pub async fn password_hash_of(db: &Db, principal_id: Uuid) -> Result<Option<String>, Error> {
    let sql = "SELECT password_hash FROM principals WHERE id = $1";
    let hash: Option<Option<String>> =
        on_read!(db, |pool| sqlx::query_scalar(sql).bind(principal_id.to_string()).fetch_optional(pool).await)?;
    Ok(hash.flatten())
}

/// The membership to log in to: the one named, else the oldest enabled one.
pub async fn login_membership(
    db: &Db,
    principal_id: Uuid,
    workspace_id: Option<Uuid>,
) -> Result<Option<(Uuid, Role, bool)>, Error> {
    let sql = "SELECT workspace_id, role, disabled FROM memberships \
               WHERE principal_id = $1 AND ($2 IS NULL OR workspace_id = $2) \
               ORDER BY disabled, created_at, workspace_id LIMIT 1";
    let found: Option<(String, String, bool)> = on_read!(db, |pool| sqlx::query_as(sql)
        .bind(principal_id.to_string())
        .bind(workspace_id.map(|w| w.to_string()))
        .fetch_optional(pool)
        .await)?;
    found.map(|(w, r, d)| Ok((row::id(&w)?, row::role(&r)?, d))).transpose()
}

pub async fn create_session(
    db: &Db,
    id: Uuid,
    principal_id: Uuid,
    workspace_id: Uuid,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<(), Error> {
    let sql =
        "INSERT INTO sessions (id, principal_id, workspace_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
    on_write!(db, |pool| sqlx::query(sql)
        .bind(id.to_string())
        .bind(principal_id.to_string())
        .bind(workspace_id.to_string())
        .bind(now.to_string())
        .bind(expires_at.to_string())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn end_session(db: &Db, id: Uuid, now: Timestamp) -> Result<(), Error> {
    let sql = "UPDATE sessions SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL";
    on_write!(db, |pool| sqlx::query(sql)
        .bind(id.to_string())
        .bind(now.to_string())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Resolves a session id from a verified JWT into a caller, or `None` when the session ended,
/// expired, or its membership is gone or disabled.
pub async fn caller_for_session(db: &Db, session_id: Uuid, now: Timestamp) -> Result<Option<Caller>, Error> {
    let sql = "SELECT s.principal_id, s.workspace_id, p.kind, m.role \
               FROM sessions s \
               JOIN memberships m ON m.workspace_id = s.workspace_id AND m.principal_id = s.principal_id \
               JOIN principals p ON p.id = s.principal_id \
               WHERE s.id = $1 AND s.ended_at IS NULL AND s.expires_at > $2 AND NOT m.disabled";
    let found: Option<(String, String, String, String)> = on_read!(db, |pool| sqlx::query_as(sql)
        .bind(session_id.to_string())
        .bind(now.to_string())
        .fetch_optional(pool)
        .await)?;
    found
        .map(|(principal, workspace, kind, role)| {
            Ok(Caller {
                principal_id: row::id(&principal)?,
                kind: PrincipalKind::parse(&kind)?,
                workspace_id: row::id(&workspace)?,
                role: row::role(&role)?,
                credential: Credential::Session(session_id),
            })
        })
        .transpose()
}

pub async fn list_members(
    db: &Db,
    workspace_id: Uuid,
    kind: PrincipalKind,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Member>, i64), Error> {
    let list = concat!(
        "SELECT ",
        member_columns!(),
        " FROM memberships m JOIN principals p ON p.id = m.principal_id \
         WHERE m.workspace_id = $1 AND p.kind = $2 ORDER BY m.created_at, p.id LIMIT $3 OFFSET $4"
    );
    let count = "SELECT COUNT(*) FROM memberships m JOIN principals p ON p.id = m.principal_id \
                 WHERE m.workspace_id = $1 AND p.kind = $2";
    let (rows, total): (Vec<MemberRow>, i64) = on_read!(db, |pool| {
        let rows = sqlx::query_as(list)
            .bind(workspace_id.to_string())
            .bind(kind.as_str())
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await?;
        let total =
            sqlx::query_scalar(count).bind(workspace_id.to_string()).bind(kind.as_str()).fetch_one(pool).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    Ok((rows.into_iter().map(Member::try_from).collect::<Result<_, _>>()?, total))
}

pub async fn find_member(db: &Db, workspace_id: Uuid, principal_id: Uuid) -> Result<Option<Member>, Error> {
    let sql = concat!(
        "SELECT ",
        member_columns!(),
        " FROM memberships m JOIN principals p ON p.id = m.principal_id \
         WHERE m.workspace_id = $1 AND m.principal_id = $2"
    );
    let found: Option<MemberRow> = on_read!(db, |pool| sqlx::query_as(sql)
        .bind(workspace_id.to_string())
        .bind(principal_id.to_string())
        .fetch_optional(pool)
        .await)?;
    found.map(Member::try_from).transpose()
}

/// Sets a user's password and ends their sessions, except `keep_session` (the one that asked).
pub async fn set_password(
    db: &Db,
    principal_id: Uuid,
    password_hash: &str,
    keep_session: Option<Uuid>,
    now: Timestamp,
    event: Option<&NewEvent>,
) -> Result<(), Error> {
    in_write_tx!(db, |tx| {
        sqlx::query("UPDATE principals SET password_hash = $2, updated_at = $3 WHERE id = $1")
            .bind(principal_id.to_string())
            .bind(password_hash)
            .bind(now.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE sessions SET ended_at = $2 WHERE principal_id = $1 AND ended_at IS NULL \
             AND ($3 IS NULL OR id <> $3)",
        )
        .bind(principal_id.to_string())
        .bind(now.to_string())
        .bind(keep_session.map(|id| id.to_string()))
        .execute(&mut *tx)
        .await?;
        if let Some(event) = event {
            tx.append_event(event).await?;
        }
    })
}
