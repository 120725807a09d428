//! Flags reach applications (issue 7): SDK tokens and the Unleash client API, so the official
//! Unleash SDKs work against Signalbox by changing only the URL and the token.

pub mod applications;
pub mod auth;
pub mod client;
pub mod frontend;
pub mod import;
pub mod snapshot;
pub mod streaming;
pub mod tokens;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// The in-memory parts: tokens by hash and per-environment snapshots of the flags.
#[derive(Default)]
pub struct SdkRuntime {
    pub tokens: auth::TokenCache,
    pub snapshots: snapshot::Snapshots,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(applications::router())
        .merge(tokens::router())
        .merge(client::router())
        .merge(frontend::router())
        .merge(streaming::router())
        .merge(import::router())
}
