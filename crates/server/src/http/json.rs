//! `ApiJson<T>`: the JSON body extractor every route uses. Unlike axum's `Json`, each
//! rejection is problem+json: 415 for another content type, 413 over the body limit, 400 for
//! malformed JSON, 422 naming the field (`identity.email`, `events[0]`) for a wrong shape.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::state::AppState;

pub struct ApiJson<T>(pub T);

/// The limit is `--max-body-bytes`, read from the app's configuration (the router's
/// `DefaultBodyLimit` enforces the same number; here it names it in the 413).
impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        require_json_content_type(req.headers())?;
        let limit = state.config.max_body_bytes;
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::payload_too_large(limit)
            } else {
                Error::bad_request(format!("could not read the request body: {rejection}"))
            }
        })?;
        require_object(&bytes)?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Every request body of the API is a JSON object. (serde would read a struct from an array
/// too, and then name fields by position, which helps nobody.)
fn require_object(bytes: &[u8]) -> Result<(), Error> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        return Ok(());
    }
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(_) => Err(Error::invalid_field("body", "must be a JSON object")),
        Err(e) => Err(Error::bad_request(format!("the body is not valid JSON: {e}"))),
    }
}

/// `application/json` or any `application/*+json`, parameters allowed.
pub fn require_json_content_type(headers: &HeaderMap) -> Result<(), Error> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(Error::unsupported_media_type("send the body with Content-Type: application/json"));
    };
    let essence = value.to_str().unwrap_or_default().split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let is_json = essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"));
    if is_json {
        Ok(())
    } else {
        Err(Error::unsupported_media_type(format!("Content-Type {essence:?} is not supported; send application/json")))
    }
}

/// Parses JSON, naming the failing field on a shape error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_data() {
            let (field, message) = field_and_message(&path, &inner.to_string());
            Error::invalid_field(field, message)
        } else {
            Error::bad_request(format!("the body is not valid JSON: {inner}"))
        }
    })?;
    deserializer.end().map_err(|e| Error::bad_request(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

/// Turns serde's message into a field path and a message about that field. "missing field
/// `email`" at `identity` becomes field `identity.email`, "is required".
fn field_and_message(path: &str, message: &str) -> (String, String) {
    let parent = if path == "." { "" } else { path };
    let message = message.split(" at line ").next().unwrap_or(message);
    if let Some(name) = message.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`')) {
        let field = if parent.is_empty() { name.to_owned() } else { format!("{parent}.{name}") };
        return (field, "is required".to_owned());
    }
    let field = if parent.is_empty() { "body".to_owned() } else { parent.to_owned() };
    (field, message.to_owned())
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// The body, or `None` when it is over `limit` bytes (0 = no limit): refused unread when its
/// `Content-Length` says so, and a chunked body cut off at the limit instead of being read
/// whole. For handlers that must authenticate before they read the body (the ingest
/// endpoints), where an extractor would read it first.
pub async fn read_within_limit(headers: &HeaderMap, body: Body, limit: usize) -> Result<Option<Vec<u8>>, Error> {
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if limit > 0 && declared.is_some_and(|length| length > limit as u64) {
        return Ok(None);
    }
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Error::bad_request(format!("could not read the request body: {e}")))?;
        if limit > 0 && bytes.len() + chunk.len() > limit {
            return Ok(None);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        identity: Identity,
        events: Option<Vec<String>>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Identity {
        email: String,
    }

    fn field_of(json: &str) -> (u16, Vec<String>) {
        let error = parse_json::<Body>(json.as_bytes()).unwrap_err();
        let problem = error.problem();
        (problem.status, problem.errors.into_iter().map(|e| e.field).collect())
    }

    #[test]
    fn a_missing_nested_field_is_named_by_its_path() {
        assert_eq!(field_of(r#"{"identity":{}}"#), (422, vec!["identity.email".to_owned()]));
    }

    #[test]
    fn a_wrong_type_in_an_array_is_named_with_its_index() {
        assert_eq!(field_of(r#"{"identity":{"email":"a@b.c"},"events":["x",1]}"#), (422, vec!["events[1]".to_owned()]));
    }

    #[test]
    fn malformed_json_is_a_400() {
        assert_eq!(field_of(r#"{"identity":"#).0, 400);
        assert_eq!(field_of(r#"{"identity":{"email":"a@b.c"}} trailing"#).0, 400);
    }

    #[test]
    fn a_body_of_the_wrong_kind_names_the_body() {
        assert_eq!(field_of("[]"), (422, vec!["body".to_owned()]));
    }
}
