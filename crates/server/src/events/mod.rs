//! The event log: every state change writes one event row in the change's own transaction
//! (see `db::TxExt::append_event`). Webhooks, audit and live views read it; `GET /v1/events`
//! lists it newest first.

pub mod model;
pub mod store;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use signalbox_core::{Role, Timestamp};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub use self::model::{Event, NewEvent, types};
use crate::Error;
use crate::auth::model::Caller;
use crate::http::{CursorPage, CursorRequest};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_events))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct EventFilter {
    /// Only events of this type, e.g. `api_token.created`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub event_type: Option<String>,
    /// Only events about this project (its key).
    pub project: Option<String>,
    /// Only events about this flag (its key).
    pub flag: Option<String>,
    /// Only changes made by this principal (id).
    pub actor: Option<String>,
    /// Only events at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Only events before this time (RFC 3339).
    pub until: Option<String>,
}

fn time_filter(text: Option<&str>, field: &str) -> Result<Option<Timestamp>, Error> {
    text.map(|t| {
        Timestamp::parse(t)
            .map_err(|_| Error::invalid_field(field, "must be an RFC 3339 time, e.g. 2026-11-29T12:00:00Z"))
    })
    .transpose()
}

/// The workspace's event log, newest first (admin): every configuration change, who made it
/// and when, with before and after where a change has them. Filters: `type`, `project`,
/// `flag`, `actor`, `since`, `until`. Cursor-paged: pass `next_cursor` as `?before=` for older events.
#[utoipa::path(get, path = "/v1/events", tag = "events", params(CursorRequest, EventFilter),
    responses((status = 200, body = CursorPage<Event>)))]
async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    page: CursorRequest,
    Query(filter): Query<EventFilter>,
) -> Result<Json<CursorPage<Event>>, Error> {
    caller.require(Role::Admin)?;
    let actor = filter
        .actor
        .as_deref()
        .map(|id| Uuid::parse_str(id).map_err(|_| Error::invalid_field("actor", "must be a principal id")))
        .transpose()?;
    let query = store::EventQuery {
        event_type: filter.event_type.as_deref(),
        project: filter.project.as_deref(),
        flag: filter.flag.as_deref(),
        actor,
        since: time_filter(filter.since.as_deref(), "since")?,
        until: time_filter(filter.until.as_deref(), "until")?,
        before: page.before_seq()?,
        limit: page.limit + 1,
    };
    let rows = store::list(&state.db, caller.workspace_id, query).await?;
    Ok(Json(CursorPage::from_overfetch(rows, page.limit, |event| event.seq.to_string())))
}
