//! Keys people choose: project and environment keys (`[a-z0-9][a-z0-9-]{0,63}`) and flag
//! keys (`[A-Za-z0-9._-]{1,100}`, as Unleash allows in flag names).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidKey(&'static str);

macro_rules! key_type {
    ($name:ident, $check:ident, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn parse(text: &str) -> Result<Self, InvalidKey> {
                $check(text)?;
                Ok(Self(text.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn slug(text: &str) -> Result<(), InvalidKey> {
    const RULE: &str = "must be 1-64 characters of a-z, 0-9 and '-', starting with a letter or digit";
    let bytes = text.as_bytes();
    let first_ok = bytes.first().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let rest_ok = bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
    if first_ok && rest_ok && bytes.len() <= 64 { Ok(()) } else { Err(InvalidKey(RULE)) }
}

fn flag_key(text: &str) -> Result<(), InvalidKey> {
    const RULE: &str = "must be 1-100 characters of A-Z, a-z, 0-9, '.', '_' and '-'";
    let ok = !text.is_empty()
        && text.len() <= 100
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && text != "."
        && text != "..";
    if ok { Ok(()) } else { Err(InvalidKey(RULE)) }
}

key_type!(ProjectKey, slug, "A project's key, e.g. `default` or `checkout-v2`.");
key_type!(EnvironmentKey, slug, "An environment's key, e.g. `production`.");
key_type!(FlagKey, flag_key, "A flag's key, unique in its project, e.g. `new-checkout.v2`.");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_and_environment_keys_are_lowercase_slugs() {
        for good in ["default", "a", "prod-eu-1", "0day", &"x".repeat(64)] {
            assert!(ProjectKey::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "-lead", "Upper", "under_score", "dot.ted", "sp ace", &"x".repeat(65)] {
            assert!(EnvironmentKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn flag_keys_allow_dots_underscores_and_capitals() {
        for good in ["new-checkout", "Checkout.V2", "a_b", &"k".repeat(100)] {
            assert!(FlagKey::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "has space", "slash/y", "..", &"k".repeat(101)] {
            assert!(FlagKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}
