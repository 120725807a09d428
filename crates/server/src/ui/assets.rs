//! Static assets, embedded in the binary: htmx (vendored from npm, see `assets/VENDORED.md`),
//! the stylesheet and the live view's script.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use crate::Error;

const FILES: &[(&str, &str, &str)] = &[
    ("htmx.min.js", "text/javascript; charset=utf-8", include_str!("assets/htmx.min.js")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("assets/app.js")),
    ("app.css", "text/css; charset=utf-8", include_str!("assets/app.css")),
];

pub async fn serve(Path(file): Path<String>) -> Result<Response, Error> {
    let (_, content_type, body) =
        FILES.iter().find(|(name, _, _)| *name == file).ok_or_else(|| Error::not_found("no such asset"))?;
    Ok(([(CONTENT_TYPE, *content_type), (CACHE_CONTROL, "public, max-age=3600")], *body).into_response())
}
