//! Postgres LISTEN: other nodes announce configuration changes (drop the ingest cache) and
//! newly committed events (wake live views). Notifications are lost while the connection is
//! down, so after every (re)connect the cache is dropped and live views re-read the database;
//! they also sweep every second regardless.

use std::time::Duration;

use sqlx::postgres::PgListener;

use crate::db::{Db, EVENTS_CHANNEL};
use crate::signals::CONFIG_CHANNEL;
use crate::state::AppState;

/// Starts the listener on Postgres; SQLite has one node and needs none.
pub fn spawn(state: &AppState) -> Option<tokio::task::JoinHandle<()>> {
    let Db::Postgres(pool) = &state.db else {
        return None;
    };
    let pool = pool.clone();
    let state = state.clone();
    Some(tokio::spawn(async move {
        loop {
            if let Err(error) = listen(&pool, &state).await {
                tracing::warn!(%error, "the Postgres listener lost its connection; reconnecting");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }))
}

async fn listen(pool: &sqlx::PgPool, state: &AppState) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen_all([CONFIG_CHANNEL, EVENTS_CHANNEL]).await?;
    resynchronise(state);
    loop {
        // `try_recv` answers `None` when the connection dropped; the next call reconnects.
        match listener.try_recv().await? {
            Some(notification) if notification.channel() == CONFIG_CHANNEL => {
                state.signals.cache.invalidate();
                state.typed.cache.invalidate();
                state.api_tokens.invalidate();
                state.actions.invalidate();
                crate::flags::changed_elsewhere();
            }
            Some(notification) => {
                let seq = notification.payload().parse().unwrap_or(0);
                let _ = state.signals.committed.send(seq);
            }
            None => resynchronise(state),
        }
    }
}

/// After a gap in notifications: forget cached configuration and wake every live view.
fn resynchronise(state: &AppState) {
    state.signals.cache.invalidate();
    state.typed.cache.invalidate();
    state.api_tokens.invalidate();
    state.actions.invalidate();
    crate::flags::changed_elsewhere();
    let _ = state.signals.committed.send(0);
}

/// Tells other nodes (Postgres NOTIFY on [`CONFIG_CHANNEL`]) to drop their cached
/// configuration; `what` names the change for anyone watching the channel. A no-op on SQLite,
/// which has one node.
pub async fn announce_config_change(db: &Db, what: &str) {
    if let Db::Postgres(pool) = db {
        let notified = sqlx::query("SELECT pg_notify($1, $2)").bind(CONFIG_CHANNEL).bind(what).execute(pool).await;
        if let Err(error) = notified {
            // The other nodes' copies expire within seconds anyway.
            tracing::warn!(%error, what, "could not tell other nodes about a configuration change");
        }
    }
}
