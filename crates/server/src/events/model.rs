//! Event shapes.

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use signalbox_core::{Timestamp, new_id};
use uuid::Uuid;

/// A committed event.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Event {
    /// Position in the log: a reader that has seen `seq = n` never later finds a committed
    /// event with a smaller one.
    pub seq: i64,
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    pub workspace_id: Uuid,
    /// The principal who made the change; `null` for the server itself.
    pub actor_id: Option<Uuid>,
    /// The event's data, exactly as stored.
    #[schema(value_type = Object)]
    pub data: Box<RawValue>,
    pub created_at: Timestamp,
}

/// Event types written by the foundation (configuration changes, for the audit log).
pub mod types {
    pub const WORKSPACE_CREATED: &str = "workspace.created";
    pub const WORKSPACE_SETTINGS_UPDATED: &str = "workspace.settings_updated";
    pub const MEMBER_ADDED: &str = "member.added";
    pub const MEMBER_UPDATED: &str = "member.updated";
    pub const MEMBER_REMOVED: &str = "member.removed";
    pub const USER_PASSWORD_CHANGED: &str = "user.password_changed";
    pub const SERVICE_ACCOUNT_CREATED: &str = "service_account.created";
    pub const SERVICE_ACCOUNT_DELETED: &str = "service_account.deleted";
    pub const API_TOKEN_CREATED: &str = "api_token.created";
    pub const API_TOKEN_REVOKED: &str = "api_token.revoked";
    pub const SIGNAL_ENDPOINT_CREATED: &str = "signal_endpoint.created";
    pub const SIGNAL_ENDPOINT_UPDATED: &str = "signal_endpoint.updated";
    pub const SIGNAL_ENDPOINT_DELETED: &str = "signal_endpoint.deleted";
    pub const SIGNAL_ENDPOINT_TOKEN_CREATED: &str = "signal_endpoint_token.created";
    pub const SIGNAL_ENDPOINT_TOKEN_UPDATED: &str = "signal_endpoint_token.updated";
    pub const SIGNAL_ENDPOINT_TOKEN_REVOKED: &str = "signal_endpoint_token.revoked";
    pub const SIGNAL_RECEIVED: &str = "signal.received";
}

/// An event about to be appended.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub event_type: &'static str,
    pub actor_id: Option<Uuid>,
    pub data: Value,
    pub created_at: Timestamp,
}

impl NewEvent {
    pub fn new(
        workspace_id: Uuid,
        event_type: &'static str,
        actor_id: Option<Uuid>,
        data: Value,
        created_at: Timestamp,
    ) -> Self {
        Self { id: new_id(), workspace_id, event_type, actor_id, data, created_at }
    }
}
