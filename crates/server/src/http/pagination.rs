//! List conventions: `?limit=50&offset=0` (limit 1–100) answered as
//! `{data,total,limit,offset,has_more}`; high-volume lists also take `?before=<cursor>` and
//! answer `{data,limit,has_more,next_cursor}`.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};

use crate::Error;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 100;

/// Validated offset paging parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Deserialize)]
struct RawPage {
    limit: Option<String>,
    offset: Option<String>,
}

impl PageRequest {
    pub fn parse(limit: Option<&str>, offset: Option<&str>) -> Result<Self, Error> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(text) => match text.parse::<i64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => return Err(Error::invalid_field("limit", "must be a whole number from 1 to 100")),
            },
        };
        let offset = match offset {
            None => 0,
            Some(text) => match text.parse::<i64>() {
                Ok(n) if n >= 0 => n,
                _ => return Err(Error::invalid_field("offset", "must be a whole number, 0 or more")),
            },
        };
        Ok(Self { limit, offset })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageRequest {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(raw) = Query::<RawPage>::from_request_parts(parts, state)
            .await
            .map_err(|e| Error::bad_request(format!("invalid query string: {e}")))?;
        Self::parse(raw.limit.as_deref(), raw.offset.as_deref())
    }
}

/// One page of an offset-paged list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Paginated<T> {
    pub data: Vec<T>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    pub has_more: bool,
}

impl<T> Paginated<T> {
    pub fn new(data: Vec<T>, total: i64, page: PageRequest) -> Self {
        let has_more = page.offset + (data.len() as i64) < total;
        Self { data, total, limit: page.limit, offset: page.offset, has_more }
    }
}

/// Validated cursor paging parameters: `?limit=` (1–100) and `?before=<cursor>` (a cursor from
/// a previous page's `next_cursor`; absent for the newest page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorRequest {
    pub limit: i64,
    pub before: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawCursor {
    limit: Option<String>,
    before: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for CursorRequest {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(raw) = Query::<RawCursor>::from_request_parts(parts, state)
            .await
            .map_err(|e| Error::bad_request(format!("invalid query string: {e}")))?;
        let PageRequest { limit, .. } = PageRequest::parse(raw.limit.as_deref(), None)?;
        Ok(Self { limit, before: raw.before.filter(|b| !b.is_empty()) })
    }
}

impl CursorRequest {
    /// The cursor as a sequence number, for lists ordered by an integer.
    pub fn before_seq(&self) -> Result<Option<i64>, Error> {
        self.before
            .as_deref()
            .map(|text| text.parse::<i64>().ok().filter(|n| *n > 0))
            .map(|n| n.ok_or_else(|| Error::invalid_field("before", "must be a cursor from next_cursor")))
            .transpose()
    }
}

/// One page of a cursor-paged list (newest first; `next_cursor` goes in `?before=`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CursorPage<T> {
    pub data: Vec<T>,
    pub limit: i64,
    pub has_more: bool,
    pub next_cursor: Option<String>,
}

impl<T> CursorPage<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only tells that more exist.
    pub fn from_overfetch(mut rows: Vec<T>, limit: i64, cursor_of: impl Fn(&T) -> String) -> Self {
        let has_more = rows.len() as i64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        let next_cursor = if has_more { rows.last().map(cursor_of) } else { None };
        Self { data: rows, limit, has_more, next_cursor }
    }
}

impl utoipa::IntoParams for CursorRequest {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        vec![
            ParameterBuilder::new()
                .name("limit")
                .parameter_in(ParameterIn::Query)
                .description(Some("Items per page, 1–100 (default 50)"))
                .schema(Some(
                    ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).maximum(Some(MAX_LIMIT)).build(),
                ))
                .build(),
            ParameterBuilder::new()
                .name("before")
                .parameter_in(ParameterIn::Query)
                .description(Some("The `next_cursor` of the previous page; absent for the newest page"))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String).build()))
                .build(),
        ]
    }
}

impl utoipa::IntoParams for PageRequest {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let integer = |min: i64, max: Option<i64>| {
            ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(min)).maximum(max).build()
        };
        vec![
            ParameterBuilder::new()
                .name("limit")
                .parameter_in(ParameterIn::Query)
                .description(Some("Items per page, 1–100 (default 50)"))
                .schema(Some(integer(1, Some(MAX_LIMIT))))
                .build(),
            ParameterBuilder::new()
                .name("offset")
                .parameter_in(ParameterIn::Query)
                .description(Some("Items to skip (default 0)"))
                .schema(Some(integer(0, None)))
                .build(),
        ]
    }
}

/// A `true`/`false` query parameter; anything else is a 422 naming it (serde's own error
/// would be a plain-text 400).
pub fn query_flag(value: Option<&str>, field: &str) -> Result<Option<bool>, Error> {
    match value {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(Error::invalid_field(field, "must be true or false")),
    }
}

/// `?before=` on a list that pages either way: a cursor (a positive integer from
/// `next_cursor`), never together with `?offset=`.
pub fn before_cursor(before: Option<&str>, offset: Option<&str>) -> Result<Option<i64>, Error> {
    match before {
        None => Ok(None),
        Some(_) if offset.is_some() => Err(Error::invalid_field("before", "use either offset or before, not both")),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| Error::invalid_field("before", "must be a cursor from next_cursor")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default_and_are_bounded() {
        assert_eq!(PageRequest::parse(None, None).unwrap(), PageRequest { limit: 50, offset: 0 });
        assert!(PageRequest::parse(Some("0"), None).is_err());
        assert!(PageRequest::parse(Some("101"), None).is_err());
        assert!(PageRequest::parse(Some("ten"), None).is_err());
        assert!(PageRequest::parse(None, Some("-1")).is_err());
    }

    #[test]
    fn has_more_is_true_until_the_last_page() {
        let page = PageRequest { limit: 2, offset: 0 };
        assert!(Paginated::new(vec![1, 2], 3, page).has_more);
        let last = PageRequest { limit: 2, offset: 2 };
        assert!(!Paginated::new(vec![3], 3, last).has_more);
    }

    #[test]
    fn cursor_pages_point_at_their_last_row() {
        let page = CursorPage::from_overfetch(vec![9, 8, 7], 2, |n| n.to_string());
        assert_eq!((page.data, page.has_more, page.next_cursor), (vec![9, 8], true, Some("8".to_owned())));
        let last = CursorPage::from_overfetch(vec![1], 2, |n| n.to_string());
        assert_eq!(last.next_cursor, None);
    }
}
