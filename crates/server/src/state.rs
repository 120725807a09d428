//! What every handler can reach.

use std::ops::Deref;
use std::sync::Arc;

use signalbox_core::Clock;
use tokio::sync::watch;

use crate::auth::jwt::SessionTokens;
use crate::auth::password::PasswordHasher;
use crate::config::ServeConfig;
use crate::db::Db;
use crate::ops::metrics::Metrics;

#[derive(Clone)]
pub struct AppState(Arc<AppContext>);

pub struct AppContext {
    pub config: ServeConfig,
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub passwords: PasswordHasher,
    pub sessions: SessionTokens,
    pub metrics: Metrics,
    pub signals: crate::signals::SignalsRuntime,
    pub webhooks: crate::webhooks::WebhooksRuntime,
    pub sdk: crate::sdk::SdkRuntime,
    /// API tokens resolved in memory (`auth::api_tokens::cache`).
    pub api_tokens: crate::auth::api_tokens::cache::TokenCache,
    pub actions: Arc<crate::actions::ActionsRuntime>,
    pub typed: crate::typed::TypedRuntime,
    /// Turns true when the server starts shutting down; long-lived responses end on it.
    pub shutting_down: watch::Receiver<bool>,
}

impl AppState {
    pub fn new(context: AppContext) -> Self {
        Self(Arc::new(context))
    }
}

impl Deref for AppState {
    type Target = AppContext;
    fn deref(&self) -> &AppContext {
        &self.0
    }
}
