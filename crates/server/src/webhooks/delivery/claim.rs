//! Claiming due deliveries with a lease, and loading what an attempt needs.
//!
//! A claim first reads candidates (the reader pool on SQLite), picks them fairly in Rust (no
//! webhook beyond its free slots), then leases the picked rows with one `UPDATE` that
//! re-checks they are still pending and unleased — on Postgres under `FOR UPDATE SKIP LOCKED`,
//! so two nodes never wait on each other and each row is leased by one of them. A lease that
//! outlives its holder (a crashed node) expires and the delivery is claimed again.

use std::collections::HashMap;

use signalbox_core::Timestamp;
use sqlx::{FromRow, QueryBuilder};
use uuid::Uuid;

use rusqlite::OptionalExtension;

use crate::db::{Db, DirectConnection, row};
use crate::{Error, on_read, on_write};

#[derive(FromRow)]
struct Candidate {
    id: String,
    webhook_id: String,
}

/// What a claim pass may take: deliveries due at `now`, leased until `lease_until`, at most
/// `limit`, none of the `saturated` webhooks', at most `free_slots(webhook)` per webhook, and
/// none that `busy` says this node is still working on.
pub struct Wanted<'a, F, B> {
    pub now: Timestamp,
    pub lease_until: Timestamp,
    pub limit: usize,
    pub saturated: &'a [Uuid],
    pub free_slots: F,
    pub busy: B,
}

/// Leases what `wanted` allows (see [`Wanted`]); returns the leased ids.
pub async fn claim(
    db: &Db,
    wanted: Wanted<'_, impl FnMut(Uuid) -> usize, impl Fn(&str) -> bool>,
) -> Result<Vec<String>, Error> {
    let Wanted { now, lease_until, limit, saturated, free_slots, busy } = wanted;
    let now_text = now.to_string();
    let fetch = (limit * 2) as i64;
    macro_rules! candidates {
        () => {{
            let mut query = QueryBuilder::new(
                "SELECT id, webhook_id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ",
            );
            query
                .push_bind(&now_text)
                .push(" AND (lease_until IS NULL OR lease_until <= ")
                .push_bind(&now_text)
                .push(")");
            if !saturated.is_empty() {
                query.push(" AND webhook_id NOT IN (");
                let mut list = query.separated(", ");
                for id in saturated {
                    list.push_bind(id.to_string());
                }
                query.push(")");
            }
            query.push(" ORDER BY next_attempt_at LIMIT ").push_bind(fetch);
            query
        }};
    }
    let rows: Vec<Candidate> = on_read!(db, |pool| candidates!().build_query_as().fetch_all(pool).await)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let picked = pick(rows.into_iter().map(|c| (c.id, c.webhook_id)), limit, free_slots, busy)?;
    if picked.is_empty() {
        return Ok(Vec::new());
    }
    let lease_text = lease_until.to_string();
    let postgres = matches!(db, Db::Postgres(_));
    macro_rules! lease {
        () => {{
            let mut query = QueryBuilder::new("UPDATE deliveries SET lease_until = ");
            query.push_bind(&lease_text);
            if postgres {
                query.push(" WHERE id IN (SELECT id FROM deliveries WHERE id IN (");
            } else {
                query.push(" WHERE id IN (");
            }
            let mut list = query.separated(", ");
            for id in &picked {
                list.push_bind(id.as_str());
            }
            query
                .push(") AND status = 'pending' AND (lease_until IS NULL OR lease_until <= ")
                .push_bind(&now_text)
                .push(")");
            if postgres {
                query.push(" FOR UPDATE SKIP LOCKED)");
            }
            query.push(" RETURNING id");
            query
        }};
    }
    // One autocommit statement: no `in_write_tx!`, so the engine does not wake itself.
    let leased: Vec<String> = on_write!(db, |pool| lease!().build_query_scalar().fetch_all(pool).await)?;
    Ok(leased)
}

/// Picks up to `limit` of the candidates (id, webhook id), in order, at most
/// `free_slots(webhook)` per webhook, leaving out those `busy` says are in flight here.
fn pick(
    candidates: impl Iterator<Item = (String, String)>,
    limit: usize,
    mut free_slots: impl FnMut(Uuid) -> usize,
    busy: impl Fn(&str) -> bool,
) -> Result<Vec<String>, Error> {
    let mut taken: HashMap<String, usize> = HashMap::new();
    let mut picked = Vec::new();
    for (id, webhook_id) in candidates {
        if busy(&id) {
            continue;
        }
        let webhook = row::id(&webhook_id)?;
        let used = taken.entry(webhook_id).or_default();
        if *used < free_slots(webhook) {
            *used += 1;
            picked.push(id);
            if picked.len() == limit {
                break;
            }
        }
    }
    Ok(picked)
}

/// [`claim`] and [`load`] on SQLite's direct connection, for the engine's claim loop: the
/// same statements, run in-process one row at a time (through sqlx, every statement and
/// every result row was a hand-off to its connection thread and back, several per pass).
/// Only the lease takes the write gate (`write_lock`); the reads before and after do not
/// need it (WAL).
pub fn claim_direct(
    connection: &mut DirectConnection,
    write_lock: impl FnOnce() -> Option<tokio::sync::OwnedMutexGuard<()>>,
    wanted: Wanted<'_, impl FnMut(Uuid) -> usize, impl Fn(&str) -> bool>,
) -> Result<Vec<Job>, Error> {
    let Wanted { now, lease_until, limit, saturated, free_slots, busy } = wanted;
    let now_text = now.to_string();
    // The saturated webhooks as one JSON array, so the statement keeps one prepared text;
    // left out in the SQL (not after it), so a webhook with a large backlog at the head of the
    // queue cannot fill the fetch and starve the others.
    let saturated =
        serde_json::to_string(&saturated.iter().map(Uuid::to_string).collect::<Vec<_>>()).expect("strings serialise");
    let candidates: Vec<(String, String)> = {
        let mut candidates = connection.prepare_cached(
            "SELECT id, webhook_id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?1 \
             AND (lease_until IS NULL OR lease_until <= ?1) \
             AND webhook_id NOT IN (SELECT value FROM json_each(?3)) ORDER BY next_attempt_at LIMIT ?2",
        )?;
        let fetch = i64::try_from(limit * 2).unwrap_or(i64::MAX);
        let rows = candidates.query_map((&now_text, fetch, &saturated), |row| Ok((row.get(0)?, row.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let picked = pick(candidates.into_iter(), limit, free_slots, busy)?;
    if picked.is_empty() {
        return Ok(Vec::new());
    }
    let lease_text = lease_until.to_string();
    let mut leased = Vec::with_capacity(picked.len());
    {
        let _gate = write_lock();
        let tx = connection.transaction()?;
        {
            let mut lease = tx.prepare_cached(
                "UPDATE deliveries SET lease_until = ?1 WHERE id = ?2 AND status = 'pending' \
                 AND (lease_until IS NULL OR lease_until <= ?3)",
            )?;
            for id in picked {
                if lease.execute((&lease_text, &id, &now_text))? == 1 {
                    leased.push(id);
                }
            }
        }
        tx.commit()?;
    }
    let mut job = connection.prepare_cached(
        "SELECT d.id, d.webhook_id, d.workspace_id, w.name, w.url, w.secret, w.previous_secret, \
         w.previous_secret_until, w.retry_schedule, d.attempts, d.round_start, d.event_seq, d.event_id, \
         d.event_type, e.data, e.created_at \
         FROM deliveries d JOIN events e ON e.seq = d.event_seq JOIN webhooks w ON w.id = d.webhook_id \
         WHERE d.id = ?1",
    )?;
    let mut payload =
        connection.prepare_cached("SELECT payload FROM signals WHERE endpoint_id = ?1 AND event_seq = ?2")?;
    let mut payloads: HashMap<i64, Option<String>> = HashMap::new();
    let mut jobs = Vec::with_capacity(leased.len());
    for id in &leased {
        let found = job
            .query_row([id], |r| {
                Ok(JobRow {
                    id: r.get(0)?,
                    webhook_id: r.get(1)?,
                    workspace_id: r.get(2)?,
                    webhook_name: r.get(3)?,
                    url: r.get(4)?,
                    secret: r.get(5)?,
                    previous_secret: r.get(6)?,
                    previous_secret_until: r.get(7)?,
                    retry_schedule: r.get(8)?,
                    attempts: r.get(9)?,
                    round_start: r.get(10)?,
                    event_seq: r.get(11)?,
                    event_id: r.get(12)?,
                    event_type: r.get(13)?,
                    data: r.get(14)?,
                    event_created_at: r.get(15)?,
                })
            })
            .optional()?;
        // Gone since the lease (its webhook was deleted): nothing to attempt.
        let Some(found) = found else { continue };
        let mut job = Job::try_from(found)?;
        if let Some(endpoint_id) = signal_endpoint(&job) {
            let spliced = match payloads.get(&job.event_seq) {
                Some(known) => known.clone(),
                None => {
                    let read = payload.query_row((&endpoint_id, job.event_seq), |r| r.get(0)).optional()?;
                    payloads.insert(job.event_seq, read.clone());
                    read
                }
            };
            if let Some(text) = spliced {
                splice_payload(&mut job, &text);
            }
        }
        jobs.push(job);
    }
    Ok(jobs)
}

/// Everything one attempt needs.
#[derive(Debug, Clone)]
pub struct Job {
    pub delivery_id: String,
    pub webhook_id: Uuid,
    pub workspace_id: Uuid,
    pub webhook_name: String,
    pub url: String,
    pub secret: Option<String>,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<Timestamp>,
    pub retry_schedule: Option<String>,
    pub attempts: i64,
    pub round_start: i64,
    pub event_seq: i64,
    pub event_id: String,
    pub event_type: String,
    pub event_data: String,
    pub event_created_at: String,
}

#[derive(FromRow)]
struct JobRow {
    id: String,
    webhook_id: String,
    workspace_id: String,
    webhook_name: String,
    url: String,
    secret: Option<String>,
    previous_secret: Option<String>,
    previous_secret_until: Option<String>,
    retry_schedule: Option<String>,
    attempts: i64,
    round_start: i64,
    event_seq: i64,
    event_id: String,
    event_type: String,
    data: String,
    event_created_at: String,
}

/// Loads leased deliveries with their event and webhook. A `signal.received` event's data
/// gets the signal's payload, verbatim, as `payload`.
pub async fn load(db: &Db, ids: &[String]) -> Result<Vec<Job>, Error> {
    macro_rules! jobs {
        () => {{
            let mut query = QueryBuilder::new(
                "SELECT d.id, d.webhook_id, d.workspace_id, w.name AS webhook_name, w.url, w.secret, w.previous_secret, \
                 w.previous_secret_until, w.retry_schedule, d.attempts, d.round_start, d.event_seq, d.event_id, \
                 d.event_type, e.data, e.created_at AS event_created_at \
                 FROM deliveries d JOIN events e ON e.seq = d.event_seq JOIN webhooks w ON w.id = d.webhook_id \
                 WHERE d.id IN (",
            );
            let mut list = query.separated(", ");
            for id in ids {
                list.push_bind(id.as_str());
            }
            query.push(")");
            query
        }};
    }
    let rows: Vec<JobRow> = on_read!(db, |pool| jobs!().build_query_as().fetch_all(pool).await)?;
    let mut jobs = rows.into_iter().map(Job::try_from).collect::<Result<Vec<_>, Error>>()?;
    add_signal_payloads(db, &mut jobs).await?;
    Ok(jobs)
}

impl TryFrom<JobRow> for Job {
    type Error = Error;

    fn try_from(r: JobRow) -> Result<Self, Error> {
        Ok(Job {
            delivery_id: r.id,
            webhook_id: row::id(&r.webhook_id)?,
            workspace_id: row::id(&r.workspace_id)?,
            webhook_name: r.webhook_name,
            url: r.url,
            secret: r.secret,
            previous_secret: r.previous_secret,
            previous_secret_until: row::opt_time(r.previous_secret_until.as_deref())?,
            retry_schedule: r.retry_schedule,
            attempts: r.attempts,
            round_start: r.round_start,
            event_seq: r.event_seq,
            event_id: r.event_id,
            event_type: r.event_type,
            event_data: r.data,
            event_created_at: r.event_created_at,
        })
    }
}

#[derive(serde::Deserialize)]
struct SignalRef {
    endpoint_id: String,
}

/// The endpoint of a `signal.received` job's signal (its payload is stored with the signal).
fn signal_endpoint(job: &Job) -> Option<String> {
    if job.event_type != crate::events::types::SIGNAL_RECEIVED {
        return None;
    }
    serde_json::from_str::<SignalRef>(&job.event_data).ok().map(|s| s.endpoint_id)
}

/// Adds the signal's payload, verbatim, to the event data as `payload`.
fn splice_payload(job: &mut Job, payload: &str) {
    if let Some(object) = job.event_data.strip_suffix('}') {
        let separator = if object.trim_end().ends_with('{') { "" } else { "," };
        job.event_data = format!("{object}{separator}\"payload\":{payload}}}");
    }
}

/// Splices each `signal.received` job's payload into its data (stored once, in `signals`).
async fn add_signal_payloads(db: &Db, jobs: &mut [Job]) -> Result<(), Error> {
    let mut by_endpoint: HashMap<String, Vec<i64>> = HashMap::new();
    for job in jobs.iter() {
        if let Some(endpoint_id) = signal_endpoint(job) {
            by_endpoint.entry(endpoint_id).or_default().push(job.event_seq);
        }
    }
    let mut payloads: HashMap<i64, String> = HashMap::new();
    for (endpoint, seqs) in by_endpoint {
        macro_rules! payloads {
            () => {{
                let mut query = QueryBuilder::new("SELECT event_seq, payload FROM signals WHERE endpoint_id = ");
                query.push_bind(&endpoint).push(" AND event_seq IN (");
                let mut list = query.separated(", ");
                for seq in &seqs {
                    list.push_bind(*seq);
                }
                query.push(")");
                query
            }};
        }
        let rows: Vec<(i64, String)> = on_read!(db, |pool| payloads!().build_query_as().fetch_all(pool).await)?;
        payloads.extend(rows);
    }
    for job in jobs.iter_mut() {
        // Get, not remove: the deliveries of one event to several webhooks share its payload.
        if let Some(payload) = payloads.get(&job.event_seq) {
            splice_payload(job, payload);
        }
    }
    Ok(())
}

/// Clears every lease: on SQLite at start-up, where this process is the only node, so a
/// lease left by a crash would otherwise delay its deliveries until it expired.
pub async fn release_all_leases(db: &Db) -> Result<(), Error> {
    if let Db::Sqlite { .. } = db {
        let sql = "UPDATE deliveries SET lease_until = NULL WHERE lease_until IS NOT NULL";
        crate::on_write!(db, |pool| sqlx::query(sql).execute(pool).await.map(|_| ()))?;
    }
    Ok(())
}

/// When the next delivery not in flight becomes due (`None`: nothing pending).
pub async fn next_due(db: &Db) -> Result<Option<Timestamp>, Error> {
    let sql = "SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending' AND lease_until IS NULL";
    let next: Option<String> = on_read!(db, |pool| sqlx::query_scalar(sql).fetch_one(pool).await)?;
    row::opt_time(next.as_deref())
}
