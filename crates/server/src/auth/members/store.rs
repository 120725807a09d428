//! SQL for adding, changing and removing workspace members.

use signalbox_core::{Email, Role, Timestamp};
use uuid::Uuid;

use crate::auth::model::PrincipalKind;
use crate::db::{Backend, Db, NewPrincipal, TxExt};
use crate::events::{NewEvent, types};
use crate::workspaces::store::member_added_event;
use crate::{Error, in_write_tx};

/// A user to add to a workspace.
pub struct NewMember<'a> {
    pub workspace_id: Uuid,
    pub email: &'a Email,
    /// Display name, used only when the account is created.
    pub name: &'a str,
    /// Required when the email is new; an existing account keeps its password.
    pub new_password_hash: Option<&'a str>,
    pub role: Role,
    pub actor: Option<Uuid>,
}

/// Adds a user to a workspace, creating the account when the email is new. Returns the
/// user's id. 409 when they are already a member.
pub async fn add_user(db: &Db, member: &NewMember<'_>, now: Timestamp) -> Result<Uuid, Error> {
    let NewMember { workspace_id, email, name, new_password_hash, role, actor } = *member;
    let new_id = signalbox_core::new_id();
    in_write_tx!(db, |tx| {
        let existing: Option<String> = sqlx::query_scalar("SELECT id FROM principals WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let user_id = match existing {
            Some(id) => {
                let id = crate::db::row::id(&id)?;
                let member: Option<String> =
                    sqlx::query_scalar("SELECT role FROM memberships WHERE workspace_id = $1 AND principal_id = $2")
                        .bind(workspace_id.to_string())
                        .bind(id.to_string())
                        .fetch_optional(&mut *tx)
                        .await?;
                if member.is_some() {
                    return Err(Error::conflict("this user is already a member of the workspace"));
                }
                id
            }
            None => {
                let Some(hash) = new_password_hash else {
                    return Err(Error::internal(anyhow::anyhow!("a new user needs a password hash")));
                };
                let user = NewPrincipal {
                    id: new_id,
                    kind: PrincipalKind::User,
                    email: Some(email),
                    name,
                    password_hash: Some(hash),
                };
                tx.insert_principal(&user, now).await?;
                new_id
            }
        };
        tx.insert_membership(workspace_id, user_id, role, now).await?;
        tx.append_event(&member_added_event(workspace_id, user_id, role, actor, now)).await?;
        user_id
    })
}

/// Creates a service account in a workspace.
pub async fn add_service_account(
    db: &Db,
    workspace_id: Uuid,
    name: &str,
    role: Role,
    actor: Uuid,
    now: Timestamp,
) -> Result<Uuid, Error> {
    let id = signalbox_core::new_id();
    let principal = NewPrincipal { id, kind: PrincipalKind::ServiceAccount, email: None, name, password_hash: None };
    let event = NewEvent::new(
        workspace_id,
        types::SERVICE_ACCOUNT_CREATED,
        Some(actor),
        serde_json::json!({ "id": id, "name": name, "role": role }),
        now,
    );
    in_write_tx!(db, |tx| {
        tx.insert_principal(&principal, now).await?;
        tx.insert_membership(workspace_id, id, role, now).await?;
        tx.append_event(&event).await?;
        id
    })
}

/// The change asked for a membership.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemberChange {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

/// What happens to a membership.
#[derive(Debug, Clone, Copy)]
enum MembershipEdit {
    Update(MemberChange),
    /// The membership, their tokens and sessions in the workspace go; a service account is
    /// deleted outright.
    Remove,
}

const LAST_OWNER: &str = "the workspace must keep at least one enabled owner who is a user";

/// The enabled human owners. A service account with the owner role does not count: it has no
/// password, so a workspace left with only such owners could lose its last way in. On
/// Postgres the rows stay locked until commit, so two requests cannot each demote a different
/// one of the last two owners.
fn owners_sql(db: &Db) -> &'static str {
    match db.backend() {
        Backend::Sqlite => {
            "SELECT m.principal_id FROM memberships m JOIN principals p ON p.id = m.principal_id \
             WHERE m.workspace_id = $1 AND m.role = 'owner' AND NOT m.disabled AND p.kind = 'user'"
        }
        Backend::Postgres => {
            "SELECT m.principal_id FROM memberships m JOIN principals p ON p.id = m.principal_id \
             WHERE m.workspace_id = $1 AND m.role = 'owner' AND NOT m.disabled AND p.kind = 'user' \
             FOR UPDATE OF m"
        }
    }
}

/// Changes a member's role or disabled flag. `Ok(false)` when there is no such member of
/// that kind. Refuses to leave the workspace without an enabled owner.
pub async fn update_member(
    db: &Db,
    workspace_id: Uuid,
    principal_id: Uuid,
    kind: PrincipalKind,
    change: MemberChange,
    actor: Uuid,
    now: Timestamp,
) -> Result<bool, Error> {
    edit_membership(db, workspace_id, principal_id, kind, MembershipEdit::Update(change), actor, now).await
}

/// Removes a member. `Ok(false)` when there is no such member of that kind. Refuses to
/// remove the last enabled owner.
pub async fn remove_member(
    db: &Db,
    workspace_id: Uuid,
    principal_id: Uuid,
    kind: PrincipalKind,
    actor: Uuid,
    now: Timestamp,
) -> Result<bool, Error> {
    edit_membership(db, workspace_id, principal_id, kind, MembershipEdit::Remove, actor, now).await
}

async fn edit_membership(
    db: &Db,
    workspace_id: Uuid,
    principal_id: Uuid,
    kind: PrincipalKind,
    edit: MembershipEdit,
    actor: Uuid,
    now: Timestamp,
) -> Result<bool, Error> {
    let owners_sql = owners_sql(db);
    let workspace = workspace_id.to_string();
    let principal = principal_id.to_string();
    in_write_tx!(db, |tx| {
        let owners: Vec<String> = sqlx::query_scalar(owners_sql).bind(&workspace).fetch_all(&mut *tx).await?;
        let current: Option<(String, bool)> = sqlx::query_as(
            "SELECT m.role, m.disabled FROM memberships m JOIN principals p ON p.id = m.principal_id \
             WHERE m.workspace_id = $1 AND m.principal_id = $2 AND p.kind = $3",
        )
        .bind(&workspace)
        .bind(&principal)
        .bind(kind.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((role, disabled)) = current else {
            return Ok(false);
        };
        let role = crate::db::row::role(&role)?;
        let was_active_owner = role == Role::Owner && !disabled && kind == PrincipalKind::User;
        let event = match edit {
            MembershipEdit::Update(change) => {
                let new_role = change.role.unwrap_or(role);
                let new_disabled = change.disabled.unwrap_or(disabled);
                if was_active_owner && (new_role != Role::Owner || new_disabled) && owners.len() <= 1 {
                    return Err(Error::conflict(LAST_OWNER));
                }
                sqlx::query(
                    "UPDATE memberships SET role = $3, disabled = $4, updated_at = $5 \
                     WHERE workspace_id = $1 AND principal_id = $2",
                )
                .bind(&workspace)
                .bind(&principal)
                .bind(new_role.as_str())
                .bind(new_disabled)
                .bind(now.to_string())
                .execute(&mut *tx)
                .await?;
                let data =
                    serde_json::json!({ "principal_id": principal_id, "role": new_role, "disabled": new_disabled });
                NewEvent::new(workspace_id, types::MEMBER_UPDATED, Some(actor), data, now)
            }
            MembershipEdit::Remove => {
                if was_active_owner && owners.len() <= 1 {
                    return Err(Error::conflict(LAST_OWNER));
                }
                for sql in [
                    "DELETE FROM api_tokens WHERE workspace_id = $1 AND principal_id = $2",
                    "DELETE FROM sessions WHERE workspace_id = $1 AND principal_id = $2",
                    "DELETE FROM memberships WHERE workspace_id = $1 AND principal_id = $2",
                ] {
                    sqlx::query(sql).bind(&workspace).bind(&principal).execute(&mut *tx).await?;
                }
                let event_type = match kind {
                    PrincipalKind::User => types::MEMBER_REMOVED,
                    PrincipalKind::ServiceAccount => {
                        sqlx::query("DELETE FROM principals WHERE id = $1").bind(&principal).execute(&mut *tx).await?;
                        types::SERVICE_ACCOUNT_DELETED
                    }
                };
                let data = serde_json::json!({ "principal_id": principal_id });
                NewEvent::new(workspace_id, event_type, Some(actor), data, now)
            }
        };
        tx.append_event(&event).await?;
        true
    })
}
