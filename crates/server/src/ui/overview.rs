//! `/ui/`: what is happening in the workspace at a glance.

use axum::extract::State;
use maud::{Markup, html};

use super::layout::{self, Section};
use super::session::UiSession;
use crate::state::AppState;
use crate::{Error, on_read};

async fn render(state: &AppState, session: &UiSession) -> Result<Markup, Error> {
    let workspace = session.caller.workspace_id.to_string();
    let hour_ago = state.clock.now().minus(std::time::Duration::from_secs(3600)).to_string();
    let (endpoints, signals, succeeded, dead): (i64, i64, i64, i64) = on_read!(&state.db, |pool| {
        let endpoints = sqlx::query_scalar("SELECT COUNT(*) FROM signal_endpoints WHERE workspace_id = $1")
            .bind(&workspace)
            .fetch_one(pool)
            .await?;
        let signals = sqlx::query_scalar("SELECT COUNT(*) FROM signals WHERE workspace_id = $1 AND received_at >= $2")
            .bind(&workspace)
            .bind(&hour_ago)
            .fetch_one(pool)
            .await?;
        let succeeded =
            sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE workspace_id = $1 AND status = 'succeeded'")
                .bind(&workspace)
                .fetch_one(pool)
                .await?;
        let dead = sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE workspace_id = $1 AND status = 'dead'")
            .bind(&workspace)
            .fetch_one(pool)
            .await?;
        Ok::<_, sqlx::Error>((endpoints, signals, succeeded, dead))
    })?;
    Ok(layout::page(
        session,
        Section::Overview,
        "Overview",
        html! {
            dl.stats {
                div { dt { "Signals in the last hour" } dd #signals-last-hour { (signals) } }
                div { dt { "Signal endpoints" } dd { (endpoints) } }
                div { dt { "Webhook deliveries succeeded" } dd { (succeeded) } }
                div { dt { "Webhook deliveries dead" } dd { (dead) } }
            }
            @if endpoints == 0 {
                p.empty { "Nothing here yet. Start with a " a href="/ui/signal-endpoints" { "signal endpoint" } " and send it a signal." }
            }
        },
    ))
}

pub async fn page(State(state): State<AppState>, session: UiSession) -> Result<Markup, Error> {
    render(&state, &session).await
}
