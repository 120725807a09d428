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
    // `encode_to_slice` rather than `hex::encode`, which collects `char`s one at a time: every
    // ingest request hashes its token.
    let mut text = [0u8; 64];
    hex::encode_to_slice(Sha256::digest(secret.as_bytes()), &mut text).expect("64 hex digits for 32 bytes");
    String::from_utf8(text.to_vec()).expect("hex digits are ASCII")
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

    #[test]
    fn a_secret_is_stored_as_the_lowercase_hex_of_its_sha256() {
        // FIPS 180-2's example: SHA-256("abc").
        assert_eq!(hash_secret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
