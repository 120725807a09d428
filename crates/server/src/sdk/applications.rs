//! `GET /v1/applications`: the applications whose SDKs registered or sent metrics, with their
//! instances; and the per-flag usage the flag detail shows.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use signalbox_core::{Role, Timestamp};
use sqlx::FromRow;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::model::Caller;
use crate::db::{Db, row};
use crate::state::AppState;
use crate::{Error, on_read};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_applications))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Instance {
    pub instance_id: String,
    pub environment: String,
    pub sdk_version: Option<String>,
    #[schema(value_type = Object)]
    pub strategies: serde_json::Value,
    pub interval_ms: Option<i64>,
    pub started_at: Option<String>,
    pub first_seen_at: Timestamp,
    pub last_seen_at: Timestamp,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Application {
    pub app_name: String,
    pub instances: Vec<Instance>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApplicationList {
    pub data: Vec<Application>,
}

#[derive(FromRow)]
struct InstanceRow {
    app_name: String,
    instance_id: String,
    environment: String,
    sdk_version: Option<String>,
    strategies: String,
    interval_ms: Option<i64>,
    started_at: Option<String>,
    first_seen_at: String,
    last_seen_at: String,
}

/// Applications seen through SDK tokens, with their instances (any member).
#[utoipa::path(get, path = "/v1/applications", tag = "sdk", responses((status = 200, body = ApplicationList)))]
pub async fn list_applications(State(state): State<AppState>, caller: Caller) -> Result<Json<ApplicationList>, Error> {
    caller.require(Role::Viewer)?;
    let rows: Vec<InstanceRow> = on_read!(&state.db, |pool| {
        sqlx::query_as(
        "SELECT app_name, instance_id, environment, sdk_version, strategies, interval_ms, started_at, first_seen_at, \
         last_seen_at FROM client_instances WHERE workspace_id = $1 ORDER BY app_name, instance_id, environment"
    )
    .bind(caller.workspace_id.to_string())
    .fetch_all(pool)
    .await
    })?;
    let mut apps: BTreeMap<String, Vec<Instance>> = BTreeMap::new();
    for r in rows {
        apps.entry(r.app_name).or_default().push(Instance {
            instance_id: r.instance_id,
            environment: r.environment,
            sdk_version: r.sdk_version,
            strategies: serde_json::from_str(&r.strategies).unwrap_or(serde_json::Value::Null),
            interval_ms: r.interval_ms,
            started_at: r.started_at,
            first_seen_at: row::time(&r.first_seen_at)?,
            last_seen_at: row::time(&r.last_seen_at)?,
        });
    }
    let data = apps.into_iter().map(|(app_name, instances)| Application { app_name, instances }).collect();
    Ok(Json(ApplicationList { data }))
}

/// One hour of a flag's evaluations reported by one application in one environment.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FlagUsage {
    pub environment: String,
    pub app_name: String,
    pub hour: String,
    pub yes: i64,
    pub no: i64,
    pub variants: BTreeMap<String, i64>,
}

/// (environment, app, hour, yes, no) and (environment, app, hour, variant, count) rows.
type UsageRow = (String, String, String, i64, i64);
type VariantRow = (String, String, String, String, i64);

/// A flag's usage since `since`, newest hour first.
pub async fn usage_of(db: &Db, workspace_id: Uuid, flag: &str, since: Timestamp) -> Result<Vec<FlagUsage>, Error> {
    let (rows, variants): (Vec<UsageRow>, Vec<VariantRow>) = on_read!(db, |pool| {
        let rows = sqlx::query_as(
            "SELECT environment, app_name, hour, yes, no FROM flag_usage \
                 WHERE workspace_id = $1 AND flag_name = $2 AND hour >= $3 ORDER BY hour DESC, environment, app_name",
        )
        .bind(workspace_id.to_string())
        .bind(flag)
        .bind(since.to_string())
        .fetch_all(pool)
        .await?;
        let variants = sqlx::query_as(
            "SELECT environment, app_name, hour, variant, count FROM flag_variant_usage \
                 WHERE workspace_id = $1 AND flag_name = $2 AND hour >= $3",
        )
        .bind(workspace_id.to_string())
        .bind(flag)
        .bind(since.to_string())
        .fetch_all(pool)
        .await?;
        Ok::<_, sqlx::Error>((rows, variants))
    })?;
    Ok(rows
        .into_iter()
        .map(|(environment, app_name, hour, yes, no)| {
            let counts = variants
                .iter()
                .filter(|(e, a, h, _, _)| *e == environment && *a == app_name && *h == hour)
                .map(|(_, _, _, v, n)| (v.clone(), *n))
                .collect();
            FlagUsage { environment, app_name, hour, yes, no, variants: counts }
        })
        .collect())
}
