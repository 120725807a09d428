//! Workspace rate limits for typed signals, counted in the database (fixed UTC minute and
//! UTC day windows) so that restarts and several servers share them.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use signalbox_core::Timestamp;
use uuid::Uuid;

use crate::db::Db;
use crate::{Error, in_write_tx};

/// The limits that apply to a workspace (`0` = none).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_minute: u64,
    pub per_day: u64,
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

/// Counts one request against both windows. Over either limit: `Err` with `429` and
/// `Retry-After` (the request is not counted); otherwise the standing of the window closer
/// to exhaustion.
pub async fn count(db: &Db, workspace_id: Uuid, now: Timestamp, limits: Limits) -> Result<Standing, Error> {
    let text = now.to_string();
    // `2026-11-29T15:04:05.123456Z` → minute `m:2026-11-29T15:04`, day `d:2026-11-29`.
    let minute_key = format!("m:{}", &text[..16]);
    let day_key = format!("d:{}", &text[..10]);
    let into_minute = u64::try_from(now.unix_seconds().rem_euclid(60)).unwrap_or(0);
    let into_day = u64::try_from(now.unix_seconds().rem_euclid(86_400)).unwrap_or(0);
    let windows = [(minute_key, limits.per_minute, 60 - into_minute), (day_key, limits.per_day, 86_400 - into_day)];
    let workspace = workspace_id.to_string();
    let counted: Result<Vec<(u64, u64, u64)>, Error> = in_write_tx!(db, |tx| {
        let mut standing = Vec::new();
        for (key, limit, reset) in &windows {
            let count: i64 = sqlx::query_scalar(
                "INSERT INTO typed_signal_counters (workspace_id, window_key, count) VALUES ($1, $2, 1) \
                 ON CONFLICT (workspace_id, window_key) DO UPDATE SET count = typed_signal_counters.count + 1 \
                 RETURNING count",
            )
            .bind(&workspace)
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
            let count = u64::try_from(count).unwrap_or(0);
            if *limit > 0 && count > *limit {
                // Rolled back: a refused request does not count.
                let which = if key.starts_with("m:") { "minute" } else { "day" };
                let mut error = Error::too_many_requests(
                    format!("this workspace takes {limit} typed signals per UTC {which}"),
                    std::time::Duration::from_secs(*reset),
                );
                for (name, value) in &(Standing { limit: *limit, remaining: 0, reset: *reset }).headers() {
                    error = error.with_header(name.clone(), value.clone());
                }
                return Err(error);
            }
            standing.push((*limit, limit.saturating_sub(count), *reset));
        }
        standing
    });
    let standing = counted?;
    let closest = standing
        .iter()
        .filter(|(limit, _, _)| *limit > 0)
        .min_by_key(|(limit, remaining, _)| (remaining * 1000) / limit.max(&1))
        .copied()
        .unwrap_or((0, 0, 0));
    Ok(Standing { limit: closest.0, remaining: closest.1, reset: closest.2 })
}
