//! Resolving `Authorization` into a [`Caller`]. `/v1` takes `Bearer <JWT or sbx_ token>`; the
//! scheme is case-insensitive. Every failure is a 401 with `WWW-Authenticate: Bearer`.

use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use signalbox_core::TokenScope;

use super::model::{Caller, Credential};
use super::token::{API_TOKEN_PREFIX, hash_secret};
use super::{api_tokens, store};
use crate::Error;
use crate::state::AppState;

/// `last_used_at` is written at most this often per token, to keep reads free of writes.
const LAST_USED_RESOLUTION: Duration = Duration::from_secs(60);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(Authorization::Bearer(credential)) = authorization(&parts.headers) else {
            return Err(Error::unauthorized("send credentials as Authorization: Bearer <token>"));
        };
        general_purpose(authenticate(state, credential).await?)
    }
}

/// A caller on the Unleash-compatible `/api/**` paths, which also take the raw
/// `Authorization: <token>` that Unleash clients send.
pub struct ApiCaller(pub Caller);

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let credential = raw_or_bearer_credential(&parts.headers)
            .ok_or_else(|| Error::unauthorized("send credentials as Authorization: <token> or Bearer <token>"))?;
        Ok(ApiCaller(general_purpose(authenticate(state, credential).await?)?))
    }
}

/// Refuses an ingest-scoped token: it may call the typed signals API and nothing else.
fn general_purpose(caller: Caller) -> Result<Caller, Error> {
    if let Credential::ApiToken { scope: Some(TokenScope::Ingest), .. } = caller.credential {
        return Err(Error::forbidden("an ingest-scoped token may only call the typed signals API"));
    }
    Ok(caller)
}

/// An `Authorization` header's credential, by how it was sent.
enum Authorization<'a> {
    /// `Bearer <credential>`, the scheme in any case.
    Bearer(&'a str),
    /// The credential alone, as Unleash clients send it.
    Raw(&'a str),
}

/// The credential of the `Authorization` header; `None` when absent, unreadable or empty.
fn authorization(headers: &axum::http::HeaderMap) -> Option<Authorization<'_>> {
    let text = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let parsed = match text.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => Authorization::Bearer(rest.trim()),
        _ => Authorization::Raw(text),
    };
    match parsed {
        Authorization::Bearer(c) | Authorization::Raw(c) if c.is_empty() => None,
        parsed => Some(parsed),
    }
}

/// `Bearer <credential>` (any case) or the raw credential; `None` when absent or empty.
pub fn raw_or_bearer_credential(headers: &axum::http::HeaderMap) -> Option<&str> {
    match authorization(headers)? {
        Authorization::Bearer(credential) | Authorization::Raw(credential) => Some(credential),
    }
}

/// Resolves a JWT or an API token into a caller, whatever its scope.
pub async fn authenticate(state: &AppState, credential: &str) -> Result<Caller, Error> {
    let now = state.clock.now();
    if credential.starts_with(API_TOKEN_PREFIX) {
        let hash = hash_secret(credential);
        let resolved = match state.api_tokens.get(&hash, now) {
            Some(resolved) => resolved,
            None => {
                let generation = state.api_tokens.generation();
                let found = api_tokens::store::caller_for_token(&state.db, &hash, now).await?;
                let Some(resolved) = found else {
                    return Err(Error::unauthorized("the API token is not valid, has expired or was revoked"));
                };
                state.api_tokens.put(generation, &hash, resolved.clone());
                resolved
            }
        };
        let stale = resolved.last_used_at.is_none_or(|at| at.until(now) >= LAST_USED_RESOLUTION);
        if let (true, Credential::ApiToken { id, .. }) = (stale, resolved.caller.credential) {
            api_tokens::store::touch_last_used(&state.db, id, now, now.minus(LAST_USED_RESOLUTION)).await?;
            state.api_tokens.touched(&hash, now);
        }
        return Ok(resolved.caller);
    }
    let claims = state.sessions.verify(credential, now)?;
    let caller = store::caller_for_session(&state.db, claims.sid, now)
        .await?
        .filter(|c| c.principal_id == claims.sub && c.workspace_id == claims.wid);
    caller.ok_or_else(|| Error::unauthorized("the session has ended; log in again"))
}
