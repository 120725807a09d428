//! Operability: health, readiness, metrics, the OpenAPI document and its reference page.

pub mod docs;
pub mod health;
pub mod listener;
pub mod maintenance;
pub mod metrics;
