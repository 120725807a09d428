//! `/ui/`: what is happening in the workspace at a glance — signals per minute over the last
//! hour, webhook deliveries and failing webhooks, the latest action runs, pending change
//! requests and the SDK clients seen.

use axum::extract::State;
use maud::{Markup, html};

use super::layout::{self, Section};
use super::session::UiSession;
use crate::state::AppState;
use crate::{Error, on_read};

/// The overview's numbers, read in one go.
struct Figures {
    endpoints: i64,
    /// (minute `YYYY-MM-DDTHH:MM`, signals) for the minutes of the last hour that had any.
    per_minute: Vec<(String, i64)>,
    succeeded: i64,
    dead: i64,
    failing_webhooks: i64,
    /// (state, set name, created at) of the newest runs.
    runs: Vec<(String, String, String)>,
    open_change_requests: i64,
    sdk_clients: i64,
}

async fn figures(state: &AppState, workspace: &str) -> Result<Figures, Error> {
    let now = state.clock.now();
    let hour_ago = now.minus(std::time::Duration::from_secs(3600)).to_string();
    Ok(on_read!(&state.db, |pool| {
        let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).bind(workspace);
        let per_minute = sqlx::query_as(
            // Signals are appended in time order (and have no time index): the last hour is
            // the ids after the newest older signal.
            "SELECT substr(received_at, 1, 16) AS minute, COUNT(*) FROM signals \
             WHERE int_id > COALESCE((SELECT int_id FROM signals WHERE received_at < $2 ORDER BY int_id DESC LIMIT 1), 0) \
             AND workspace_id = $1 AND received_at >= $2 GROUP BY minute ORDER BY minute",
        )
        .bind(workspace)
        .bind(&hour_ago)
        .fetch_all(pool)
        .await?;
        let runs = sqlx::query_as(
            "SELECT r.state, s.name, r.created_at FROM action_runs r JOIN action_sets s ON s.id = r.action_set_id \
             WHERE r.workspace_id = $1 ORDER BY r.int_id DESC LIMIT 5",
        )
        .bind(workspace)
        .fetch_all(pool)
        .await?;
        Figures {
            endpoints: count("SELECT COUNT(*) FROM signal_endpoints WHERE workspace_id = $1").fetch_one(pool).await?,
            per_minute,
            succeeded: count("SELECT COUNT(*) FROM deliveries WHERE workspace_id = $1 AND status = 'succeeded'")
                .fetch_one(pool)
                .await?,
            dead: count("SELECT COUNT(*) FROM deliveries WHERE workspace_id = $1 AND status = 'dead'")
                .fetch_one(pool)
                .await?,
            failing_webhooks: count(
                "SELECT COUNT(*) FROM webhooks WHERE workspace_id = $1 AND consecutive_failures > 0",
            )
            .fetch_one(pool)
            .await?,
            runs,
            open_change_requests: count(
                "SELECT COUNT(*) FROM change_requests WHERE workspace_id = $1 AND state IN ('open', 'approved')",
            )
            .fetch_one(pool)
            .await?,
            sdk_clients: count("SELECT COUNT(*) FROM client_instances WHERE workspace_id = $1").fetch_one(pool).await?,
        }
    }))
}

/// Signals per minute over the last hour as a bar chart (CSS only), oldest on the left.
fn per_minute_chart(state: &AppState, per_minute: &[(String, i64)]) -> Markup {
    let now = state.clock.now();
    let minutes: Vec<(String, i64)> = (0..60)
        .rev()
        .map(|ago| {
            let minute = now.minus(std::time::Duration::from_secs(ago * 60)).to_string()[..16].to_owned();
            let count = per_minute.iter().find(|(m, _)| *m == minute).map_or(0, |(_, c)| *c);
            (minute, count)
        })
        .collect();
    let peak = minutes.iter().map(|(_, c)| *c).max().unwrap_or(0).max(1);
    let total: i64 = minutes.iter().map(|(_, c)| c).sum();
    html! {
        figure.chart {
            div.bars role="img" aria-label=(format!("{total} signals in the last hour, at most {peak} in one minute")) {
                @for (minute, count) in &minutes {
                    span style=(format!("height: {}%", count * 100 / peak)) title=(format!("{minute}: {count}")) {}
                }
            }
            figcaption { "Signals per minute, last hour (" (total) " in all)" }
        }
    }
}

async fn render(state: &AppState, session: &UiSession) -> Result<Markup, Error> {
    let f = figures(state, &session.caller.workspace_id.to_string()).await?;
    let total: i64 = f.per_minute.iter().map(|(_, c)| c).sum();
    Ok(layout::page(
        session,
        Section::Overview,
        "Overview",
        html! {
            dl.stats {
                div { dt { "Signals in the last hour" } dd #signals-last-hour { (total) } }
                div { dt { "Signal endpoints" } dd { (f.endpoints) } }
                div { dt { "Deliveries succeeded" } dd { (f.succeeded) } }
                div { dt { "Deliveries dead" } dd { (f.dead) } }
                div { dt { "Webhooks failing" } dd { (f.failing_webhooks) } }
                div { dt { "Change requests pending" } dd { (f.open_change_requests) } }
                div { dt { "SDK clients seen" } dd { (f.sdk_clients) } }
            }
            (per_minute_chart(state, &f.per_minute))
            section {
                h2 { "Latest action runs" }
                @if f.runs.is_empty() {
                    p.empty { "No action runs yet: an action set runs when a signal from its source arrives." }
                } @else {
                    table #latest-runs {
                        thead { tr { th { "Action set" } th { "State" } th { "Created" } } }
                        tbody {
                            @for (state, name, at) in &f.runs { tr { td { (name) } td { (state) } td { (at) } } }
                        }
                    }
                }
            }
            @if f.endpoints == 0 {
                p.empty { "Nothing here yet. Start with a " a href="/ui/signal-endpoints" { "signal endpoint" } " and send it a signal." }
            }
        },
    ))
}

pub async fn page(State(state): State<AppState>, session: UiSession) -> Result<Markup, Error> {
    render(&state, &session).await
}
