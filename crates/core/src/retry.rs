//! Webhook retry schedules: the delays between attempts, as people write them
//! (`["1s", "4s"]`, milliseconds allowed). The default is the FeatureSignals seed's: three
//! attempts — at once, after 1 s, after 4 s — then the delivery is dead.

use std::time::Duration;

pub const MAX_RETRIES: usize = 10;
pub const MAX_DELAY: Duration = Duration::from_secs(24 * 3600);

/// The delays before each retry; the first attempt is always immediate, so a schedule of
/// `n` delays means `n + 1` attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(Vec<Duration>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSchedule {
    #[error("must have at most {MAX_RETRIES} entries")]
    TooLong,
    #[error("entry {index}: {message}")]
    Entry { index: usize, message: String },
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self(vec![Duration::from_secs(1), Duration::from_secs(4)])
    }
}

impl RetrySchedule {
    /// Parses entries such as `"500ms"`, `"1s"`, `"15m"`, `"2h"`, each at most 24 h.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, InvalidSchedule> {
        if entries.len() > MAX_RETRIES {
            return Err(InvalidSchedule::TooLong);
        }
        let delays = entries
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                parse_delay(entry.as_ref()).map_err(|message| InvalidSchedule::Entry { index, message })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self(delays))
    }

    pub fn delays(&self) -> &[Duration] {
        &self.0
    }

    /// How many attempts a delivery gets in all.
    pub fn attempts(&self) -> usize {
        self.0.len() + 1
    }

    /// The delay before attempt `attempt` (1-based: attempt 1 is immediate), or `None` when
    /// the attempts are used up.
    pub fn delay_before(&self, attempt: usize) -> Option<Duration> {
        match attempt {
            0 | 1 => Some(Duration::ZERO),
            n => self.0.get(n - 2).copied(),
        }
    }

    /// Renders entries back as text (`"1s"`, `"250ms"`), as the API echoes them.
    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|d| format_delay(*d)).collect()
    }
}

fn parse_delay(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: u64 = number.parse().map_err(|_| "must be a number and a unit, e.g. 1s or 250ms".to_owned())?;
    let millis = match unit {
        "ms" => Some(value),
        "s" => value.checked_mul(1_000),
        "m" => value.checked_mul(60_000),
        "h" => value.checked_mul(3_600_000),
        _ => return Err("the unit must be ms, s, m or h".to_owned()),
    };
    let delay = millis.map(Duration::from_millis).filter(|d| *d <= MAX_DELAY);
    delay.ok_or_else(|| "must be at most 24h".to_owned())
}

fn format_delay(delay: Duration) -> String {
    let millis = delay.as_millis();
    match millis {
        m if m % 3_600_000 == 0 && m > 0 => format!("{}h", m / 3_600_000),
        m if m % 60_000 == 0 && m > 0 => format!("{}m", m / 60_000),
        m if m % 1_000 == 0 && m > 0 => format!("{}s", m / 1_000),
        m => format!("{m}ms"),
    }
}

/// A delay spread by up to ±`fraction` (e.g. 0.2), so retries from many deliveries do not
/// arrive together. `unit` is a uniform random number in [0, 1).
pub fn with_jitter(delay: Duration, fraction: f64, unit: f64) -> Duration {
    let fraction = fraction.clamp(0.0, 1.0);
    let factor = 1.0 + fraction * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
    delay.mul_f64(factor.max(0.0))
}

/// A receiver's `Retry-After` (on 429 or 503) honoured within bounds: never sooner than the
/// schedule's delay, never later than twice it.
pub fn honour_retry_after(scheduled: Duration, retry_after: Option<Duration>) -> Duration {
    match retry_after {
        Some(asked) => asked.clamp(scheduled, scheduled.saturating_mul(2)),
        None => scheduled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_three_attempts_at_once_then_one_then_four_seconds() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.attempts(), 3);
        assert_eq!(schedule.delay_before(1), Some(Duration::ZERO));
        assert_eq!(schedule.delay_before(2), Some(Duration::from_secs(1)));
        assert_eq!(schedule.delay_before(3), Some(Duration::from_secs(4)));
        assert_eq!(schedule.delay_before(4), None);
        assert_eq!(schedule.to_strings(), ["1s", "4s"]);
    }

    #[test]
    fn schedules_take_milliseconds_and_round_trip() {
        let schedule = RetrySchedule::parse(&["250ms", "2s", "15m", "1h"]).unwrap();
        assert_eq!(schedule.to_strings(), ["250ms", "2s", "15m", "1h"]);
        assert_eq!(RetrySchedule::parse::<&str>(&[]).unwrap().attempts(), 1);
    }

    #[test]
    fn bad_schedules_name_the_entry() {
        assert_eq!(RetrySchedule::parse(&["1s"; 11]), Err(InvalidSchedule::TooLong));
        for (entries, index) in
            [(vec!["1s", "soon"], 1), (vec!["25h"], 0), (vec!["1s", "2s", "3d"], 2), (vec!["-1s"], 0)]
        {
            match RetrySchedule::parse(&entries) {
                Err(InvalidSchedule::Entry { index: at, .. }) => assert_eq!(at, index, "{entries:?}"),
                other => panic!("{entries:?} gave {other:?}"),
            }
        }
        assert!(RetrySchedule::parse(&["24h"]).is_ok());
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let delay = Duration::from_secs(10);
        assert_eq!(with_jitter(delay, 0.2, 0.0), Duration::from_secs(8));
        assert_eq!(with_jitter(delay, 0.2, 0.5), delay);
        assert!(with_jitter(delay, 0.2, 0.999_999) <= Duration::from_secs(12));
        assert_eq!(with_jitter(delay, 0.0, 0.9), delay);
    }

    #[test]
    fn retry_after_is_honoured_between_the_delay_and_twice_it() {
        let scheduled = Duration::from_secs(4);
        assert_eq!(honour_retry_after(scheduled, None), scheduled);
        assert_eq!(honour_retry_after(scheduled, Some(Duration::from_secs(1))), scheduled);
        assert_eq!(honour_retry_after(scheduled, Some(Duration::from_secs(6))), Duration::from_secs(6));
        assert_eq!(honour_retry_after(scheduled, Some(Duration::from_secs(3600))), Duration::from_secs(8));
    }
}
