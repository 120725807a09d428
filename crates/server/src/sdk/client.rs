//! The Unleash client API for backend SDKs: `GET /api/client/features` (with ETag and 304),
//! `GET /api/client/features/{name}`, `POST /api/client/register` and
//! `POST /api/client/metrics` (exactly 202: the Python SDK treats anything else as failure).

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::{CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use signalbox_core::flags::semver::Version;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{ClientToken, SdkAccess};
use super::snapshot::{ClientConstraint, ClientFeature, ClientStrategy, Rendered, Snapshot, digest};
use crate::Error;
use crate::db::Db;
use crate::state::AppState;
use crate::{in_write_tx, on_write};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(features))
        .routes(routes!(feature))
        .routes(routes!(register))
        .routes(routes!(metrics))
}

/// The first `Unleash-Client-Spec` that understands segments sent beside features.
const SEGMENTS_SPEC: (u64, u64, u64) = (4, 2, 0);

/// Whether to inline segment constraints into strategies: for SDKs without
/// `Unleash-Client-Spec`, or below 4.2.0. A value that is not semver is a 400.
fn inline_segments(headers: &HeaderMap) -> Result<bool, Error> {
    let Some(value) = headers.get("unleash-client-spec") else { return Ok(true) };
    let text = value.to_str().map_err(|_| Error::bad_request("Unleash-Client-Spec is not readable"))?.trim();
    let version = Version::parse(text)
        .ok_or_else(|| Error::bad_request(format!("Unleash-Client-Spec {text:?} is not a semantic version")))?;
    let (major, minor, patch) = SEGMENTS_SPEC;
    let threshold = Version::parse(&format!("{major}.{minor}.{patch}")).expect("a valid version");
    Ok(version < threshold)
}

/// The query: `project` (repeatable; narrows, never widens), `namePrefix`, repeated
/// `tag=type:value`.
#[derive(Debug, Default)]
struct FeatureQuery {
    projects: Option<BTreeSet<String>>,
    name_prefix: Option<String>,
    tags: BTreeSet<(String, String)>,
}

fn parse_query(raw: Option<&str>) -> Result<FeatureQuery, Error> {
    let mut query = FeatureQuery::default();
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "project" => {
                query.projects.get_or_insert_with(BTreeSet::new).insert(value.into_owned());
            }
            "namePrefix" => query.name_prefix = Some(value.into_owned()),
            "tag" => {
                let (kind, tag) =
                    value.split_once(':').ok_or_else(|| Error::invalid_field("tag", "must be type:value"))?;
                query.tags.insert((kind.to_owned(), tag.to_owned()));
            }
            _ => {}
        }
    }
    Ok(query)
}

/// Our tags are strings; `type:value` tags match `tag=type:value`, plain ones `simple:value`.
fn has_tag(feature: &ClientFeature, kind: &str, value: &str) -> bool {
    feature.tags.iter().any(|tag| match tag.split_once(':') {
        Some((k, v)) => k == kind && v == value,
        None => kind == "simple" && tag == value,
    })
}

fn visible<'a>(snapshot: &'a Snapshot, access: &SdkAccess, query: &FeatureQuery) -> Vec<&'a ClientFeature> {
    snapshot
        .features
        .iter()
        .filter(|f| access.allows_project(&f.project))
        .filter(|f| query.projects.as_ref().is_none_or(|p| p.contains(&f.project)))
        .filter(|f| query.name_prefix.as_ref().is_none_or(|prefix| f.name.starts_with(prefix.as_str())))
        .filter(|f| query.tags.is_empty() || query.tags.iter().any(|(k, v)| has_tag(f, k, v)))
        .collect()
}

/// A strategy that names a missing segment must evaluate false: an `IN` on an empty list
/// never matches.
fn never() -> ClientConstraint {
    ClientConstraint {
        context_name: "signalbox.missing-segment".to_owned(),
        operator: "IN".to_owned(),
        values: Vec::new(),
        value: None,
        inverted: false,
        case_insensitive: false,
    }
}

/// Replaces a strategy's segment ids by their constraints (for SDKs that predate segments).
fn inline_segments_into(strategy: &mut ClientStrategy, snapshot: &Snapshot) {
    for id in std::mem::take(&mut strategy.segments) {
        match snapshot.segments.iter().find(|s| s.id == id) {
            Some(segment) => strategy.constraints.extend(segment.constraints.iter().cloned()),
            None => strategy.constraints.push(never()),
        }
    }
}

fn render(snapshot: &Snapshot, access: &SdkAccess, query: &FeatureQuery, inline: bool) -> Rendered {
    let features = visible(snapshot, access, query);
    let mut used: BTreeSet<i64> = BTreeSet::new();
    let mut rendered_features = Vec::with_capacity(features.len());
    for feature in features {
        let mut feature = feature.clone();
        for strategy in &mut feature.strategies {
            if inline {
                inline_segments_into(strategy, snapshot);
            } else {
                used.extend(strategy.segments.iter().copied());
            }
        }
        rendered_features.push(feature);
    }
    let segments: Vec<_> = snapshot.segments.iter().filter(|s| used.contains(&s.id)).collect();
    let content = serde_json::to_vec(&(&rendered_features, &segments)).expect("features serialise");
    let projects: Vec<String> = match &query.projects {
        Some(p) => p.iter().cloned().collect(),
        None => access.projects.clone(),
    };
    let query_json = json!({
        "project": projects, "environment": access.environment, "inlineSegmentConstraints": inline,
        "namePrefix": query.name_prefix, "tag": query.tags.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>(),
    });
    let query_hash = digest(&[query_json.to_string().as_bytes()]);
    let etag = format!("\"{}:{}\"", query_hash, digest(&[&content]));
    let mut body = json!({
        "version": 2,
        "features": rendered_features,
        "query": query_json,
        "meta": { "revisionId": snapshot.revision_id, "etag": etag, "queryHash": query_hash },
    });
    if !inline {
        body["segments"] = json!(segments);
    }
    Rendered { etag, body: Bytes::from(serde_json::to_vec(&body).expect("a body serialises")) }
}

fn with_etag(rendered: &Rendered, headers: &HeaderMap) -> Response {
    let etag = HeaderValue::from_str(&rendered.etag).expect("an etag is a header value");
    let matches = headers.get(IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim() == rendered.etag);
    if matches {
        return (StatusCode::NOT_MODIFIED, [(ETAG, etag)]).into_response();
    }
    ([(ETAG, etag), (CONTENT_TYPE, HeaderValue::from_static("application/json"))], rendered.body.clone())
        .into_response()
}

/// The flags of the token's environment and projects, in Unleash's client format (client
/// token). `If-None-Match` with the current `ETag` answers `304`.
#[utoipa::path(get, path = "/api/client/features", tag = "sdk",
    responses((status = 200, description = "{version, features, segments, query, meta}", content_type = "application/json"),
        (status = 304, description = "Unchanged since the ETag given")))]
async fn features(
    State(state): State<AppState>,
    ClientToken(access): ClientToken,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, Error> {
    let inline = inline_segments(&headers)?;
    let query = parse_query(raw.as_deref())?;
    let snapshot = state.sdk.snapshots.get(&state.db, access.workspace_id, access.environment_id).await?;
    let key = format!(
        "{}|{}|{}|{}",
        access.projects.join(","),
        access.environment,
        inline,
        raw.as_deref().unwrap_or_default()
    );
    let rendered = snapshot.rendered(&key, |snapshot| render(snapshot, &access, &query, inline));
    Ok(with_etag(&rendered, &headers))
}

/// One flag in Unleash's client format (client token); 404 if the token cannot see it.
#[utoipa::path(get, path = "/api/client/features/{name}", tag = "sdk", params(("name" = String, Path)),
    responses((status = 200, description = "The feature", content_type = "application/json")))]
async fn feature(
    State(state): State<AppState>,
    ClientToken(access): ClientToken,
    headers: HeaderMap,
    crate::http::ApiPath(name): crate::http::ApiPath<String>,
) -> Result<Json<ClientFeature>, Error> {
    let inline = inline_segments(&headers)?;
    let snapshot = state.sdk.snapshots.get(&state.db, access.workspace_id, access.environment_id).await?;
    let found = visible(&snapshot, &access, &FeatureQuery::default()).into_iter().find(|f| f.name == name);
    let mut feature = found.cloned().ok_or_else(|| Error::not_found(format!("no feature {name:?} for this token")))?;
    if inline {
        for strategy in &mut feature.strategies {
            inline_segments_into(strategy, &snapshot);
        }
    }
    Ok(Json(feature))
}

/// Parses a JSON body leniently (SDKs differ in content types and fields); `Null` if it is
/// not JSON.
fn lenient_json(body: &Bytes) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

fn text(value: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| value.get(k).and_then(Value::as_str)).map(str::to_owned)
}

/// The app name from the body or any of the header spellings SDKs use.
fn app_name(body: &Value, headers: &HeaderMap) -> String {
    text(body, &["appName"])
        .or_else(|| {
            ["unleash-appname", "x-unleash-appname", "appname"]
                .iter()
                .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()).map(str::to_owned))
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn instance_id(body: &Value, headers: &HeaderMap) -> String {
    text(body, &["instanceId"])
        .or_else(|| {
            ["unleash-instanceid", "x-unleash-instanceid", "instance_id"]
                .iter()
                .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()).map(str::to_owned))
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

#[derive(Debug, Deserialize)]
struct Bucket {
    start: Option<String>,
    #[serde(default)]
    toggles: BTreeMap<String, ToggleCount>,
}

#[derive(Debug, Default, Deserialize)]
struct ToggleCount {
    #[serde(default)]
    yes: i64,
    #[serde(default)]
    no: i64,
    #[serde(default)]
    variants: BTreeMap<String, i64>,
}

async fn touch_instance(
    db: &Db,
    access: &SdkAccess,
    app: &str,
    instance: &str,
    body: &Value,
    now: &str,
) -> Result<(), Error> {
    let sdk_version = text(body, &["sdkVersion"]);
    let strategies = body.get("strategies").map(Value::to_string).unwrap_or_else(|| "[]".to_owned());
    let interval = body.get("interval").and_then(Value::as_i64);
    let started = text(body, &["started"]);
    on_write!(db, |pool| {
        sqlx::query(
        "INSERT INTO client_instances (workspace_id, app_name, instance_id, environment, sdk_version, strategies, \
         interval_ms, started_at, first_seen_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
         ON CONFLICT (workspace_id, app_name, instance_id, environment) DO UPDATE SET \
         sdk_version = COALESCE(excluded.sdk_version, client_instances.sdk_version), \
         strategies = CASE WHEN excluded.strategies = '[]' THEN client_instances.strategies ELSE excluded.strategies END, \
         interval_ms = COALESCE(excluded.interval_ms, client_instances.interval_ms), \
         started_at = COALESCE(excluded.started_at, client_instances.started_at), last_seen_at = excluded.last_seen_at"
    )
    .bind(access.workspace_id.to_string())
    .bind(app)
    .bind(instance)
    .bind(&access.environment)
    .bind(&sdk_version)
    .bind(&strategies)
    .bind(interval)
    .bind(&started)
    .bind(now)
    .execute(pool)
    .await
    .map(|_| ())
    })?;
    Ok(())
}

/// An SDK announces itself (client token): app name, instance, SDK version, strategies,
/// interval. Always `202`.
#[utoipa::path(post, path = "/api/client/register", tag = "sdk",
    responses((status = 202, description = "Recorded")))]
async fn register(
    State(state): State<AppState>,
    ClientToken(access): ClientToken,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, Error> {
    let body = lenient_json(&body);
    let now = state.clock.now().to_string();
    touch_instance(&state.db, &access, &app_name(&body, &headers), &instance_id(&body, &headers), &body, &now).await?;
    Ok(StatusCode::ACCEPTED)
}

/// An SDK reports how often each flag was evaluated (client token): counted per flag, app
/// and hour. Always `202`.
#[utoipa::path(post, path = "/api/client/metrics", tag = "sdk",
    responses((status = 202, description = "Recorded")))]
async fn metrics(
    State(state): State<AppState>,
    ClientToken(access): ClientToken,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, Error> {
    let body = lenient_json(&body);
    if !body.is_object() {
        return Ok(StatusCode::ACCEPTED); // nothing to record, and SDKs retry on anything but 202
    }
    let app = app_name(&body, &headers);
    let now = state.clock.now();
    touch_instance(&state.db, &access, &app, &instance_id(&body, &headers), &Value::Null, &now.to_string()).await?;
    let Some(bucket) = body.get("bucket").and_then(|b| serde_json::from_value::<Bucket>(b.clone()).ok()) else {
        return Ok(StatusCode::ACCEPTED);
    };
    let start = bucket.start.as_deref().and_then(|s| signalbox_core::Timestamp::parse(s).ok()).unwrap_or(now);
    let hour = hour_of(start);
    let workspace = access.workspace_id.to_string();
    in_write_tx!(&state.db, |tx| {
        for (flag, count) in &bucket.toggles {
            sqlx::query(
                "INSERT INTO flag_usage (workspace_id, flag_name, environment, app_name, hour, yes, no) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (workspace_id, flag_name, environment, app_name, hour) \
                 DO UPDATE SET yes = flag_usage.yes + excluded.yes, no = flag_usage.no + excluded.no",
            )
            .bind(&workspace)
            .bind(flag)
            .bind(&access.environment)
            .bind(&app)
            .bind(&hour)
            .bind(count.yes.max(0))
            .bind(count.no.max(0))
            .execute(&mut *tx)
            .await?;
            for (variant, n) in &count.variants {
                sqlx::query(
                    "INSERT INTO flag_variant_usage (workspace_id, flag_name, environment, app_name, hour, variant, count) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (workspace_id, flag_name, environment, app_name, hour, variant) \
                     DO UPDATE SET count = flag_variant_usage.count + excluded.count",
                )
                .bind(&workspace)
                .bind(flag)
                .bind(&access.environment)
                .bind(&app)
                .bind(&hour)
                .bind(variant)
                .bind((*n).max(0))
                .execute(&mut *tx)
                .await?;
            }
        }
    })?;
    Ok(StatusCode::ACCEPTED)
}

/// The start of the hour a time falls in, as stored.
fn hour_of(at: signalbox_core::Timestamp) -> String {
    let seconds = at.unix_seconds();
    signalbox_core::Timestamp::from_unix_seconds(seconds - seconds.rem_euclid(3600)).unwrap_or(at).to_string()
}
