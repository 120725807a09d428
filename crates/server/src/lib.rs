//! The Signalbox service: storage, authentication and the HTTP API, organised by feature.
#![forbid(unsafe_code)]

pub mod actions;
pub mod admin;
pub mod app;
pub mod auth;
pub mod bootstrap;
pub mod config;
pub mod config_file;
pub mod db;
pub mod duration;
pub mod error;
pub mod events;
pub mod flags;
pub mod http;
pub mod ops;
pub mod sdk;
pub mod secret_key;
pub mod signals;
pub mod state;
pub mod telemetry;
pub mod typed;
pub mod ui;
pub mod webhooks;
pub mod workspaces;

pub use app::Application;
pub use error::Error;
