//! Workspace rate limits for typed signals, counted in the database (fixed UTC minute and
//! UTC day windows) so that restarts and several servers share them. The typed writer reads
//! the counters a batch needs, counts each request in order with [`count`], and writes the
//! new counts in the batch's own transaction.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use signalbox_core::Timestamp;

use crate::Error;

/// The limits that apply to a workspace (`0` = none).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_minute: u64,
    pub per_day: u64,
}

impl Limits {
    /// Neither window is limited: nothing to count (the counters exist to be compared with a
    /// limit, and a workspace without one does not pay for a write per request).
    pub fn is_none(&self) -> bool {
        self.per_minute == 0 && self.per_day == 0
    }
}

/// Where a workspace stands after a request was counted.
#[derive(Debug, Clone, Copy)]
pub struct Standing {
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until the window that is closer to exhaustion starts again.
    pub reset: u64,
}

impl Standing {
    pub fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in
            [("ratelimit-limit", self.limit), ("ratelimit-remaining", self.remaining), ("ratelimit-reset", self.reset)]
        {
            headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
        }
        headers
    }
}

/// The two windows a request at `now` counts in: (key, seconds until the window ends).
fn windows(now: Timestamp) -> [(String, u64); 2] {
    let text = now.to_string();
    let into_minute = u64::try_from(now.unix_seconds().rem_euclid(60)).unwrap_or(0);
    let into_day = u64::try_from(now.unix_seconds().rem_euclid(86_400)).unwrap_or(0);
    // `2026-11-29T15:04:05.123456Z` → minute `m:2026-11-29T15:04`, day `d:2026-11-29`.
    [(format!("m:{}", &text[..16]), 60 - into_minute), (format!("d:{}", &text[..10]), 86_400 - into_day)]
}

/// The window keys of the counter rows a request at `now` counts in.
pub fn window_keys(now: Timestamp) -> [String; 2] {
    windows(now).map(|(key, _)| key)
}

/// Running counts of requests per (workspace, window key), as read from
/// `typed_signal_counters` at the start of a batch and advanced by each request counted.
pub type Counts = std::collections::HashMap<(String, String), u64>;

/// Counts one request against both windows of its workspace. Over either limit: `Err` with
/// `429` and `Retry-After`, and the request is not counted in either window; otherwise the
/// standing of the window closer to exhaustion.
pub fn count(counts: &mut Counts, workspace: &str, now: Timestamp, limits: Limits) -> Result<Standing, Error> {
    if limits.is_none() {
        return Ok(Standing { limit: 0, remaining: 0, reset: 0 });
    }
    let [(minute, minute_reset), (day, day_reset)] = windows(now);
    let mut standing = Vec::with_capacity(2);
    for (key, limit, reset) in [(&minute, limits.per_minute, minute_reset), (&day, limits.per_day, day_reset)] {
        let next = counts.get(&(workspace.to_owned(), key.clone())).copied().unwrap_or(0) + 1;
        if limit > 0 && next > limit {
            let which = if key.starts_with("m:") { "minute" } else { "day" };
            let mut error = Error::too_many_requests(
                format!("this workspace takes {limit} typed signals per UTC {which}"),
                std::time::Duration::from_secs(reset),
            );
            for (name, value) in &(Standing { limit, remaining: 0, reset }).headers() {
                error = error.with_header(name.clone(), value.clone());
            }
            return Err(error);
        }
        standing.push((limit, limit.saturating_sub(next), reset));
    }
    for key in [minute, day] {
        *counts.entry((workspace.to_owned(), key)).or_insert(0) += 1;
    }
    let closest = standing
        .iter()
        .filter(|(limit, _, _)| *limit > 0)
        .min_by_key(|(limit, remaining, _)| (remaining * 1000) / limit.max(&1))
        .copied()
        .unwrap_or((0, 0, 0));
    Ok(Standing { limit: closest.0, remaining: closest.1, reset: closest.2 })
}
