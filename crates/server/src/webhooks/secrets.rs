//! Webhook secrets at rest. They must be usable for signing, so they cannot be hashed like
//! tokens: they are sealed with ChaCha20-Poly1305 under a key derived from the server key,
//! with the webhook's id as associated data (a sealed secret copied to another row does not
//! open). `ring` provides the AEAD because it is already linked for TLS.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use uuid::Uuid;

use crate::Error;
use crate::secret_key::SecretKey;

/// Version tag of the stored form `v1:<base64(nonce || ciphertext || tag)>`.
const VERSION: &str = "v1:";

pub struct SecretBox {
    key: LessSafeKey,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<redacted>)")
    }
}

impl SecretBox {
    pub fn new(key: &SecretKey) -> Self {
        let bytes = key.derive(b"webhook-secrets");
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, &bytes).expect("a 32-byte key fits ChaCha20-Poly1305");
        Self { key: LessSafeKey::new(unbound) }
    }

    /// Seals a secret for the webhook `owner`. Each call uses a fresh random nonce.
    pub fn seal(&self, owner: Uuid, secret: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the operating system's random number generator failed");
        let mut sealed = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(owner.as_bytes()), &mut sealed)
            .expect("sealing a short secret cannot fail");
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&sealed);
        format!("{VERSION}{}", STANDARD_NO_PAD.encode(stored))
    }

    /// Opens a sealed secret; an error means the server key changed or the row was altered.
    pub fn open(&self, owner: Uuid, stored: &str) -> Result<String, Error> {
        let broken = || Error::internal(anyhow::anyhow!("a stored webhook secret does not open with the server key"));
        let encoded = stored.strip_prefix(VERSION).ok_or_else(broken)?;
        let mut bytes = STANDARD_NO_PAD.decode(encoded).map_err(|_| broken())?;
        if bytes.len() < NONCE_LEN {
            return Err(broken());
        }
        let mut sealed = bytes.split_off(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = bytes.try_into().map_err(|_| broken())?;
        let plain = self
            .key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(owner.as_bytes()), &mut sealed)
            .map_err(|_| broken())?;
        String::from_utf8(plain.to_vec()).map_err(|_| broken())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret_box(byte: u8) -> SecretBox {
        SecretBox::new(&SecretKey::parse(&format!("{byte:02x}").repeat(32)).unwrap())
    }

    #[test]
    fn a_sealed_secret_opens_for_its_owner_only() {
        let secrets = secret_box(0xab);
        let owner = Uuid::now_v7();
        let sealed = secrets.seal(owner, "whsec_c2VjcmV0");
        assert!(!sealed.contains("c2VjcmV0"));
        assert_eq!(secrets.open(owner, &sealed).unwrap(), "whsec_c2VjcmV0");
        assert!(secrets.open(Uuid::now_v7(), &sealed).is_err());
        assert!(secret_box(0xcd).open(owner, &sealed).is_err());
    }

    #[test]
    fn sealing_twice_gives_different_text() {
        let secrets = secret_box(1);
        let owner = Uuid::now_v7();
        assert_ne!(secrets.seal(owner, "s"), secrets.seal(owner, "s"));
    }
}
