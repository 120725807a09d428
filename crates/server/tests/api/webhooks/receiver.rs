//! `TestReceiver`: a real HTTP server on 127.0.0.1:0 that records every request and answers
//! a scripted sequence (then 200).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// How to answer one request.
#[derive(Debug, Clone)]
pub enum Reply {
    Status(u16),
    /// A status with headers, e.g. `Retry-After` or `Location`.
    With(u16, Vec<(&'static str, String)>),
    /// Answer only after a pause (for timeouts).
    After(Duration, u16),
}

#[derive(Default)]
struct Inner {
    received: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<Reply>>,
}

pub struct TestReceiver {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl TestReceiver {
    pub async fn start() -> Self {
        let inner = Arc::new(Inner::default());
        let app = axum::Router::new().fallback(record).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a receiver");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base, inner, task }
    }

    /// The URL of `/hook` on this receiver.
    pub fn url(&self) -> String {
        format!("{}/hook", self.base)
    }

    /// Answers the next requests with these replies, in order; then 200.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.inner.script.lock().unwrap().extend(replies);
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    /// Waits until at least `count` requests arrived (10 s at most) and returns them all.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(Instant::now() < deadline, "expected {count} requests, got {}: {received:?}", received.len());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for TestReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(State(inner): State<Arc<Inner>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let reply = inner.script.lock().unwrap().pop_front().unwrap_or(Reply::Status(200));
    inner.received.lock().unwrap().push(Received { path: uri.path().to_owned(), headers, body });
    let (status, extra) = match reply {
        Reply::Status(status) => (status, Vec::new()),
        Reply::With(status, headers) => (status, headers),
        Reply::After(pause, status) => {
            tokio::time::sleep(pause).await;
            (status, Vec::new())
        }
    };
    let mut response =
        (StatusCode::from_u16(status).expect("a status"), "answer from the test receiver").into_response();
    for (name, value) in extra {
        response.headers_mut().insert(name, value.parse().expect("a header value"));
    }
    response
}
