//! The server key: 32 random bytes from `--secret-key` or a 0600 key file created on first
//! start. Purpose-specific keys are derived from it with HMAC-SHA256, so one secret serves
//! JWT signing now and secret encryption later without the two ever sharing a key.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::config::KeyConfig;
use crate::db::DatabaseUrl;

#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl SecretKey {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
        Self(bytes)
    }

    /// Accepts 64 hex digits or the base64 of 32 bytes.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text)?
        } else {
            STANDARD.decode(text).context("the secret key must be 64 hex digits or base64")?
        };
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| anyhow::anyhow!("the secret key must be 32 bytes, not {}", b.len()))?;
        Ok(Self(bytes))
    }

    /// A key for one purpose, e.g. `b"jwt"`.
    pub fn derive(&self, purpose: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"signalbox/v1/");
        mac.update(purpose);
        mac.finalize().into_bytes().into()
    }

    /// The key from the configuration, or the key file, creating the file on first start.
    pub fn load_or_create(config: &KeyConfig, database: &DatabaseUrl) -> anyhow::Result<Self> {
        KeyPlan::resolve(config, database)?.into_key()
    }
}

/// Where the server key will come from, decided before anything is written: a start that
/// fails (bad database URL, newer schema) must not leave a new key file behind.
#[derive(Debug)]
pub enum KeyPlan {
    Ready(SecretKey),
    /// No key yet: generate one into this file once the database is known to be good.
    CreateAt(PathBuf),
}

impl KeyPlan {
    pub fn resolve(config: &KeyConfig, database: &DatabaseUrl) -> anyhow::Result<Self> {
        if let Some(inline) = &config.secret_key {
            return Ok(Self::Ready(SecretKey::parse(inline).context("invalid --secret-key")?));
        }
        // Nodes sharing a Postgres database must share one key, or a session issued by one is
        // refused by the others; a key file quietly generated per node would do exactly that.
        if matches!(database, DatabaseUrl::Postgres(_)) && config.secret_key_file.is_none() {
            bail!(
                "with Postgres, give the server key with --secret-key (SIGNALBOX_SECRET_KEY) or \
                 --secret-key-file, the same on every node"
            );
        }
        let path = config.key_file(database);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Self::Ready(
                SecretKey::parse(&text).with_context(|| format!("invalid key file {}", path.display()))?,
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::CreateAt(path)),
            Err(e) => Err(e).with_context(|| format!("cannot read key file {}", path.display())),
        }
    }

    /// The key, writing a new key file (mode 0600) if there was none.
    pub fn into_key(self) -> anyhow::Result<SecretKey> {
        match self {
            Self::Ready(key) => Ok(key),
            Self::CreateAt(path) => {
                let key = SecretKey::generate();
                write_new_key_file(&path, &key)?;
                tracing::info!(path = %path.display(), "created a new secret key file");
                Ok(key)
            }
        }
    }
}

fn write_new_key_file(path: &Path, key: &SecretKey) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!("key file {} appeared while creating it; start again", path.display())
        }
        Err(e) => return Err(e).with_context(|| format!("cannot create key file {}", path.display())),
    };
    writeln!(file, "{}", STANDARD.encode(key.0))?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_from_hex_and_base64() {
        let hex_key = "00".repeat(32);
        assert!(SecretKey::parse(&hex_key).is_ok());
        assert!(SecretKey::parse(&STANDARD.encode([7u8; 32])).is_ok());
        assert!(SecretKey::parse("short").is_err());
        assert!(SecretKey::parse(&STANDARD.encode([7u8; 16])).is_err());
    }

    #[test]
    fn derived_keys_differ_by_purpose() {
        let key = SecretKey::generate();
        assert_ne!(key.derive(b"jwt"), key.derive(b"webhook-secrets"));
    }

    #[cfg(unix)]
    #[test]
    fn a_new_key_file_is_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let db: DatabaseUrl = format!("sqlite://{}/sb.db", dir.path().display()).parse().unwrap();
        let config = KeyConfig { secret_key: None, secret_key_file: None };
        let first = SecretKey::load_or_create(&config, &db).unwrap();
        let path = dir.path().join("signalbox.key");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let second = SecretKey::load_or_create(&config, &db).unwrap();
        assert_eq!(first.0, second.0);
    }
}
