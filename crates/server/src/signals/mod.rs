//! Signal endpoints (the Unleash signals seed): admins create named endpoints and tokens;
//! external systems POST "something happened" to `/api/signal-endpoint/{name}`; people page
//! through what arrived or watch it live.

pub mod cache;
pub mod counters;
pub mod history;
pub mod ingest;
pub mod limits;
pub mod model;
pub mod operations;
pub mod routes;
pub mod store;
pub mod stream;
pub mod unleash;
pub mod writer;

use std::sync::Arc;

use signalbox_core::Clock;
use tokio::sync::broadcast;
use utoipa_axum::router::OpenApiRouter;

use crate::db::Db;
use crate::state::AppState;

/// The Postgres NOTIFY channel that tells other nodes to drop their ingest caches.
pub const CONFIG_CHANNEL: &str = "signalbox_config";

/// The in-memory parts of ingest, shared by all requests of one server.
pub struct SignalsRuntime {
    pub cache: cache::IngestCache,
    pub counters: counters::IngestCounters,
    pub rates: limits::RateLimits,
    pub writer: writer::SignalWriter,
    /// The newest committed event `seq`, sent after every commit that adds signals (here or,
    /// through NOTIFY, on another node): live views wake on it.
    pub committed: broadcast::Sender<i64>,
}

impl SignalsRuntime {
    pub fn start(
        db: Db,
        clock: Arc<dyn Clock>,
        actions: Arc<crate::actions::ActionsRuntime>,
    ) -> anyhow::Result<(Self, Option<tokio::task::JoinHandle<()>>)> {
        let (committed, _) = broadcast::channel(64);
        let (writer, task) = writer::SignalWriter::start(db, committed.clone(), actions)?;
        let runtime = Self {
            cache: cache::IngestCache::default(),
            counters: counters::IngestCounters::default(),
            rates: limits::RateLimits::new(clock),
            writer,
            committed,
        };
        Ok((runtime, task))
    }

    /// An endpoint, token or limit changed: drop cached copies here and on other nodes.
    pub async fn config_changed(&self, db: &Db) {
        self.cache.invalidate();
        crate::ops::listener::announce_config_change(db, "signals").await;
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(routes::router())
        .merge(unleash::router())
        .merge(ingest::router())
        .merge(stream::router())
}
