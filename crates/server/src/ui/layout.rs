//! The page frame every UI page shares: head (title, CSRF meta, assets), header with the
//! workspace, role and logout, and the navigation.

use maud::{DOCTYPE, Markup, html};

use super::session::UiSession;
use crate::Error;
use crate::error::FieldError;

/// Which navigation entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    SignalEndpoints,
    Webhooks,
    Flags,
    Actions,
    TypedSignals,
    Settings,
}

const NAV: &[(Section, &str, &str)] = &[
    (Section::Overview, "Overview", "/ui/"),
    (Section::SignalEndpoints, "Signal endpoints", "/ui/signal-endpoints"),
    (Section::Webhooks, "Webhooks", "/ui/webhooks"),
    (Section::Flags, "Flags", "/ui/flags"),
    (Section::Actions, "Actions", "/ui/actions"),
    (Section::TypedSignals, "Typed signals", "/ui/typed"),
    (Section::Settings, "Settings", "/ui/settings"),
];

/// A page for a logged-in user: `title` is also the page's one `<h1>`.
pub fn page(session: &UiSession, section: Section, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                (head(title))
                meta name="csrf-token" content=(session.csrf);
            }
            body {
                header.top {
                    a.brand href="/ui/" { "Signalbox" }
                    nav aria-label="Main" {
                        @for (entry, label, href) in NAV {
                            a href=(href) aria-current=[(*entry == section).then_some("page")] { (label) }
                        }
                    }
                    span.who { "Role: " (session.caller.role) }
                    form method="post" action="/ui/logout" {
                        (csrf_field(session))
                        button type="submit" { "Log out" }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
                script src="/ui/assets/htmx.min.js" defer {}
                script src="/ui/assets/app.js" defer {}
            }
        }
    }
}

/// A page for someone not logged in (the login page).
pub fn bare_page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head { (head(title)) }
            body {
                main.narrow {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

fn head(title: &str) -> Markup {
    html! {
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        title { (title) " · Signalbox" }
        link rel="stylesheet" href="/ui/assets/app.css";
    }
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(session: &UiSession) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// A labelled text input with the API's error for its field, if any, next to it.
pub fn text_input(id: &str, name: &str, label: &str, value: &str, errors: &[FieldError], required: bool) -> Markup {
    let error = errors.iter().find(|e| e.field == name);
    html! {
        div.field {
            label for=(id) { (label) }
            input id=(id) name=(name) type="text" value=(value) required[required]
                aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| format!("{id}-error"))];
            @if let Some(error) = error {
                p.error id=(format!("{id}-error")) { (error.message) }
            }
        }
    }
}

/// The fields an error names, to show next to their inputs.
pub fn field_errors(error: Option<&Error>) -> Vec<FieldError> {
    error.map(|e| e.problem().errors).unwrap_or_default()
}

/// The error's text when it names no field, to show above the form.
pub fn general_error(error: Option<&Error>) -> Option<String> {
    error.filter(|e| e.problem().errors.is_empty()).map(|e| e.problem().detail)
}

/// A problem that is not about one field, shown above a form.
pub fn form_error(message: Option<&str>) -> Markup {
    html! {
        @if let Some(message) = message {
            p.error role="alert" { (message) }
        }
    }
}

/// JSON pretty-printed for a `<pre>`.
pub fn pretty_json(raw: &str) -> Markup {
    let pretty = serde_json::from_str::<serde_json::Value>(raw)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| raw.to_owned());
    html! { pre.json { (pretty) } }
}

/// An error as a page: the status, the problem's title and detail, and a way back.
pub fn error_page(status: axum::http::StatusCode, title: &str, detail: &str) -> Markup {
    bare_page(
        title,
        html! {
            p.error role="alert" { (detail) }
            p.lead { "Status " (status.as_u16()) ". Back to the " a href="/ui/" { "overview" } "." }
        },
    )
}
