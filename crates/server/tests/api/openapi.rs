//! The OpenAPI document matches the router: every documented operation exists and enforces
//! the auth it declares, and no route is added outside the documented `routes!` macro.

use serde_json::Value;

use crate::helpers::spawn_app;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn operations(spec: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                found.push((method.to_owned(), path.clone(), operation.clone()));
            }
        }
    }
    found
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_the_problem_schema() {
    let app = spawn_app().await;
    let spec = app.get("/openapi.json", None).await;
    assert_eq!(spec.status, 200);
    assert!(spec.body["openapi"].as_str().unwrap().starts_with("3.1"), "{}", spec.body["openapi"]);
    assert!(spec.body["components"]["schemas"]["Problem"].is_object());
    assert_eq!(spec.body["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
}

#[tokio::test]
async fn every_documented_operation_is_served_and_enforces_its_declared_auth() {
    let app = spawn_app().await;
    let spec = app.get("/openapi.json", None).await.body;
    let operations = operations(&spec);
    assert!(operations.len() >= 20, "only {} operations documented", operations.len());
    for (method, path, operation) in operations {
        let concrete = path.replace("{id}", "00000000-0000-7000-8000-000000000000");
        let request = app.client.request(method.to_uppercase().parse().unwrap(), app.url(&concrete));
        let response = app.send(request).await;
        assert!(
            response.status != 404 || path.contains('{'),
            "{method} {path} is documented but not routed: {}",
            response.text
        );
        assert_ne!(response.status, 405, "{method} {path} is documented but not routed");
        let secured = operation["security"].as_array().is_some_and(|s| !s.is_empty());
        if secured {
            assert_eq!(response.status, 401, "{method} {path} declares bearer auth but answered {}", response.status);
        } else {
            assert_ne!(response.status, 401, "{method} {path} is documented as public but wants credentials");
        }
    }
}

#[tokio::test]
async fn every_operation_documents_success_and_problem_responses() {
    let app = spawn_app().await;
    let spec = app.get("/openapi.json", None).await.body;
    for (method, path, operation) in operations(&spec) {
        let responses = operation["responses"].as_object().expect("responses");
        assert!(responses.keys().any(|s| s.starts_with('2')), "{method} {path} has no success response");
        assert!(responses.contains_key("500"), "{method} {path} has no error response");
        if operation.get("requestBody").is_some() {
            for status in ["400", "413", "415", "422"] {
                let problem = &responses[status]["content"]["application/problem+json"]["schema"]["$ref"];
                assert_eq!(problem, "#/components/schemas/Problem", "{method} {path} {status}");
            }
        }
        assert!(operation["tags"].as_array().is_some_and(|t| !t.is_empty()), "{method} {path} has no tag");
    }
}

#[tokio::test]
async fn the_reference_page_and_its_assets_are_served_from_the_binary() {
    let app = spawn_app().await;
    let page = app.get("/docs", None).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("/docs/assets/swagger-ui-bundle.js"));
    assert!(!page.text.contains("https://"), "the page loads something from the network");
    for asset in ["/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/docs/assets/init.js"] {
        let response = app.get(asset, None).await;
        assert_eq!(response.status, 200, "{asset}");
        assert!(response.text.len() > 100, "{asset}");
    }
    assert!(app.get("/docs/assets/init.js", None).await.text.contains("/openapi.json"));
}

/// Routes registered with plain axum calls would be missing from the document. Only the
/// docs module (which serves the document itself, described by hand) and the admin UI (HTML
/// pages for browsers, not API) may use them.
#[test]
fn no_route_is_registered_outside_the_documented_router() {
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut offenders = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(source)];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && !path.ends_with("ops/docs.rs")
                && !path.components().any(|c| c.as_os_str() == "ui")
            {
                let text = std::fs::read_to_string(&path).unwrap();
                if text.contains(".route(") || text.contains(".route_service(") || text.contains(".nest_service(") {
                    offenders.push(path.display().to_string());
                }
            }
        }
    }
    assert!(offenders.is_empty(), "undocumented routes in {offenders:?}: use utoipa_axum::routes!");
}
