//! The OpenAPI 3.1 document. Paths and schemas come from the `#[utoipa::path]` annotations
//! collected by `routes!`; [`finish`] then adds what is the same for every operation, from
//! one place: the bearer security requirement (except on public routes) and the problem+json
//! error responses that the shared extractors can produce.

use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Response, ResponseBuilder};

use crate::error::{FieldError, Problem};

/// Routes anyone may call. Everything else needs `Authorization: Bearer`.
pub const PUBLIC_OPERATIONS: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/docs"),
    ("post", "/v1/auth/login"),
    // Authenticated with the endpoint's own tokens, not the bearer scheme.
    ("post", "/api/signal-endpoint/{name}"),
    // A CORS preflight carries no credentials.
    ("options", "/api/frontend"),
];

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Signalbox",
        description = "Signals in, reactions out: signal endpoints, feature flags, actions and signed webhooks.\n\n\
            Authenticate with `Authorization: Bearer <token>`, where the token is a session JWT from \
            `POST /v1/auth/login` or an API token (`sbx_…`). Errors are `application/problem+json` \
            (RFC 9457) and name the fields at fault."
    ),
    components(schemas(Problem, FieldError))
)]
pub struct ApiDoc;

/// Adds security, error responses and the hand-served routes to the collected document.
pub fn finish(document: &mut utoipa::openapi::OpenApi) {
    let components = document.components.get_or_insert_with(Default::default);
    let bearer = Http::builder()
        .scheme(HttpAuthScheme::Bearer)
        .description(Some("A session JWT from /v1/auth/login, or an API token (sbx_…)."))
        .build();
    components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
    add_event_schemas(components);

    add_served_documents(document);
    for (path, item) in document.paths.paths.iter_mut() {
        for (method, operation) in operations_mut(item) {
            let public = PUBLIC_OPERATIONS.contains(&(method, path.as_str()));
            complete_operation(operation, path, public);
        }
    }
}

fn operations_mut(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    let mut found = Vec::new();
    for (method, operation) in [
        ("get", item.get.as_mut()),
        ("post", item.post.as_mut()),
        ("put", item.put.as_mut()),
        ("patch", item.patch.as_mut()),
        ("delete", item.delete.as_mut()),
        ("options", item.options.as_mut()),
    ] {
        if let Some(operation) = operation {
            found.push((method, operation));
        }
    }
    found
}

fn problem(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content("application/problem+json", Content::new(Some(Ref::from_schema_name("Problem"))))
            .build(),
    )
}

fn complete_operation(operation: &mut Operation, path: &str, public: bool) {
    let mut errors: Vec<(&str, &str)> = Vec::new();
    if !public {
        operation.security = Some(vec![SecurityRequirement::new("bearer", Vec::<String>::new())]);
        errors.push(("401", "Missing, invalid, expired or revoked credentials"));
        errors.push(("403", "The credential's role or scope does not allow this"));
    }
    if operation.request_body.is_some() {
        errors.push(("400", "The body is not valid JSON"));
        errors.push(("413", "The body is larger than the limit"));
        errors.push(("415", "The body is not sent as application/json"));
        errors.push(("422", "A field is invalid; `errors` names it"));
    }
    if path.contains('{') {
        errors.push(("404", "No such resource in your workspace"));
    }
    if path == "/v1/auth/login" {
        errors.push(("401", "Wrong email or password"));
        errors.push(("429", "Too many failed logins; see Retry-After"));
    }
    errors.push(("500", "The server failed; the response's x-request-id finds it in the logs"));
    for (status, description) in errors {
        operation.responses.responses.entry(status.to_owned()).or_insert_with(|| problem(description));
    }
}

/// `/openapi.json` and `/docs` serve the document itself, so they are described here.
fn add_served_documents(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::HttpMethod;
    use utoipa::openapi::path::OperationBuilder;
    let json = OperationBuilder::new()
        .tag("operations")
        .summary(Some("This OpenAPI 3.1 document"))
        .response("200", Response::new("The OpenAPI document (application/json)"))
        .build();
    let docs = OperationBuilder::new()
        .tag("operations")
        .summary(Some("The API reference page, which works offline"))
        .response("200", Response::new("An HTML page"))
        .build();
    document.paths.add_path_operation("/openapi.json", vec![HttpMethod::Get], json);
    document.paths.add_path_operation("/docs", vec![HttpMethod::Get], docs);
}

/// The `data` of each event type, as component schemas named `event.<type>` (the catalogue's
/// JSON Schemas), so receivers can generate types for webhook payloads.
fn add_event_schemas(components: &mut utoipa::openapi::Components) {
    for event_type in signalbox_core::event_types::CATALOGUE {
        match serde_json::from_str::<RefOr<utoipa::openapi::Schema>>(event_type.schema) {
            Ok(schema) => {
                components.schemas.insert(format!("event.{}", event_type.name), schema);
            }
            Err(error) => tracing::error!(%error, event_type = event_type.name, "an event schema does not parse"),
        }
    }
}
