//! Building and running the server: `Application::build` binds the port, opens and migrates
//! the database, bootstraps the owner and assembles the router; `run` serves until shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use signalbox_core::Clock;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::jwt::SessionTokens;
use crate::auth::password::PasswordHasher;
use crate::bootstrap::bootstrap_owner;
use crate::config::ServeConfig;
use crate::db::{self, PoolOptions};
use crate::ops::metrics::Metrics;
use crate::secret_key::KeyPlan;
use crate::state::{AppContext, AppState};
use crate::webhooks::WebhooksRuntime;
use crate::webhooks::destination::{NameResolver, SystemResolver};

pub struct Application {
    listener: TcpListener,
    state: AppState,
    shutdown: watch::Sender<bool>,
    signal_writer: Option<tokio::task::JoinHandle<()>>,
    typed_writer: Option<tokio::task::JoinHandle<()>>,
}

impl Application {
    /// Checks and prepares in an order that leaves nothing behind when a step fails: the
    /// port and the key settings first, then the database, and only then the key file and
    /// the owner account.
    pub async fn build(config: ServeConfig, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        Self::build_with(config, clock, Arc::new(SystemResolver)).await
    }

    /// [`Self::build`] with the resolver webhook destinations are looked up with (tests map
    /// names to addresses instead of using DNS).
    pub async fn build_with(
        mut config: ServeConfig,
        clock: Arc<dyn Clock>,
        resolver: Arc<dyn NameResolver>,
    ) -> anyhow::Result<Self> {
        // reqwest is built without a default TLS provider; use ring, which sqlx links already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener =
            TcpListener::bind(config.listen).await.with_context(|| format!("cannot listen on {}", config.listen))?;
        // With port 0 the kernel picks one; links and logs should name the real one.
        config.listen = listener.local_addr()?;
        let key_plan = KeyPlan::resolve(&config.key, &config.database.database_url)?;
        let pool_options = PoolOptions {
            max_connections: config.database.database_max_connections,
            connect_timeout: config.database.database_connect_timeout,
        };
        let db = db::connect(&config.database.database_url, &pool_options).await?;
        let schema = db::migrate(&db).await?;
        tracing::info!(database = %config.database.database_url.redacted(), schema_version = schema.applied, "database ready");

        let key = key_plan.into_key()?;
        let passwords = PasswordHasher::new(&config.password_hashing)?;
        bootstrap_owner(&db, &config, &passwords, clock.as_ref()).await?;
        crate::flags::store::ensure_defaults(&db, clock.now()).await?;
        crate::typed::types::ensure_builtins(&db, clock.now()).await?;

        let (shutdown, shutting_down) = watch::channel(false);
        let sessions = SessionTokens::new(&key, config.jwt_leeway);
        let actions = Arc::new(crate::actions::ActionsRuntime::default());
        let (signals, signal_writer) =
            crate::signals::SignalsRuntime::start(db.clone(), clock.clone(), actions.clone())?;
        let (typed, typed_writer) = crate::typed::TypedRuntime::start(db.clone(), actions.clone())?;
        let metrics = Metrics::new();
        let webhooks = WebhooksRuntime::new(&db, clock.clone(), &config.webhooks, &key, resolver, metrics.clone())?;
        let state = AppState::new(AppContext {
            config,
            db,
            clock,
            passwords,
            sessions,
            metrics,
            signals,
            webhooks,
            sdk: Default::default(),
            api_tokens: Default::default(),
            actions,
            typed,
            shutting_down,
        });
        Ok(Self { listener, state, shutdown, signal_writer, typed_writer })
    }

    /// The bound address (port 0 in the config picks a free one).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `stop` completes, then shuts down gracefully: stops accepting, tells
    /// long-lived responses to end, lets in-flight requests finish, and gives up after
    /// `--shutdown-timeout`.
    pub async fn run(self, stop: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let Self { listener, state, shutdown, signal_writer, typed_writer } = self;
        let grace = state.config.shutdown_timeout;
        let app = crate::http::router(state.clone());
        let maintenance = tokio::spawn(crate::ops::maintenance::run(state.clone(), state.shutting_down.clone()));
        let schedules = tokio::spawn(crate::flags::scheduler::run(
            state.db.clone(),
            state.clock.clone(),
            state.shutting_down.clone(),
        ));
        let runner = tokio::spawn(crate::actions::runner::run(state.clone(), state.shutting_down.clone()));
        let mut deliveries = tokio::spawn(state.webhooks.engine.clone().run(state.shutting_down.clone(), grace));
        let listener_task = crate::ops::listener::spawn(&state);
        let (stopped_tx, mut stopped_rx) = watch::channel(false);
        let signal = async move {
            stop.await;
            tracing::info!("shutting down");
            let _ = shutdown.send(true);
            let _ = stopped_tx.send(true);
        };
        let server = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(signal);
        let serving = tokio::spawn(async move { server.await });
        let outcome = tokio::select! {
            result = serving => result.context("the server task failed")?.context("serving HTTP"),
            () = async {
                let _ = stopped_rx.wait_for(|stopped| *stopped).await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(?grace, "in-flight requests did not finish in time; exiting anyway");
                Ok(())
            }
        };
        maintenance.abort();
        schedules.abort();
        // A run cut off mid-way resumes after a restart, at the action it had reached.
        runner.abort();
        if let Some(task) = listener_task {
            task.abort();
        }
        // Every request that waited on the writer has been answered; nothing acknowledged is
        // still in it.
        if let Some(task) = signal_writer {
            task.abort();
        }
        if let Some(task) = typed_writer {
            task.abort();
        }
        // Attempts in flight had the grace period to finish; what is left is retried after a
        // restart (the deliveries are still pending).
        if tokio::time::timeout(grace, &mut deliveries).await.is_err() {
            deliveries.abort();
        }
        state.webhooks.stop();
        if let Err(error) = state.signals.counters.flush(&state.db).await {
            tracing::warn!(%error, "could not write the last request counters");
        }
        state.db.close().await;
        tracing::info!("stopped");
        outcome
    }
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
