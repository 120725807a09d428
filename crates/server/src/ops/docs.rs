//! `/openapi.json` and `/docs`. The reference page is Swagger UI, vendored in
//! `assets/vendor/swagger-ui` and embedded in the binary: nothing is fetched at build or run
//! time, so it works offline.

use axum::Router;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use utoipa::openapi::OpenApi;

const BUNDLE_JS: &[u8] = include_bytes!("../../assets/vendor/swagger-ui/swagger-ui-bundle.js");
const BUNDLE_CSS: &[u8] = include_bytes!("../../assets/vendor/swagger-ui/swagger-ui.css");

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Signalbox API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="reference"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script>
</body>
</html>
"#;

// `validatorUrl: null` keeps the page from calling the public validator.
const INIT_JS: &str = r##"window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#reference",
  validatorUrl: null,
  deepLinking: true,
  persistAuthorization: false
});
"##;

/// The routes that serve the document and the page. They are documented by hand in
/// `http::openapi` (they serve the document itself, so they cannot come from `routes!`).
pub fn router<S: Clone + Send + Sync + 'static>(document: OpenApi) -> Router<S> {
    let json = serde_json::to_string(&document).unwrap_or_else(|_| "{}".to_owned());
    Router::new()
        .route("/openapi.json", get(move || async move { ([(CONTENT_TYPE, "application/json")], json) }))
        .route("/docs", get(|| async { Html(PAGE) }))
        .route("/docs/assets/swagger-ui-bundle.js", get(|| async { asset("text/javascript", BUNDLE_JS) }))
        .route("/docs/assets/swagger-ui.css", get(|| async { asset("text/css", BUNDLE_CSS) }))
        .route("/docs/assets/init.js", get(|| async { asset("text/javascript", INIT_JS.as_bytes()) }))
}

fn asset(content_type: &'static str, body: &'static [u8]) -> Response {
    ([(CONTENT_TYPE, content_type), (CACHE_CONTROL, "public, max-age=86400")], body).into_response()
}
