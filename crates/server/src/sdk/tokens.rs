//! `/v1/sdk-tokens` (admin): tokens for Unleash SDKs, in Unleash's format
//! (`<project>:<environment>.<56 hex>`, `*:` for every project, `[]:` for several). The
//! stored record — never the string — decides the type, environment and projects.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use signalbox_core::{Role, Timestamp, new_id};
use sqlx::FromRow;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::model::Caller;
use crate::auth::token::hash_secret;
use crate::db::{Db, TxExt, row};
use crate::events::{NewEvent, types};
use crate::flags::{environments, projects};
use crate::http::{ApiJson, ApiPath};
use crate::state::AppState;
use crate::{Error, in_flags_tx, on_read};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_token, list_tokens)).routes(routes!(revoke_token))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SdkToken {
    pub id: Uuid,
    pub name: String,
    /// `client` (backend SDKs, `/api/client/**`) or `frontend` (`/api/frontend/**`).
    #[serde(rename = "type")]
    pub token_type: String,
    pub environment: String,
    /// Project keys, or `["*"]` for every project.
    pub projects: Vec<String>,
    pub cors_origins: Vec<String>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedSdkToken {
    #[serde(flatten)]
    pub token: SdkToken,
    /// The secret, shown only here.
    pub secret: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SdkTokenList {
    pub data: Vec<SdkToken>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SdkTokenIn {
    pub name: String,
    /// `client` or `frontend`.
    #[serde(rename = "type")]
    pub token_type: String,
    /// An environment key.
    pub environment: String,
    /// Project keys, or `["*"]` (the default) for every project.
    pub projects: Option<Vec<String>>,
    /// Frontend tokens: origins allowed to call from a browser, e.g. `https://app.example.com`, or `*`.
    pub cors_origins: Option<Vec<String>>,
}

#[derive(FromRow)]
struct TokenRow {
    id: String,
    name: String,
    #[sqlx(rename = "type")]
    token_type: String,
    environment_key: String,
    projects: String,
    cors_origins: String,
    created_at: String,
    last_used_at: Option<String>,
}

fn token(r: TokenRow) -> Result<SdkToken, Error> {
    let list = |text: &str| -> Result<Vec<String>, Error> {
        serde_json::from_str(text).map_err(|e| Error::internal(anyhow::anyhow!("stored list: {e}")))
    };
    Ok(SdkToken {
        id: row::id(&r.id)?,
        name: r.name,
        token_type: r.token_type,
        environment: r.environment_key,
        projects: list(&r.projects)?,
        cors_origins: list(&r.cors_origins)?,
        created_at: row::time(&r.created_at)?,
        last_used_at: row::opt_time(r.last_used_at.as_deref())?,
    })
}

async fn list(db: &Db, workspace_id: Uuid) -> Result<Vec<SdkToken>, Error> {
    let rows: Vec<TokenRow> = on_read!(db, |pool| {
        sqlx::query_as(
        "SELECT t.id, t.name, t.type, e.key AS environment_key, t.projects, t.cors_origins, t.created_at, t.last_used_at \
         FROM sdk_tokens t JOIN environments e ON e.id = t.environment_id WHERE t.workspace_id = $1 ORDER BY t.created_at"
    )
    .bind(workspace_id.to_string())
    .fetch_all(pool)
    .await
    })?;
    rows.into_iter().map(token).collect()
}

/// The secret's visible prefix, as Unleash writes it.
fn prefix(projects: &[String], environment: &str) -> String {
    let projects = match projects {
        [one] => one.clone(),
        _ => "[]".to_owned(),
    };
    format!("{projects}:{environment}")
}

fn random_hex() -> String {
    let mut bytes = [0u8; 28];
    getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
    hex::encode(bytes)
}

/// Create an SDK token (admin). The secret is in this response only.
#[utoipa::path(post, path = "/v1/sdk-tokens", tag = "sdk", request_body = SdkTokenIn,
    responses((status = 201, body = CreatedSdkToken)))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<SdkTokenIn>,
) -> Result<(StatusCode, Json<CreatedSdkToken>), Error> {
    caller.require(Role::Admin)?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::invalid_field("name", "must be 1-200 characters"));
    }
    if !["client", "frontend"].contains(&body.token_type.as_str()) {
        return Err(Error::invalid_field("type", "must be client or frontend"));
    }
    let environment = environments::find(&state, &caller, &body.environment)
        .await
        .map_err(|_| Error::invalid_field("environment", "no such environment"))?;
    let projects = body.projects.unwrap_or_else(|| vec!["*".to_owned()]);
    if projects.is_empty() {
        return Err(Error::invalid_field("projects", "name at least one project, or [\"*\"] for all"));
    }
    if projects.len() > 1 && projects.iter().any(|p| p == "*") {
        return Err(Error::invalid_field("projects", "\"*\" stands alone"));
    }
    for (i, key) in projects.iter().enumerate().filter(|(_, p)| *p != "*") {
        projects::find(&state, &caller, key)
            .await
            .map_err(|_| Error::invalid_field(format!("projects[{i}]"), format!("no project {key:?}")))?;
    }
    let cors_origins = body.cors_origins.unwrap_or_default();
    for (i, origin) in cors_origins.iter().enumerate() {
        let ok = origin == "*" || origin.starts_with("http://") || origin.starts_with("https://");
        if !ok || origin.len() > 500 {
            return Err(Error::invalid_field(format!("cors_origins[{i}]"), "must be * or an http(s) origin"));
        }
    }
    let secret = format!("{}.{}", prefix(&projects, &environment.key), random_hex());
    let id = new_id();
    let now = state.clock.now();
    let event = NewEvent::new(
        caller.workspace_id,
        types::SDK_TOKEN_CREATED,
        Some(caller.principal_id),
        json!({ "id": id, "name": name, "type": body.token_type, "environment": environment.key, "projects": projects }),
        now,
    );
    in_flags_tx!(&state.db, |tx| {
        sqlx::query(
            "INSERT INTO sdk_tokens (id, workspace_id, name, type, environment_id, projects, cors_origins, token_hash, \
             created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id.to_string())
        .bind(caller.workspace_id.to_string())
        .bind(name)
        .bind(&body.token_type)
        .bind(environment.id.to_string())
        .bind(serde_json::to_string(&projects).expect("strings serialise"))
        .bind(serde_json::to_string(&cors_origins).expect("strings serialise"))
        .bind(hash_secret(&secret))
        .bind(caller.principal_id.to_string())
        .bind(now.to_string())
        .execute(&mut *tx)
        .await?;
        tx.append_event(&event).await?;
    })?;
    let created = list(&state.db, caller.workspace_id)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| Error::internal(anyhow::anyhow!("an SDK token vanished after its insert")))?;
    Ok((StatusCode::CREATED, Json(CreatedSdkToken { token: created, secret })))
}

/// The workspace's SDK tokens, without secrets (admin).
#[utoipa::path(get, path = "/v1/sdk-tokens", tag = "sdk", responses((status = 200, body = SdkTokenList)))]
pub async fn list_tokens(State(state): State<AppState>, caller: Caller) -> Result<Json<SdkTokenList>, Error> {
    caller.require(Role::Admin)?;
    Ok(Json(SdkTokenList { data: list(&state.db, caller.workspace_id).await? }))
}

/// Revoke an SDK token, at once on every server (admin).
#[utoipa::path(delete, path = "/v1/sdk-tokens/{id}", tag = "sdk", params(("id" = Uuid, Path)),
    responses((status = 204, description = "Revoked")))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, Error> {
    caller.require(Role::Admin)?;
    let event = NewEvent::new(
        caller.workspace_id,
        types::SDK_TOKEN_REVOKED,
        Some(caller.principal_id),
        json!({ "id": id }),
        state.clock.now(),
    );
    let revoked = in_flags_tx!(&state.db, |tx| {
        let gone = sqlx::query("DELETE FROM sdk_tokens WHERE workspace_id = $1 AND id = $2")
            .bind(caller.workspace_id.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if gone {
            tx.append_event(&event).await?;
        }
        gone
    })?;
    if !revoked {
        return Err(Error::not_found("no SDK token with this id in the workspace"));
    }
    state.sdk.tokens.invalidate();
    Ok(StatusCode::NO_CONTENT)
}
