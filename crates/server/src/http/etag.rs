//! Optimistic concurrency: responses carry `ETag: "<version>"`; a write with `If-Match`
//! naming another version is refused with 412, so two people editing the same thing cannot
//! silently overwrite each other. Without `If-Match` the write applies (last writer wins).

use axum::extract::FromRequestParts;
use axum::http::header::{ETAG, IF_MATCH};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};

use crate::Error;

/// The entity tag of a version.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// The `ETag` header for a version.
pub fn etag_header(version: i64) -> [(HeaderName, HeaderValue); 1] {
    [(ETAG, HeaderValue::from_str(&etag(version)).expect("digits and quotes are a valid header value"))]
}

/// The request's `If-Match`, if any.
#[derive(Debug, Clone, Default)]
pub struct IfMatch(Option<String>);

impl IfMatch {
    /// `If-Match` naming `version`: what a UI form that showed that version sends back.
    pub fn version(version: i64) -> Self {
        Self(Some(etag(version)))
    }

    /// 412 unless `If-Match` is absent, `*`, or lists the current version's tag (weak tags
    /// compare by their value, as `W/"3"` is what some proxies turn `"3"` into).
    pub fn check(&self, current_version: i64) -> Result<(), Error> {
        let Some(header) = &self.0 else { return Ok(()) };
        let current = etag(current_version);
        let matches =
            header.split(',').map(|tag| tag.trim().trim_start_matches("W/")).any(|tag| tag == "*" || tag == current);
        if matches { Ok(()) } else { Err(Error::precondition_failed(&current)) }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.headers.get(IF_MATCH) {
            None => Ok(Self(None)),
            Some(value) => value
                .to_str()
                .map(|text| Self(Some(text.to_owned())))
                .map_err(|_| Error::bad_request("If-Match is not a readable header")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_accepts_the_current_tag_star_and_weak_forms_only() {
        assert!(IfMatch(None).check(3).is_ok());
        assert!(IfMatch(Some("\"3\"".into())).check(3).is_ok());
        assert!(IfMatch(Some("*".into())).check(3).is_ok());
        assert!(IfMatch(Some("W/\"3\"".into())).check(3).is_ok());
        assert!(IfMatch(Some("\"1\", \"3\"".into())).check(3).is_ok());
        assert_eq!(IfMatch(Some("\"2\"".into())).check(3).unwrap_err().status().as_u16(), 412);
    }
}
