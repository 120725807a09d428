//! The crate's one error type. Client errors carry a status and an RFC 9457 problem body;
//! everything else is logged with its cause chain and answered with an opaque 500.

use std::fmt;

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One invalid field: `field` is a path into the request (`identity.email`, `events[0]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// An `application/problem+json` body.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem, e.g. `/problems/validation-error`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The fields at fault; empty when the problem is not about a field.
    pub errors: Vec<FieldError>,
    /// Members particular to the problem type, e.g. `limit` for `limit-exceeded`.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

/// Boxed so that `Result<T, Error>` stays small on the happy path.
pub struct Error(Box<Inner>);

struct Inner {
    status: StatusCode,
    kind: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    headers: Vec<(HeaderName, HeaderValue)>,
    extensions: serde_json::Map<String, serde_json::Value>,
    internal: Option<anyhow::Error>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    fn client(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            status,
            kind,
            detail: detail.into(),
            errors: Vec::new(),
            headers: Vec::new(),
            extensions: serde_json::Map::new(),
            internal: None,
        }))
    }

    /// 400: the request cannot be read (malformed JSON, bad header).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::client(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    /// 422 for one field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::invalid_fields(vec![FieldError { field: field.into(), message: message.into() }])
    }

    /// 422 for several fields at once.
    pub fn invalid_fields(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} fields are invalid", errors.len()),
        };
        let mut error = Self::client(StatusCode::UNPROCESSABLE_ENTITY, "validation-error", detail);
        error.0.errors = errors;
        error
    }

    /// 401 with `WWW-Authenticate: Bearer`.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::client(StatusCode::UNAUTHORIZED, "unauthorized", detail)
            .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::client(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::client(StatusCode::NOT_FOUND, "not-found", detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::client(StatusCode::CONFLICT, "conflict", detail)
    }

    /// 409: a count limit (e.g. `max_signal_endpoints`) is reached. The problem carries
    /// `limit: {name, value}`.
    pub fn limit_exceeded(name: &str, value: u64) -> Self {
        let mut error = Self::client(
            StatusCode::CONFLICT,
            "limit-exceeded",
            format!("the limit {name} of {value} is reached; delete something first or raise the limit"),
        );
        error.0.extensions.insert("limit".to_owned(), serde_json::json!({ "name": name, "value": value }));
        error
    }

    /// 412: `If-Match` names a version that is no longer current.
    pub fn precondition_failed(current_etag: &str) -> Self {
        let mut error = Self::client(
            StatusCode::PRECONDITION_FAILED,
            "precondition-failed",
            format!("the resource changed since you read it; its ETag is now {current_etag}: read it again"),
        );
        error.0.extensions.insert("etag".to_owned(), serde_json::json!(current_etag));
        error
    }

    /// 409 with problem type `flag-killed`: the kill switch forbids enabling the flag in
    /// these environments until it is revived.
    pub fn flag_killed(environments: &[String]) -> Self {
        let mut error = Self::client(
            StatusCode::CONFLICT,
            "flag-killed",
            format!("the flag is killed in {}; revive it first", environments.join(", ")),
        );
        error.0.extensions.insert("environments".to_owned(), serde_json::json!(environments));
        error
    }

    pub fn is_limit_exceeded(&self) -> bool {
        self.0.kind == "limit-exceeded"
    }

    /// The same problem with another status (compatibility paths answer some errors as
    /// their original product does).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.0.status = status;
        self
    }

    pub fn method_not_allowed() -> Self {
        Self::client(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "this path does not accept that method")
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::client(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            format!("the request body is larger than the limit of {limit} bytes"),
        )
    }

    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::client(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", detail)
    }

    /// 429 with `Retry-After` in whole seconds (at least 1).
    pub fn too_many_requests(detail: impl Into<String>, retry_after: std::time::Duration) -> Self {
        let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        Self::client(StatusCode::TOO_MANY_REQUESTS, "too-many-requests", detail)
            .with_header(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)))
    }

    pub fn service_unavailable(detail: impl Into<String>) -> Self {
        Self::client(StatusCode::SERVICE_UNAVAILABLE, "service-unavailable", detail)
    }

    /// A write that was not acknowledged because an fsync of SQLite's WAL failed: none is
    /// until the server restarts (the failure is logged once and named by `/readyz`).
    pub fn not_durable() -> Self {
        Self::service_unavailable(
            "the write could not be made durable: an fsync of the database's WAL failed, and no write is \
             acknowledged until the server restarts (see /readyz)",
        )
    }

    /// A failure that is not the client's: logged, answered as an opaque 500.
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        let mut internal = Self::client(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            "the server failed to handle the request",
        );
        internal.0.internal = Some(error.into());
        internal
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.0.headers.push((name, value));
        self
    }

    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    pub fn problem(&self) -> Problem {
        let inner = &self.0;
        Problem {
            problem_type: format!("/problems/{}", inner.kind),
            title: inner.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: inner.status.as_u16(),
            detail: inner.detail.clone(),
            errors: inner.errors.clone(),
            extensions: inner.extensions.clone(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.internal {
            Some(error) => write!(f, "{error:#}"),
            None => f.write_str(&self.0.detail),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({}, {self})", self.0.status)
    }
}

impl std::error::Error for Error {}

impl From<sqlx::Error> for Error {
    /// A unique violation that a handler did not map itself is still the client's conflict
    /// (two requests racing to create the same thing), not a server failure.
    fn from(error: sqlx::Error) -> Self {
        if crate::db::is_unique_violation(&error) {
            return Self::conflict("a resource with these values already exists");
        }
        if crate::db::is_refused_commit(&error) {
            return Self::not_durable();
        }
        Self::internal(error)
    }
}

impl From<rusqlite::Error> for Error {
    /// Only the group-commit writers use a direct SQLite connection (`db::DirectConnection`),
    /// for inserts whose keys are new ids: nothing there is the client's to fix.
    fn from(error: rusqlite::Error) -> Self {
        Self::internal(error)
    }
}

impl From<anyhow::Error> for Error {
    fn from(error: anyhow::Error) -> Self {
        Self::internal(error)
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Some(error) = &self.0.internal {
            tracing::error!(error = format!("{error:#}"), "request failed");
        }
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (self.0.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        for (name, value) in self.0.headers {
            headers.insert(name, value);
        }
        response
    }
}

/// Attaches a field name to a validation failure: `Email::parse(s).field("email")?`.
pub trait FieldResult<T> {
    fn field(self, name: &str) -> Result<T>;
}

impl<T, E: fmt::Display> FieldResult<T> for std::result::Result<T, E> {
    fn field(self, name: &str) -> Result<T> {
        self.map_err(|e| Error::invalid_field(name, e.to_string()))
    }
}
