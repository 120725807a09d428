//! Signing outgoing webhooks, both ways receivers check them:
//!
//! - Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`,
//!   where the key is the base64-decoded rest of a `whsec_…` secret, or else the secret's
//!   UTF-8 bytes. During a secret rotation one signature per secret, space-separated.
//! - FeatureSignals: `X-FeatureSignals-Signature: sha256=<hex HMAC-SHA256(secret's UTF-8 bytes, body)>`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

const WHSEC_PREFIX: &str = "whsec_";

/// The HMAC key of a Standard Webhooks signature.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

impl SigningKey {
    /// `whsec_<base64>` is decoded; any other secret is used as its UTF-8 bytes. A `whsec_`
    /// secret whose rest is not base64 is used as written, like any other.
    pub fn from_secret(secret: &str) -> Self {
        match secret.strip_prefix(WHSEC_PREFIX).and_then(|rest| STANDARD.decode(rest).ok()) {
            Some(bytes) if !bytes.is_empty() => Self(bytes),
            _ => Self(secret.as_bytes().to_vec()),
        }
    }
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// One `v1,<base64>` signature of a delivery attempt.
pub fn standard_signature(key: &SigningKey, message_id: &str, timestamp: i64, body: &[u8]) -> String {
    let timestamp = timestamp.to_string();
    let digest = hmac(&key.0, &[message_id.as_bytes(), b".", timestamp.as_bytes(), b".", body]);
    format!("v1,{}", STANDARD.encode(digest))
}

/// The `webhook-signature` header: one signature per key (new secret first), space-separated.
pub fn standard_signature_header(keys: &[SigningKey], message_id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter().map(|key| standard_signature(key, message_id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// The `X-FeatureSignals-Signature` header value.
pub fn featuresignals_signature(secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac(secret.as_bytes(), &[body])))
}

/// Whether any `v1,` signature in `header` matches, compared in constant time. An empty or
/// truncated signature never matches (a reference verifier once accepted a bare `v1,`).
pub fn verify_standard(key: &SigningKey, message_id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let expected = standard_signature(key, message_id, timestamp, body);
    let expected = expected.as_bytes();
    header
        .split(' ')
        .filter(|candidate| candidate.len() == expected.len())
        .any(|candidate| bool::from(candidate.as_bytes().ct_eq(expected)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn headers(id: &str, timestamp: i64, signature: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert("webhook-id", id.parse().unwrap());
        headers.insert("webhook-timestamp", timestamp.to_string().parse().unwrap());
        headers.insert("webhook-signature", signature.parse().unwrap());
        headers
    }

    fn now() -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
    }

    #[test]
    fn standard_signatures_verify_with_the_reference_library() {
        let body = br#"{"id":"evt_1","type":"flag.updated"}"#;
        let timestamp = now();
        let signature = standard_signature(&SigningKey::from_secret(SECRET), "msg_1", timestamp, body);
        let verifier = standardwebhooks::Webhook::new(SECRET).unwrap();
        verifier.verify(body, &headers("msg_1", timestamp, &signature)).expect("the reference verifier accepts it");
        assert!(verifier.verify(b"{}", &headers("msg_1", timestamp, &signature)).is_err());
    }

    #[test]
    fn plain_secrets_sign_with_their_utf8_bytes() {
        let body = b"{}";
        let timestamp = now();
        let secret = "webhook-secret-for-hmac";
        let signature = standard_signature(&SigningKey::from_secret(secret), "msg_2", timestamp, body);
        let verifier = standardwebhooks::Webhook::from_bytes(secret.as_bytes().to_vec()).unwrap();
        verifier.verify(body, &headers("msg_2", timestamp, &signature)).expect("accepted");
    }

    #[test]
    fn during_a_rotation_either_secret_verifies() {
        let (old, new) = (SigningKey::from_secret("old secret"), SigningKey::from_secret(SECRET));
        let header = standard_signature_header(&[new.clone(), old.clone()], "msg_3", 1_700_000_000, b"x");
        assert_eq!(header.split(' ').count(), 2);
        assert!(verify_standard(&old, "msg_3", 1_700_000_000, b"x", &header));
        assert!(verify_standard(&new, "msg_3", 1_700_000_000, b"x", &header));
        assert!(!verify_standard(&SigningKey::from_secret("other"), "msg_3", 1_700_000_000, b"x", &header));
    }

    #[test]
    fn empty_or_truncated_signatures_never_verify() {
        let key = SigningKey::from_secret(SECRET);
        let good = standard_signature(&key, "m", 1, b"b");
        for bad in ["", "v1,", "v1", &good[..good.len() - 1], "v2,abc"] {
            assert!(!verify_standard(&key, "m", 1, b"b", bad), "{bad:?} verified");
        }
        assert!(verify_standard(&key, "m", 1, b"b", &good));
    }

    #[test]
    fn featuresignals_signatures_are_hex_hmac_of_the_body_with_the_raw_secret() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), a well-known vector.
        let signature = featuresignals_signature("key", b"The quick brown fox jumps over the lazy dog");
        assert_eq!(signature, "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
    }
}
