//! `GET /api/client/streaming` (SSE, as current Unleash SDKs expect) and
//! `GET /api/client/delta` (delta polling).
//!
//! A stream starts with `event: unleash-connected` carrying a hydration event (every flag and
//! segment the token sees), then sends `event: unleash-updated` with `feature-updated`,
//! `feature-removed`, `segment-updated` and `segment-removed` events after each change,
//! computed by comparing what the token saw with what it sees now. `id:` is the revision; a
//! reconnect (with or without `Last-Event-ID`) is hydrated again, which SDKs treat as the
//! whole truth. Keep-alive comments every 10 s (the Node SDK drops a stream silent for 60 s);
//! the stream ends when the server shuts down.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::header::{ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use serde_json::{Value, json};
use tokio::sync::watch;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{ClientToken, SdkAccess};
use super::snapshot::{ClientSegment, Snapshot};
use crate::Error;
use crate::state::AppState;

const KEEP_ALIVE: Duration = Duration::from_secs(10);
const SWEEP: Duration = Duration::from_secs(1);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(streaming)).routes(routes!(delta))
}

/// What a token sees: features by name and segments by id, each as JSON.
#[derive(Default, PartialEq)]
struct View {
    features: BTreeMap<String, Value>,
    segments: BTreeMap<i64, Value>,
}

fn view(snapshot: &Snapshot, access: &SdkAccess) -> View {
    let features: BTreeMap<String, Value> = snapshot
        .features
        .iter()
        .filter(|f| access.allows_project(&f.project))
        .map(|f| (f.name.clone(), serde_json::to_value(f).unwrap_or(Value::Null)))
        .collect();
    let segments = snapshot
        .segments
        .iter()
        .map(|s: &ClientSegment| (s.id, serde_json::to_value(s).unwrap_or(Value::Null)))
        .collect();
    View { features, segments }
}

fn hydration(revision: i64, view: &View) -> Value {
    json!({ "events": [{
        "eventId": revision,
        "type": "hydration",
        "features": view.features.values().collect::<Vec<_>>(),
        "segments": view.segments.values().collect::<Vec<_>>(),
    }] })
}

/// The events that turn `before` into `after`.
fn changes(revision: i64, before: &View, after: &View) -> Vec<Value> {
    let mut events = Vec::new();
    for (id, segment) in &after.segments {
        if before.segments.get(id) != Some(segment) {
            events.push(json!({ "eventId": revision, "type": "segment-updated", "segment": segment }));
        }
    }
    for (name, feature) in &after.features {
        if before.features.get(name) != Some(feature) {
            events.push(json!({ "eventId": revision, "type": "feature-updated", "feature": feature }));
        }
    }
    for (name, feature) in &before.features {
        if !after.features.contains_key(name) {
            events.push(json!({ "eventId": revision, "type": "feature-removed", "featureName": name, "project": feature["project"] }));
        }
    }
    for id in before.segments.keys() {
        if !after.segments.contains_key(id) {
            events.push(json!({ "eventId": revision, "type": "segment-removed", "segmentId": id }));
        }
    }
    events
}

struct Connection {
    state: AppState,
    access: SdkAccess,
    sent: Option<View>,
    revision: u64,
    commits: watch::Receiver<u64>,
    shutting_down: watch::Receiver<bool>,
}

impl Connection {
    async fn snapshot(&self) -> Option<Arc<Snapshot>> {
        match self.state.sdk.snapshots.get(&self.state.db, self.access.workspace_id, self.access.environment_id).await {
            Ok(snapshot) => Some(snapshot),
            Err(error) => {
                tracing::warn!(%error, "reading flags for a stream failed; retrying");
                None
            }
        }
    }

    /// The next event to send; `None` once the server shuts down.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if *self.shutting_down.borrow() {
                return None;
            }
            self.commits.borrow_and_update();
            let revision = crate::flags::revision();
            if (self.sent.is_none() || revision != self.revision)
                && let Some(snapshot) = self.snapshot().await
            {
                if self.sent.is_some() && snapshot.revision != revision {
                    // Another request is rebuilding the snapshot; look again in a moment.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
                self.revision = snapshot.revision;
                let now = view(&snapshot, &self.access);
                let id = snapshot.revision_id.to_string();
                match self.sent.take() {
                    None => {
                        let data = hydration(snapshot.revision_id, &now).to_string();
                        self.sent = Some(now);
                        return Some(Event::default().event("unleash-connected").id(id).data(data));
                    }
                    Some(before) => {
                        let events = changes(snapshot.revision_id, &before, &now);
                        self.sent = Some(now);
                        if !events.is_empty() {
                            let data = json!({ "events": events }).to_string();
                            return Some(Event::default().event("unleash-updated").id(id).data(data));
                        }
                    }
                }
            }
            tokio::select! {
                _ = self.commits.changed() => {}
                _ = self.shutting_down.changed() => {}
                () = tokio::time::sleep(SWEEP) => {}
            }
        }
    }
}

/// Flag changes as server-sent events (client token): `unleash-connected` with a hydration,
/// then `unleash-updated` deltas.
#[utoipa::path(get, path = "/api/client/streaming", tag = "sdk",
    responses((status = 200, description = "Server-sent events", content_type = "text/event-stream")))]
async fn streaming(
    State(state): State<AppState>,
    ClientToken(access): ClientToken,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Error> {
    let connection = Connection {
        commits: crate::db::commits(),
        shutting_down: state.shutting_down.clone(),
        state,
        access,
        sent: None,
        revision: 0,
    };
    let stream = futures_util::stream::unfold(connection, |mut connection| async move {
        let event = connection.next().await?;
        Some((Ok(event), connection))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// Delta polling (client token): `{"events":[…]}` — a hydration of everything the token
/// sees — or `304` when `If-None-Match` names the current revision.
#[utoipa::path(get, path = "/api/client/delta", tag = "sdk",
    responses((status = 200, description = "{events}", content_type = "application/json"),
        (status = 304, description = "Nothing new since the revision given")))]
async fn delta(
    State(state): State<AppState>,
    ClientToken(access): ClientToken,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let snapshot = state.sdk.snapshots.get(&state.db, access.workspace_id, access.environment_id).await?;
    let now = view(&snapshot, &access);
    let etag = format!(
        "\"{}\"",
        super::snapshot::digest(&[serde_json::to_string(&hydration(0, &now)).unwrap_or_default().as_bytes()])
    );
    let header = HeaderValue::from_str(&etag).expect("an etag is a header value");
    if headers.get(IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim() == etag) {
        return Ok((StatusCode::NOT_MODIFIED, [(ETAG, header)]).into_response());
    }
    Ok(([(ETAG, header)], axum::Json(hydration(snapshot.revision_id, &now))).into_response())
}
