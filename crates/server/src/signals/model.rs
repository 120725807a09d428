//! Signal endpoint shapes: one stored record, shown two ways — the `/v1` API (UUIDs,
//! snake_case) and the Unleash paths (integer ids, camelCase).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use signalbox_core::Timestamp;
use uuid::Uuid;

use crate::http::Patch;

/// A stored endpoint with its tokens.
#[derive(Debug, Clone)]
pub struct EndpointRecord {
    pub int_id: i64,
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub created_by_int: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub counters: EndpointCounters,
    pub tokens: Vec<TokenRecord>,
}

#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub int_id: i64,
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub name: String,
    pub created_by_int: Option<i64>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// What happened to requests for an endpoint, for whoever is wiring up a sender.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EndpointCounters {
    /// Signals stored.
    pub accepted: i64,
    /// Refused with 401 (missing, wrong or revoked token).
    pub unauthorized: i64,
    /// Refused with 413 (payload over the limit).
    pub too_large: i64,
    /// Refused with 429 (rate limit).
    pub rate_limited: i64,
}

/// A stored signal.
#[derive(Debug)]
pub struct SignalRecord {
    pub int_id: i64,
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub endpoint_int_id: i64,
    pub token_id: Option<Uuid>,
    pub token_name: String,
    pub payload: Box<RawValue>,
    pub received_at: Timestamp,
    pub seq: i64,
}

// ---- /v1 ------------------------------------------------------------------------------

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignalEndpoint {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub tokens: Vec<EndpointToken>,
    pub counters: EndpointCounters,
    /// Where senders POST: `{public_url}/api/signal-endpoint/{name}`.
    pub url: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndpointToken {
    pub id: Uuid,
    pub name: String,
    pub created_at: Timestamp,
    /// Updated at most once a minute.
    pub last_used_at: Option<Timestamp>,
}

/// A token as created: the only time `token` is shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedEndpointToken {
    pub id: Uuid,
    pub name: String,
    /// The secret for `Authorization: Bearer …`. Store it now: it is not shown again.
    pub token: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SignalEndpointIn {
    /// 1–100 characters of `A-Z a-z 0-9 _ -`, unique in the workspace.
    pub name: String,
    pub description: Option<String>,
    /// Default `true`.
    pub enabled: Option<bool>,
}

/// Partial update: absent fields are unchanged; `description: null` clears it.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct SignalEndpointPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    pub enabled: Patch<bool>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct EndpointTokenIn {
    pub name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Signal {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub token_id: Option<Uuid>,
    /// The name of the token that sent it: the source's identity.
    pub token_name: String,
    /// The body as received (`{}` for an empty body).
    #[schema(value_type = Object)]
    pub payload: Box<RawValue>,
    pub received_at: Timestamp,
    /// The `seq` of its `signal.received` event; the live view's `Last-Event-ID`.
    pub seq: i64,
}

/// `202` for an accepted signal: it is committed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignalAccepted {
    pub id: Uuid,
    pub received_at: Timestamp,
}

impl EndpointRecord {
    pub fn to_v1(&self, public_url: &str) -> SignalEndpoint {
        SignalEndpoint {
            id: self.id,
            name: self.name.clone(),
            description: self.description.clone(),
            enabled: self.enabled,
            created_at: self.created_at,
            updated_at: self.updated_at,
            tokens: self
                .tokens
                .iter()
                .map(|t| EndpointToken {
                    id: t.id,
                    name: t.name.clone(),
                    created_at: t.created_at,
                    last_used_at: t.last_used_at,
                })
                .collect(),
            counters: self.counters,
            url: format!("{public_url}/api/signal-endpoint/{}", self.name),
        }
    }

    pub fn to_unleash(&self) -> UnleashSignalEndpoint {
        UnleashSignalEndpoint {
            id: self.int_id,
            enabled: self.enabled,
            name: self.name.clone(),
            created_at: self.created_at,
            created_by_user_id: self.created_by_int,
            description: self.description.clone(),
            tokens: self.tokens.iter().map(|t| t.to_unleash(self.int_id)).collect(),
        }
    }
}

impl TokenRecord {
    pub fn to_unleash(&self, endpoint_int_id: i64) -> UnleashSignalEndpointToken {
        UnleashSignalEndpointToken {
            id: self.int_id,
            name: self.name.clone(),
            signal_endpoint_id: endpoint_int_id,
            created_at: self.created_at,
            created_by_user_id: self.created_by_int,
        }
    }
}

impl From<SignalRecord> for Signal {
    fn from(r: SignalRecord) -> Self {
        Signal {
            id: r.id,
            endpoint_id: r.endpoint_id,
            token_id: r.token_id,
            token_name: r.token_name,
            payload: r.payload,
            received_at: r.received_at,
            seq: r.seq,
        }
    }
}

// ---- Unleash paths ----------------------------------------------------------------------

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnleashSignalEndpoint {
    pub id: i64,
    pub enabled: bool,
    pub name: String,
    pub created_at: Timestamp,
    pub created_by_user_id: Option<i64>,
    pub description: Option<String>,
    pub tokens: Vec<UnleashSignalEndpointToken>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnleashSignalEndpointToken {
    pub id: i64,
    pub name: String,
    pub signal_endpoint_id: i64,
    pub created_at: Timestamp,
    pub created_by_user_id: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnleashCreatedToken {
    #[serde(flatten)]
    pub token: UnleashSignalEndpointToken,
    /// The secret; shown only here.
    #[serde(rename = "token")]
    pub secret: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnleashSignalEndpoints {
    pub signal_endpoints: Vec<UnleashSignalEndpoint>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnleashSignal {
    pub id: i64,
    /// Always `signal-endpoint`.
    pub source: &'static str,
    /// The endpoint's integer id.
    pub source_id: i64,
    pub created_at: Timestamp,
    pub token_name: String,
    #[schema(value_type = Object)]
    pub payload: Box<RawValue>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnleashSignals {
    pub signal_endpoint_signals: Vec<UnleashSignal>,
}

impl From<SignalRecord> for UnleashSignal {
    fn from(r: SignalRecord) -> Self {
        UnleashSignal {
            id: r.int_id,
            source: "signal-endpoint",
            source_id: r.endpoint_int_id,
            created_at: r.received_at,
            token_name: r.token_name,
            payload: r.payload,
        }
    }
}

/// Unleash's create/update body: camelCase, the same fields.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UnleashSignalEndpointIn {
    pub name: String,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}
