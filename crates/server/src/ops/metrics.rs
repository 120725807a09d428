//! Prometheus metrics with a registry per server instance (so tests can run several servers
//! in one process): requests by route template, method and status; latency; database pool;
//! build info.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;
use crate::webhooks::model::DeliveryStatus;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    pool_connections: Family<PoolLabels, Gauge>,
    pool_idle: Family<PoolLabels, Gauge>,
    delivery_attempts: Family<OutcomeLabels, Counter>,
    attempt_latency: Histogram,
    deliveries_pending: Gauge,
    oldest_pending_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("signalbox");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_5, 2.0, 16))
        });
        registry.register("http_request_duration_seconds", "Time to answer HTTP requests", latency.clone());
        let pool_connections = Family::<PoolLabels, Gauge>::default();
        registry.register("db_pool_connections", "Open database connections", pool_connections.clone());
        let pool_idle = Family::<PoolLabels, Gauge>::default();
        registry.register("db_pool_idle_connections", "Idle database connections", pool_idle.clone());
        let build = Family::<BuildLabels, Gauge>::default();
        build.get_or_create(&BuildLabels { version: env!("CARGO_PKG_VERSION").to_owned() }).set(1);
        registry.register("build_info", "The running version", build);
        let delivery_attempts = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "webhook_delivery_attempts",
            "Webhook delivery attempts by what they led to: succeeded, retrying, dead",
            delivery_attempts.clone(),
        );
        let attempt_latency = Histogram::new(exponential_buckets(0.000_5, 2.0, 16));
        registry.register(
            "webhook_attempt_duration_seconds",
            "Time from sending a webhook to its answer (or failure)",
            attempt_latency.clone(),
        );
        let deliveries_pending = Gauge::default();
        registry.register(
            "webhook_deliveries_pending",
            "Webhook deliveries not yet finished",
            deliveries_pending.clone(),
        );
        let oldest_pending_seconds = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "webhook_oldest_pending_seconds",
            "Age of the oldest pending webhook delivery (0 when none)",
            oldest_pending_seconds.clone(),
        );
        Self(Arc::new(Inner {
            registry,
            requests,
            latency,
            pool_connections,
            pool_idle,
            delivery_attempts,
            attempt_latency,
            deliveries_pending,
            oldest_pending_seconds,
        }))
    }

    /// Counts and times one answered request under its route template.
    pub(crate) fn observe(&self, route: String, method: String, status: u16, seconds: f64) {
        self.0.latency.get_or_create(&RouteLabels { route: route.clone() }).observe(seconds);
        self.0.requests.get_or_create(&RequestLabels { route, method, status }).inc();
    }

    /// Counts one webhook attempt by what it led to, and its duration.
    pub fn observe_attempt(&self, status: &DeliveryStatus, succeeded: bool, seconds: f64) {
        let outcome = match status {
            _ if succeeded => "succeeded",
            DeliveryStatus::Pending => "retrying",
            _ => "dead",
        };
        self.0.delivery_attempts.get_or_create(&OutcomeLabels { outcome }).inc();
        self.0.attempt_latency.observe(seconds);
    }

    fn render(&self, state: &AppState, pending: Option<(i64, f64)>) -> String {
        if let Some((count, oldest)) = pending {
            self.0.deliveries_pending.set(count);
            self.0.oldest_pending_seconds.set(oldest);
        }
        for (pool, size, idle) in state.db.pool_stats() {
            let labels = PoolLabels { pool: pool.to_owned() };
            self.0.pool_connections.get_or_create(&labels).set(i64::from(size));
            self.0.pool_idle.get_or_create(&labels).set(i64::try_from(idle).unwrap_or(i64::MAX));
        }
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.0.registry).is_err() {
            text.clear();
        }
        text
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
async fn metrics(State(state): State<AppState>) -> Response {
    let pending = pending_deliveries(&state).await;
    let body = state.metrics.render(&state, pending);
    ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

/// How many deliveries are pending and how old the oldest is, read at scrape time.
async fn pending_deliveries(state: &AppState) -> Option<(i64, f64)> {
    let sql = "SELECT COUNT(*), MIN(created_at) FROM deliveries WHERE status = 'pending'";
    let read: Result<(i64, Option<String>), sqlx::Error> =
        crate::on_read!(&state.db, |pool| sqlx::query_as(sql).fetch_one(pool).await);
    let (count, oldest) = read.ok()?;
    let age = oldest
        .and_then(|text| signalbox_core::Timestamp::parse(&text).ok())
        .map_or(0.0, |at| at.until(state.clock.now()).as_secs_f64());
    Some((count, age))
}
