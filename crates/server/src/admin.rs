//! Operator tasks behind the `signalbox` subcommands that work on the database directly:
//! recovery and scripting when no one can log in.

use std::path::Path;

use anyhow::{Context, bail};
use serde_json::json;
use signalbox_core::{Clock, DisplayName, Email, Password, Role, Timestamp, TokenScope, new_id};
use uuid::Uuid;

use crate::auth::api_tokens::store::{self as token_store, NewApiToken};
use crate::auth::members::store as member_store;
use crate::auth::model::PrincipalKind;
use crate::auth::password::PasswordHasher;
use crate::auth::store as auth_store;
use crate::auth::token::{API_TOKEN_PREFIX, generate_secret};
use crate::db::{Backend, Db};
use crate::events::{NewEvent, types};
use crate::workspaces;

/// The named workspace, or the oldest one.
pub async fn resolve_workspace(db: &Db, workspace_id: Option<Uuid>) -> anyhow::Result<Uuid> {
    let workspace = match workspace_id {
        Some(id) => workspaces::store::find(db, id).await?,
        None => workspaces::store::first(db).await?,
    };
    match (workspace, workspace_id) {
        (Some(workspace), _) => Ok(workspace.id),
        (None, Some(id)) => bail!("there is no workspace {id}"),
        (None, None) => bail!("the database has no workspace yet: start `signalbox serve` once to create it"),
    }
}

/// Whether an account with this email exists (in any workspace).
pub async fn user_exists(db: &Db, email: &str) -> anyhow::Result<bool> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("--email {e}"))?;
    Ok(auth_store::find_user_id_by_email(db, &email).await?.is_some())
}

/// Adds a user to a workspace. A new account needs `password`; an existing one keeps its own
/// and must not be given one.
pub async fn create_user(
    db: &Db,
    passwords: &PasswordHasher,
    clock: &dyn Clock,
    workspace_id: Uuid,
    email: &str,
    role: Role,
    password: Option<&str>,
) -> anyhow::Result<Uuid> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("--email {e}"))?;
    let exists = auth_store::find_user_id_by_email(db, &email).await?.is_some();
    let hash = match (exists, password) {
        (true, Some(_)) => bail!("{email} already has an account, which keeps its own password"),
        (true, None) => None,
        (false, None) => bail!("a new account needs a password"),
        (false, Some(password)) => {
            let password = Password::parse(password).map_err(|e| anyhow::anyhow!("the password {e}"))?;
            Some(passwords.hash(&password).await?)
        }
    };
    let member = member_store::NewMember {
        workspace_id,
        email: &email,
        name: email.as_str(),
        new_password_hash: hash.as_deref(),
        role,
        actor: None,
    };
    let id = member_store::add_user(db, &member, clock.now()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(id)
}

/// Replaces a user's password and ends all their sessions.
pub async fn set_password(
    db: &Db,
    passwords: &PasswordHasher,
    clock: &dyn Clock,
    email: &str,
    password: &str,
) -> anyhow::Result<()> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("--email {e}"))?;
    let password = Password::parse(password).map_err(|e| anyhow::anyhow!("the password {e}"))?;
    let Some(user_id) = auth_store::find_user_id_by_email(db, &email).await? else {
        bail!("there is no user {email}");
    };
    let hash = passwords.hash(&password).await?;
    auth_store::set_password(db, user_id, &hash, None, clock.now(), None).await?;
    Ok(())
}

pub enum TokenOwner {
    User(String),
    ServiceAccount(Uuid),
}

pub struct TokenRequest {
    pub workspace_id: Uuid,
    pub owner: TokenOwner,
    pub name: String,
    pub role: Option<Role>,
    pub scope: Option<TokenScope>,
    pub expires_at: Option<Timestamp>,
}

/// Creates an API token and returns its secret.
pub async fn create_token(db: &Db, clock: &dyn Clock, request: TokenRequest) -> anyhow::Result<String> {
    let name = DisplayName::parse(&request.name).map_err(|e| anyhow::anyhow!("--name {e}"))?;
    if request.role.is_some() == request.scope.is_some() {
        bail!("give either --role or --scope");
    }
    let principal_id = match &request.owner {
        TokenOwner::User(email) => {
            let email = Email::parse(email).map_err(|e| anyhow::anyhow!("--email {e}"))?;
            auth_store::find_user_id_by_email(db, &email).await?.with_context(|| format!("there is no user {email}"))?
        }
        TokenOwner::ServiceAccount(id) => *id,
    };
    let member = auth_store::find_member(db, request.workspace_id, principal_id).await?;
    let expected_kind = match request.owner {
        TokenOwner::User(_) => PrincipalKind::User,
        TokenOwner::ServiceAccount(_) => PrincipalKind::ServiceAccount,
    };
    if member.is_none_or(|m| m.kind != expected_kind) {
        bail!("that principal is not a member of workspace {}", request.workspace_id);
    }
    let now = clock.now();
    let id = new_id();
    let secret = generate_secret(API_TOKEN_PREFIX);
    let event = NewEvent::new(
        request.workspace_id,
        types::API_TOKEN_CREATED,
        None,
        json!({ "id": id, "name": name, "role": request.role, "scope": request.scope, "principal_id": principal_id }),
        now,
    );
    let token = NewApiToken {
        id,
        workspace_id: request.workspace_id,
        principal_id,
        name: name.as_str(),
        token_hash: &secret.hash,
        role: request.role,
        scope: request.scope,
        created_by: None,
        created_at: now,
        expires_at: request.expires_at,
    };
    token_store::insert(db, &token, &event).await?;
    Ok(secret.secret)
}

/// A consistent copy of a SQLite database, made with `VACUUM INTO` while the server runs.
pub async fn backup(db: &Db, to: &Path) -> anyhow::Result<()> {
    if db.backend() == Backend::Postgres {
        bail!("backup copies SQLite databases; for Postgres use pg_dump");
    }
    if to.exists() {
        bail!("{} exists already; choose a new file", to.display());
    }
    let target = to.to_str().context("the backup path must be valid UTF-8")?;
    // VACUUM INTO accepts an empty file, so the copy can be private from its first byte.
    crate::db::create_private_file(to)?;
    crate::on_write!(db, |pool| sqlx::query("VACUUM INTO $1").bind(target).execute(pool).await.map(|_| ()))?;
    Ok(())
}
