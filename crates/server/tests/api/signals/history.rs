use serde_json::json;

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn signals_page_by_offset_newest_first_and_filter_by_token() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let endpoint = app.signal_endpoint(&owner, "deploys").await;
    let id = endpoint["id"].as_str().unwrap();
    let (ci_id, ci) = app.endpoint_token(&owner, id, "ci").await;
    let (_, cron) = app.endpoint_token(&owner, id, "cron").await;
    for n in 0..3 {
        app.send_signal("deploys", &ci, &json!({ "n": n })).await;
    }
    app.send_signal("deploys", &cron, &json!({ "n": 3 })).await;

    let first = app.get(&format!("/v1/signal-endpoints/{id}/signals?limit=3"), Some(&owner)).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!((first.body["total"].as_i64(), first.body["has_more"].as_bool()), (Some(4), Some(true)));
    let ns: Vec<i64> =
        first.body["data"].as_array().unwrap().iter().map(|s| s["payload"]["n"].as_i64().unwrap()).collect();
    assert_eq!(ns, [3, 2, 1]);
    let second = app.get(&format!("/v1/signal-endpoints/{id}/signals?limit=3&offset=3"), Some(&owner)).await;
    assert_eq!(second.body["data"][0]["payload"]["n"], 0);

    let by_ci = app.get(&format!("/v1/signal-endpoints/{id}/signals?token={ci_id}"), Some(&owner)).await;
    assert_eq!(by_ci.body["total"], 3);
    assert!(by_ci.body["data"].as_array().unwrap().iter().all(|s| s["token_name"] == "ci"));
}

#[tokio::test]
async fn signals_page_by_cursor_without_a_total() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let endpoint = app.signal_endpoint(&owner, "deploys").await;
    let id = endpoint["id"].as_str().unwrap();
    let (_, secret) = app.endpoint_token(&owner, id, "ci").await;
    for n in 0..5 {
        app.send_signal("deploys", &secret, &json!({ "n": n })).await;
    }
    let newest = app.get(&format!("/v1/signal-endpoints/{id}/signals?limit=1"), Some(&owner)).await;
    let start = newest.body["data"][0]["seq"].as_i64().unwrap() + 1;
    let mut cursor = start.to_string();
    let mut seen = Vec::new();
    loop {
        let page = app.get(&format!("/v1/signal-endpoints/{id}/signals?limit=2&before={cursor}"), Some(&owner)).await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert!(page.body.get("total").is_none());
        seen.extend(page.body["data"].as_array().unwrap().iter().map(|s| s["payload"]["n"].as_i64().unwrap()));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, [4, 3, 2, 1, 0]);

    for query in ["before=abc", "before=0", "before=5&offset=1", "token=nope", "limit=0"] {
        let response = app.get(&format!("/v1/signal-endpoints/{id}/signals?{query}"), Some(&owner)).await;
        assert_problem(&response, 422, None);
    }
}
