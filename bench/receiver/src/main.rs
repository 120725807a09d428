//! The fast local receiver for `bench/fanout.sh` (issue 5, "Benchmark").
//!
//! Every `POST` (any path other than `/reset`) is answered `204` at once. For each one the
//! receiver counts the request, checks the `webhook-id` header against every id seen so far
//! (a repeat counts as a duplicate), and records the latency `now − timestamp`, where
//! `timestamp` is the body's field of that name: the event's creation time, taken just
//! before its commit, so the figure approximates commit → receipt.
//!
//! - `GET /stats` → `{"received","duplicates","unparsed","p50_ms","p99_ms","max_ms","first_at","last_at"}`;
//!   `first_at` / `last_at` are Unix seconds (µs precision) of the first and last request
//!   received, `null` before any; `unparsed` counts bodies without a usable `timestamp`.
//! - `GET /count` → `{"received","duplicates"}`, cheap enough to poll while a backlog drains
//!   (`/stats` sorts every latency).
//! - `POST /reset` → `204`, forgets everything.
//!
//! Usage: `signalbox-bench-receiver --listen 127.0.0.1:PORT` (default `127.0.0.1:4291`);
//! prints `listening on ADDR` once bound.
#![forbid(unsafe_code)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const DEFAULT_LISTEN: &str = "127.0.0.1:4291";

#[derive(Default)]
struct Record {
    received: u64,
    duplicates: u64,
    unparsed: u64,
    /// Commit → receipt, in microseconds, one entry per request with a usable timestamp.
    latencies_us: Vec<u32>,
    ids: HashSet<Box<[u8]>>,
    first_at_us: Option<i64>,
    last_at_us: Option<i64>,
}

type Shared = Arc<Mutex<Record>>;

/// Only the field we need, borrowed from the body.
#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow)]
    timestamp: &'a str,
}

#[derive(Serialize)]
struct Stats {
    received: u64,
    duplicates: u64,
    unparsed: u64,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    max_ms: Option<f64>,
    first_at: Option<f64>,
    last_at: Option<f64>,
}

fn now_us() -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(now.as_micros()).unwrap_or(i64::MAX)
}

fn timestamp_us(body: &[u8]) -> Option<i64> {
    let body: Body<'_> = serde_json::from_slice(body).ok()?;
    let at = OffsetDateTime::parse(body.timestamp, &Rfc3339).ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1000).ok()
}

async fn receive(State(record): State<Shared>, method: Method, headers: HeaderMap, body: Bytes) -> StatusCode {
    if method != Method::POST {
        return StatusCode::METHOD_NOT_ALLOWED;
    }
    let now = now_us();
    let latency = timestamp_us(&body).map(|at| u32::try_from((now - at).max(0)).unwrap_or(u32::MAX));
    let id = headers.get("webhook-id").map(|v| v.as_bytes());
    let mut record = record.lock().unwrap_or_else(|e| e.into_inner());
    record.received += 1;
    record.first_at_us.get_or_insert(now);
    record.last_at_us = Some(now);
    match latency {
        Some(us) => record.latencies_us.push(us),
        None => record.unparsed += 1,
    }
    if let Some(id) = id
        && !record.ids.insert(id.into())
    {
        record.duplicates += 1;
    }
    StatusCode::NO_CONTENT
}

fn percentile_ms(sorted: &[u32], percent: usize) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    // Nearest rank.
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    Some(f64::from(sorted[rank - 1]) / 1000.0)
}

async fn stats(State(record): State<Shared>) -> Json<Stats> {
    let (mut latencies, received, duplicates, unparsed, first, last) = {
        let record = record.lock().unwrap_or_else(|e| e.into_inner());
        (
            record.latencies_us.clone(),
            record.received,
            record.duplicates,
            record.unparsed,
            record.first_at_us,
            record.last_at_us,
        )
    };
    latencies.sort_unstable();
    let seconds = |us: i64| us as f64 / 1e6;
    Json(Stats {
        received,
        duplicates,
        unparsed,
        p50_ms: percentile_ms(&latencies, 50),
        p99_ms: percentile_ms(&latencies, 99),
        max_ms: latencies.last().map(|us| f64::from(*us) / 1000.0),
        first_at: first.map(seconds),
        last_at: last.map(seconds),
    })
}

#[derive(Serialize)]
struct Count {
    received: u64,
    duplicates: u64,
}

async fn count(State(record): State<Shared>) -> Json<Count> {
    let record = record.lock().unwrap_or_else(|e| e.into_inner());
    Json(Count { received: record.received, duplicates: record.duplicates })
}

async fn reset(State(record): State<Shared>) -> StatusCode {
    *record.lock().unwrap_or_else(|e| e.into_inner()) = Record::default();
    StatusCode::NO_CONTENT
}

fn listen_address() -> Result<SocketAddr, String> {
    let mut args = std::env::args().skip(1);
    let mut listen = DEFAULT_LISTEN.to_owned();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().ok_or("--listen needs an address")?,
            other if other.starts_with("--listen=") => listen = other["--listen=".len()..].to_owned(),
            "-h" | "--help" => {
                println!("usage: signalbox-bench-receiver [--listen ADDR]   (default {DEFAULT_LISTEN})");
                std::process::exit(0);
            }
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    listen.parse().map_err(|e| format!("--listen {listen:?}: {e}"))
}

#[tokio::main]
async fn main() {
    let address = listen_address().unwrap_or_else(|message| {
        eprintln!("signalbox-bench-receiver: {message}");
        std::process::exit(2);
    });
    let record: Shared = Arc::default();
    let app = Router::new()
        .route("/stats", get(stats))
        .route("/count", get(count))
        .route("/reset", post(reset))
        .fallback(receive)
        .with_state(record);
    let listener = tokio::net::TcpListener::bind(address).await.unwrap_or_else(|error| {
        eprintln!("signalbox-bench-receiver: cannot listen on {address}: {error}");
        std::process::exit(1);
    });
    println!("listening on {}", listener.local_addr().map_or(address, |a| a));
    axum::serve(listener, app).await.unwrap_or_else(|error| {
        eprintln!("signalbox-bench-receiver: {error}");
        std::process::exit(1);
    });
}
