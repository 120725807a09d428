//! SDK tokens on the Unleash paths: `Authorization: <token>` as the SDKs send it (Bearer is
//! accepted too), found by its SHA-256 in a cache that any flag or token change refreshes.
//! Client tokens work only on `/api/client/**`, frontend tokens only on `/api/frontend/**`.

use std::collections::HashMap;
use std::sync::RwLock;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use uuid::Uuid;

use crate::auth::caller::raw_or_bearer_credential;
use crate::auth::token::hash_secret;
use crate::db::{Db, row};
use crate::state::AppState;
use crate::{Error, on_read};

/// Past this many entries (a flood of random tokens), the cache starts over.
const MAX_ENTRIES: usize = 100_000;

/// What a token allows, from its stored record.
#[derive(Debug, Clone)]
pub struct SdkAccess {
    pub token_id: Uuid,
    pub workspace_id: Uuid,
    pub token_type: String,
    pub environment_id: Uuid,
    pub environment: String,
    /// Project keys, or `["*"]`.
    pub projects: Vec<String>,
    pub cors_origins: Vec<String>,
}

impl SdkAccess {
    pub fn all_projects(&self) -> bool {
        self.projects.iter().any(|p| p == "*")
    }

    pub fn allows_project(&self, project: &str) -> bool {
        self.all_projects() || self.projects.iter().any(|p| p == project)
    }
}

#[derive(Default)]
pub struct TokenCache {
    /// Token hash → (flag revision when read, the access or `None` for unknown).
    entries: RwLock<HashMap<String, (u64, Option<SdkAccess>)>>,
}

impl TokenCache {
    pub fn invalidate(&self) {
        self.entries.write().unwrap_or_else(|e| e.into_inner()).clear();
    }

    async fn resolve(&self, db: &Db, secret: &str) -> Result<Option<SdkAccess>, Error> {
        let hash = hash_secret(secret);
        let revision = crate::flags::revision();
        if let Some((read_at, access)) = self.entries.read().unwrap_or_else(|e| e.into_inner()).get(&hash)
            && *read_at == revision
        {
            return Ok(access.clone());
        }
        let access = load(db, &hash).await?;
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(hash, (revision, access.clone()));
        Ok(access)
    }
}

#[derive(sqlx::FromRow)]
struct AccessRow {
    id: String,
    workspace_id: String,
    #[sqlx(rename = "type")]
    token_type: String,
    environment_id: String,
    environment_key: String,
    projects: String,
    cors_origins: String,
}

async fn load(db: &Db, hash: &str) -> Result<Option<SdkAccess>, Error> {
    let found: Option<AccessRow> = on_read!(db, |pool| {
        sqlx::query_as(
        "SELECT t.id, t.workspace_id, t.type, t.environment_id, e.key AS environment_key, t.projects, t.cors_origins \
         FROM sdk_tokens t JOIN environments e ON e.id = t.environment_id WHERE t.token_hash = $1"
    )
    .bind(hash)
    .fetch_optional(pool)
    .await
    })?;
    let Some(r) = found else { return Ok(None) };
    let list = |text: &str| serde_json::from_str::<Vec<String>>(text).unwrap_or_default();
    Ok(Some(SdkAccess {
        token_id: row::id(&r.id)?,
        workspace_id: row::id(&r.workspace_id)?,
        token_type: r.token_type,
        environment_id: row::id(&r.environment_id)?,
        environment: r.environment_key,
        projects: list(&r.projects),
        cors_origins: list(&r.cors_origins),
    }))
}

async fn access(parts: &Parts, state: &AppState, wanted: &str) -> Result<SdkAccess, Error> {
    let secret = raw_or_bearer_credential(&parts.headers)
        .ok_or_else(|| Error::unauthorized("send an SDK token as Authorization: <token>"))?;
    let access = state
        .sdk
        .tokens
        .resolve(&state.db, secret)
        .await?
        .ok_or_else(|| Error::unauthorized("the SDK token is not valid or was revoked"))?;
    if access.token_type != wanted {
        return Err(Error::forbidden(format!("a {} token cannot call the {wanted} API", access.token_type)));
    }
    Ok(access)
}

/// A client (backend SDK) token.
pub struct ClientToken(pub SdkAccess);

impl FromRequestParts<AppState> for ClientToken {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self(access(parts, state, "client").await?))
    }
}

/// A frontend (browser or mobile SDK) token.
pub struct FrontendToken(pub SdkAccess);

impl FromRequestParts<AppState> for FrontendToken {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self(access(parts, state, "frontend").await?))
    }
}
