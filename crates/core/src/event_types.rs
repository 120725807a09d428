//! The event catalogue: every event type Signalbox writes to its log, what it means, the shape
//! of its `data`, an example, and how webhook subscriptions select it.
//!
//! A webhook's `events` list is matched here. `[]` and `["*"]` select every type with
//! `in_wildcard` — all but the high-volume `signal.received` and `signal.captured`, which a
//! webhook must name (one busy signal endpoint would otherwise flood every receiver), and
//! `webhook.test`, which only `POST /v1/webhooks/{id}/test` sends.

/// One entry of the catalogue. `schema` and `example` are JSON text, checked by the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventType {
    pub name: &'static str,
    pub description: &'static str,
    /// Whether a webhook may subscribe to it by name.
    pub subscribable: bool,
    /// Whether `[]` / `["*"]` selects it.
    pub in_wildcard: bool,
    /// JSON Schema of the event's `data`.
    pub schema: &'static str,
    /// An example of `data`.
    pub example: &'static str,
}

/// What `events: ["*"]` is spelled as.
pub const WILDCARD: &str = "*";

pub mod names {
    pub const FLAG_CREATED: &str = "flag.created";
    pub const FLAG_UPDATED: &str = "flag.updated";
    pub const FLAG_DELETED: &str = "flag.deleted";
    pub const FLAG_KILLED: &str = "flag.killed";
    pub const FLAG_PROMOTED: &str = "flag.promoted";
    pub const FLAG_SCHEDULED_TOGGLE: &str = "flag.scheduled_toggle";
    pub const FLAG_APPROVED_CHANGE_APPLIED: &str = "flag.approved_change_applied";
    pub const SIGNAL_RECEIVED: &str = "signal.received";
    pub const SIGNAL_CAPTURED: &str = "signal.captured";
    pub const SIGNAL_QUALIFIED: &str = "signal.qualified";
    pub const ACTION_SUCCEEDED: &str = "action.succeeded";
    pub const ACTION_FAILED: &str = "action.failed";
    pub const WEBHOOK_TEST: &str = "webhook.test";
    pub const WEBHOOK_CREATED: &str = "webhook.created";
    pub const WEBHOOK_UPDATED: &str = "webhook.updated";
    pub const WEBHOOK_DELETED: &str = "webhook.deleted";
    pub const WEBHOOK_DISABLED: &str = "webhook.disabled";
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
    pub const QUALIFICATION_PROFILE_CREATED: &str = "qualification_profile.created";
    pub const QUALIFICATION_PROFILE_UPDATED: &str = "qualification_profile.updated";
    pub const QUALIFICATION_PROFILE_DELETED: &str = "qualification_profile.deleted";
    pub const SIGNAL_TYPE_CREATED: &str = "signal_type.created";
    pub const SIGNAL_TYPE_UPDATED: &str = "signal_type.updated";
    pub const SIGNAL_TYPE_DELETED: &str = "signal_type.deleted";
    pub const ACTION_SET_CREATED: &str = "action_set.created";
    pub const ACTION_SET_UPDATED: &str = "action_set.updated";
    pub const ACTION_SET_DELETED: &str = "action_set.deleted";
    pub const PROJECT_CREATED: &str = "project.created";
    pub const PROJECT_UPDATED: &str = "project.updated";
    pub const PROJECT_DELETED: &str = "project.deleted";
    pub const ENVIRONMENT_CREATED: &str = "environment.created";
    pub const ENVIRONMENT_UPDATED: &str = "environment.updated";
    pub const ENVIRONMENT_DELETED: &str = "environment.deleted";
    pub const SEGMENT_CREATED: &str = "segment.created";
    pub const SEGMENT_UPDATED: &str = "segment.updated";
    pub const SEGMENT_DELETED: &str = "segment.deleted";
    pub const CHANGE_REQUEST_CREATED: &str = "change_request.created";
    pub const CHANGE_REQUEST_APPROVED: &str = "change_request.approved";
    pub const CHANGE_REQUEST_REJECTED: &str = "change_request.rejected";
    pub const CHANGE_REQUEST_CANCELLED: &str = "change_request.cancelled";
    pub const SCHEDULE_CREATED: &str = "schedule.created";
    pub const SCHEDULE_CANCELLED: &str = "schedule.cancelled";
    pub const SDK_TOKEN_CREATED: &str = "sdk_token.created";
    pub const SDK_TOKEN_REVOKED: &str = "sdk_token.revoked";
    pub const FLAGS_IMPORTED: &str = "flags.imported";
}

use names::*;

const FLAG_SCHEMA: &str = r#"{"type":"object","properties":{"flag_key":{"type":"string"},"project":{"type":"string"},"environment":{"type":["string","null"],"description":"The environment changed, when one was"},"environments":{"type":"array","items":{"type":"string"}},"before":{"type":["object","null"],"description":"The state before the change"},"after":{"type":["object","null"],"description":"The state after the change"},"reason":{"type":"string"},"hard":{"type":"boolean","description":"flag.deleted: true when deleted, false when archived"}},"required":["flag_key","project"]}"#;
const FLAG_EXAMPLE: &str = r#"{"flag_key":"new-checkout","project":"default","environment":"production","before":{"enabled":false},"after":{"enabled":true}}"#;
const SEGMENT_SCHEMA: &str =
    r#"{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"}},"required":["id"]}"#;
const CHANGE_REQUEST_SCHEMA: &str = r#"{"type":"object","properties":{"flag_key":{"type":"string"},"project":{"type":"string"},"environment":{"type":"string"},"change_request":{"type":"object"}},"required":["flag_key","project","change_request"]}"#;
const CHANGE_REQUEST_EXAMPLE: &str = r#"{"flag_key":"new-checkout","project":"default","environment":"production","change_request":{"id":"019a7b1d-0000-7000-8000-00000000000a","kind":"change","state":"open"}}"#;
const KEYED_SCHEMA: &str = r#"{"type":"object","properties":{"id":{"type":"string","format":"uuid"},"key":{"type":"string"}},"required":["id","key"]}"#;
const ID_NAME_SCHEMA: &str = r#"{"type":"object","properties":{"id":{"type":"string","format":"uuid"},"name":{"type":["string","null"]}},"required":["id"]}"#;

/// A configuration-change (audit) type: subscribable, selected by `*`.
const fn audit(
    name: &'static str,
    description: &'static str,
    schema: &'static str,
    example: &'static str,
) -> EventType {
    EventType { name, description, subscribable: true, in_wildcard: true, schema, example }
}

const fn flag(name: &'static str, description: &'static str) -> EventType {
    audit(name, description, FLAG_SCHEMA, FLAG_EXAMPLE)
}

/// Every event type, in the order `GET /v1/event-types` lists them.
pub const CATALOGUE: &[EventType] = &[
    flag(FLAG_CREATED, "A feature flag was created."),
    flag(FLAG_UPDATED, "A feature flag's metadata or configuration changed."),
    flag(FLAG_DELETED, "A feature flag was deleted."),
    flag(FLAG_KILLED, "A flag's kill switch was activated."),
    flag(FLAG_PROMOTED, "A flag's configuration was promoted to another environment."),
    flag(FLAG_SCHEDULED_TOGGLE, "A scheduled enable or disable took effect."),
    flag(FLAG_APPROVED_CHANGE_APPLIED, "An approved change request was applied."),
    EventType {
        name: SIGNAL_RECEIVED,
        description: "A signal endpoint accepted a signal. High volume: delivered only to webhooks that name it.",
        subscribable: true,
        in_wildcard: false,
        schema: r#"{"type":"object","properties":{"signal_id":{"type":"string","format":"uuid"},"endpoint_id":{"type":"string","format":"uuid"},"endpoint_name":{"type":"string"},"token_id":{"type":"string","format":"uuid"},"token_name":{"type":"string"},"payload":{"type":["object","array","string","number","boolean","null"],"description":"The signal's JSON payload, verbatim (in webhook deliveries)"}},"required":["signal_id","endpoint_id","endpoint_name","token_name"]}"#,
        example: r#"{"signal_id":"019a7b1e-4c2d-7e3f-8a9b-0c1d2e3f4a5b","endpoint_id":"019a7b1d-0000-7000-8000-000000000001","endpoint_name":"deploys","token_id":"019a7b1d-0000-7000-8000-000000000002","token_name":"ci","payload":{"service":"checkout","status":"failed"}}"#,
    },
    EventType {
        name: SIGNAL_CAPTURED,
        description: "A typed signal was captured. High volume: delivered only to webhooks that name it.",
        subscribable: true,
        in_wildcard: false,
        schema: r#"{"type":"object","properties":{"id":{"type":"string"},"type":{"type":"string"},"properties":{"type":"object"}},"required":["id","type"]}"#,
        example: r#"{"id":"sig_capture_019a7b1e4c2d7e3f8a9b0c1d2e3f4a5b","type":"pricing_page_viewed","properties":{"plan":"team"}}"#,
    },
    audit(
        SIGNAL_QUALIFIED,
        "A lead met a qualification profile.",
        r#"{"type":"object","properties":{"signal_capture_id":{"type":"string"},"matched_record_id":{"type":"string"},"qualification":{"type":"object","properties":{"icp_code":{"type":["string","null"]},"icp_score":{"type":["integer","null"]},"persona_code":{"type":["string","null"]},"persona_score":{"type":["integer","null"]}}},"lead_id":{"type":"string"},"profile":{"type":"string"},"score":{"type":"integer"}},"required":["signal_capture_id","matched_record_id","qualification","lead_id","profile","score"]}"#,
        r#"{"signal_capture_id":"sig_capture_019a7b1e4c2d7e3f8a9b0c1d2e3f4a5c","matched_record_id":"lead_019a7b1e4c2d7e3f8a9b0c1d2e3f4a5b","qualification":{"icp_code":"Mid-market SaaS","icp_score":73,"persona_code":"VP Engineering","persona_score":81},"lead_id":"lead_019a7b1e4c2d7e3f8a9b0c1d2e3f4a5b","profile":"Mid-market SaaS","score":73}"#,
    ),
    audit(
        ACTION_SUCCEEDED,
        "An action set's action ran and succeeded.",
        r#"{"type":"object","properties":{"action_set_id":{"type":"integer"},"action_set":{"type":"string","format":"uuid"},"run_id":{"type":"integer"},"run":{"type":"string","format":"uuid"},"project":{"type":"string"},"action":{"type":"string"},"index":{"type":"integer"},"details":{"type":"string"},"change_request_id":{"type":"string","format":"uuid"}},"required":["action_set_id","run_id","action"]}"#,
        r#"{"action_set_id":3,"action_set":"019a7b1d-0000-7000-8000-000000000003","run_id":17,"run":"019a7b1d-0000-7000-8000-000000000017","project":"default","action":"TOGGLE_FEATURE_OFF","index":0,"details":"checkout-v2 disabled in production"}"#,
    ),
    audit(
        ACTION_FAILED,
        "An action set's action ran and failed.",
        r#"{"type":"object","properties":{"action_set_id":{"type":"integer"},"action_set":{"type":"string","format":"uuid"},"run_id":{"type":"integer"},"run":{"type":"string","format":"uuid"},"project":{"type":"string"},"action":{"type":"string"},"index":{"type":"integer"},"error":{"type":"string"}},"required":["action_set_id","run_id","action","error"]}"#,
        r#"{"action_set_id":3,"action_set":"019a7b1d-0000-7000-8000-000000000003","run_id":18,"run":"019a7b1d-0000-7000-8000-000000000018","project":"default","action":"TOGGLE_FEATURE_ON","index":0,"error":"the flag checkout-v2 is killed in production"}"#,
    ),
    EventType {
        name: WEBHOOK_TEST,
        description: "A test event, sent only by POST /v1/webhooks/{id}/test to that webhook.",
        subscribable: false,
        in_wildcard: false,
        schema: r#"{"type":"object","properties":{"webhook_id":{"type":"string","format":"uuid"},"message":{"type":"string"}},"required":["webhook_id"]}"#,
        example: r#"{"webhook_id":"019a7b1d-0000-7000-8000-000000000003","message":"This is a test event from Signalbox."}"#,
    },
    audit(
        WEBHOOK_CREATED,
        "A webhook was created.",
        ID_NAME_SCHEMA,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000003","name":"Slack"}"#,
    ),
    audit(
        WEBHOOK_UPDATED,
        "A webhook was changed.",
        ID_NAME_SCHEMA,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000003","name":"Slack"}"#,
    ),
    audit(
        WEBHOOK_DELETED,
        "A webhook was deleted.",
        ID_NAME_SCHEMA,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000003","name":"Slack"}"#,
    ),
    audit(
        WEBHOOK_DISABLED,
        "The server disabled a webhook: its receiver answered 410 Gone, or too many deliveries in a row died.",
        r#"{"type":"object","properties":{"id":{"type":"string","format":"uuid"},"name":{"type":"string"},"reason":{"type":"string"}},"required":["id","reason"]}"#,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000003","name":"Slack","reason":"the receiver answered 410 Gone"}"#,
    ),
    audit(
        WORKSPACE_CREATED,
        "A workspace was created.",
        ID_NAME_SCHEMA,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000004","name":"Acme"}"#,
    ),
    audit(
        WORKSPACE_SETTINGS_UPDATED,
        "A workspace's settings changed.",
        r#"{"type":"object","properties":{"settings":{"type":"object"}},"required":["settings"]}"#,
        r#"{"settings":{"max_signal_endpoints":3}}"#,
    ),
    audit(
        MEMBER_ADDED,
        "A principal joined the workspace.",
        r#"{"type":"object","properties":{"principal_id":{"type":"string","format":"uuid"},"role":{"type":"string"}},"required":["principal_id","role"]}"#,
        r#"{"principal_id":"019a7b1d-0000-7000-8000-000000000005","role":"editor"}"#,
    ),
    audit(
        MEMBER_UPDATED,
        "A member's role or status changed.",
        r#"{"type":"object","properties":{"principal_id":{"type":"string","format":"uuid"}}}"#,
        r#"{"principal_id":"019a7b1d-0000-7000-8000-000000000005","role":"viewer"}"#,
    ),
    audit(
        MEMBER_REMOVED,
        "A user left the workspace.",
        r#"{"type":"object","properties":{"principal_id":{"type":"string","format":"uuid"}}}"#,
        r#"{"principal_id":"019a7b1d-0000-7000-8000-000000000005"}"#,
    ),
    audit(
        USER_PASSWORD_CHANGED,
        "A user changed their password; their other sessions ended.",
        r#"{"type":"object","properties":{"id":{"type":"string","format":"uuid"}},"required":["id"]}"#,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000005"}"#,
    ),
    audit(
        SERVICE_ACCOUNT_CREATED,
        "A service account was created.",
        r#"{"type":"object","properties":{"id":{"type":"string","format":"uuid"},"name":{"type":"string"},"role":{"type":"string"}},"required":["id"]}"#,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000006","name":"deploy-bot","role":"editor"}"#,
    ),
    audit(
        SERVICE_ACCOUNT_DELETED,
        "A service account was deleted.",
        r#"{"type":"object","properties":{"principal_id":{"type":"string","format":"uuid"}}}"#,
        r#"{"principal_id":"019a7b1d-0000-7000-8000-000000000006"}"#,
    ),
    audit(
        API_TOKEN_CREATED,
        "An API token was created (the secret is never in events).",
        r#"{"type":"object","properties":{"id":{"type":"string","format":"uuid"},"name":{"type":"string"},"role":{"type":["string","null"]},"scope":{"type":["string","null"]},"principal_id":{"type":"string","format":"uuid"}},"required":["id","name"]}"#,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000007","name":"ci","role":"editor","scope":null,"principal_id":"019a7b1d-0000-7000-8000-000000000006"}"#,
    ),
    audit(
        API_TOKEN_REVOKED,
        "An API token was revoked.",
        r#"{"type":"object","properties":{"id":{"type":"string","format":"uuid"},"name":{"type":"string"},"principal_id":{"type":"string","format":"uuid"}},"required":["id"]}"#,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000007","name":"ci","principal_id":"019a7b1d-0000-7000-8000-000000000006"}"#,
    ),
    audit(
        PROJECT_CREATED,
        "A project was created.",
        KEYED_SCHEMA,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000008","key":"checkout","name":"Checkout"}"#,
    ),
    audit(
        PROJECT_UPDATED,
        "A project was renamed or described.",
        KEYED_SCHEMA,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000008","key":"checkout","name":"Checkout v2"}"#,
    ),
    audit(
        PROJECT_DELETED,
        "An empty project was deleted.",
        KEYED_SCHEMA,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000008","key":"checkout","name":"Checkout"}"#,
    ),
    audit(
        ENVIRONMENT_CREATED,
        "An environment was created.",
        KEYED_SCHEMA,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000009","key":"staging","type":"staging","requires_approval":false}"#,
    ),
    audit(
        ENVIRONMENT_UPDATED,
        "An environment was changed.",
        KEYED_SCHEMA,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000009","key":"staging","type":"staging","requires_approval":true}"#,
    ),
    audit(
        ENVIRONMENT_DELETED,
        "An environment was deleted with its flag configurations.",
        KEYED_SCHEMA,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000009","key":"staging","type":"staging","requires_approval":false}"#,
    ),
    audit(SEGMENT_CREATED, "A segment was created.", SEGMENT_SCHEMA, r#"{"id":3,"name":"beta-testers"}"#),
    audit(SEGMENT_UPDATED, "A segment was changed.", SEGMENT_SCHEMA, r#"{"id":3,"name":"beta-testers"}"#),
    audit(SEGMENT_DELETED, "A segment was deleted.", SEGMENT_SCHEMA, r#"{"id":3,"name":"beta-testers"}"#),
    audit(
        CHANGE_REQUEST_CREATED,
        "A change to an environment that requires approval was requested.",
        CHANGE_REQUEST_SCHEMA,
        CHANGE_REQUEST_EXAMPLE,
    ),
    audit(CHANGE_REQUEST_APPROVED, "A change request got an approval.", CHANGE_REQUEST_SCHEMA, CHANGE_REQUEST_EXAMPLE),
    audit(CHANGE_REQUEST_REJECTED, "A change request was rejected.", CHANGE_REQUEST_SCHEMA, CHANGE_REQUEST_EXAMPLE),
    audit(
        CHANGE_REQUEST_CANCELLED,
        "A change request was cancelled by its author.",
        CHANGE_REQUEST_SCHEMA,
        CHANGE_REQUEST_EXAMPLE,
    ),
    audit(
        SCHEDULE_CREATED,
        "A scheduled toggle was created.",
        FLAG_SCHEMA,
        r#"{"flag_key":"new-checkout","project":"default","environment":"production","enabled":true,"at":"2026-12-01T09:00:00.000000Z"}"#,
    ),
    audit(
        SCHEDULE_CANCELLED,
        "A scheduled toggle was cancelled.",
        FLAG_SCHEMA,
        r#"{"flag_key":"new-checkout","project":"default","environment":"production","enabled":true,"at":"2026-12-01T09:00:00.000000Z"}"#,
    ),
    audit(
        SDK_TOKEN_CREATED,
        "An SDK token was created (the secret is never in events).",
        ID_NAME_SCHEMA,
        r#"{"id":"019a7b1d-0000-7000-8000-00000000000b","name":"web","type":"frontend","environment":"production","projects":["*"]}"#,
    ),
    audit(
        SDK_TOKEN_REVOKED,
        "An SDK token was revoked.",
        ID_NAME_SCHEMA,
        r#"{"id":"019a7b1d-0000-7000-8000-00000000000b"}"#,
    ),
    audit(
        FLAGS_IMPORTED,
        "Flags were imported from Unleash's client format.",
        r#"{"type":"object","properties":{"project":{"type":"string"},"environment":{"type":"string"},"features":{"type":"integer"},"segments":{"type":"integer"}},"required":["project","environment"]}"#,
        r#"{"project":"default","environment":"production","features":12,"segments":2}"#,
    ),
    audit(
        SIGNAL_ENDPOINT_CREATED,
        "A signal endpoint was created.",
        ID_NAME_SCHEMA,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000001","name":"deploys"}"#,
    ),
    audit(
        SIGNAL_ENDPOINT_UPDATED,
        "A signal endpoint was renamed, enabled or disabled.",
        r#"{"type":"object","properties":{"id":{"type":"string","format":"uuid"},"name":{"type":["string","null"]},"enabled":{"type":["boolean","null"]}},"required":["id"]}"#,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000001","name":null,"enabled":false}"#,
    ),
    audit(
        SIGNAL_ENDPOINT_DELETED,
        "A signal endpoint was deleted with its tokens and signals.",
        ID_NAME_SCHEMA,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000001","name":"deploys"}"#,
    ),
    audit(
        SIGNAL_ENDPOINT_TOKEN_CREATED,
        "A signal endpoint token was created.",
        r#"{"type":"object","properties":{"id":{"type":"string","format":"uuid"},"name":{"type":"string"},"endpoint_id":{"type":"string","format":"uuid"}},"required":["id","endpoint_id"]}"#,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000002","name":"ci","endpoint_id":"019a7b1d-0000-7000-8000-000000000001"}"#,
    ),
    audit(
        SIGNAL_ENDPOINT_TOKEN_UPDATED,
        "A signal endpoint token was renamed.",
        r#"{"type":"object","properties":{"id":{"type":"string","format":"uuid"},"name":{"type":"string"},"endpoint_id":{"type":"string","format":"uuid"}},"required":["id","endpoint_id"]}"#,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000002","name":"ci-2","endpoint_id":"019a7b1d-0000-7000-8000-000000000001"}"#,
    ),
    audit(
        SIGNAL_ENDPOINT_TOKEN_REVOKED,
        "A signal endpoint token was revoked.",
        r#"{"type":"object","properties":{"id":{"type":"string","format":"uuid"},"name":{"type":"string"},"endpoint_id":{"type":"string","format":"uuid"}},"required":["id","endpoint_id"]}"#,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000002","name":"ci","endpoint_id":"019a7b1d-0000-7000-8000-000000000001"}"#,
    ),
    audit(
        ACTION_SET_CREATED,
        "An action set was created.",
        ACTION_SET_SCHEMA,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000003","name":"kill on alert","project":"default"}"#,
    ),
    audit(
        ACTION_SET_UPDATED,
        "An action set was changed, enabled or disabled (also when its signal endpoint is deleted).",
        ACTION_SET_SCHEMA,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000003","name":"kill on alert","project":"default","enabled":false}"#,
    ),
    audit(
        ACTION_SET_DELETED,
        "An action set was deleted.",
        ACTION_SET_SCHEMA,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000003","name":"kill on alert","project":"default"}"#,
    ),
    audit(
        SIGNAL_TYPE_CREATED,
        "A custom signal type was declared.",
        SIGNAL_TYPE_SCHEMA,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000004","slug":"user_invited_teammate","name":"User invited teammate"}"#,
    ),
    audit(
        SIGNAL_TYPE_UPDATED,
        "A signal type was enabled, disabled or changed.",
        SIGNAL_TYPE_SCHEMA,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000004","slug":"user_invited_teammate","enabled":false,"autoqualify":true}"#,
    ),
    audit(
        SIGNAL_TYPE_DELETED,
        "A custom signal type was deleted.",
        SIGNAL_TYPE_SCHEMA,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000004","slug":"user_invited_teammate"}"#,
    ),
    audit(
        QUALIFICATION_PROFILE_CREATED,
        "An ICP or persona profile was created.",
        PROFILE_SCHEMA,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000005","kind":"icp","code":"Mid-market SaaS"}"#,
    ),
    audit(
        QUALIFICATION_PROFILE_UPDATED,
        "An ICP or persona profile's code or rules changed.",
        PROFILE_SCHEMA,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000005","kind":"icp","code":"Mid-market SaaS"}"#,
    ),
    audit(
        QUALIFICATION_PROFILE_DELETED,
        "An ICP or persona profile was deleted.",
        PROFILE_SCHEMA,
        r#"{"id":"019a7b1d-0000-7000-8000-000000000005","kind":"persona","code":"VP Engineering"}"#,
    ),
];

const PROFILE_SCHEMA: &str = r#"{"type":"object","properties":{"id":{"type":"string","format":"uuid"},"kind":{"type":"string","enum":["icp","persona"]},"code":{"type":"string"}},"required":["id","kind","code"]}"#;

const SIGNAL_TYPE_SCHEMA: &str = r#"{"type":"object","properties":{"id":{"type":"string","format":"uuid"},"slug":{"type":"string"},"name":{"type":"string"},"enabled":{"type":"boolean"},"autoqualify":{"type":"boolean"}},"required":["id","slug"]}"#;

const ACTION_SET_SCHEMA: &str = r#"{"type":"object","properties":{"id":{"type":"string","format":"uuid"},"name":{"type":"string"},"project":{"type":"string"},"enabled":{"type":"boolean"}},"required":["id","name","project"]}"#;

/// The catalogue entry of a type.
pub fn find(name: &str) -> Option<&'static EventType> {
    CATALOGUE.iter().find(|t| t.name == name)
}

/// Why a webhook's `events` list is refused: the index and the unknown entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type {name:?}; GET /v1/event-types lists them")]
pub struct UnknownEventType {
    pub index: usize,
    pub name: String,
}

/// A webhook's `events` list, checked against the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    wildcard: bool,
    named: Vec<String>,
}

impl Subscription {
    /// Checks every entry: `*` or a subscribable type. `[]` means the same as `["*"]`.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, UnknownEventType> {
        let mut named = Vec::new();
        let mut wildcard = entries.is_empty();
        for (index, entry) in entries.iter().enumerate() {
            let entry = entry.as_ref();
            if entry == WILDCARD {
                wildcard = true;
            } else if find(entry).is_some_and(|t| t.subscribable) {
                named.push(entry.to_owned());
            } else {
                return Err(UnknownEventType { index, name: entry.to_owned() });
            }
        }
        Ok(Self { wildcard, named })
    }

    /// Whether an event of this type goes to the webhook.
    pub fn matches(&self, event_type: &str) -> bool {
        if self.named.iter().any(|n| n == event_type) {
            return true;
        }
        self.wildcard && find(event_type).is_some_and(|t| t.in_wildcard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_and_example_is_json_and_names_are_unique() {
        for (i, t) in CATALOGUE.iter().enumerate() {
            assert!(serde_json::from_str::<serde_json::Value>(t.schema).is_ok(), "{} schema", t.name);
            assert!(serde_json::from_str::<serde_json::Value>(t.example).is_ok(), "{} example", t.name);
            assert!(CATALOGUE[i + 1..].iter().all(|o| o.name != t.name), "{} twice", t.name);
        }
    }

    #[test]
    fn every_schema_declares_its_types_so_openapi_tools_can_read_it() {
        for t in CATALOGUE {
            let schema: serde_json::Value = serde_json::from_str(t.schema).unwrap();
            for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                assert!(property.get("type").is_some(), "{}.{name} has no type", t.name);
            }
        }
    }

    #[test]
    fn the_wildcard_selects_everything_but_high_volume_signals_and_tests() {
        for events in [&[][..], &["*"][..]] {
            let all = Subscription::parse(events).unwrap();
            assert!(all.matches(FLAG_KILLED));
            assert!(all.matches(API_TOKEN_CREATED));
            assert!(!all.matches(SIGNAL_RECEIVED));
            assert!(!all.matches(SIGNAL_CAPTURED));
            assert!(!all.matches(WEBHOOK_TEST));
        }
    }

    #[test]
    fn named_types_are_selected_alone_or_beside_the_wildcard() {
        let signals = Subscription::parse(&["signal.received"]).unwrap();
        assert!(signals.matches(SIGNAL_RECEIVED));
        assert!(!signals.matches(FLAG_CREATED));
        let both = Subscription::parse(&["*", "signal.received"]).unwrap();
        assert!(both.matches(SIGNAL_RECEIVED) && both.matches(FLAG_CREATED));
    }

    #[test]
    fn unknown_and_unsubscribable_names_are_refused_with_their_index() {
        let error = Subscription::parse(&["flag.created", "flag.exploded"]).unwrap_err();
        assert_eq!(error, UnknownEventType { index: 1, name: "flag.exploded".into() });
        assert_eq!(Subscription::parse(&["webhook.test"]).unwrap_err().index, 0);
    }
}
