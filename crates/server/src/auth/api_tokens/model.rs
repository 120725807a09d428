//! API token shapes.

use serde::{Deserialize, Serialize};
use signalbox_core::{Role, Timestamp, TokenScope};
use uuid::Uuid;

/// A stored token, without its secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: Uuid,
    pub name: String,
    /// The most this token may do; `null` for a scoped token.
    pub role: Option<Role>,
    /// `ingest`: the typed signals API only. `null` for a role token.
    pub scope: Option<TokenScope>,
    /// The user or service account the token acts as.
    pub principal_id: Uuid,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    /// Updated at most once a minute.
    pub last_used_at: Option<Timestamp>,
}

/// `POST /v1/api-tokens`. Give `role` or `scope`, not both.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ApiTokenIn {
    pub name: String,
    #[schema(value_type = Option<Role>)]
    pub role: Option<String>,
    #[schema(value_type = Option<TokenScope>)]
    pub scope: Option<String>,
    /// RFC 3339; must be in the future. Absent: the token does not expire.
    #[schema(value_type = Option<Timestamp>)]
    pub expires_at: Option<String>,
    /// Mint the token for this service account (admin or owner) instead of yourself.
    #[schema(value_type = Option<Uuid>)]
    pub service_account_id: Option<String>,
}

/// The token as created: the only time `token` is shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedApiToken {
    pub id: Uuid,
    pub name: String,
    pub role: Option<Role>,
    pub scope: Option<TokenScope>,
    /// The secret. Store it now: it is not shown again.
    pub token: String,
    pub principal_id: Uuid,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}
