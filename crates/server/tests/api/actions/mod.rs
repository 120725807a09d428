//! Action sets (issue 8): the API on both kinds of paths, matching, execution and the run log,
//! through the real server, with real signals.

mod api;
mod execution;
mod matching;
mod unleash;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

pub const SETS: &str = "/v1/projects/default/action-sets";
pub const FLAGS: &str = "/v1/projects/default/flags";

/// A server with an owner, a signal endpoint with a token, a service account and a flag.
pub struct Fixture {
    pub app: TestApp,
    pub owner: String,
    pub endpoint_id: String,
    pub endpoint_name: String,
    pub token: String,
    pub actor_id: String,
}

impl Fixture {
    pub async fn new() -> Self {
        Self::on(spawn_app().await).await
    }

    pub async fn with(configure: impl FnOnce(&mut signalbox_server::config::ServeConfig)) -> Self {
        Self::on(spawn_app_with(configure).await).await
    }

    pub async fn on(app: TestApp) -> Self {
        let owner = app.login_owner().await;
        let endpoint = app.signal_endpoint(&owner, "alerts").await;
        let endpoint_id = endpoint["id"].as_str().unwrap().to_owned();
        let (_, token) = app.endpoint_token(&owner, &endpoint_id, "monitoring").await;
        let actor_id = service_account(&app, &owner, "responder", "editor").await;
        flag(&app, &owner, "checkout").await;
        Self { app, owner, endpoint_id, endpoint_name: "alerts".into(), token, actor_id }
    }

    /// An action set body with these filters and actions, on the fixture's endpoint and actor.
    pub fn set_body(&self, name: &str, payload: Value, actions: Value) -> Value {
        json!({
            "name": name,
            "actor_id": self.actor_id,
            "match": { "source": "signal-endpoint", "source_id": self.endpoint_id, "payload": payload },
            "actions": actions,
        })
    }

    /// Creates an action set; returns its body.
    pub async fn action_set(&self, body: &Value) -> Value {
        let response = self.app.post_json(SETS, Some(&self.owner), body).await;
        assert_eq!(response.status, 201, "{}", response.text);
        response.body
    }

    pub async fn signal(&self, payload: &Value) -> String {
        let response = self.app.send_signal(&self.endpoint_name, &self.token, payload).await;
        assert_eq!(response.status, 202, "{}", response.text);
        response.body["id"].as_str().unwrap().to_owned()
    }

    /// The set's runs, newest first.
    pub async fn runs(&self, set_id: &str) -> Vec<Value> {
        let response = self.app.get(&format!("{SETS}/{set_id}/runs"), Some(&self.owner)).await;
        assert_eq!(response.status, 200, "{}", response.text);
        response.body["data"].as_array().unwrap().clone()
    }

    /// Waits until the set has `count` finished runs; returns them newest first.
    pub async fn finished_runs(&self, set_id: &str, count: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let runs = self.runs(set_id).await;
            let finished = runs.iter().filter(|r| r["state"] != "started").count();
            if finished >= count {
                return runs;
            }
            assert!(Instant::now() < deadline, "{count} runs never finished: {runs:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until no run is pending or started (pending runs that do not match are dropped).
    pub async fn settled(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let open = open_runs(&self.app).await;
            if open == 0 {
                return;
            }
            assert!(Instant::now() < deadline, "{open} runs never settled");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn enabled(&self, flag: &str, environment: &str) -> bool {
        let response = self.app.get(&format!("{FLAGS}/{flag}/environments/{environment}"), Some(&self.owner)).await;
        assert_eq!(response.status, 200, "{}", response.text);
        response.body["enabled"].as_bool().unwrap()
    }
}

pub async fn open_runs(app: &TestApp) -> i64 {
    let sql = "SELECT COUNT(*) FROM action_runs WHERE state IN ('pending', 'started')";
    match &app.db {
        signalbox_server::db::Db::Sqlite { read, .. } => sqlx::query_scalar(sql).fetch_one(read).await.unwrap(),
        signalbox_server::db::Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
    }
}

pub async fn service_account(app: &TestApp, owner: &str, name: &str, role: &str) -> String {
    let response = app.post_json("/v1/service-accounts", Some(owner), &json!({ "name": name, "role": role })).await;
    assert_eq!(response.status, 201, "{}", response.text);
    response.body["id"].as_str().unwrap().to_owned()
}

pub async fn flag(app: &TestApp, owner: &str, key: &str) {
    let response = app.post_json(FLAGS, Some(owner), &json!({ "key": key })).await;
    assert_eq!(response.status, 201, "{}", response.text);
}

pub fn toggle(action: &str, flag: &str, environment: &str) -> Value {
    json!({ "action": action, "execution_params": { "feature_name": flag, "environment": environment } })
}
