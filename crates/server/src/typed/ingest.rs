//! `POST /signals` (also `/v1/signals`): the Unstuck Signals API. Checks run in this order,
//! each answering problem+json and writing nothing: credentials (401/403) → the workspace's
//! rate limits (429) → content type, size, JSON (415/413/400) → every field (422, all listed).
//! A new signal is captured, attached to a lead and answered `201`; a repeat (same natural
//! key, or same `idempotency_key`) is answered `200` with the first answer and
//! `Idempotent-Replayed: true`, writing nothing.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value, json};
use signalbox_core::typed::identity::{Identity, RawIdentity, normalise};
use signalbox_core::typed::natural_key::{natural_key, parse_occurred_at};
use signalbox_core::{Role, Timestamp, TokenScope};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::cache::WorkspaceTyping;
use super::profiles::{BeforeLead, Profiles, SignalFacts};
use super::types;
use super::writer::{Outcome, PreparedCapture, Submission};
use crate::Error;
use crate::auth::caller::{authenticate, raw_or_bearer_credential};
use crate::auth::model::{Caller, Credential};
use crate::error::FieldError;
use crate::events::{NewEvent, types as event_types};
use crate::http::json::read_within_limit;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(capture_signal)).routes(routes!(capture_signal_v1))
}

const KNOWN_FIELDS: &[&str] =
    &["signal_type", "source", "event_name", "occurred_at", "identity", "context", "idempotency_key"];

/// The qualification part of an answer; all `null` when the type does not autoqualify (or
/// the workspace has no profiles).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Qualification {
    pub icp_code: Option<String>,
    pub icp_score: Option<i64>,
    pub persona_code: Option<String>,
    pub persona_score: Option<i64>,
}

/// The seed's answer.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Captured {
    pub signal_capture_id: String,
    pub matched_record_id: String,
    pub qualification: Qualification,
    /// Top-level fields that were ignored; present only when there were some.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Send a typed signal (Unstuck Signals API): an API token with scope `ingest`, or editor or above.
#[utoipa::path(post, path = "/signals", tag = "typed-signals",
    responses((status = 201, body = Captured), (status = 200, body = Captured, description = "A repeat: the first answer"),
        (status = 413, body = crate::error::Problem, content_type = "application/problem+json",
            description = "The body is over --max-body-bytes (checked after the credentials and the rate limits)"),
        (status = 422, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, body = crate::error::Problem, content_type = "application/problem+json")))]
async fn capture_signal(State(state): State<AppState>, request: Request) -> Result<Response, Error> {
    capture(&state, request).await
}

/// The same as `POST /signals`.
#[utoipa::path(post, path = "/v1/signals", tag = "typed-signals",
    responses((status = 201, body = Captured), (status = 200, body = Captured, description = "A repeat: the first answer")))]
async fn capture_signal_v1(State(state): State<AppState>, request: Request) -> Result<Response, Error> {
    capture(&state, request).await
}

/// Ingest-scoped tokens, and anything editor or above.
async fn ingest_caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, Error> {
    let credential = raw_or_bearer_credential(headers)
        .ok_or_else(|| Error::unauthorized("send your API key as Authorization: Bearer <key>"))?;
    let caller = authenticate(state, credential).await?;
    if let Credential::ApiToken { scope: Some(TokenScope::Ingest), .. } = caller.credential {
        return Ok(caller);
    }
    caller.require(Role::Editor)?;
    Ok(caller)
}

struct Checked {
    signal_type: Arc<types::Resolved>,
    source: String,
    event_name: Option<String>,
    occurred_at: time::OffsetDateTime,
    identity: Identity,
    context: Option<Value>,
    idempotency_key: Option<String>,
    warnings: Vec<String>,
}

/// An optional string field of `object` (its path is `parent` + `name`): absent or null is
/// `None`; anything but a string is an error.
fn text_field(object: &Map<String, Value>, parent: &str, name: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    match object.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(_) => {
            errors.push(FieldError { field: format!("{parent}{name}"), message: "must be a string".into() });
            None
        }
    }
}

/// A required string field: absent or null is "is required".
fn required_text(body: &Map<String, Value>, name: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    if matches!(body.get(name), None | Some(Value::Null)) {
        errors.push(FieldError { field: name.to_owned(), message: "is required".into() });
    }
    text_field(body, "", name, errors)
}

fn check(typing: &WorkspaceTyping, body: &Map<String, Value>) -> Result<Checked, Error> {
    let mut errors = Vec::new();
    let signal_type = match &required_text(body, "signal_type", &mut errors) {
        None => None,
        Some(slug) => match typing.types.get(slug) {
            Some(t) if t.enabled => Some(t.clone()),
            Some(_) => {
                errors.push(FieldError {
                    field: "signal_type".into(),
                    message: format!("the signal type {slug:?} is disabled in this workspace"),
                });
                None
            }
            None => {
                errors.push(FieldError {
                    field: "signal_type".into(),
                    message: format!("no signal type {slug:?}: declare it with POST /v1/signal-types"),
                });
                None
            }
        },
    };
    let source = required_text(body, "source", &mut errors);
    if source.as_ref().is_some_and(|s| s.trim().is_empty() || s.chars().count() > 200) {
        errors.push(FieldError { field: "source".into(), message: "must be 1-200 characters".into() });
    }
    let event_name = text_field(body, "", "event_name", &mut errors);
    if event_name.as_ref().is_some_and(|e| e.chars().count() > 200) {
        errors.push(FieldError { field: "event_name".into(), message: "must be at most 200 characters".into() });
    }
    let occurred_at = required_text(body, "occurred_at", &mut errors).and_then(|text| {
        parse_occurred_at(&text)
            .map_err(|message| errors.push(FieldError { field: "occurred_at".into(), message: message.into() }))
            .ok()
    });
    let identity = match body.get("identity") {
        None | Some(Value::Null) => {
            errors.push(FieldError {
                field: "identity".into(),
                message: "is required: at least one of email, linkedin_url, company_domain".into(),
            });
            None
        }
        Some(Value::Object(fields)) => {
            // Each field read on its own, so that every one of the wrong type is named.
            let before = errors.len();
            let mut field = |name: &str| text_field(fields, "identity.", name, &mut errors);
            let raw = RawIdentity {
                email: field("email"),
                linkedin_url: field("linkedin_url"),
                company_domain: field("company_domain"),
                first_name: field("first_name"),
                last_name: field("last_name"),
                title: field("title"),
            };
            let wrong_type = errors.len() > before;
            match normalise(&raw) {
                Ok(identity) if !wrong_type => Some(identity),
                Ok(_) => None,
                Err(problems) => {
                    // "At least one of …" is noise when a matching field was sent with the wrong type.
                    let problems = problems.into_iter().filter(|(f, _)| !(wrong_type && f == "identity"));
                    errors.extend(problems.map(|(field, message)| FieldError { field, message }));
                    None
                }
            }
        }
        Some(_) => {
            errors.push(FieldError { field: "identity".into(), message: "must be an object".into() });
            None
        }
    };
    let context = match body.get("context") {
        None | Some(Value::Null) => None,
        Some(value @ Value::Object(_)) => Some(value.clone()),
        Some(_) => {
            errors.push(FieldError { field: "context".into(), message: "must be a JSON object".into() });
            None
        }
    };
    let idempotency_key = text_field(body, "", "idempotency_key", &mut errors);
    if idempotency_key.as_ref().is_some_and(|k| k.is_empty() || k.chars().count() > 255) {
        errors.push(FieldError { field: "idempotency_key".into(), message: "must be 1-255 characters".into() });
    }
    // Every field that is missing here has an error above; the `else` is a guard, never a panic.
    let (Some(signal_type), Some(source), Some(occurred_at), Some(identity), true) =
        (signal_type, source, occurred_at, identity, errors.is_empty())
    else {
        if errors.is_empty() {
            errors.push(FieldError { field: "signal_type".into(), message: "is required".into() });
        }
        return Err(Error::invalid_fields(errors));
    };
    let mut warnings: Vec<String> = body
        .keys()
        .filter(|k| !KNOWN_FIELDS.contains(&k.as_str()))
        .map(|k| format!("unknown field {k:?} was ignored"))
        .collect();
    warnings.sort();
    Ok(Checked { signal_type, source, event_name, occurred_at, identity, context, idempotency_key, warnings })
}

pub fn identity_json(identity: &Identity) -> Value {
    json!({
        "email": identity.email, "linkedin_url": identity.linkedin_url, "company_domain": identity.company_domain,
        "first_name": identity.first_name, "last_name": identity.last_name, "title": identity.title,
    })
}

/// The request is taken whole and its body read only here, after the credentials: a body
/// extractor would read it (and refuse one over the size limit) before anything else.
async fn capture(state: &AppState, request: Request) -> Result<Response, Error> {
    // On its way to the writer until queued (or refused): a small batch waits a moment for it.
    let arriving = state.typed.writer.arriving();
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let caller = ingest_caller(state, headers).await?;
    let now = state.clock.now();
    let typing = state.typed.cache.workspace(&state.db, caller.workspace_id).await?;
    // The request is checked before it is counted, but a refusal by the rate limits is
    // answered first: the writer counts it (invalid requests count too) and decides.
    let limit = state.config.max_body_bytes;
    let (capture, invalid) = match prepare(state, &typing, headers, body, limit).await {
        Ok(capture) => (Some(capture), None),
        Err(error) => (None, Some(error)),
    };
    let submission = Submission {
        workspace_id: caller.workspace_id,
        actor_id: caller.principal_id,
        limits: typing.limits(&state.config.typed_signals),
        now,
        capture,
    };
    let (status, answer, standing) = match state.typed.writer.submit(submission, arriving).await? {
        Outcome::Captured(answer, standing) => (StatusCode::CREATED, answer, standing),
        Outcome::Replayed(answer, standing) => (StatusCode::OK, answer, standing),
        Outcome::Counted(standing) => {
            // Every answer after the count carries where the workspace stands, errors included.
            let mut error = invalid.unwrap_or_else(|| Error::internal(anyhow::anyhow!("a capture was only counted")));
            for (name, value) in &standing.headers() {
                error = error.with_header(name.clone(), value.clone());
            }
            return Err(error);
        }
    };
    let mut response = (status, Json(answer)).into_response();
    response.headers_mut().extend(standing.headers());
    if status == StatusCode::OK {
        response.headers_mut().insert(HeaderName::from_static("idempotent-replayed"), HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// Checks the request and prepares its capture: content type, size (at most `limit` bytes; an
/// over-limit `Content-Length` is refused before reading), JSON, every field, then the keys,
/// sub-rule and qualification inputs.
async fn prepare(
    state: &AppState,
    typing: &WorkspaceTyping,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Box<PreparedCapture>, Error> {
    crate::http::json::require_json_content_type(headers)?;
    let Some(body) = read_within_limit(headers, body, limit).await? else {
        return Err(Error::payload_too_large(limit));
    };
    let body: Value =
        serde_json::from_slice(&body).map_err(|e| Error::bad_request(format!("the body is not valid JSON: {e}")))?;
    let Value::Object(body) = body else {
        return Err(Error::bad_request("the body must be a JSON object"));
    };
    let checked = check(typing, &body)?;
    let dedupe_key = match &checked.idempotency_key {
        Some(key) => format!("k:{key}"),
        None => format!(
            "n:{}",
            natural_key(&checked.signal_type.slug, &checked.source, &checked.identity, checked.occurred_at)
        ),
    };
    let occurred_at = Timestamp::from_datetime(checked.occurred_at);
    let identity_json = identity_json(&checked.identity);
    let mut facts = SignalFacts {
        signal_type: &checked.signal_type.slug,
        source: &checked.source,
        event_name: checked.event_name.as_deref(),
        occurred_at,
        context: checked.context.as_ref(),
        sub_rule: None,
    };
    let sub_rule = checked.signal_type.sub_rule(&facts, &identity_json);
    facts.sub_rule = sub_rule.as_deref();
    let qualifying = checked.signal_type.autoqualify.then(|| {
        let signals = facts.variable();
        Qualifying {
            before_lead: typing.profiles.score_before_lead(&signals, &identity_json),
            profiles: typing.profiles.clone(),
            threshold: typing.threshold(),
            signals,
        }
    });
    // Action sets on this signal type get their pending runs in the capture's transaction.
    let action_sets: Vec<String> = state
        .actions
        .index(&state.db)
        .await?
        .get(&(crate::actions::model::Source::SignalType, checked.signal_type.slug.clone()))
        .map(|sets| sets.iter().map(|s| s.id.clone()).collect())
        .unwrap_or_default();
    let context_text = match &checked.context {
        Some(context) => Some(
            serde_json::value::to_raw_value(context)
                .map_err(|e| Error::internal(anyhow::anyhow!("context as JSON: {e}")))?,
        ),
        None => None,
    };
    Ok(Box::new(PreparedCapture {
        identity_text: identity_json.to_string(),
        context_text,
        dedupe_key,
        signal_type: checked.signal_type.slug.clone(),
        source: checked.source,
        event_name: checked.event_name,
        occurred_at,
        identity: checked.identity,
        identity_json,
        context: checked.context,
        sub_rule,
        warnings: checked.warnings,
        qualifying,
        action_sets,
    }))
}

/// The default `qualification_threshold`: a capture whose ICP score reaches it qualifies.
pub const DEFAULT_THRESHOLD: u64 = 60;

/// What autoqualification needs: the workspace's profiles, its threshold, and the signal as
/// the rules see it (`signals`).
pub struct Qualifying {
    pub profiles: Arc<Profiles>,
    pub threshold: u64,
    pub signals: Value,
    /// The rules that do not read `lead`, evaluated here (in parallel, in the handler); the
    /// writer evaluates the rest once it has resolved the lead.
    pub before_lead: BeforeLead,
}

/// `signal.qualified`: the seed's answer (what its "signal qualification webhook" posts),
/// with the lead and the winning ICP as `profile` and `score`.
pub fn qualified_event(
    workspace_id: uuid::Uuid,
    actor: Option<uuid::Uuid>,
    answer: &Captured,
    now: Timestamp,
) -> NewEvent {
    NewEvent::new(
        workspace_id,
        event_types::SIGNAL_QUALIFIED,
        actor,
        json!({
            "signal_capture_id": answer.signal_capture_id,
            "matched_record_id": answer.matched_record_id,
            "qualification": answer.qualification,
            "lead_id": answer.matched_record_id,
            "profile": answer.qualification.icp_code,
            "score": answer.qualification.icp_score,
        }),
        now,
    )
}
