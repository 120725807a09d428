//! Workspace shapes.

use serde::{Deserialize, Serialize};
use signalbox_core::{Role, Timestamp};
use uuid::Uuid;

use crate::http::Patch;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Workspace {
    pub id: Uuid,
    pub name: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A workspace you belong to, with your role there.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WorkspaceMembership {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct WorkspaceIn {
    pub name: String,
}

/// Per-workspace overrides of server defaults, each within the server's cap. `null` means
/// "use the server's value". Stored as JSON; later features add fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct WorkspaceSettings {
    /// How long login sessions last here, in seconds; at most the server's `--jwt-lifetime`.
    pub session_lifetime_seconds: Option<u64>,
    /// Signals per second per signal endpoint; `0` = no limit (only when the server has none).
    pub signal_rate_limit: Option<u64>,
    /// Signal endpoints in this workspace; `0` = no limit (only when the server has none).
    pub max_signal_endpoints: Option<u64>,
    /// Tokens per signal endpoint; `0` = no limit (only when the server has none).
    pub max_tokens_per_endpoint: Option<u64>,
    /// Largest signal payload in bytes; `0` = no limit (only when the server has none).
    pub max_signal_payload_bytes: Option<u64>,
    /// Typed signals per UTC minute; at most the server's cap.
    #[serde(default)]
    pub typed_signal_rate_per_minute: Option<u64>,
    /// Typed signals per UTC day; at most the server's cap.
    #[serde(default)]
    pub typed_signal_rate_per_day: Option<u64>,
    /// The ICP score (0-100) from which a capture qualifies; default 60.
    #[serde(default)]
    pub qualification_threshold: Option<u64>,
}

/// `GET /v1/workspace/settings`: the overrides and the server's caps they must stay within
/// (a cap of `0` means the server sets no limit).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorkspaceSettingsOut {
    #[serde(flatten)]
    pub settings: WorkspaceSettings,
    pub caps: SettingsCaps,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SettingsCaps {
    pub session_lifetime_seconds: u64,
    pub signal_rate_limit: u64,
    pub max_signal_endpoints: u64,
    pub max_tokens_per_endpoint: u64,
    pub max_signal_payload_bytes: u64,
    pub typed_signal_rate_per_minute: u64,
    pub typed_signal_rate_per_day: u64,
}

/// `PUT /v1/workspace/settings`: absent fields unchanged, `null` restores the server default.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct WorkspaceSettingsPatch {
    #[serde(default)]
    #[schema(value_type = Option<u64>)]
    pub session_lifetime_seconds: Patch<serde_json::Value>,
    #[serde(default)]
    #[schema(value_type = Option<u64>)]
    pub signal_rate_limit: Patch<serde_json::Value>,
    #[serde(default)]
    #[schema(value_type = Option<u64>)]
    pub max_signal_endpoints: Patch<serde_json::Value>,
    #[serde(default)]
    #[schema(value_type = Option<u64>)]
    pub max_tokens_per_endpoint: Patch<serde_json::Value>,
    #[serde(default)]
    #[schema(value_type = Option<u64>)]
    pub max_signal_payload_bytes: Patch<serde_json::Value>,
    #[serde(default)]
    #[schema(value_type = Option<u64>)]
    pub typed_signal_rate_per_minute: Patch<serde_json::Value>,
    #[serde(default)]
    #[schema(value_type = Option<u64>)]
    pub typed_signal_rate_per_day: Patch<serde_json::Value>,
    #[serde(default)]
    #[schema(value_type = Option<u64>)]
    pub qualification_threshold: Patch<serde_json::Value>,
}
