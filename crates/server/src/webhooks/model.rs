//! Webhook and delivery shapes: what is stored, and what the API shows (the FeatureSignals
//! seed's fields, plus health and delivery state).

use serde::{Deserialize, Serialize};
use signalbox_core::Timestamp;
use uuid::Uuid;

use crate::http::Patch;

/// A webhook as stored (secrets still sealed).
#[derive(Debug, Clone)]
pub struct WebhookRecord {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub url: String,
    pub secret: Option<String>,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<Timestamp>,
    /// As given, e.g. `["*"]`.
    pub events: Vec<String>,
    pub enabled: bool,
    /// As given; `None` = the server default.
    pub retry_schedule: Option<Vec<String>>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_success_at: Option<Timestamp>,
    pub last_failure_at: Option<Timestamp>,
    pub consecutive_failures: i64,
    pub disabled_reason: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Webhook {
    pub id: Uuid,
    pub name: String,
    pub url: String,
    /// Whether deliveries are signed; the secret itself is never shown.
    pub has_secret: bool,
    /// The event filter as given: `[]` or `["*"]` is every type except `signal.received` and
    /// `signal.captured`, which must be named.
    pub events: Vec<String>,
    pub enabled: bool,
    /// Delays between attempts; the server's default when the webhook has none of its own.
    pub retry_schedule: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_success_at: Option<Timestamp>,
    pub last_failure_at: Option<Timestamp>,
    /// Failed attempts since the last success.
    pub consecutive_failures: i64,
    /// Why the server disabled the webhook (410 Gone, or too many dead deliveries); `null`
    /// when it was not disabled by the server.
    pub disabled_reason: Option<String>,
}

impl WebhookRecord {
    pub fn to_api(&self, default_schedule: &[String]) -> Webhook {
        Webhook {
            id: self.id,
            name: self.name.clone(),
            url: self.url.clone(),
            has_secret: self.secret.is_some(),
            events: self.events.clone(),
            enabled: self.enabled,
            retry_schedule: self.retry_schedule.clone().unwrap_or_else(|| default_schedule.to_vec()),
            created_at: self.created_at,
            updated_at: self.updated_at,
            last_success_at: self.last_success_at,
            last_failure_at: self.last_failure_at,
            consecutive_failures: self.consecutive_failures,
            disabled_reason: self.disabled_reason.clone(),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookIn {
    /// 1–200 characters.
    pub name: String,
    /// Absolute `http`/`https` URL, at most 2 KiB, no user info, not an internal address.
    pub url: String,
    /// HMAC-SHA256 signing secret, 1–256 bytes. A `whsec_` + base64 secret is used decoded
    /// (Standard Webhooks); any other text as its UTF-8 bytes.
    pub secret: Option<String>,
    /// Event types to deliver; `[]` or `["*"]` (the default) is every type except
    /// `signal.received` and `signal.captured`.
    pub events: Option<Vec<String>>,
    /// Delays between attempts, e.g. `["1s","4s"]` (at most 10, each at most 24h).
    pub retry_schedule: Option<Vec<String>>,
    /// Default `true`.
    pub enabled: Option<bool>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub url: Patch<String>,
    /// A new secret (the old one keeps signing for the grace period), or `null` to stop signing.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub secret: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub events: Patch<Vec<String>>,
    /// `true` re-enables a webhook the server disabled; `false` cancels its pending deliveries.
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub enabled: Patch<bool>,
    /// `null` returns to the server's default.
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub retry_schedule: Patch<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    Dead,
    Cancelled,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Dead => "dead",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "succeeded" => Some(Self::Succeeded),
            "dead" => Some(Self::Dead),
            "cancelled" => Some(Self::Cancelled),
            _ => None,
        }
    }
}

/// One delivery of one event to one webhook.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    /// Also the `webhook-id` header of every attempt, so receivers can drop duplicates.
    pub id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub status: DeliveryStatus,
    /// The status code of the latest attempt that got an answer.
    pub response_status: Option<i64>,
    pub success: bool,
    /// When the successful attempt was made; `null` until then.
    pub delivered_at: Option<Timestamp>,
    pub attempts: i64,
    /// When the next attempt is due (pending deliveries only).
    pub next_attempt_at: Option<Timestamp>,
    pub created_at: Timestamp,
    /// Cursor for `?before=`.
    pub seq: i64,
}

/// One HTTP attempt of a delivery.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Attempt {
    pub attempted_at: Timestamp,
    /// `null` when no answer arrived (timeout, refused connection, forbidden destination).
    pub response_status: Option<i64>,
    pub duration_ms: i64,
    /// The first 1 KiB of the answer.
    pub response_body: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: Delivery,
    pub attempt_log: Vec<Attempt>,
}
