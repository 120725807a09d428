//! `POST /v1/import/unleash?project=…&environment=…` (admin): flags in Unleash's client
//! format (`{"features","segments"}`, or a delta `{"events"}` folded in order), stored
//! faithfully — strategy and variant order, string parameters, unknown operators and
//! strategy names verbatim (they evaluate false, as in the SDKs; the `/v1` editing API
//! still refuses them), dangling segment ids, `null` descriptions. Teams migrating from
//! Unleash need this, and the SDK specification tests use it.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use signalbox_core::flags::{Constraint, Strategy, Variant};
use signalbox_core::{Role, new_id};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::model::Caller;
use crate::db::TxExt;
use crate::events::{NewEvent, types};
use crate::flags::{environments, projects};
use crate::http::ApiJson;
use crate::state::AppState;
use crate::{Error, in_flags_tx};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(import_unleash))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ImportQuery {
    /// The project to import into (must exist).
    pub project: String,
    /// The environment whose configuration the features set (must exist).
    pub environment: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Imported {
    pub features: usize,
    pub segments: usize,
}

/// A feature as Unleash serves it, read leniently.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UnleashFeature {
    name: String,
    #[serde(rename = "type", default)]
    feature_type: Option<String>,
    #[serde(default)]
    enabled: bool,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    impression_data: bool,
    #[serde(default)]
    strategies: Vec<Value>,
    #[serde(default)]
    variants: Vec<Variant>,
    #[serde(default)]
    dependencies: Vec<signalbox_core::flags::eval::Dependency>,
}

#[derive(Debug, Clone, Deserialize)]
struct UnleashSegment {
    id: i64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    constraints: Vec<Constraint>,
}

/// Parameters become strings whatever JSON type they came in (Unleash's model).
fn strategy(value: &Value, segment_ids: &BTreeMap<i64, i64>, index: usize) -> Result<Strategy, Error> {
    let mut value = value.clone();
    if let Some(parameters) = value.get_mut("parameters").and_then(Value::as_object_mut) {
        for parameter in parameters.values_mut() {
            let text = match &*parameter {
                Value::String(_) => continue,
                Value::Null => String::new(),
                other => other.to_string(),
            };
            *parameter = Value::String(text);
        }
    }
    let mut parsed: Strategy = serde_json::from_value(value)
        .map_err(|e| Error::invalid_field(format!("strategies[{index}]"), e.to_string()))?;
    // Segments keep pointing at what they pointed at; an id the import does not define stays
    // dangling (negative ids never exist), so its strategy evaluates false.
    parsed.segments = parsed.segments.iter().map(|id| segment_ids.get(id).copied().unwrap_or(-id.abs() - 1)).collect();
    parsed.id = Some(new_id().to_string());
    Ok(parsed)
}

/// Folds a delta's events into features and segments, in order.
fn fold(body: &Value) -> Result<(Vec<UnleashFeature>, Vec<UnleashSegment>), Error> {
    let parse_features = |v: &Value| -> Result<Vec<UnleashFeature>, Error> {
        serde_json::from_value(v.clone()).map_err(|e| Error::invalid_field("features", e.to_string()))
    };
    let parse_segments = |v: &Value| -> Result<Vec<UnleashSegment>, Error> {
        serde_json::from_value(v.clone()).map_err(|e| Error::invalid_field("segments", e.to_string()))
    };
    let Some(events) = body.get("events").and_then(Value::as_array) else {
        let features = parse_features(body.get("features").unwrap_or(&json!([])))?;
        let segments = parse_segments(body.get("segments").unwrap_or(&json!([])))?;
        return Ok((features, segments));
    };
    let mut features: BTreeMap<String, UnleashFeature> = BTreeMap::new();
    let mut segments: BTreeMap<i64, UnleashSegment> = BTreeMap::new();
    for event in events {
        match event.get("type").and_then(Value::as_str) {
            Some("hydration") => {
                features = parse_features(event.get("features").unwrap_or(&json!([])))?
                    .into_iter()
                    .map(|f| (f.name.clone(), f))
                    .collect();
                segments = parse_segments(event.get("segments").unwrap_or(&json!([])))?
                    .into_iter()
                    .map(|s| (s.id, s))
                    .collect();
            }
            Some("feature-updated") => {
                let feature: UnleashFeature = serde_json::from_value(event["feature"].clone())
                    .map_err(|e| Error::invalid_field("events", e.to_string()))?;
                features.insert(feature.name.clone(), feature);
            }
            Some("feature-removed") => {
                if let Some(name) = event.get("featureName").and_then(Value::as_str) {
                    features.remove(name);
                }
            }
            Some("segment-updated") => {
                let segment: UnleashSegment = serde_json::from_value(event["segment"].clone())
                    .map_err(|e| Error::invalid_field("events", e.to_string()))?;
                segments.insert(segment.id, segment);
            }
            Some("segment-removed") => {
                if let Some(id) = event.get("segmentId").and_then(Value::as_i64) {
                    segments.remove(&id);
                }
            }
            _ => {}
        }
    }
    Ok((features.into_values().collect(), segments.into_values().collect()))
}

/// Import flags in Unleash's client format into a project and environment (admin).
#[utoipa::path(post, path = "/v1/import/unleash", tag = "sdk", params(ImportQuery),
    responses((status = 200, body = Imported)))]
async fn import_unleash(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ImportQuery>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Imported>, Error> {
    caller.require(Role::Admin)?;
    let project = projects::find(&state, &caller, &query.project)
        .await
        .map_err(|_| Error::invalid_field("project", "no such project"))?;
    let environment = environments::find(&state, &caller, &query.environment)
        .await
        .map_err(|_| Error::invalid_field("environment", "no such environment"))?;
    let (features, segments) = fold(&body)?;
    let now = state.clock.now().to_string();
    let workspace = caller.workspace_id.to_string();
    let event = NewEvent::new(
        caller.workspace_id,
        types::FLAGS_IMPORTED,
        Some(caller.principal_id),
        json!({ "project": project.key, "environment": environment.key, "features": features.len(), "segments": segments.len() }),
        state.clock.now(),
    );
    let counts = (features.len(), segments.len());
    in_flags_tx!(&state.db, |tx| {
        let mut segment_ids = BTreeMap::new();
        for segment in &segments {
            let name =
                format!("{}-{}", segment.name.clone().unwrap_or_else(|| "segment".to_owned()), new_id().simple());
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO segments (id, workspace_id, project_id, name, constraints, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING int_id",
            )
            .bind(new_id().to_string())
            .bind(&workspace)
            .bind(project.id.to_string())
            .bind(&name)
            .bind(serde_json::to_string(&segment.constraints).expect("constraints serialise"))
            .bind(&now)
            .fetch_one(&mut *tx)
            .await?;
            segment_ids.insert(segment.id, id);
        }
        for feature in &features {
            let strategies = feature
                .strategies
                .iter()
                .enumerate()
                .map(|(i, s)| strategy(s, &segment_ids, i))
                .collect::<Result<Vec<_>, _>>()?;
            let flag_id: Option<String> = sqlx::query_scalar("SELECT id FROM flags WHERE project_id = $1 AND key = $2")
                .bind(project.id.to_string())
                .bind(&feature.name)
                .fetch_optional(&mut *tx)
                .await?;
            let flag_id = match flag_id {
                Some(id) => {
                    sqlx::query(
                        "UPDATE flags SET type = $2, description = $3, impression_data = $4, archived_at = NULL, \
                         dependencies = $6, updated_at = $5, version = version + 1 WHERE id = $1",
                    )
                    .bind(&id)
                    .bind(feature.feature_type.as_deref().unwrap_or("release"))
                    .bind(&feature.description)
                    .bind(feature.impression_data)
                    .bind(&now)
                    .bind(serde_json::to_string(&feature.dependencies).expect("dependencies serialise"))
                    .execute(&mut *tx)
                    .await?;
                    id
                }
                None => {
                    let id = new_id().to_string();
                    sqlx::query(
                        "INSERT INTO flags (id, workspace_id, project_id, key, name, description, type, tags, \
                         impression_data, created_by, created_at, updated_at, dependencies) \
                         VALUES ($1, $2, $3, $4, $4, $5, $6, '[]', $7, $8, $9, $9, $10)",
                    )
                    .bind(&id)
                    .bind(&workspace)
                    .bind(project.id.to_string())
                    .bind(&feature.name)
                    .bind(&feature.description)
                    .bind(feature.feature_type.as_deref().unwrap_or("release"))
                    .bind(feature.impression_data)
                    .bind(caller.principal_id.to_string())
                    .bind(&now)
                    .bind(serde_json::to_string(&feature.dependencies).expect("dependencies serialise"))
                    .execute(&mut *tx)
                    .await?;
                    id
                }
            };
            sqlx::query(
                "INSERT INTO flag_environments (flag_id, environment_id, enabled, strategies, variants, version, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 1, $6) ON CONFLICT (flag_id, environment_id) DO UPDATE SET \
                 enabled = excluded.enabled, strategies = excluded.strategies, variants = excluded.variants, \
                 version = flag_environments.version + 1, updated_at = excluded.updated_at",
            )
            .bind(&flag_id)
            .bind(environment.id.to_string())
            .bind(feature.enabled)
            .bind(serde_json::to_string(&strategies).expect("strategies serialise"))
            .bind(serde_json::to_string(&feature.variants).expect("variants serialise"))
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        tx.append_event(&event).await?;
    })?;
    Ok(Json(Imported { features: counts.0, segments: counts.1 }))
}
