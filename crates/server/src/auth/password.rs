//! Password hashing with Argon2id. Hashing runs on the blocking pool: at the default cost it
//! takes tens of milliseconds of CPU, which must not stall the async workers.

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use signalbox_core::Password;

use crate::config::PasswordHashingConfig;

#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    argon2: Argon2<'static>,
    /// Verified against when an email is unknown, so a wrong email costs as much time as a
    /// wrong password and response times do not reveal which accounts exist.
    dummy_hash: String,
}

impl PasswordHasher {
    pub fn new(config: &PasswordHashingConfig) -> anyhow::Result<Self> {
        let params = Params::new(config.argon2_memory_kib, config.argon2_iterations, config.argon2_parallelism, None)
            .map_err(|e| anyhow::anyhow!("invalid argon2 parameters: {e}"))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy_hash = argon2
            .hash_password(b"signalbox dummy password")
            .map_err(|e| anyhow::anyhow!("argon2 failed: {e}"))?
            .to_string();
        Ok(Self { inner: Arc::new(Inner { argon2, dummy_hash }) })
    }

    /// The PHC string (`$argon2id$v=19$m=…`) for a new password.
    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let inner = self.inner.clone();
        let password = password.clone();
        tokio::task::spawn_blocking(move || {
            inner
                .argon2
                .hash_password(password.expose().as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|e| anyhow::anyhow!("argon2 failed: {e}"))
        })
        .await?
    }

    /// Whether `password` matches `stored`. With no stored hash it still spends the time of a
    /// verification, then answers false.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> bool {
        let inner = self.inner.clone();
        let password = password.to_owned();
        let stored = stored.map(str::to_owned);
        tokio::task::spawn_blocking(move || {
            let hash = stored.as_deref().unwrap_or(&inner.dummy_hash);
            let matches = inner.argon2.verify_password(password.as_bytes(), hash).is_ok();
            matches && stored.is_some()
        })
        .await
        .unwrap_or(false)
    }
}
