//! Random bearer secrets (`sbx_…`): 32 bytes from the OS, shown once, stored as SHA-256.
//!
//! A token is found by the hash of what the client sent, so no stored secret is ever compared
//! byte by byte with client input; a timing difference in the index lookup reveals only
//! something about a hash, which does not help forge a token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

pub const API_TOKEN_PREFIX: &str = "sbx_";

/// A freshly generated secret and the digest to store.
pub struct NewSecret {
    pub secret: String,
    pub hash: String,
}

pub fn generate_secret(prefix: &str) -> NewSecret {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
    let secret = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_secret(&secret);
    NewSecret { secret, hash }
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A random password for accounts created without one (24 URL-safe characters).
pub fn generate_password() -> String {
    let mut bytes = [0u8; 18];
    getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_carry_the_prefix_and_32_random_bytes() {
        let new = generate_secret(API_TOKEN_PREFIX);
        assert!(new.secret.starts_with("sbx_"));
        assert_eq!(new.secret.len(), 4 + 43);
        assert_eq!(new.hash, hash_secret(&new.secret));
        assert_ne!(new.secret, generate_secret(API_TOKEN_PREFIX).secret);
    }
}
