//! First start: a default workspace and its owner, exactly once.

use anyhow::Context;
use signalbox_core::{Clock, Email, Password, new_id};

use crate::auth::model::PrincipalKind;
use crate::auth::password::PasswordHasher;
use crate::auth::token::generate_password;
use crate::config::ServeConfig;
use crate::db::{Db, NewPrincipal};
use crate::workspaces;

pub const DEFAULT_WORKSPACE_NAME: &str = "Default";

/// Creates the owner account from `--admin-email`/`--admin-password` when the database has no
/// workspace yet. Without a password, one is generated and printed once in the log: the only
/// place it ever appears.
pub async fn bootstrap_owner(
    db: &Db,
    config: &ServeConfig,
    passwords: &PasswordHasher,
    clock: &dyn Clock,
) -> anyhow::Result<()> {
    if workspaces::store::count(db).await? > 0 {
        return Ok(());
    }
    let email =
        Email::parse(&config.admin_email).map_err(|e| anyhow::anyhow!("--admin-email {:?} {e}", config.admin_email))?;
    let (password, generated) = match &config.admin_password {
        Some(given) => (Password::parse(given).map_err(|e| anyhow::anyhow!("--admin-password {e}"))?, false),
        None => (Password::parse(&generate_password()).map_err(anyhow::Error::msg)?, true),
    };
    let hash = passwords.hash(&password).await?;
    let owner = NewPrincipal {
        id: new_id(),
        kind: PrincipalKind::User,
        email: Some(&email),
        name: email.as_str(),
        password_hash: Some(&hash),
    };
    let created = workspaces::store::bootstrap(db, DEFAULT_WORKSPACE_NAME, &owner, clock.now())
        .await
        .context("creating the first owner")?;
    if created.is_none() {
        return Ok(()); // another node bootstrapped first
    }
    let login = format!("{}/v1/auth/login", config.public_url());
    if generated {
        tracing::warn!(
            email = %email,
            password = password.expose(),
            login_url = %login,
            "created the owner account with a generated password, shown only this once; \
             change it with PUT /v1/me/password"
        );
    } else {
        tracing::info!(email = %email, login_url = %login, "created the owner account");
    }
    Ok(())
}
