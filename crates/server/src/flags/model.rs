//! Projects, environments and flags: stored records and API shapes.

use serde::{Deserialize, Serialize};
use signalbox_core::Timestamp;
use signalbox_core::flags::{Strategy, Variant};
use uuid::Uuid;

use crate::http::Patch;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Project {
    pub id: Uuid,
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectIn {
    /// `[a-z0-9][a-z0-9-]{0,63}`, unique in the workspace.
    pub key: String,
    /// Default: the key.
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Environment {
    pub id: Uuid,
    pub key: String,
    pub name: String,
    /// `development`, `test`, `staging` or `production`.
    #[serde(rename = "type")]
    pub environment_type: String,
    pub sort_order: i64,
    /// Writes to flag configuration here become change requests.
    pub requires_approval: bool,
    pub approvals_required: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentIn {
    pub key: String,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub environment_type: String,
    pub sort_order: Option<i64>,
    pub requires_approval: Option<bool>,
    pub approvals_required: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default, rename = "type")]
    #[schema(value_type = Option<String>)]
    pub environment_type: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub sort_order: Patch<i64>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub requires_approval: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub approvals_required: Patch<i64>,
}

/// Who killed a flag in an environment, when and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Kill {
    pub at: Timestamp,
    pub by: Option<Uuid>,
    pub reason: String,
}

/// A flag's configuration in one environment (stored, or the default when never written).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FlagEnvironment {
    pub environment: String,
    pub enabled: bool,
    /// Unleash's strategy model, in order.
    #[schema(value_type = Vec<Object>)]
    pub strategies: Vec<Strategy>,
    #[schema(value_type = Vec<Object>)]
    pub variants: Vec<Variant>,
    /// Set while the kill switch holds the flag off here.
    pub killed: Option<Kill>,
    /// The configuration's version: its ETag.
    pub version: i64,
    pub updated_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Flag {
    pub id: Uuid,
    pub project: String,
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    /// `release`, `experiment`, `operational`, `kill-switch` or `permission`.
    #[serde(rename = "type")]
    pub flag_type: String,
    pub tags: Vec<String>,
    pub impression_data: bool,
    pub archived: bool,
    pub archived_at: Option<Timestamp>,
    /// The flag's own version (name, type, tags, …): its ETag.
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Every environment of the workspace, in sort order.
    pub environments: Vec<FlagEnvironment>,
    /// Evaluations reported by SDKs over the last 48 hours, by hour (on the flag detail only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub usage: Option<Vec<crate::sdk::applications::FlagUsage>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagIn {
    /// `[A-Za-z0-9._-]{1,100}`, unique in the project.
    pub key: String,
    /// Default: the key.
    pub name: Option<String>,
    pub description: Option<String>,
    /// Default `release`.
    #[serde(rename = "type")]
    pub flag_type: Option<String>,
    pub tags: Option<Vec<String>>,
    pub impression_data: Option<bool>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    #[serde(default, rename = "type")]
    #[schema(value_type = Option<String>)]
    pub flag_type: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub tags: Patch<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub impression_data: Patch<bool>,
    /// `false` brings an archived flag back.
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub archived: Patch<bool>,
}

/// A change to a flag's configuration in one environment; absent fields are unchanged.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagEnvironmentPatch {
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub enabled: Patch<bool>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub strategies: Patch<Vec<Strategy>>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub variants: Patch<Vec<Variant>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KillIn {
    /// Why, 1–500 characters; shown on the flag and in the `flag.killed` event.
    pub reason: String,
    /// Environment keys; default: all.
    pub environments: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviveIn {
    /// Environment keys; default: all where it is killed.
    pub environments: Option<Vec<String>>,
}
