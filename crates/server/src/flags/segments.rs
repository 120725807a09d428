//! `/v1/segments`: named, reusable constraint lists that strategies refer to by integer id
//! (as in Unleash). Global, or limited to one project.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use signalbox_core::flags::Constraint;
use signalbox_core::flags::strategy::check_constraint;
use signalbox_core::{Role, Timestamp, new_id};
use sqlx::FromRow;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::projects;
use crate::auth::model::Caller;
use crate::db::{Db, TxExt, row};
use crate::events::{NewEvent, types};
use crate::http::{ApiJson, ApiPath, Patch};
use crate::state::AppState;
use crate::{Error, in_flags_tx, on_read};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_segment, list_segments)).routes(routes!(
        get_segment,
        update_segment,
        delete_segment
    ))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Segment {
    /// The id strategies use in `segments`.
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    /// The project it is limited to; `null`: every project.
    pub project: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub constraints: Vec<Constraint>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentIn {
    pub name: String,
    pub description: Option<String>,
    /// A project key; absent: a global segment.
    pub project: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub constraints: Vec<Constraint>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub constraints: Patch<Vec<Constraint>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SegmentList {
    pub data: Vec<Segment>,
}

#[derive(FromRow)]
struct SegmentRow {
    int_id: i64,
    name: String,
    description: Option<String>,
    project_key: Option<String>,
    constraints: String,
    created_at: String,
    updated_at: String,
}

fn segment(r: SegmentRow) -> Result<Segment, Error> {
    Ok(Segment {
        id: r.int_id,
        name: r.name,
        description: r.description,
        project: r.project_key,
        constraints: serde_json::from_str(&r.constraints)
            .map_err(|e| Error::internal(anyhow::anyhow!("stored constraints: {e}")))?,
        created_at: row::time(&r.created_at)?,
        updated_at: row::time(&r.updated_at)?,
    })
}

macro_rules! segment_select {
    () => {
        "SELECT s.int_id, s.name, s.description, p.key AS project_key, s.constraints, s.created_at, s.updated_at \
         FROM segments s LEFT JOIN projects p ON p.id = s.project_id"
    };
}

/// The workspace's segments usable in `project` (global ones and that project's), or all.
pub async fn list(db: &Db, workspace_id: Uuid, project: Option<Uuid>) -> Result<Vec<Segment>, Error> {
    let sql = concat!(
        segment_select!(),
        " WHERE s.workspace_id = $1 AND ($2 IS NULL OR s.project_id IS NULL OR s.project_id = $2) ORDER BY s.int_id"
    );
    let rows: Vec<SegmentRow> = on_read!(db, |pool| sqlx::query_as(sql)
        .bind(workspace_id.to_string())
        .bind(project.map(|p| p.to_string()))
        .fetch_all(pool)
        .await)?;
    rows.into_iter().map(segment).collect()
}

async fn find(state: &AppState, caller: &Caller, id: i64) -> Result<Segment, Error> {
    let sql = concat!(segment_select!(), " WHERE s.workspace_id = $1 AND s.int_id = $2");
    let found: Option<SegmentRow> = on_read!(&state.db, |pool| sqlx::query_as(sql)
        .bind(caller.workspace_id.to_string())
        .bind(id)
        .fetch_optional(pool)
        .await)?;
    found.map(segment).transpose()?.ok_or_else(|| Error::not_found("no segment with this id in the workspace"))
}

fn check(name: &str, description: Option<&str>, constraints: &[Constraint]) -> Result<(), Error> {
    if name.trim().is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid_field("name", "must be 1-100 characters"));
    }
    if description.is_some_and(|d| d.chars().count() > 1000) {
        return Err(Error::invalid_field("description", "must be at most 1000 characters"));
    }
    for (i, constraint) in constraints.iter().enumerate() {
        check_constraint(constraint, &format!("constraints[{i}]"))
            .map_err(|p| Error::invalid_field(p.path, p.message))?;
    }
    Ok(())
}

fn event(
    state: &AppState,
    caller: &Caller,
    event_type: &'static str,
    (id, name, project): (i64, &str, Option<&str>),
) -> NewEvent {
    NewEvent::new(
        caller.workspace_id,
        event_type,
        Some(caller.principal_id),
        json!({ "id": id, "name": name, "project": project }),
        state.clock.now(),
    )
}

/// Create a segment (editor). The UI's segments page calls it too.
#[utoipa::path(post, path = "/v1/segments", tag = "flags", request_body = SegmentIn,
    responses((status = 201, body = Segment), (status = 409, body = crate::error::Problem,
        content_type = "application/problem+json", description = "The name is taken")))]
pub async fn create_segment(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<SegmentIn>,
) -> Result<(StatusCode, Json<Segment>), Error> {
    caller.require(Role::Editor)?;
    check(&body.name, body.description.as_deref(), &body.constraints)?;
    let project = match body.project.as_deref() {
        Some(key) => Some(
            projects::find(&state, &caller, key)
                .await
                .map_err(|_| Error::invalid_field("project", "no such project"))?,
        ),
        None => None,
    };
    let now = state.clock.now().to_string();
    let constraints = serde_json::to_string(&body.constraints).expect("constraints serialise");
    let id: i64 = in_flags_tx!(&state.db, |tx| {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO segments (id, workspace_id, project_id, name, description, constraints, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING int_id",
        )
        .bind(new_id().to_string())
        .bind(caller.workspace_id.to_string())
        .bind(project.as_ref().map(|p| p.id.to_string()))
        .bind(body.name.trim())
        .bind(&body.description)
        .bind(&constraints)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        tx.append_event(&event(&state, &caller, types::SEGMENT_CREATED, (id, body.name.trim(), body.project.as_deref()))).await?;
        id
    })
    .map_err(|e| if e.status() == StatusCode::CONFLICT { Error::conflict("a segment with this name exists") } else { e })?;
    Ok((StatusCode::CREATED, Json(find(&state, &caller, id).await?)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SegmentQuery {
    /// Only segments usable in this project (global ones and its own).
    pub project: Option<String>,
}

/// The workspace's segments (any member).
#[utoipa::path(get, path = "/v1/segments", tag = "flags", params(SegmentQuery),
    responses((status = 200, body = SegmentList)))]
async fn list_segments(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<SegmentQuery>,
) -> Result<Json<SegmentList>, Error> {
    caller.require(Role::Viewer)?;
    let project = match query.project.as_deref() {
        Some(key) => Some(projects::find(&state, &caller, key).await?.id),
        None => None,
    };
    Ok(Json(SegmentList { data: list(&state.db, caller.workspace_id, project).await? }))
}

/// One segment (any member).
#[utoipa::path(get, path = "/v1/segments/{id}", tag = "flags", params(("id" = i64, Path)),
    responses((status = 200, body = Segment)))]
pub async fn get_segment(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Segment>, Error> {
    caller.require(Role::Viewer)?;
    Ok(Json(find(&state, &caller, id).await?))
}

/// Change a segment (editor); flags using it see the change at once.
#[utoipa::path(put, path = "/v1/segments/{id}", tag = "flags", params(("id" = i64, Path)),
    request_body = SegmentPatch, responses((status = 200, body = Segment)))]
pub async fn update_segment(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<SegmentPatch>,
) -> Result<Json<Segment>, Error> {
    caller.require(Role::Editor)?;
    let mut segment = find(&state, &caller, id).await?;
    if let Some(name) = patch.name.not_null("name")? {
        segment.name = name.trim().to_owned();
    }
    match patch.description {
        Patch::Absent => {}
        Patch::Null => segment.description = None,
        Patch::Value(text) => segment.description = Some(text),
    }
    if let Some(constraints) = patch.constraints.not_null("constraints")? {
        segment.constraints = constraints;
    }
    check(&segment.name, segment.description.as_deref(), &segment.constraints)?;
    let constraints = serde_json::to_string(&segment.constraints).expect("constraints serialise");
    let now = state.clock.now().to_string();
    in_flags_tx!(&state.db, |tx| {
        sqlx::query("UPDATE segments SET name = $3, description = $4, constraints = $5, updated_at = $6 WHERE workspace_id = $1 AND int_id = $2")
            .bind(caller.workspace_id.to_string())
            .bind(id)
            .bind(&segment.name)
            .bind(&segment.description)
            .bind(&constraints)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        tx.append_event(&event(&state, &caller, types::SEGMENT_UPDATED, (id, &segment.name, segment.project.as_deref()))).await?;
    })
    .map_err(|e| if e.status() == StatusCode::CONFLICT { Error::conflict("a segment with this name exists") } else { e })?;
    Ok(Json(find(&state, &caller, id).await?))
}

/// Delete a segment no strategy uses (editor).
#[utoipa::path(delete, path = "/v1/segments/{id}", tag = "flags", params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"), (status = 409, body = crate::error::Problem,
        content_type = "application/problem+json", description = "A strategy uses it")))]
pub async fn delete_segment(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, Error> {
    caller.require(Role::Editor)?;
    let segment = find(&state, &caller, id).await?;
    if let Some(flag) = user_of(&state.db, caller.workspace_id, id).await? {
        return Err(Error::conflict(format!(
            "the flag {flag:?} uses this segment; remove it from its strategies first"
        )));
    }
    in_flags_tx!(&state.db, |tx| {
        sqlx::query("DELETE FROM segments WHERE workspace_id = $1 AND int_id = $2")
            .bind(caller.workspace_id.to_string())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.append_event(&event(
            &state,
            &caller,
            types::SEGMENT_DELETED,
            (id, &segment.name, segment.project.as_deref()),
        ))
        .await?;
    })?;
    Ok(StatusCode::NO_CONTENT)
}

/// A flag (its key) whose strategies use the segment, if any.
async fn user_of(db: &Db, workspace_id: Uuid, segment: i64) -> Result<Option<String>, Error> {
    let rows: Vec<(String, String)> = on_read!(db, |pool| {
        sqlx::query_as(
        "SELECT f.key, fe.strategies FROM flag_environments fe JOIN flags f ON f.id = fe.flag_id WHERE f.workspace_id = $1"
    )
    .bind(workspace_id.to_string())
    .fetch_all(pool)
    .await
    })?;
    for (key, strategies) in rows {
        let strategies: Vec<signalbox_core::flags::Strategy> = serde_json::from_str(&strategies).unwrap_or_default();
        if strategies.iter().any(|s| s.segments.contains(&segment)) {
            return Ok(Some(key));
        }
    }
    Ok(None)
}
