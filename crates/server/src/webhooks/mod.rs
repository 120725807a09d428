//! Outgoing webhooks (the FeatureSignals webhooks seed): admins register URLs with an event
//! filter and an optional signing secret; every matching event reaches every enabled webhook
//! through a transactional outbox, signed, retried on a schedule, and logged attempt by
//! attempt. See DESIGN *The event log and outgoing webhooks*.

pub mod delivery;
pub mod destination;
pub mod model;
pub mod operations;
pub mod outbox;
pub mod routes;
pub mod secrets;
pub mod store;
pub mod validation;

use std::sync::Arc;

use signalbox_core::Clock;
use signalbox_core::ssrf::DestinationPolicy;
use utoipa_axum::router::OpenApiRouter;

use self::delivery::DeliveryEngine;
use self::delivery::recorder::Recorder;
use self::destination::{Destinations, NameResolver};
use self::secrets::SecretBox;
use crate::config::WebhookConfig;
use crate::db::Db;
use crate::ops::metrics::Metrics;
use crate::secret_key::SecretKey;
use crate::state::AppState;

/// The webhook parts of a running server.
pub struct WebhooksRuntime {
    pub secrets: Arc<SecretBox>,
    pub destinations: Destinations,
    pub engine: Arc<DeliveryEngine>,
    /// The recorder's task on Postgres (on SQLite it is a thread that ends with the engine).
    recorder_task: Option<tokio::task::JoinHandle<()>>,
}

impl WebhooksRuntime {
    pub fn new(
        db: &Db,
        clock: Arc<dyn Clock>,
        config: &WebhookConfig,
        key: &SecretKey,
        resolver: Arc<dyn NameResolver>,
        metrics: Metrics,
    ) -> anyhow::Result<Self> {
        let secrets = Arc::new(SecretBox::new(key));
        let destinations = Destinations::new(DestinationPolicy::new(config.webhook_allow_cidr.clone()), resolver);
        let (recorder, recorder_task) = Recorder::start(db.clone(), config.webhook_auto_disable_after)?;
        let engine = DeliveryEngine::new(
            db.clone(),
            clock,
            config.clone(),
            secrets.clone(),
            destinations.clone(),
            recorder,
            metrics,
        )?;
        Ok(Self { secrets, destinations, engine: Arc::new(engine), recorder_task })
    }

    /// Stops recording (after the engine has stopped).
    pub fn stop(&self) {
        if let Some(task) = &self.recorder_task {
            task.abort();
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    routes::router()
}
