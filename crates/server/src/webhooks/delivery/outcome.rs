//! What an attempt's result means for its delivery: pure, so every rule is unit-tested.

use std::time::Duration;

use signalbox_core::Timestamp;
use signalbox_core::retry::{RetrySchedule, honour_retry_after, with_jitter};

use crate::webhooks::model::DeliveryStatus;

/// What came back from one HTTP attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    Answered {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// No answer: timeout, connection refused, forbidden destination, …
    Failed,
}

/// The delivery's next state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<Timestamp>,
    /// Set when the webhook must be disabled (410 Gone), with the reason shown to users.
    pub disable_webhook: Option<String>,
}

impl Decision {
    pub fn succeeded(&self) -> bool {
        self.status == DeliveryStatus::Succeeded
    }
}

/// Decides after the attempt numbered `attempt_in_round` (1 = the first of this round; a
/// redelivery starts a new round with the full schedule). `jitter_unit` is a uniform random
/// number in [0, 1).
pub fn decide(
    result: &AttemptResult,
    attempt_in_round: usize,
    schedule: &RetrySchedule,
    jitter: f64,
    jitter_unit: f64,
    now: Timestamp,
) -> Decision {
    let retry_after = match result {
        AttemptResult::Answered { status, .. } if (200..300).contains(status) => {
            return Decision { status: DeliveryStatus::Succeeded, next_attempt_at: None, disable_webhook: None };
        }
        AttemptResult::Answered { status: 410, .. } => {
            return Decision {
                status: DeliveryStatus::Dead,
                next_attempt_at: None,
                disable_webhook: Some("the receiver answered 410 Gone".to_owned()),
            };
        }
        AttemptResult::Answered { status: 429 | 503, retry_after } => *retry_after,
        _ => None,
    };
    match schedule.delay_before(attempt_in_round + 1) {
        Some(delay) => {
            let delay = honour_retry_after(with_jitter(delay, jitter, jitter_unit), retry_after);
            Decision { status: DeliveryStatus::Pending, next_attempt_at: Some(now.plus(delay)), disable_webhook: None }
        }
        None => Decision { status: DeliveryStatus::Dead, next_attempt_at: None, disable_webhook: None },
    }
}

/// `Retry-After` as seconds (the HTTP-date form is not honoured; the schedule applies).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(result: AttemptResult, attempt: usize) -> Decision {
        let now = Timestamp::parse("2026-11-29T12:00:00.000000Z").unwrap();
        decide(&result, attempt, &RetrySchedule::default(), 0.0, 0.5, now)
    }

    fn answered(status: u16) -> AttemptResult {
        AttemptResult::Answered { status, retry_after: None }
    }

    fn delay_of(decision: &Decision) -> Duration {
        let now = Timestamp::parse("2026-11-29T12:00:00.000000Z").unwrap();
        now.until(decision.next_attempt_at.expect("a retry"))
    }

    #[test]
    fn only_2xx_succeeds() {
        assert!(at(answered(200), 1).succeeded());
        assert!(at(answered(204), 1).succeeded());
        for status in [100, 301, 302, 400, 404, 500] {
            assert_eq!(at(answered(status), 1).status, DeliveryStatus::Pending, "{status}");
        }
    }

    #[test]
    fn the_default_schedule_retries_after_one_then_four_seconds_then_dies() {
        assert_eq!(delay_of(&at(answered(500), 1)), Duration::from_secs(1));
        assert_eq!(delay_of(&at(AttemptResult::Failed, 2)), Duration::from_secs(4));
        assert_eq!(
            at(answered(500), 3),
            Decision { status: DeliveryStatus::Dead, next_attempt_at: None, disable_webhook: None }
        );
    }

    #[test]
    fn gone_kills_the_delivery_and_disables_the_webhook() {
        let decision = at(answered(410), 1);
        assert_eq!(decision.status, DeliveryStatus::Dead);
        assert!(decision.disable_webhook.is_some());
    }

    #[test]
    fn retry_after_is_honoured_within_the_scheduled_delay_and_twice_it() {
        let asked = |status, secs| AttemptResult::Answered { status, retry_after: Some(Duration::from_secs(secs)) };
        assert_eq!(delay_of(&at(asked(429, 2), 1)), Duration::from_secs(2));
        assert_eq!(delay_of(&at(asked(503, 60), 1)), Duration::from_secs(2));
        assert_eq!(delay_of(&at(asked(429, 0), 1)), Duration::from_secs(1));
        // Only 429 and 503 carry a meaningful Retry-After.
        assert_eq!(delay_of(&at(asked(500, 60), 1)), Duration::from_secs(1));
    }

    #[test]
    fn retry_after_seconds_parse_and_dates_are_ignored() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
