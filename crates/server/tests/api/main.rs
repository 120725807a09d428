//! Integration tests of the HTTP API: the real server, real SQLite (or Postgres with
//! `SIGNALBOX_TEST_POSTGRES`), real HTTP. One binary keeps link time down.

mod helpers;

mod actions;
mod api_tokens;
mod events;
mod flag_workflows;
mod flags;
mod http_conventions;
mod login;
mod members;
mod openapi;
mod operations;
mod roles;
mod sdk;
mod signals;
mod typed;
mod ui;
mod ui_browser;
mod ui_flags;
mod ui_more;
mod ui_settings;
mod ui_typed;
mod ui_webhooks;
mod webhooks;
mod workspaces;
