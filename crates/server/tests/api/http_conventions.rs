use serde_json::json;

use crate::helpers::{assert_problem, spawn_app, spawn_app_with};

#[tokio::test]
async fn malformed_json_is_a_400_problem_and_writes_nothing() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let request = app
        .client
        .post(app.url("/v1/api-tokens"))
        .bearer_auth(&owner)
        .header("content-type", "application/json")
        .body(r#"{"name": "x", "role": "#);
    assert_problem(&app.send(request).await, 400, None);
    assert_eq!(app.count_rows("api_tokens").await, 0);
}

#[tokio::test]
async fn a_body_that_is_not_sent_as_json_is_a_415_problem() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let body = r#"{"name":"x","role":"viewer"}"#;
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let mut request = app.client.post(app.url("/v1/api-tokens")).bearer_auth(&owner).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        assert_problem(&app.send(request).await, 415, None);
    }
    assert_eq!(app.count_rows("api_tokens").await, 0);
    // Parameters and +json types are JSON too.
    for content_type in ["application/json; charset=utf-8", "application/merge-patch+json"] {
        let request = app
            .client
            .post(app.url("/v1/api-tokens"))
            .bearer_auth(&owner)
            .header("content-type", content_type)
            .body(body);
        assert_eq!(app.send(request).await.status, 201, "{content_type}");
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_problem_and_writes_nothing() {
    let app = spawn_app_with(|c| c.max_body_bytes = 256).await;
    let owner = app.login_owner().await;
    let body = json!({ "name": "x".repeat(400), "role": "viewer" });
    let response = app.post_json("/v1/api-tokens", Some(&owner), &body).await;
    assert_problem(&response, 413, None);
    assert!(response.body["detail"].as_str().unwrap().contains("256"), "{}", response.text);
    assert_eq!(app.count_rows("api_tokens").await, 0);
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_cut_off_with_a_413() {
    let app = spawn_app_with(|c| c.max_body_bytes = 256).await;
    let owner = app.login_owner().await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let chunk = format!(r#"{{"name":"{}","role":"viewer"}}"#, "y".repeat(600));
    let request = format!(
        "POST /v1/api-tokens HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {owner}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         {:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    let response = app.send_raw(request).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.to_ascii_lowercase().contains("content-type: application/problem+json"), "{response}");
    assert_eq!(app.count_rows("api_tokens").await, 0);
}

#[tokio::test]
async fn a_field_of_the_wrong_type_is_a_422_naming_it() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let response = app.post_json("/v1/api-tokens", Some(&owner), &json!({ "name": ["x"], "role": "viewer" })).await;
    assert_problem(&response, 422, Some("name"));
    let response = app.post_json("/v1/api-tokens", Some(&owner), &json!([1, 2])).await;
    assert_problem(&response, 422, Some("body"));
    assert_eq!(app.count_rows("api_tokens").await, 0);
}

#[tokio::test]
async fn unknown_fields_are_ignored() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let response =
        app.post_json("/v1/api-tokens", Some(&owner), &json!({ "name": "x", "role": "viewer", "colour": "red" })).await;
    assert_eq!(response.status, 201, "{}", response.text);
}

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = spawn_app().await;
    assert_problem(&app.get("/v1/nothing-here", None).await, 404, None);
    let owner = app.login_owner().await;
    assert_problem(&app.get("/v1/users/not-a-uuid", Some(&owner)).await, 404, None);
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem() {
    let app = spawn_app().await;
    let response = app.send(app.client.patch(app.url("/v1/me"))).await;
    assert_problem(&response, 405, None);
    let response = app.send(app.client.delete(app.url("/v1/auth/login"))).await;
    assert_problem(&response, 405, None);
}

#[tokio::test]
async fn pages_have_a_total_and_say_whether_more_follow() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    for _ in 0..3 {
        app.api_token(&owner, "viewer").await;
    }
    let first = app.get("/v1/api-tokens?limit=2", Some(&owner)).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(
        (first.body["total"].as_i64(), first.body["limit"].as_i64(), first.body["offset"].as_i64()),
        (Some(3), Some(2), Some(0))
    );
    assert_eq!(first.body["has_more"], true);
    let second = app.get("/v1/api-tokens?limit=2&offset=2", Some(&owner)).await;
    assert_eq!(second.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(second.body["has_more"], false);
    assert_ne!(first.body["data"][0]["id"], second.body["data"][0]["id"]);
}

#[tokio::test]
async fn bad_paging_parameters_name_the_parameter() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    for (query, field) in [("limit=0", "limit"), ("limit=101", "limit"), ("limit=x", "limit"), ("offset=-1", "offset")]
    {
        assert_problem(&app.get(&format!("/v1/api-tokens?{query}"), Some(&owner)).await, 422, Some(field));
    }
}

#[tokio::test]
async fn a_request_id_is_echoed_or_generated() {
    let app = spawn_app().await;
    let given = app.send(app.client.get(app.url("/healthz")).header("x-request-id", "trace-me-42")).await;
    assert_eq!(given.header("x-request-id"), Some("trace-me-42"));
    let generated = app.get("/healthz", None).await;
    let id = generated.header("x-request-id").expect("a generated request id");
    assert_eq!(id.len(), 36, "{id}");
    let problem = app.get("/v1/me", None).await;
    assert!(problem.header("x-request-id").is_some());
    let unrouted = app.get("/no/such/path", None).await;
    assert_eq!(unrouted.status, 404);
    assert!(unrouted.header("x-request-id").is_some(), "a path no route matches has an id too");
}

#[tokio::test]
async fn timestamps_have_six_fractional_digits_and_z() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let created = app.post_json("/v1/api-tokens", Some(&owner), &json!({ "name": "t", "role": "viewer" })).await;
    let created_at = created.body["created_at"].as_str().unwrap();
    let pattern_ok = created_at.len() == 27
        && created_at.ends_with('Z')
        && created_at.as_bytes()[19] == b'.'
        && created_at[20..26].bytes().all(|b| b.is_ascii_digit());
    assert!(pattern_ok, "{created_at}");
}
