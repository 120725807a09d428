//! UI sessions and CSRF protection.
//!
//! Logging in to the UI starts an ordinary login session (the one `POST /v1/auth/login`
//! starts) and gives the browser an HttpOnly, SameSite=Lax cookie holding a random token;
//! only the token's SHA-256 is stored (`ui_sessions`). Every page reads the session from
//! the database, so logout, demotion and removal take effect at once.
//!
//! Every state-changing request must carry the CSRF token — a hidden `csrf` form field or an
//! `X-CSRF-Token` header — derived from the cookie's token (SHA-256 of `csrf:` + token): a
//! page of another site can make the browser send the cookie but cannot read the page that
//! holds the token. SameSite=Lax already keeps the cookie off cross-site POSTs; the token
//! covers older browsers and same-site attackers.

use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};
use signalbox_core::{Role, Timestamp};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::constraints::Fields;
use crate::auth::model::Caller;
use crate::auth::token::{generate_secret, hash_secret};
use crate::db::row;
use crate::state::AppState;
use crate::{Error, on_read, on_write};

pub const COOKIE_NAME: &str = "sbx_session";

/// A logged-in browser: who it acts as, and the CSRF token its forms carry.
pub struct UiSession {
    pub caller: Caller,
    pub csrf: String,
    /// The login session behind it (ended by logout).
    pub session_id: Uuid,
}

/// The CSRF token of a cookie token.
fn csrf_of(token: &str) -> String {
    hex::encode(Sha256::digest(format!("csrf:{token}").as_bytes()))
}

/// The value of cookie `name`, if the request has it (and it is not empty).
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(cookie, _)| *cookie == name)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

/// A form that carries nothing but its CSRF token (logout, revoke, delete…).
#[derive(serde::Deserialize)]
pub struct CsrfForm {
    pub csrf: Option<String>,
}

/// Not logged in (or the session ended): pages send the browser to the login page.
pub struct LoginRequired;

impl IntoResponse for LoginRequired {
    fn into_response(self) -> Response {
        let mut response = Redirect::to("/ui/login").into_response();
        response.headers_mut().insert(SET_COOKIE, clear_cookie());
        response
    }
}

impl FromRequestParts<AppState> for UiSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(token) = cookie(&parts.headers, COOKIE_NAME) else { return Err(LoginRequired.into_response()) };
        let hash = hash_secret(token);
        let session: Option<String> =
            on_read!(&state.db, |pool| sqlx::query_scalar("SELECT session_id FROM ui_sessions WHERE token_hash = $1")
                .bind(&hash)
                .fetch_optional(pool)
                .await)
            .map_err(|e| Error::from(e).into_response())?;
        let Some(session_id) = session else { return Err(LoginRequired.into_response()) };
        let session_id = row::id(&session_id).map_err(IntoResponse::into_response)?;
        let caller = crate::auth::store::caller_for_session(&state.db, session_id, state.clock.now())
            .await
            .map_err(IntoResponse::into_response)?;
        match caller {
            Some(caller) => Ok(UiSession { caller, csrf: csrf_of(token), session_id }),
            None => Err(LoginRequired.into_response()),
        }
    }
}

impl UiSession {
    /// Owner or admin: who manages endpoints, webhooks, types, profiles and action sets.
    pub fn is_admin(&self) -> bool {
        self.caller.role >= Role::Admin
    }

    /// `403` unless `sent` (the form field, else the `X-CSRF-Token` header) is this session's
    /// CSRF token.
    pub fn check_csrf(&self, form_field: Option<&str>, headers: &HeaderMap) -> Result<(), Error> {
        let sent = form_field.or_else(|| headers.get("x-csrf-token").and_then(|v| v.to_str().ok()));
        match sent {
            Some(sent) if bool::from(sent.as_bytes().ct_eq(self.csrf.as_bytes())) => Ok(()),
            _ => Err(Error::forbidden("the form is missing its CSRF token or it is stale; reload the page")),
        }
    }
}

/// A form posted from a UI page: the session, and the form's fields once its CSRF token
/// checked out (`403` otherwise, before the handler runs). The steps every form handler
/// starts with, in one place.
pub struct PostedForm {
    pub session: UiSession,
    pub fields: Fields,
}

impl FromRequest<AppState> for PostedForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let session = UiSession::from_request_parts(&mut parts, state).await?;
        let headers = parts.headers.clone();
        let Form(fields) = Form::<Vec<(String, String)>>::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let fields = Fields(fields);
        session.check_csrf(fields.get("csrf"), &headers).map_err(IntoResponse::into_response)?;
        Ok(Self { session, fields })
    }
}

/// Cookies are `Secure` when the server is reached over https (`--public-url`).
pub fn secure_cookies(state: &AppState) -> bool {
    state.config.public_url.as_deref().is_some_and(|url| url.starts_with("https://"))
}

/// Starts a UI session for login session `session_id`; returns the `Set-Cookie` value.
pub async fn start(state: &AppState, session_id: Uuid, now: Timestamp) -> Result<HeaderValue, Error> {
    let db = &state.db;
    let secret = generate_secret("sbxui_");
    on_write!(db, |pool| sqlx::query(
        "INSERT INTO ui_sessions (token_hash, session_id, created_at) VALUES ($1, $2, $3)"
    )
    .bind(&secret.hash)
    .bind(session_id.to_string())
    .bind(now.to_string())
    .execute(pool)
    .await
    .map(|_| ()))?;
    let secure = if secure_cookies(state) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{COOKIE_NAME}={}; Path=/; HttpOnly; SameSite=Lax{secure}", secret.secret))
        .map_err(|e| Error::internal(anyhow::anyhow!("session cookie: {e}")))
}

/// A `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("sbx_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}
