//! The idempotency key of a typed signal. Unstuck promises that sending the same event twice
//! does not capture it twice, where "the same" is `(signal_type, source, identity,
//! occurred_at)`. Senders retry with the identity spelled differently and the time in another
//! offset, so the key is taken over the canonical forms:
//!
//! - `signal_type` and `source` exactly as given (the source is a free string shown in
//!   attribution: `Segment` and `segment` are two systems);
//! - the normalised email, canonical LinkedIn URL and normalised domain (see
//!   [`super::identity`]); names and title are display only and do not count;
//! - `occurred_at` as an instant (the offset it was written in does not matter), truncated to
//!   whole microseconds, the precision Signalbox stores.
//!
//! The fields are encoded unambiguously before hashing: each is length-prefixed, and an
//! absent field is distinct from an empty one, so no two different tuples share an encoding.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::identity::Identity;

/// Names the encoding, so a future change of it cannot collide with keys made by this one.
const DOMAIN_SEPARATOR: &[u8] = b"signalbox.typed.natural_key.v1";

/// The hex SHA-256 natural key of a signal.
pub fn natural_key(signal_type: &str, source: &str, identity: &Identity, occurred_at: OffsetDateTime) -> String {
    let mut hash = Sha256::new();
    hash.update(DOMAIN_SEPARATOR);
    field(&mut hash, signal_type);
    field(&mut hash, source);
    optional(&mut hash, identity.email.as_deref());
    optional(&mut hash, identity.linkedin_url.as_deref());
    optional(&mut hash, identity.company_domain.as_deref());
    hash.update(unix_micros(occurred_at).to_be_bytes());
    hex::encode(hash.finalize())
}

/// Microseconds since the epoch, rounded towards the past (as [`crate::Timestamp`] does, so a
/// moment before 1970 truncates the same way a stored timestamp would).
fn unix_micros(at: OffsetDateTime) -> i128 {
    at.unix_timestamp_nanos().div_euclid(1_000)
}

fn field(hash: &mut Sha256, value: &str) {
    hash.update((value.len() as u64).to_be_bytes());
    hash.update(value.as_bytes());
}

fn optional(hash: &mut Sha256, value: Option<&str>) {
    match value {
        None => hash.update([0]),
        Some(value) => {
            hash.update([1]);
            field(hash, value);
        }
    }
}

/// Parses `occurred_at`. Unstuck documents "ISO 8601"; we take the RFC 3339 profile of it and
/// insist on an offset (`Z` or `+02:00`), because a local time without one names no instant
/// and would make the natural key depend on a guess.
pub fn parse_occurred_at(text: &str) -> Result<OffsetDateTime, &'static str> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| "must be an RFC 3339 timestamp with an offset, such as 2026-05-26T14:30:00Z")
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;

    fn ada() -> Identity {
        Identity {
            email: Some("ada@example.com".into()),
            linkedin_url: Some("https://www.linkedin.com/in/ada".into()),
            company_domain: Some("example.com".into()),
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            title: Some("CTO".into()),
        }
    }

    fn at(text: &str) -> OffsetDateTime {
        parse_occurred_at(text).unwrap()
    }

    fn key(identity: &Identity, occurred_at: OffsetDateTime) -> String {
        natural_key("custom_event", "segment", identity, occurred_at)
    }

    #[test]
    fn the_key_is_hex_sha256() {
        let k = key(&ada(), at("2026-05-26T14:30:00Z"));
        assert_eq!(k.len(), 64);
        assert!(k.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }

    #[test]
    fn the_same_instant_in_two_offsets_gives_the_same_key() {
        assert_eq!(key(&ada(), at("2026-05-26T14:30:00Z")), key(&ada(), at("2026-05-26T16:30:00+02:00")));
    }

    #[test]
    fn nanoseconds_below_a_microsecond_do_not_count() {
        assert_eq!(key(&ada(), at("2026-05-26T14:30:00.123456Z")), key(&ada(), at("2026-05-26T14:30:00.123456999Z")));
    }

    #[test]
    fn one_microsecond_makes_a_different_key() {
        let t = at("2026-05-26T14:30:00.123456Z");
        assert_ne!(key(&ada(), t), key(&ada(), t + Duration::microseconds(1)));
    }

    #[test]
    fn moments_before_the_epoch_truncate_towards_the_past() {
        let t = at("1969-12-31T23:59:59.999999Z");
        assert_eq!(key(&ada(), t), key(&ada(), t + Duration::nanoseconds(999)));
        assert_ne!(key(&ada(), t), key(&ada(), t + Duration::nanoseconds(1_000)));
    }

    #[test]
    fn names_and_title_do_not_count() {
        let plain = Identity { first_name: None, last_name: None, title: Some("VP".into()), ..ada() };
        let t = at("2026-05-26T14:30:00Z");
        assert_eq!(key(&ada(), t), key(&plain, t));
    }

    #[test]
    fn every_matching_field_counts() {
        let t = at("2026-05-26T14:30:00Z");
        let base = key(&ada(), t);
        assert_ne!(base, key(&Identity { email: Some("bob@example.com".into()), ..ada() }, t));
        assert_ne!(base, key(&Identity { linkedin_url: None, ..ada() }, t));
        assert_ne!(base, key(&Identity { company_domain: Some("example.org".into()), ..ada() }, t));
        assert_ne!(base, natural_key("other_event", "segment", &ada(), t));
    }

    #[test]
    fn the_source_is_compared_exactly() {
        let t = at("2026-05-26T14:30:00Z");
        assert_ne!(
            natural_key("custom_event", "Segment", &ada(), t),
            natural_key("custom_event", "segment", &ada(), t)
        );
        assert_ne!(
            natural_key("custom_event", "segment ", &ada(), t),
            natural_key("custom_event", "segment", &ada(), t)
        );
    }

    #[test]
    fn an_absent_field_differs_from_an_empty_one() {
        let t = at("2026-05-26T14:30:00Z");
        let absent = Identity { email: None, ..ada() };
        let empty = Identity { email: Some(String::new()), ..ada() };
        assert_ne!(key(&absent, t), key(&empty, t));
    }

    #[test]
    fn text_cannot_move_between_fields() {
        let t = at("2026-05-26T14:30:00Z");
        assert_ne!(natural_key("ab", "c", &ada(), t), natural_key("a", "bc", &ada(), t));
        let moved = Identity { email: None, linkedin_url: Some("ada@example.com".into()), ..ada() };
        let kept = Identity { linkedin_url: None, ..ada() };
        assert_ne!(key(&moved, t), key(&kept, t));
    }

    #[test]
    fn timestamps_need_an_offset() {
        assert!(parse_occurred_at("2026-05-26T14:30:00Z").is_ok());
        assert!(parse_occurred_at("2026-05-26T14:30:00+02:00").is_ok());
        assert!(parse_occurred_at("2026-05-26T14:30:00.5-05:30").is_ok());
        for bad in ["2026-05-26T14:30:00", "2026-05-26", "14:30:00Z", "yesterday", ""] {
            assert!(parse_occurred_at(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
