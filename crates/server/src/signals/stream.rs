//! `GET /v1/signal-endpoints/{id}/signals/stream`: signals as they are committed, as
//! server-sent events. Each SSE `id` is the signal's event `seq`; a client that reconnects
//! with `Last-Event-ID` gets everything committed after it, read from the database, so nothing
//! is missed across reconnects. The stream wakes on commits here, on commits announced by
//! other nodes (Postgres NOTIFY), and once a second regardless; it ends when the server shuts
//! down, so shutdown never waits on it.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use futures_util::StreamExt;
use tokio::sync::{broadcast, watch};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::history;
use super::model::{Signal, SignalRecord};
use super::operations::{self, require_admin};
use super::store::EndpointKey;
use crate::Error;
use crate::auth::model::Caller;
use crate::http::ApiPath;
use crate::state::AppState;

const SWEEP: Duration = Duration::from_secs(1);
const KEEP_ALIVE: Duration = Duration::from_secs(15);
const BATCH: i64 = 100;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream_signals))
}

/// Watch an endpoint's signals arrive (admin): `text/event-stream`, one `signal` event per
/// committed signal, resumable with `Last-Event-ID`.
#[utoipa::path(get, path = "/v1/signal-endpoints/{id}/signals/stream", tag = "signal-endpoints",
    params(("id" = Uuid, Path), ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this seq")),
    responses((status = 200, description = "Server-sent events; each `data` is a Signal", content_type = "text/event-stream")))]
async fn stream_signals(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Error> {
    open(state, &caller, id, &headers).await
}

/// The live view of endpoint `id` for `caller` (admin): this route's, and the UI's (which
/// authenticates with its cookie).
pub async fn open(
    state: AppState,
    caller: &Caller,
    id: Uuid,
    headers: &HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>> + use<>>, Error> {
    require_admin(caller)?;
    let endpoint = operations::find(&state, caller, EndpointKey::Id(id)).await?;
    let resume = headers.get("last-event-id").and_then(|v| v.to_str().ok()).map(str::trim);
    let last_seq = match resume {
        Some(text) => {
            text.parse::<i64>().map_err(|_| Error::bad_request("Last-Event-ID must be a seq from this stream"))?
        }
        None => history::latest_seq(&state.db).await?,
    };
    let cursor = Cursor {
        wake: state.signals.committed.subscribe(),
        shutting_down: state.shutting_down.clone(),
        state,
        endpoint_id: endpoint.id,
        last_seq,
        pending: VecDeque::new(),
    };
    let signals = futures_util::stream::unfold(cursor, |mut cursor| async move {
        let signal = cursor.next().await?;
        Some((Ok(sse_event(signal)), cursor))
    });
    // A comment first: Firefox reports an EventSource open only once bytes arrive, so a
    // quiet endpoint's live view would say "connecting" until the first keep-alive.
    let opened = futures_util::stream::once(async { Ok(Event::default().comment("open")) });
    let stream = opened.chain(signals);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

fn sse_event(signal: SignalRecord) -> Event {
    let id = signal.seq.to_string();
    let data = serde_json::to_string(&Signal::from(signal)).unwrap_or_default();
    Event::default().id(id).event("signal").data(data)
}

struct Cursor {
    state: AppState,
    endpoint_id: Uuid,
    last_seq: i64,
    pending: VecDeque<SignalRecord>,
    wake: broadcast::Receiver<i64>,
    shutting_down: watch::Receiver<bool>,
}

impl Cursor {
    /// The next committed signal after `last_seq`; `None` once the server shuts down.
    async fn next(&mut self) -> Option<SignalRecord> {
        loop {
            if *self.shutting_down.borrow() {
                return None;
            }
            if let Some(signal) = self.pending.pop_front() {
                self.last_seq = signal.seq;
                return Some(signal);
            }
            match history::signals_after(&self.state.db, self.endpoint_id, self.last_seq, BATCH).await {
                Ok(rows) if !rows.is_empty() => {
                    self.pending.extend(rows);
                    continue;
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "reading signals for a live view failed; retrying"),
            }
            tokio::select! {
                // A lagged receiver only means several commits happened: read them all anyway.
                _ = self.wake.recv() => {}
                _ = self.shutting_down.changed() => {}
                () = tokio::time::sleep(SWEEP) => {}
            }
        }
    }
}
