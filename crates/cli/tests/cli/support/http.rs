//! A small JSON client for one server on 127.0.0.1.

use std::time::Duration;

use serde_json::{Value, json};

/// An HTTP answer: the status, the body parsed as JSON (`Null` if it is not JSON) and the raw
/// text for failure messages.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub text: String,
}

pub struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    pub fn new(port: u16) -> Self {
        // reqwest is built without a default TLS provider (the server installs ring at start).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("building an HTTP client");
        Self { client, base: format!("http://127.0.0.1:{port}") }
    }

    async fn send(&self, request: reqwest::RequestBuilder, bearer: Option<&str>) -> Result<Reply, reqwest::Error> {
        let request = match bearer {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Reply { status, body, text })
    }

    /// `GET path`, or the transport error (e.g. nothing listening yet).
    pub async fn try_get(&self, path: &str, bearer: Option<&str>) -> Result<Reply, reqwest::Error> {
        self.send(self.client.get(format!("{}{path}", self.base)), bearer).await
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Reply {
        self.try_get(path, bearer).await.unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, bearer: Option<&str>, body: &Value) -> Reply {
        self.try_post_json(path, bearer, body).await.unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// `POST path` with a JSON body, or the transport error (e.g. the server was killed).
    pub async fn try_post_json(&self, path: &str, bearer: Option<&str>, body: &Value) -> Result<Reply, reqwest::Error> {
        self.send(self.client.post(format!("{}{path}", self.base)).json(body), bearer).await
    }

    /// `POST /v1/auth/login`.
    pub async fn login(&self, email: &str, password: &str) -> Reply {
        let request = self
            .client
            .post(format!("{}/v1/auth/login", self.base))
            .json(&json!({ "email": email, "password": password }));
        self.send(request, None).await.unwrap_or_else(|e| panic!("POST /v1/auth/login: {e}"))
    }

    /// Logs in, asserting success, and returns the session token.
    pub async fn session(&self, email: &str, password: &str) -> String {
        let reply = self.login(email, password).await;
        assert_eq!(reply.status, 200, "logging in as {email}: {}", reply.text);
        reply.body["token"].as_str().expect("the login answer carries a token").to_owned()
    }
}
