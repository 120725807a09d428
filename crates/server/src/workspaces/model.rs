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
pub struct WorkspaceSettings {
    /// How long login sessions last here, in seconds; at most the server's `--jwt-lifetime`.
    pub session_lifetime_seconds: Option<u64>,
}

/// `GET /v1/workspace/settings`: the overrides and the caps they must stay within.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorkspaceSettingsOut {
    #[serde(flatten)]
    pub settings: WorkspaceSettings,
    pub caps: SettingsCaps,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SettingsCaps {
    pub session_lifetime_seconds: u64,
}

/// `PUT /v1/workspace/settings`: absent fields unchanged, `null` restores the server default.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct WorkspaceSettingsPatch {
    #[serde(default)]
    #[schema(value_type = Option<u64>)]
    pub session_lifetime_seconds: Patch<serde_json::Value>,
}
