//! The event log: every state change writes one event row in the change's own transaction
//! (see `db::TxExt::append_event`). Webhooks, audit and live views read it; `GET /v1/events`
//! lists it newest first.

pub mod model;
pub mod store;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use signalbox_core::Role;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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
}

/// The workspace's event log, newest first (admin): every configuration change, who made it
/// and when. Cursor-paged: pass `next_cursor` as `?before=` for older events.
#[utoipa::path(get, path = "/v1/events", tag = "events", params(CursorRequest, EventFilter),
    responses((status = 200, body = CursorPage<Event>)))]
async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    page: CursorRequest,
    Query(filter): Query<EventFilter>,
) -> Result<Json<CursorPage<Event>>, Error> {
    caller.require(Role::Admin)?;
    let before = page.before_seq()?;
    let rows =
        store::list(&state.db, caller.workspace_id, filter.event_type.as_deref(), before, page.limit + 1).await?;
    Ok(Json(CursorPage::from_overfetch(rows, page.limit, |event| event.seq.to_string())))
}
