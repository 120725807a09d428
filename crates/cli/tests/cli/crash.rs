//! `kill -9` in the middle of concurrent ingest, then a restart on the same database: every
//! signal that was answered `202` is there, and nothing is half-written (DESIGN *Principles*:
//! durable before acknowledged; issue 4, *Durability and speed*).
//!
//! Each sender sends `{"sender":S,"n":0}`, `{"sender":S,"n":1}`, … one at a time, the next only
//! after the previous one was acknowledged, and stops at its first transport error. So after
//! the restart, sender S's stored signals must be exactly `n = 0..=last` where `last` is its
//! last acknowledged `n`, or one more (the request in flight at the kill may have committed
//! without its answer getting out).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::support::{Api, DEADLINE, OWNER_EMAIL, OWNER_PASSWORD, Sandbox, ScratchDatabase, Server};

const SENDERS: u64 = 16;
/// Acknowledged signals to wait for before the kill.
const ACKNOWLEDGED_BEFORE_KILL: usize = 300;
const INGEST: &str = "/api/signal-endpoint/crash";
const LIMITS_LIFTED: [&str; 6] =
    ["--signal-rate-limit", "0", "--max-signal-endpoints", "0", "--max-tokens-per-endpoint", "0"];
/// How long the senders may take to notice the kill and stop.
const SENDERS_STOP_WITHIN: Duration = Duration::from_secs(10);

#[tokio::test]
async fn kill_9_during_concurrent_ingest_on_sqlite_loses_no_acknowledged_signal_and_half_writes_nothing() {
    let sandbox = Sandbox::new();
    crash_and_restart("sqlite", &sandbox, &[]).await;
}

/// Runs only with `SIGNALBOX_TEST_POSTGRES=postgres://…` set, in a database of its own.
#[tokio::test]
async fn kill_9_during_concurrent_ingest_on_postgres_loses_no_acknowledged_signal_and_half_writes_nothing() {
    let Ok(admin_url) = std::env::var("SIGNALBOX_TEST_POSTGRES") else {
        return;
    };
    // Declared before the servers, so it is dropped after them even when the test fails.
    let database = ScratchDatabase::create(&admin_url, "ingest").await;
    let sandbox = Sandbox::new();
    let key = "5e".repeat(32);
    crash_and_restart("postgres", &sandbox, &["--database-url", &database.url, "--secret-key", &key]).await;
}

/// The whole scenario; `backend` is passed to both server runs (empty: SQLite in the sandbox,
/// with its key file beside the database).
async fn crash_and_restart(label: &str, sandbox: &Sandbox, backend: &[&str]) {
    let started = Instant::now();
    let args: Vec<&str> = LIMITS_LIFTED.iter().chain(backend).copied().collect();
    let mut server = sandbox.serve(&args).await;
    let api = Arc::new(server.api());
    let (endpoint_id, token) = endpoint_with_token(&api).await;

    let load = Arc::new(Load::default());
    let mut senders = JoinSet::new();
    for sender in 0..SENDERS {
        senders.spawn(send_until_stopped(Arc::clone(&api), token.clone(), sender, Arc::clone(&load)));
    }
    let deadline = Instant::now() + DEADLINE;
    while load.acknowledged_count() < ACKNOWLEDGED_BEFORE_KILL {
        load.assert_no_problems(&server);
        assert!(
            Instant::now() < deadline,
            "only {} signals acknowledged within {DEADLINE:?}; stderr:\n{}",
            load.acknowledged_count(),
            server.stderr()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    load.stopping.store(true, Ordering::SeqCst);
    let acknowledged_at_kill = load.acknowledged_count();
    let status = server.kill();
    assert_eq!(status.signal(), Some(9), "signalbox did not die of SIGKILL: {status}");
    let stopped = tokio::time::timeout(SENDERS_STOP_WITHIN, async {
        while let Some(joined) = senders.join_next().await {
            joined.expect("a sender panicked");
        }
    })
    .await;
    assert!(stopped.is_ok(), "the senders did not stop within {SENDERS_STOP_WITHIN:?} of the kill");
    load.assert_no_problems(&server);
    let acknowledged = std::mem::take(&mut *load.acknowledged.lock().expect("lock"));
    drop(server);

    let restarted = sandbox.serve(&args).await;
    let api = restarted.api();
    let ready = api.get("/readyz", None).await;
    assert_eq!(ready.status, 200, "/readyz after the restart: {}", ready.text);
    assert_eq!(ready.body["status"], "ready", "{}", ready.text);
    let session = api.session(OWNER_EMAIL, OWNER_PASSWORD).await;
    let stored = all_signals(&api, &session, &endpoint_id).await;

    let by_sender = check_payloads(&stored);
    for (id, &(sender, n)) in &acknowledged {
        let payload = stored.get(id).unwrap_or_else(|| {
            panic!("signal {id} (sender {sender}, n {n}) was acknowledged but is gone after the restart")
        });
        assert_eq!(payload, &json!({ "sender": sender, "n": n }), "signal {id} came back with another payload");
    }
    let mut last_acknowledged: HashMap<u64, u64> = HashMap::new();
    for &(sender, n) in acknowledged.values() {
        let last = last_acknowledged.entry(sender).or_insert(n);
        *last = (*last).max(n);
    }
    for (sender, ns) in &by_sender {
        let allowed = last_acknowledged.get(sender).map_or(0, |last| last + 1);
        let unexpected: Vec<&u64> = ns.iter().filter(|&&n| n > allowed).collect();
        assert!(unexpected.is_empty(), "sender {sender} never sent n = {unexpected:?}, yet it is stored");
    }
    println!(
        "{label}: {acknowledged_at_kill} acknowledged when the kill was sent, {} in all; {} stored after the \
         restart ({} committed without an answer); {:?} from the first start to the check",
        acknowledged.len(),
        stored.len(),
        stored.len() - acknowledged.len(),
        started.elapsed()
    );
}

/// Logs in as the owner and creates the endpoint `crash` and a token for it; returns the
/// endpoint's id and the token.
async fn endpoint_with_token(api: &Api) -> (String, String) {
    let session = api.session(OWNER_EMAIL, OWNER_PASSWORD).await;
    let endpoint = api.post_json("/v1/signal-endpoints", Some(&session), &json!({ "name": "crash" })).await;
    assert_eq!(endpoint.status, 201, "creating the endpoint: {}", endpoint.text);
    let id = endpoint.body["id"].as_str().expect("the endpoint has an id").to_owned();
    let path = format!("/v1/signal-endpoints/{id}/tokens");
    let token = api.post_json(&path, Some(&session), &json!({ "name": "sender" })).await;
    assert_eq!(token.status, 201, "creating the token: {}", token.text);
    (id, token.body["token"].as_str().expect("the new token is shown once").to_owned())
}

/// What the senders saw: acknowledged signals by id, and anything that should not happen.
#[derive(Default)]
struct Load {
    acknowledged: Mutex<HashMap<String, (u64, u64)>>,
    problems: Mutex<Vec<String>>,
    /// Set just before the kill: transport errors are expected from then on.
    stopping: AtomicBool,
}

impl Load {
    fn acknowledged_count(&self) -> usize {
        self.acknowledged.lock().expect("lock").len()
    }

    fn problem(&self, problem: String) {
        self.problems.lock().expect("lock").push(problem);
    }

    fn assert_no_problems(&self, server: &Server) {
        let problems = self.problems.lock().expect("lock");
        assert!(problems.is_empty(), "{}\nstderr:\n{}", problems.join("\n"), server.stderr());
    }
}

/// Sends `{"sender":S,"n":…}` one at a time until told to stop or the server is gone; any
/// answer other than `202 {"id",…}`, and any transport error before the kill, is a problem.
async fn send_until_stopped(api: Arc<Api>, token: String, sender: u64, load: Arc<Load>) {
    for n in 0.. {
        if load.stopping.load(Ordering::SeqCst) {
            return;
        }
        let body = json!({ "sender": sender, "n": n });
        match api.try_post_json(INGEST, Some(&token), &body).await {
            Ok(reply) => match reply.body["id"].as_str() {
                Some(id) if reply.status == 202 => {
                    let earlier = load.acknowledged.lock().expect("lock").insert(id.to_owned(), (sender, n));
                    if let Some(earlier) = earlier {
                        load.problem(format!("the id {id} was answered twice: {earlier:?} and {:?}", (sender, n)));
                    }
                }
                _ => {
                    load.problem(format!("sender {sender}, n {n}: {} {}", reply.status, reply.text));
                    return;
                }
            },
            Err(error) => {
                if !load.stopping.load(Ordering::SeqCst) {
                    load.problem(format!("sender {sender}, n {n} before the kill: {error}"));
                }
                return;
            }
        }
    }
}

/// Every signal of the endpoint, id → payload, by offset pages of 100 (nothing is written
/// meanwhile, so the pages are stable).
async fn all_signals(api: &Api, session: &str, endpoint_id: &str) -> BTreeMap<String, Value> {
    let mut signals = BTreeMap::new();
    let mut offset = 0;
    loop {
        let path = format!("/v1/signal-endpoints/{endpoint_id}/signals?limit=100&offset={offset}");
        let page = api.get(&path, Some(session)).await;
        assert_eq!(page.status, 200, "GET {path}: {}", page.text);
        let data = page.body["data"].as_array().expect("a page has data");
        let total = page.body["total"].as_u64().expect("an offset page has a total");
        for signal in data {
            let id = signal["id"].as_str().expect("a signal has an id").to_owned();
            let payload = signal["payload"].clone();
            assert!(signals.insert(id.clone(), payload).is_none(), "signal {id} is listed twice");
        }
        offset += data.len();
        if data.is_empty() || offset as u64 >= total {
            assert_eq!(signals.len() as u64, total, "the pages hold another number of signals than total");
            return signals;
        }
    }
}

/// Asserts every stored payload is a whole `{"sender","n"}` object from one of the senders,
/// each stored once; returns the stored `n`s by sender.
fn check_payloads(stored: &BTreeMap<String, Value>) -> BTreeMap<u64, BTreeSet<u64>> {
    let mut by_sender: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    for (id, payload) in stored {
        let fields = payload.as_object().filter(|object| object.len() == 2);
        let sender = fields.and_then(|f| f.get("sender")).and_then(Value::as_u64);
        let n = fields.and_then(|f| f.get("n")).and_then(Value::as_u64);
        let (Some(sender), Some(n)) = (sender, n) else {
            panic!("signal {id} holds a payload no sender sent: {payload}");
        };
        assert!(sender < SENDERS, "signal {id} names sender {sender}: {payload}");
        assert!(by_sender.entry(sender).or_default().insert(n), "sender {sender}'s n {n} is stored twice");
    }
    by_sender
}
