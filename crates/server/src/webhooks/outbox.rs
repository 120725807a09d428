//! The transactional outbox: the transaction that appends an event also inserts one delivery
//! per enabled webhook of the workspace that subscribes to its type. Subscribers are read in
//! that same transaction rather than from a copy in memory: on Postgres another node may
//! have just created a webhook, and an event committed after that webhook's `201` must reach
//! it; reading in the transaction makes that true without any cache invalidation race.
//!
//! Nothing is queued in memory: after the commit, delivery workers are woken (see
//! `db::committed` and `db::deliveries_written`) and find the rows.

use signalbox_core::Subscription;

use crate::db::Backend;
use crate::db::statement::Statement;

/// The enabled webhooks of a workspace and their `events` lists.
pub const SUBSCRIBERS: &str = "SELECT id, events FROM webhooks WHERE workspace_id = $1 AND enabled";

/// A webhook that may receive the workspace's events.
#[derive(Debug)]
pub struct Subscriber {
    pub id: String,
    subscription: Subscription,
}

/// Parses `(id, events JSON)` rows. A list that no longer parses (a type was removed from
/// the catalogue) keeps the names that still exist.
pub fn subscribers(rows: Vec<(String, String)>) -> Vec<Subscriber> {
    rows.into_iter()
        .map(|(id, events)| {
            let names: Vec<String> = serde_json::from_str(&events).unwrap_or_default();
            let known: Vec<&String> =
                names.iter().filter(|n| *n == "*" || signalbox_core::event_types::find(n).is_some()).collect();
            let subscription =
                Subscription::parse(&known).unwrap_or_else(|_| Subscription::parse(&["*"]).expect("* parses"));
            Subscriber { id, subscription }
        })
        .collect()
}

impl Subscriber {
    pub fn wants(&self, event_type: &str) -> bool {
        self.subscription.matches(event_type)
    }
}

/// A delivery row about to be inserted; its `event_seq` is found by the event's id inside the
/// statement, so batches need no `RETURNING`.
#[derive(Debug)]
pub struct NewDelivery<'a> {
    pub id: String,
    pub webhook_id: &'a str,
    pub workspace_id: &'a str,
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub at: &'a str,
}

/// `INSERT INTO deliveries …` for `rows` (at least one).
pub fn insert_deliveries<'a>(backend: Backend, rows: &'a [NewDelivery<'a>]) -> Statement<'a> {
    let mut query = Statement::new(
        backend,
        "INSERT INTO deliveries (id, webhook_id, workspace_id, event_id, event_type, status, next_attempt_at, \
         created_at, updated_at, event_seq) ",
    );
    query.push_values(rows, |mut row, d| {
        row.push_bind(d.id.as_str())
            .push_bind(d.webhook_id)
            .push_bind(d.workspace_id)
            .push_bind(d.event_id)
            .push_bind(d.event_type)
            .push("'pending'")
            .push_bind(d.at)
            .push_bind(d.at)
            .push_bind(d.at)
            .push("(SELECT seq FROM events WHERE id = ")
            .push_bind_unseparated(d.event_id)
            .push_unseparated(")");
    });
    query
}
