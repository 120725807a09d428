//! The limits in force for an endpoint (server caps with the workspace's overrides), and the
//! per-endpoint rate limiter.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use signalbox_core::Clock;
use uuid::Uuid;

use crate::config::SignalLimits;
use crate::workspaces::model::WorkspaceSettings;

/// The limits for one workspace's endpoints. `0` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointLimits {
    pub rate_per_second: u32,
    pub max_payload_bytes: u64,
    pub max_endpoints: u64,
    pub max_tokens_per_endpoint: u64,
}

impl EndpointLimits {
    pub fn resolve(server: &SignalLimits, workspace: &WorkspaceSettings) -> Self {
        let pick = |own: Option<u64>, server: u64| own.unwrap_or(server);
        Self {
            rate_per_second: u32::try_from(pick(workspace.signal_rate_limit, server.signal_rate_limit.into()))
                .unwrap_or(u32::MAX),
            max_payload_bytes: pick(workspace.max_signal_payload_bytes, server.max_signal_payload_bytes.into()),
            max_endpoints: pick(workspace.max_signal_endpoints, server.max_signal_endpoints.into()),
            max_tokens_per_endpoint: pick(workspace.max_tokens_per_endpoint, server.max_tokens_per_endpoint.into()),
        }
    }
}

/// governor's clock, read from Signalbox's [`Clock`] so tests can move time.
#[derive(Clone)]
struct LimiterClock(Arc<dyn Clock>);

impl GovernorClock for LimiterClock {
    type Instant = Nanos;
    fn now(&self) -> Nanos {
        let micros = self.0.now().as_datetime().unix_timestamp_nanos() / 1000;
        Nanos::from(u64::try_from(micros).unwrap_or(0) * 1000)
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, LimiterClock, NoOpMiddleware<Nanos>>;

/// One token bucket per endpoint (governor's GCRA), created on first use and replaced when
/// the endpoint's rate changes. The burst is one second's worth.
pub struct RateLimits {
    clock: LimiterClock,
    limiters: Mutex<HashMap<Uuid, (u32, Arc<Limiter>)>>,
}

impl RateLimits {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self { clock: LimiterClock(clock), limiters: Mutex::new(HashMap::new()) }
    }

    /// `Ok` when the endpoint may take a signal now, else how long to wait.
    pub fn check(&self, endpoint_id: Uuid, per_second: u32) -> Result<(), Duration> {
        let Some(rate) = NonZeroU32::new(per_second) else {
            return Ok(());
        };
        let limiter = {
            let mut limiters = self.limiters.lock().unwrap_or_else(|e| e.into_inner());
            match limiters.get(&endpoint_id) {
                Some((current, limiter)) if *current == per_second => limiter.clone(),
                _ => {
                    let limiter = Arc::new(RateLimiter::direct_with_clock(Quota::per_second(rate), self.clock.clone()));
                    limiters.insert(endpoint_id, (per_second, limiter.clone()));
                    limiter
                }
            }
        };
        limiter.check().map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets an endpoint's bucket (it was deleted).
    pub fn forget(&self, endpoint_id: Uuid) {
        self.limiters.lock().unwrap_or_else(|e| e.into_inner()).remove(&endpoint_id);
    }
}
