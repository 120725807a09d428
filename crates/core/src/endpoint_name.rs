//! A signal endpoint's name: it is a URL path segment (`/api/signal-endpoint/{name}`), so
//! 1–100 characters of `A-Z a-z 0-9 _ -`.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EndpointName(String);

impl EndpointName {
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        if text.is_empty() {
            return Err("must not be empty");
        }
        if text.len() > 100 {
            return Err("must be at most 100 characters");
        }
        if !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err("may contain only letters, digits, _ and -");
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EndpointName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_url_safe_segments() {
        assert!(EndpointName::parse("deploys_2-prod").is_ok());
        for bad in ["", "has space", "slash/y", "dot.ted", "ünï", &"x".repeat(101)] {
            assert!(EndpointName::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(EndpointName::parse(&"x".repeat(100)).is_ok());
    }
}
