//! The fair baseline for `bench/ingest.sh`: an axum server with the same ingest route as
//! Signalbox (`POST /api/signal-endpoint/{name}`) that reads the body, parses it as JSON
//! (400 if it is not) and answers `202 {"id": …, "received_at": …}` — storing nothing,
//! checking no token.
//!
//! Usage: `signalbox-bench-bare [PORT]`, or `BENCH_BARE_PORT=PORT`; default 4290. Listens on
//! 127.0.0.1 and prints `listening on ADDR` once bound.
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;

const DEFAULT_PORT: u16 = 4290;

#[derive(Serialize)]
struct Accepted {
    id: String,
    received_at: String,
}

#[derive(Serialize)]
struct Problem {
    title: &'static str,
    status: u16,
}

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

async fn ingest(Path(_name): Path<String>, body: Bytes) -> Response {
    if !body.iter().all(u8::is_ascii_whitespace) && serde_json::from_slice::<serde_json::Value>(&body).is_err() {
        let problem = Problem { title: "the body is not valid JSON", status: 400 };
        return (StatusCode::BAD_REQUEST, Json(problem)).into_response();
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let accepted = Accepted { id: uuid_like(now.as_millis(), sequence), received_at: rfc3339_micros(now) };
    (StatusCode::ACCEPTED, Json(accepted)).into_response()
}

/// A UUIDv7-shaped string: 48 bits of Unix milliseconds, then a sequence number.
fn uuid_like(millis: u128, sequence: u64) -> String {
    let millis = (millis & 0xffff_ffff_ffff) as u64;
    format!(
        "{:08x}-{:04x}-7{:03x}-{:04x}-{:012x}",
        millis >> 16,
        millis & 0xffff,
        (sequence >> 48) & 0xfff,
        0x8000 | ((sequence >> 32) & 0x3fff),
        sequence & 0xffff_ffff_ffff
    )
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, the shape Signalbox answers with.
fn rfc3339_micros(since_epoch: std::time::Duration) -> String {
    let seconds = since_epoch.as_secs();
    let (days, day_seconds) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        day_seconds / 3600,
        day_seconds / 60 % 60,
        day_seconds % 60,
        since_epoch.subsec_micros()
    )
}

/// Days since 1970-01-01 to (year, month, day), after Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn port() -> Result<u16, String> {
    let given = std::env::args().nth(1).or_else(|| std::env::var("BENCH_BARE_PORT").ok());
    match given {
        Some(text) => text.parse().map_err(|_| format!("not a port: {text:?}")),
        None => Ok(DEFAULT_PORT),
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = port()?;
    let app = Router::new().route("/api/signal-endpoint/{name}", post(ingest));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).with_graceful_shutdown(shutdown()).await?;
    Ok(())
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}
