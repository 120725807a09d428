//! The Unleash frontend API for browser and mobile SDKs: the server evaluates every flag for
//! the given context, exactly as the SDKs would (`signalbox_core::flags::eval`), and answers
//! only the flags that are on. CORS follows the frontend token's origins.

use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE,
    ORIGIN, VARY,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use signalbox_core::flags::eval::{Context, Environment, evaluate};
use signalbox_core::flags::variants::Payload;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{FrontendToken, SdkAccess};
use crate::Error;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_toggles, post_toggles, preflight))
        .routes(routes!(frontend_metrics))
        .routes(routes!(frontend_register))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FrontendVariant<'a> {
    pub name: &'a str,
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub payload: Option<&'a Payload>,
    pub feature_enabled: bool,
    #[serde(rename = "featureEnabled")]
    pub feature_enabled_camel: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Toggle<'a> {
    pub name: &'a str,
    pub enabled: bool,
    pub variant: FrontendVariant<'a>,
    #[serde(rename = "impressionData")]
    pub impression_data: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Toggles<'a> {
    pub toggles: Vec<Toggle<'a>>,
}

const KNOWN_FIELDS: &[&str] = &["userId", "sessionId", "remoteAddress", "environment", "appName", "currentTime"];

/// Reads a context from `(key, value)` pairs: the known fields, `properties[name]`, and any
/// other key as a property, as Unleash does.
fn context_from_pairs(pairs: impl Iterator<Item = (String, String)>, peer: Option<SocketAddr>) -> Context {
    let mut context = Context::default();
    for (key, value) in pairs {
        if let Some(name) = key.strip_prefix("properties[").and_then(|k| k.strip_suffix(']')) {
            context.properties.insert(name.to_owned(), value);
            continue;
        }
        set_field(&mut context, &key, value);
    }
    if context.remote_address.is_none() {
        context.remote_address = peer.map(|p| p.ip().to_string());
    }
    context
}

fn set_field(context: &mut Context, key: &str, value: String) {
    match key {
        "userId" => context.user_id = Some(value),
        "sessionId" => context.session_id = Some(value),
        "remoteAddress" => context.remote_address = Some(value),
        "environment" => context.environment = Some(value),
        "appName" => context.app_name = Some(value),
        "currentTime" => context.current_time = Some(value),
        other if !KNOWN_FIELDS.contains(&other) => {
            context.properties.insert(other.to_owned(), value);
        }
        _ => {}
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn context_from_json(body: &Value, peer: Option<SocketAddr>) -> Context {
    let object = body.get("context").unwrap_or(body);
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(map) = object.as_object() {
        for (key, value) in map {
            if key == "properties" {
                for (name, v) in value.as_object().into_iter().flatten() {
                    if let Some(v) = scalar(v) {
                        pairs.push((format!("properties[{name}]"), v));
                    }
                }
            } else if let Some(v) = scalar(value) {
                pairs.push((key.clone(), v));
            }
        }
    }
    context_from_pairs(pairs.into_iter(), peer)
}

fn hostname() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|| "localhost".to_owned())
    })
}

fn random() -> u32 {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).map(|_| u32::from_le_bytes(bytes)).unwrap_or(0)
}

/// Evaluates every flag the token sees and answers the ones that are on, serialised straight
/// from the snapshot (names, variants and payloads are borrowed, not copied).
async fn toggles(state: &AppState, access: &SdkAccess, mut context: Context) -> Result<Response, Error> {
    if context.environment.is_none() {
        context.environment = Some(access.environment.clone());
    }
    let snapshot = state.sdk.snapshots.get(&state.db, access.workspace_id, access.environment_id).await?;
    // Parents are looked up only for flags with dependencies (rare): a scan, not a map built
    // on every request.
    let lookup = |name: &str| {
        snapshot
            .evaluation
            .iter()
            .find(|f| f.feature.name == name && access.allows_project(&f.project))
            .map(|f| &f.feature)
    };
    let mut rng = random;
    let mut env = Environment {
        segments: &snapshot.segment_constraints,
        features: &lookup,
        now: time::OffsetDateTime::now_utc(),
        hostname: hostname(),
        random: &mut rng,
    };
    let mut toggles = Vec::with_capacity(snapshot.evaluation.len());
    for flag in snapshot.evaluation.iter().filter(|f| access.allows_project(&f.project)) {
        let result = evaluate(&flag.feature, &context, &mut env);
        if !result.enabled {
            continue;
        }
        toggles.push(Toggle {
            name: &flag.feature.name,
            enabled: true,
            variant: FrontendVariant {
                name: result.variant.name,
                enabled: result.variant.enabled,
                payload: result.variant.payload,
                feature_enabled: true,
                feature_enabled_camel: true,
            },
            impression_data: flag.impression_data,
        });
    }
    Ok(Json(Toggles { toggles }).into_response())
}

/// CORS for a frontend token: the request's `Origin` is echoed when the token allows it.
fn with_cors(mut response: Response, access: &SdkAccess, headers: &HeaderMap) -> Response {
    let origin = headers.get(ORIGIN).and_then(|v| v.to_str().ok());
    let allowed = access.cors_origins.iter().any(|o| o == "*")
        || origin.is_some_and(|o| access.cors_origins.iter().any(|a| a == o));
    if let (true, Some(origin)) = (allowed, origin)
        && let Ok(value) = HeaderValue::from_str(origin)
    {
        response.headers_mut().insert(ACCESS_CONTROL_ALLOW_ORIGIN, value);
        response.headers_mut().insert(VARY, HeaderValue::from_static("Origin"));
    }
    response
}

/// The flags that are on for a context given as query parameters (frontend token):
/// `userId`, `sessionId`, `remoteAddress`, `appName`, `environment`, `properties[name]=value`.
#[utoipa::path(get, path = "/api/frontend", tag = "sdk", responses((status = 200, body = Toggles)))]
async fn get_toggles(
    State(state): State<AppState>,
    FrontendToken(access): FrontendToken,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, Error> {
    let pairs = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect::<Vec<_>>();
    let context = context_from_pairs(pairs.into_iter(), Some(peer));
    let answer = toggles(&state, &access, context).await?;
    Ok(with_cors(answer, &access, &headers))
}

/// The flags that are on for `{"context": {…}}` (frontend token).
#[utoipa::path(post, path = "/api/frontend", tag = "sdk", responses((status = 200, body = Toggles)))]
async fn post_toggles(
    State(state): State<AppState>,
    FrontendToken(access): FrontendToken,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).map_err(|e| Error::bad_request(format!("the body is not valid JSON: {e}")))?
    };
    let context = context_from_json(&body, Some(peer));
    let answer = toggles(&state, &access, context).await?;
    Ok(with_cors(answer, &access, &headers))
}

/// Browsers ask before sending `Authorization` from another origin. The preflight carries no
/// token, so an origin is allowed when any frontend token allows it; the request itself is
/// then checked against its own token's origins.
#[utoipa::path(options, path = "/api/frontend", tag = "sdk",
    responses((status = 204, description = "CORS preflight answer")))]
async fn preflight(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, Error> {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else { return Ok(response) };
    let lists: Vec<String> = crate::on_read!(&state.db, |pool| sqlx::query_scalar(
        "SELECT cors_origins FROM sdk_tokens WHERE type = 'frontend'"
    )
    .fetch_all(pool)
    .await)?;
    let allowed = lists
        .iter()
        .filter_map(|list| serde_json::from_str::<Vec<String>>(list).ok())
        .any(|list| list.iter().any(|o| o == "*" || o == origin));
    if allowed && let Ok(value) = HeaderValue::from_str(origin) {
        let headers = response.headers_mut();
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(VARY, HeaderValue::from_static("Origin"));
        headers.insert(ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, OPTIONS"));
        headers.insert(
            ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(
                "authorization, content-type, if-none-match, unleash-appname, unleash-sdk, unleash-connection-id",
            ),
        );
        headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    }
    Ok(response)
}

/// Metrics from a frontend SDK (frontend token): accepted with 200.
#[utoipa::path(post, path = "/api/frontend/client/metrics", tag = "sdk", responses((status = 200, description = "Accepted")))]
async fn frontend_metrics(FrontendToken(access): FrontendToken, headers: HeaderMap) -> Response {
    with_cors(StatusCode::OK.into_response(), &access, &headers)
}

/// Registration of a frontend SDK (frontend token): accepted with 200.
#[utoipa::path(post, path = "/api/frontend/client/register", tag = "sdk", responses((status = 200, description = "Accepted")))]
async fn frontend_register(FrontendToken(access): FrontendToken, headers: HeaderMap) -> Response {
    with_cors(StatusCode::OK.into_response(), &access, &headers)
}
