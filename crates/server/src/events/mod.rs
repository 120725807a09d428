//! The event log: every state change writes one event row in the change's own transaction
//! (see `db::TxExt::append_event`). Later features read it for webhooks, audit and live views.

use serde_json::Value;
use signalbox_core::{Timestamp, new_id};
use uuid::Uuid;

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
