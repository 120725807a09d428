//! SQL for workspaces and their settings.

use std::time::Duration;

use signalbox_core::Timestamp;
use sqlx::FromRow;
use uuid::Uuid;

use super::model::{Workspace, WorkspaceMembership, WorkspaceSettings};
use crate::db::{Db, NewPrincipal, SerialKey, TxExt, row};
use crate::events::{NewEvent, types};
use crate::http::PageRequest;
use crate::{Error, in_write_tx, on_read};
use signalbox_core::Role;

#[derive(FromRow)]
struct WorkspaceRow {
    id: String,
    name: String,
    created_at: String,
    updated_at: String,
}

impl TryFrom<WorkspaceRow> for Workspace {
    type Error = Error;
    fn try_from(r: WorkspaceRow) -> Result<Self, Error> {
        Ok(Workspace {
            id: row::id(&r.id)?,
            name: r.name,
            created_at: row::time(&r.created_at)?,
            updated_at: row::time(&r.updated_at)?,
        })
    }
}

pub async fn find(db: &Db, id: Uuid) -> Result<Option<Workspace>, Error> {
    let sql = "SELECT id, name, created_at, updated_at FROM workspaces WHERE id = $1";
    let found: Option<WorkspaceRow> =
        on_read!(db, |pool| sqlx::query_as(sql).bind(id.to_string()).fetch_optional(pool).await)?;
    found.map(Workspace::try_from).transpose()
}

/// The oldest workspace, which command-line tools use when none is named.
pub async fn first(db: &Db) -> Result<Option<Workspace>, Error> {
    let sql = "SELECT id, name, created_at, updated_at FROM workspaces ORDER BY created_at, id LIMIT 1";
    let found: Option<WorkspaceRow> = on_read!(db, |pool| sqlx::query_as(sql).fetch_optional(pool).await)?;
    found.map(Workspace::try_from).transpose()
}

pub async fn count(db: &Db) -> Result<i64, Error> {
    Ok(on_read!(db, |pool| sqlx::query_scalar("SELECT COUNT(*) FROM workspaces").fetch_one(pool).await)?)
}

pub async fn settings(db: &Db, id: Uuid) -> Result<WorkspaceSettings, Error> {
    let sql = "SELECT settings FROM workspaces WHERE id = $1";
    let text: Option<String> =
        on_read!(db, |pool| sqlx::query_scalar(sql).bind(id.to_string()).fetch_optional(pool).await)?;
    match text {
        Some(text) => serde_json::from_str(&text).map_err(|e| Error::internal(anyhow::anyhow!("stored settings: {e}"))),
        None => Ok(WorkspaceSettings::default()),
    }
}

pub async fn save_settings(
    db: &Db,
    id: Uuid,
    settings: &WorkspaceSettings,
    now: Timestamp,
    event: &NewEvent,
) -> Result<(), Error> {
    let text = serde_json::to_string(settings).map_err(anyhow::Error::from)?;
    in_write_tx!(db, |tx| {
        sqlx::query("UPDATE workspaces SET settings = $2, updated_at = $3 WHERE id = $1")
            .bind(id.to_string())
            .bind(text)
            .bind(now.to_string())
            .execute(&mut *tx)
            .await?;
        tx.append_event(event).await?;
    })
}

/// The session lifetime in a workspace: its override, capped by the server's.
pub async fn session_lifetime(db: &Db, id: Uuid, server: Duration) -> Result<Duration, Error> {
    let settings = settings(db, id).await?;
    Ok(settings.session_lifetime_seconds.map(Duration::from_secs).map_or(server, |own| own.min(server)))
}

/// Creates a workspace with `owner_id` (an existing principal) as its owner.
pub async fn create(db: &Db, id: Uuid, name: &str, owner_id: Uuid, now: Timestamp) -> Result<(), Error> {
    let created =
        NewEvent::new(id, types::WORKSPACE_CREATED, Some(owner_id), serde_json::json!({ "id": id, "name": name }), now);
    let added = member_added_event(id, owner_id, Role::Owner, Some(owner_id), now);
    in_write_tx!(db, |tx| {
        tx.insert_workspace(id, name, now).await?;
        tx.insert_membership(id, owner_id, Role::Owner, now).await?;
        tx.append_event(&created).await?;
        tx.append_event(&added).await?;
    })
}

/// First start: a workspace and its owner account, in one transaction. Does nothing and
/// answers false when any workspace exists already, so it happens once.
pub async fn bootstrap(
    db: &Db,
    workspace_name: &str,
    owner: &NewPrincipal<'_>,
    now: Timestamp,
) -> Result<Option<Uuid>, Error> {
    let workspace_id = signalbox_core::new_id();
    let created = NewEvent::new(
        workspace_id,
        types::WORKSPACE_CREATED,
        None,
        serde_json::json!({ "id": workspace_id, "name": workspace_name }),
        now,
    );
    let added = member_added_event(workspace_id, owner.id, Role::Owner, None, now);
    in_write_tx!(db, |tx| {
        tx.serialize(SerialKey::Bootstrap).await?;
        let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM workspaces").fetch_one(&mut *tx).await?;
        if existing > 0 {
            None
        } else {
            tx.insert_workspace(workspace_id, workspace_name, now).await?;
            tx.insert_principal(owner, now).await?;
            tx.insert_membership(workspace_id, owner.id, Role::Owner, now).await?;
            tx.append_event(&created).await?;
            tx.append_event(&added).await?;
            Some(workspace_id)
        }
    })
}

pub fn member_added_event(
    workspace_id: Uuid,
    principal_id: Uuid,
    role: Role,
    actor: Option<Uuid>,
    now: Timestamp,
) -> NewEvent {
    NewEvent::new(
        workspace_id,
        types::MEMBER_ADDED,
        actor,
        serde_json::json!({ "principal_id": principal_id, "role": role }),
        now,
    )
}

#[derive(FromRow)]
struct MembershipRow {
    id: String,
    name: String,
    role: String,
    disabled: bool,
    created_at: String,
    updated_at: String,
}

/// The workspaces a principal belongs to, oldest membership first.
pub async fn list_for_principal(
    db: &Db,
    principal_id: Uuid,
    page: PageRequest,
) -> Result<(Vec<WorkspaceMembership>, i64), Error> {
    let list = "SELECT w.id, w.name, m.role, m.disabled, w.created_at, w.updated_at \
                FROM memberships m JOIN workspaces w ON w.id = m.workspace_id \
                WHERE m.principal_id = $1 ORDER BY m.created_at, w.id LIMIT $2 OFFSET $3";
    let count = "SELECT COUNT(*) FROM memberships WHERE principal_id = $1";
    let (rows, total): (Vec<MembershipRow>, i64) = on_read!(db, |pool| {
        let rows = sqlx::query_as(list)
            .bind(principal_id.to_string())
            .bind(page.limit)
            .bind(page.offset)
            .fetch_all(pool)
            .await?;
        let total = sqlx::query_scalar(count).bind(principal_id.to_string()).fetch_one(pool).await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    let memberships = rows
        .into_iter()
        .map(|r| {
            Ok(WorkspaceMembership {
                id: row::id(&r.id)?,
                name: r.name,
                role: row::role(&r.role)?,
                disabled: r.disabled,
                created_at: row::time(&r.created_at)?,
                updated_at: row::time(&r.updated_at)?,
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok((memberships, total))
}
