//! `/healthz` (the process answers) and `/readyz` (the database answers, is migrated, and its
//! writes can still be made durable).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::Error;
use crate::db::schema_status;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
}

/// Liveness: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok", version: env!("CARGO_PKG_VERSION") })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    pub database: &'static str,
    pub schema_version: i64,
}

/// Readiness: the database answers, carries this binary's schema and its writes can be made
/// durable (on SQLite, no fsync of the WAL has failed); else 503.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, body = crate::error::Problem)))]
async fn readyz(State(state): State<AppState>) -> Result<Json<Readiness>, Error> {
    if *state.shutting_down.borrow() {
        return Err(Error::service_unavailable("the server is shutting down"));
    }
    if let Some(failure) = state.db.durability_failure() {
        return Err(Error::service_unavailable(format!(
            "an fsync of the database's write-ahead log failed ({failure}): no write is acknowledged until the \
             server restarts"
        )));
    }
    state.db.ping().await.map_err(|e| Error::service_unavailable(format!("the database does not answer: {e}")))?;
    let schema = schema_status(&state.db)
        .await
        .map_err(|e| Error::service_unavailable(format!("cannot read the schema version: {e}")))?;
    if !schema.is_current() {
        return Err(Error::service_unavailable(format!(
            "the database schema is at version {}, this server needs {}",
            schema.applied, schema.known
        )));
    }
    let database = match state.db.backend() {
        crate::db::Backend::Sqlite => "sqlite",
        crate::db::Backend::Postgres => "postgres",
    };
    Ok(Json(Readiness { status: "ready", database, schema_version: schema.applied }))
}
