//! Login sessions travel as HS256 JWTs with claims `sub` (principal), `wid` (workspace) and
//! `sid` (session row). The signature proves we issued it; the session row, read on every
//! request, is what makes logout, removal and demotion take effect at once.
//!
//! Expiry is checked against the injectable [`Clock`](signalbox_core::Clock) with our own
//! leeway, not jsonwebtoken's wall-clock check, so tests can move time.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use signalbox_core::Timestamp;
use uuid::Uuid;

use crate::Error;
use crate::secret_key::SecretKey;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub wid: Uuid,
    pub sid: Uuid,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Clone)]
pub struct SessionTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    leeway: Duration,
}

impl SessionTokens {
    pub fn new(key: &SecretKey, leeway: Duration) -> Self {
        let secret = key.derive(b"jwt");
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        Self {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
            validation,
            leeway,
        }
    }

    pub fn issue(&self, claims: &Claims) -> Result<String, Error> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| Error::internal(anyhow::anyhow!("signing a JWT: {e}")))
    }

    /// The claims of a token we signed that has not expired at `now` (with leeway).
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<Claims, Error> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| Error::unauthorized("the bearer token is not valid"))?
            .claims;
        let leeway = i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX);
        if now.unix_seconds() >= claims.exp.saturating_add(leeway) {
            return Err(Error::unauthorized("the session has expired; log in again"));
        }
        Ok(claims)
    }
}
