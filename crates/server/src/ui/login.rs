//! `/ui/login` and `/ui/logout`.

use std::net::SocketAddr;

use axum::Form;
use axum::extract::{ConnectInfo, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{bare_page, form_error};
use super::session::{self, CsrfForm, UiSession};
use crate::Error;
use crate::auth::login::start_session;
use crate::auth::token::generate_secret;
use crate::state::AppState;
use subtle::ConstantTimeEq;

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    csrf: Option<String>,
}

/// The login form's own CSRF protection, before there is a session: a random token in a
/// SameSite=Strict cookie scoped to `/ui/login` and the same token in the form (double
/// submit). Another site can neither read nor set the cookie, so it cannot post the form —
/// which would otherwise log a browser in to the attacker's account.
const LOGIN_COOKIE: &str = "sbx_login";

/// The login page with its CSRF token: the browser's, or a new one (and its cookie).
fn login_response(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    email: &str,
    error: Option<&str>,
) -> Response {
    let existing = session::cookie(headers, LOGIN_COOKIE).map(str::to_owned);
    let token = existing.clone().unwrap_or_else(|| generate_secret("").secret);
    let mut response = (status, login_page(&token, email, error)).into_response();
    let secure = if session::secure_cookies(state) { "; Secure" } else { "" };
    if existing.is_none()
        && let Ok(cookie) =
            HeaderValue::from_str(&format!("{LOGIN_COOKIE}={token}; Path=/ui/login; HttpOnly; SameSite=Strict{secure}"))
    {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    response
}

fn login_page(csrf: &str, email: &str, error: Option<&str>) -> Markup {
    bare_page(
        "Log in",
        html! {
            (form_error(error))
            form method="post" action="/ui/login" {
                input type="hidden" name="csrf" value=(csrf);
                div.field {
                    label for="email" { "Email" }
                    input id="email" name="email" type="email" autocomplete="username" value=(email) required;
                }
                div.field {
                    label for="password" { "Password" }
                    input id="password" name="password" type="password" autocomplete="current-password" required;
                }
                button type="submit" { "Log in" }
            }
        },
    )
}

pub async fn page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    login_response(&state, &headers, StatusCode::OK, "", None)
}

/// Checks the form's CSRF token against its cookie, then the credentials as
/// `POST /v1/auth/login` does (same throttle), and sets the session cookie.
pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let matches = match (session::cookie(&headers, LOGIN_COOKIE), form.csrf.as_deref()) {
        (Some(cookie), Some(sent)) => bool::from(cookie.as_bytes().ct_eq(sent.as_bytes())),
        _ => false,
    };
    if !matches {
        let message = "The login form expired; it has been reloaded, please log in again.";
        return login_response(&state, &headers, StatusCode::FORBIDDEN, &form.email, Some(message));
    }
    let started = match start_session(&state, peer.ip(), &form.email, &form.password, None).await {
        Ok(started) => started,
        Err(error) => {
            let status = error.status();
            let message = match status {
                StatusCode::UNPROCESSABLE_ENTITY => "Enter your email address and password.".to_owned(),
                _ => error.problem().detail,
            };
            let mut response = login_response(&state, &headers, status, &form.email, Some(&message));
            if let Some(retry) = error.into_response().headers().get("retry-after").cloned() {
                response.headers_mut().insert("retry-after", retry);
            }
            return response;
        }
    };
    match session::start(&state, started.session_id, state.clock.now()).await {
        Ok(cookie) => ([(SET_COOKIE, cookie)], Redirect::to("/ui/")).into_response(),
        Err(error) => error.into_response(),
    }
}

/// Ends the login session behind the cookie, and the cookie.
pub async fn logout(
    State(state): State<AppState>,
    session: UiSession,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Error> {
    session.check_csrf(form.csrf.as_deref(), &headers)?;
    crate::auth::store::end_session(&state.db, session.session_id, state.clock.now()).await?;
    Ok(([(SET_COOKIE, session::clear_cookie())], Redirect::to("/ui/login")).into_response())
}
