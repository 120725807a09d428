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

/// Event type names; the catalogue with descriptions and schemas is in `signalbox_core`.
pub use signalbox_core::event_types::names as types;

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
