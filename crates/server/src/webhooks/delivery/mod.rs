//! The delivery engine: claims due deliveries, POSTs them, and records each attempt.
//!
//! ```text
//! commit ─▶ wake ─▶ claim (lease) ─▶ attempt task ─▶ POST ─▶ recorder (group commit)
//! ```
//!
//! Concurrency is bounded overall (`--webhook-concurrency`) and per webhook
//! (`--webhook-concurrency-per-webhook`); a webhook at its bound is left out of the next
//! claim, so a slow or dead receiver holds only its own slots and never delays the others.

pub mod claim;
pub mod outcome;
pub mod recorder;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use signalbox_core::retry::RetrySchedule;
use signalbox_core::signing::{SigningKey, featuresignals_signature, standard_signature_header};
use signalbox_core::{Clock, Timestamp};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use uuid::Uuid;

use self::claim::{Job, Wanted};
use self::outcome::{AttemptResult, decide, parse_retry_after};
use self::recorder::{Outcome, Recorder};
use super::destination::{Destinations, FilteringResolver};
use super::secrets::SecretBox;
use crate::config::WebhookConfig;
use crate::db::{self, Db};
use crate::ops::metrics::Metrics;

/// How often to look for due deliveries when nothing wakes the engine (another node's
/// deliveries, expired leases).
const SWEEP: Duration = Duration::from_secs(1);
/// Most deliveries claimed at once.
const CLAIM_BATCH: usize = 256;
/// How much of a response body an attempt keeps.
const KEPT_BODY_BYTES: usize = 1024;
/// A lease lasts the attempt's timeout plus this (time to record the outcome). On Postgres a
/// crashed node's in-flight deliveries wait this long before another node (or the restarted
/// one) takes them; an outcome recorded later than this may mean a duplicate attempt, which
/// at-least-once delivery allows and `webhook-id` lets receivers drop.
const LEASE_MARGIN: Duration = Duration::from_secs(5);

pub const USER_AGENT: &str = concat!("Signalbox/", env!("CARGO_PKG_VERSION"));

pub struct DeliveryEngine {
    db: Db,
    clock: Arc<dyn Clock>,
    config: WebhookConfig,
    secrets: Arc<SecretBox>,
    destinations: Destinations,
    client: reqwest::Client,
    recorder: Recorder,
    /// On SQLite, the claim loop's own connection ([`claim::claim_direct`]).
    claimer: Option<Arc<Mutex<crate::db::DirectConnection>>>,
    metrics: Metrics,
    slots: Arc<Semaphore>,
    in_flight: Mutex<HashMap<Uuid, usize>>,
    /// Told when an attempt's HTTP part ends and its slot is free.
    freed: tokio::sync::Notify,
    /// Deliveries this node attempted whose outcome is not committed yet. Never claimed
    /// again meanwhile, even if their lease ran out (a slow commit, or a test moving the
    /// clock): that would send them twice.
    unrecorded: Mutex<std::collections::HashSet<String>>,
}

impl DeliveryEngine {
    pub fn new(
        db: Db,
        clock: Arc<dyn Clock>,
        config: WebhookConfig,
        secrets: Arc<SecretBox>,
        destinations: Destinations,
        recorder: Recorder,
        metrics: Metrics,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(FilteringResolver(destinations.clone())))
            .user_agent(USER_AGENT)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()?;
        let slots = Arc::new(Semaphore::new(config.webhook_concurrency as usize));
        let claimer = match db.sqlite_path() {
            Some(path) => Some(Arc::new(Mutex::new(crate::db::DirectConnection::open_unsynced(path)?))),
            None => None,
        };
        Ok(Self {
            claimer,
            db,
            clock,
            config,
            secrets,
            destinations,
            client,
            recorder,
            metrics,
            slots,
            in_flight: Mutex::new(HashMap::new()),
            freed: tokio::sync::Notify::new(),
            unrecorded: Mutex::new(std::collections::HashSet::new()),
        })
    }

    /// Runs until shutdown; attempts in flight then get `grace` to finish.
    pub async fn run(self: Arc<Self>, mut shutting_down: watch::Receiver<bool>, grace: Duration) {
        if let Err(error) = claim::release_all_leases(&self.db).await {
            tracing::warn!(%error, "could not release the leases of a previous run");
        }
        let mut commits = db::commits();
        let mut delivery_writes = db::delivery_writes();
        let mut attempts = JoinSet::new();
        // Claim again once this many slots are free (or nothing is in flight), so a busy
        // engine claims in batches instead of once per finished attempt.
        let refill = (self.config.webhook_concurrency as usize / 4).clamp(1, 32);
        while !*shutting_down.borrow() {
            // Mark commits seen before looking, so one that lands while we look wakes us.
            commits.borrow_and_update();
            delivery_writes.borrow_and_update();
            while attempts.try_join_next().is_some() {}
            let worth_claiming = attempts.is_empty() || self.slots.available_permits() >= refill;
            let started = if worth_claiming {
                self.claim_and_start(&mut attempts).await.unwrap_or_else(|error| {
                    tracing::warn!(%error, "claiming deliveries failed; trying again shortly");
                    0
                })
            } else {
                0
            };
            if started > 0 {
                continue; // more may be due
            }
            let wait = self.until_next_due(!attempts.is_empty()).await;
            tokio::select! {
                _ = commits.changed() => {}
                _ = delivery_writes.changed() => {}
                _ = tokio::time::sleep(wait) => {}
                Some(_) = attempts.join_next(), if !attempts.is_empty() => {}
                () = self.freed.notified() => {}
                _ = shutting_down.changed() => {}
            }
        }
        let _ = tokio::time::timeout(grace, async { while attempts.join_next().await.is_some() {} }).await;
        attempts.abort_all();
    }

    /// How long to sleep when nothing was claimed. Something already due but not claimed
    /// belongs to webhooks at their concurrency bound (a finished attempt wakes us) or was
    /// leased by another node a moment ago (look again soon).
    async fn until_next_due(&self, in_flight: bool) -> Duration {
        match claim::next_due(&self.db).await {
            Ok(Some(due)) => {
                let now = self.clock.now();
                match due <= now {
                    true if in_flight => SWEEP,
                    true => Duration::from_millis(20),
                    false => now.until(due).min(SWEEP),
                }
            }
            _ => SWEEP,
        }
    }

    /// Claims what is due and free to run and starts an attempt for each; returns how many.
    async fn claim_and_start(self: &Arc<Self>, attempts: &mut JoinSet<()>) -> Result<usize, crate::Error> {
        let available = self.slots.available_permits().min(CLAIM_BATCH);
        if available == 0 {
            return Ok(0);
        }
        let per_webhook = self.config.webhook_concurrency_per_webhook as usize;
        let in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let saturated: Vec<Uuid> = in_flight.iter().filter(|(_, n)| **n >= per_webhook).map(|(id, _)| *id).collect();
        let now = self.clock.now();
        let lease_until = now.plus(self.config.webhook_timeout + LEASE_MARGIN);
        let free = move |webhook: Uuid| per_webhook.saturating_sub(in_flight.get(&webhook).copied().unwrap_or(0));
        let jobs = match &self.claimer {
            Some(claimer) => {
                let (engine, claimer, runtime) = (self.clone(), claimer.clone(), tokio::runtime::Handle::current());
                tokio::task::spawn_blocking(move || {
                    let busy = |id: &str| engine.unrecorded.lock().unwrap_or_else(|e| e.into_inner()).contains(id);
                    let wanted =
                        Wanted { now, lease_until, limit: available, saturated: &saturated, free_slots: free, busy };
                    let write_lock = || runtime.block_on(engine.db.write_lock());
                    let mut connection = claimer.lock().unwrap_or_else(|e| e.into_inner());
                    claim::claim_direct(&mut connection, write_lock, wanted)
                })
                .await
                .map_err(|e| crate::Error::internal(anyhow::anyhow!("the claim stopped: {e}")))??
            }
            None => {
                let busy = |id: &str| self.unrecorded.lock().unwrap_or_else(|e| e.into_inner()).contains(id);
                let wanted =
                    Wanted { now, lease_until, limit: available, saturated: &saturated, free_slots: free, busy };
                let leased = claim::claim(&self.db, wanted).await?;
                if leased.is_empty() {
                    return Ok(0);
                }
                claim::load(&self.db, &leased).await?
            }
        };
        let count = jobs.len();
        for job in jobs {
            let Ok(permit) = self.slots.clone().try_acquire_owned() else {
                break; // cannot happen: at most `available` were claimed
            };
            *self.in_flight.lock().unwrap_or_else(|e| e.into_inner()).entry(job.webhook_id).or_default() += 1;
            let engine = self.clone();
            let delivery_id = job.delivery_id.clone();
            self.unrecorded.lock().unwrap_or_else(|e| e.into_inner()).insert(delivery_id.clone());
            attempts.spawn(async move {
                let webhook_id = job.webhook_id;
                let outcome = engine.attempt(job).await;
                // The HTTP part is over: free the slot now rather than after the commit, so
                // the receivers see as many requests at once as allowed while outcomes wait
                // for their batch. The lease keeps the delivery from being claimed again
                // until its outcome is recorded.
                {
                    let mut in_flight = engine.in_flight.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(n) = in_flight.get_mut(&webhook_id) {
                        *n -= 1;
                        if *n == 0 {
                            in_flight.remove(&webhook_id);
                        }
                    }
                }
                drop(permit);
                engine.freed.notify_one();
                if let Err(error) = engine.recorder.record(outcome).await {
                    // The lease expires and the delivery is attempted again.
                    tracing::warn!(%error, "could not record a delivery attempt");
                }
                engine.unrecorded.lock().unwrap_or_else(|e| e.into_inner()).remove(&delivery_id);
            });
        }
        Ok(count)
    }

    /// One attempt: POST and decide; the caller records the outcome.
    async fn attempt(&self, job: Job) -> Outcome {
        let attempted_at = self.clock.now();
        let started = Instant::now();
        let (result, response_status, response_body, error) = match self.send(&job, attempted_at).await {
            Ok((status, retry_after, body)) => {
                (AttemptResult::Answered { status, retry_after }, Some(status), Some(body), None)
            }
            Err(error) => (AttemptResult::Failed, None, None, Some(error)),
        };
        let elapsed = started.elapsed();
        let schedule = self.schedule_of(&job);
        let attempt_in_round = usize::try_from(job.attempts - job.round_start + 1).unwrap_or(1);
        let jitter_unit = random_unit();
        let decision =
            decide(&result, attempt_in_round, &schedule, self.config.webhook_retry_jitter, jitter_unit, attempted_at);
        self.metrics.observe_attempt(&decision.status, decision.succeeded(), elapsed.as_secs_f64());
        Outcome {
            delivery_id: job.delivery_id,
            webhook_id: job.webhook_id,
            workspace_id: job.workspace_id,
            webhook_name: job.webhook_name,
            attempted_at,
            response_status,
            duration_ms: i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX),
            response_body,
            error,
            decision,
        }
    }

    fn schedule_of(&self, job: &Job) -> RetrySchedule {
        job.retry_schedule
            .as_deref()
            .and_then(|text| serde_json::from_str::<Vec<String>>(text).ok())
            .and_then(|entries| RetrySchedule::parse(&entries).ok())
            .unwrap_or_else(|| self.config.webhook_retry_schedule.clone())
    }

    /// POSTs the event; the answer's status, `Retry-After` and first KiB, or why there was none.
    async fn send(&self, job: &Job, now: Timestamp) -> Result<(u16, Option<Duration>, String), String> {
        let url = reqwest::Url::parse(&job.url).map_err(|e| format!("the stored URL does not parse: {e}"))?;
        self.destinations.check_literal(&url).map_err(|e| format!("forbidden destination: {e}"))?;
        let body = body_of(job);
        let timestamp = now.unix_seconds();
        let mut request = self
            .client
            .post(url)
            .timeout(self.config.webhook_timeout)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header("webhook-id", &job.delivery_id)
            .header("webhook-timestamp", timestamp.to_string());
        if let Some(sealed) = &job.secret {
            let secret =
                self.secrets.open(job.webhook_id, sealed).map_err(|_| "the webhook secret does not open".to_owned())?;
            let mut keys = vec![SigningKey::from_secret(&secret)];
            if let (Some(previous), Some(until)) = (&job.previous_secret, job.previous_secret_until)
                && until > now
                && let Ok(previous) = self.secrets.open(job.webhook_id, previous)
            {
                keys.push(SigningKey::from_secret(&previous));
            }
            request = request
                .header("webhook-signature", standard_signature_header(&keys, &job.delivery_id, timestamp, &body))
                .header("X-FeatureSignals-Signature", featuresignals_signature(&secret, &body));
        }
        let mut response = request.body(body).send().await.map_err(|e| describe(&e, self.config.webhook_timeout))?;
        let status = response.status().as_u16();
        let retry_after = response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
        let mut kept = Vec::new();
        while kept.len() < KEPT_BODY_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = KEPT_BODY_BYTES - kept.len();
                    kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                _ => break,
            }
        }
        Ok((status, retry_after, String::from_utf8_lossy(&kept).into_owned()))
    }
}

/// The delivered body: `{"id","type","timestamp","workspace_id","data"}`, `id` the event's.
pub fn body_of(job: &Job) -> Vec<u8> {
    let event_type = serde_json::to_string(&job.event_type).expect("a string serialises");
    format!(
        r#"{{"id":"{}","type":{},"timestamp":"{}","workspace_id":"{}","data":{}}}"#,
        job.event_id, event_type, job.event_created_at, job.workspace_id, job.event_data
    )
    .into_bytes()
}

/// A readable reason for a failed request, with its causes (e.g. the SSRF refusal).
fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("no answer within {timeout:?}");
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn random_unit() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}
