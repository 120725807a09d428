//! Timestamps as Signalbox stores and shows them: UTC, microsecond precision, rendered as
//! RFC 3339 with six fractional digits and `Z`. Truncating at creation means SQLite and
//! Postgres hold exactly the same value, and the fixed-width text sorts chronologically.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("must be an RFC 3339 timestamp such as 2026-04-01T12:00:00Z")]
pub struct InvalidTimestamp;

impl Timestamp {
    /// Wraps a moment, truncating it to whole microseconds in UTC.
    pub fn from_datetime(at: OffsetDateTime) -> Self {
        let utc = at.to_offset(UtcOffset::UTC);
        let micros = utc.microsecond();
        Self(utc.replace_microsecond(micros).expect("microsecond in range"))
    }

    pub fn from_unix_seconds(seconds: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp(seconds).ok().map(Self::from_datetime)
    }

    /// Parses any RFC 3339 timestamp (any offset, any precision).
    pub fn parse(text: &str) -> Result<Self, InvalidTimestamp> {
        OffsetDateTime::parse(text, &Rfc3339).map(Self::from_datetime).map_err(|_| InvalidTimestamp)
    }

    pub fn unix_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }

    pub fn as_datetime(self) -> OffsetDateTime {
        self.0
    }

    pub fn plus(self, duration: Duration) -> Self {
        Self::from_datetime(self.0 + duration)
    }

    pub fn minus(self, duration: Duration) -> Self {
        Self::from_datetime(self.0 - duration)
    }

    /// [`fmt::Display`] through `time`'s formatter, for the years it does not write itself.
    fn fmt_general(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.format(FORMAT).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }

    /// How long from `self` until `later`; zero when `later` is not later.
    pub fn until(self, later: Timestamp) -> Duration {
        let delta = later.0 - self.0;
        if delta.is_negative() { Duration::ZERO } else { delta.unsigned_abs() }
    }
}

impl fmt::Display for Timestamp {
    /// Written digit by digit for the years 0–9999: every signal renders two timestamps on
    /// the ingest path, and `time`'s general formatter (format items, a `String` per call)
    /// was ~2.5k instructions a request there (callgrind). Other years take `FORMAT`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.0;
        let Ok(year) = u32::try_from(at.year()) else { return self.fmt_general(f) };
        if year > 9999 {
            return self.fmt_general(f);
        }
        let mut text = *b"0000-00-00T00:00:00.000000Z";
        let fields = [
            (0, 4, year),
            (5, 2, u32::from(u8::from(at.month()))),
            (8, 2, u32::from(at.day())),
            (11, 2, u32::from(at.hour())),
            (14, 2, u32::from(at.minute())),
            (17, 2, u32::from(at.second())),
            (20, 6, at.microsecond()),
        ];
        for (start, width, mut value) in fields {
            for digit in text[start..start + width].iter_mut().rev() {
                *digit = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl std::str::FromStr for Timestamp {
    type Err = InvalidTimestamp;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::DateTime)))
            .examples(["2026-04-01T12:00:00.000000Z"])
            .into()
    }
}

impl utoipa::ToSchema for Timestamp {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_six_fractional_digits_and_z() {
        let at = Timestamp::parse("2026-04-01T14:00:00.123456789+02:00").unwrap();
        assert_eq!(at.to_string(), "2026-04-01T12:00:00.123456Z");
    }

    #[test]
    fn whole_seconds_still_show_six_digits() {
        let at = Timestamp::parse("2026-04-01T12:00:00Z").unwrap();
        assert_eq!(at.to_string(), "2026-04-01T12:00:00.000000Z");
    }

    #[test]
    fn the_digit_by_digit_rendering_matches_the_general_format() {
        let general = |at: Timestamp| at.0.format(FORMAT).unwrap();
        for text in [
            "0001-01-01T00:00:00Z",
            "0999-12-31T23:59:59.999999Z",
            "1970-01-01T00:00:00.000001Z",
            "2026-11-30T09:05:07.010203Z",
            "9999-12-31T23:59:59.999999Z",
        ] {
            let at = Timestamp::parse(text).unwrap();
            assert_eq!(at.to_string(), general(at), "{text}");
            assert_eq!(at.to_string(), text.replace("00:00:00Z", "00:00:00.000000Z"));
        }
    }

    #[test]
    fn rejects_text_that_is_not_rfc3339() {
        assert_eq!(Timestamp::parse("yesterday"), Err(InvalidTimestamp));
        assert_eq!(Timestamp::parse("2026-04-01"), Err(InvalidTimestamp));
    }

    #[test]
    fn text_order_is_time_order() {
        let earlier = Timestamp::parse("2026-04-01T09:59:59.999999Z").unwrap();
        let later = Timestamp::parse("2026-04-01T10:00:00Z").unwrap();
        assert!(earlier < later);
        assert!(earlier.to_string() < later.to_string());
    }
}
