//! `/ui/login` and `/ui/logout`.

use std::net::SocketAddr;

use axum::Form;
use axum::extract::{ConnectInfo, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{bare_page, form_error};
use super::session::{self, CsrfForm, UiSession};
use crate::Error;
use crate::auth::login::start_session;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

fn login_page(email: &str, error: Option<&str>) -> Markup {
    bare_page(
        "Log in",
        html! {
            (form_error(error))
            form method="post" action="/ui/login" {
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

pub async fn page() -> Markup {
    login_page("", None)
}

/// Checks the credentials as `POST /v1/auth/login` does (same throttle) and sets the cookie.
/// The login form needs no CSRF token: there is no session yet to ride on.
pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<LoginForm>,
) -> Response {
    let started = match start_session(&state, peer.ip(), &form.email, &form.password, None).await {
        Ok(started) => started,
        Err(error) => {
            let status = error.status();
            let message = match status {
                StatusCode::UNPROCESSABLE_ENTITY => "Enter your email address and password.".to_owned(),
                _ => error.problem().detail,
            };
            let mut response = (status, login_page(&form.email, Some(&message))).into_response();
            if let Some(retry) = error.into_response().headers().get("retry-after").cloned() {
                response.headers_mut().insert("retry-after", retry);
            }
            return response;
        }
    };
    let secure = state.config.public_url.as_deref().is_some_and(|url| url.starts_with("https://"));
    match session::start(&state.db, started.session_id, state.clock.now(), secure).await {
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
