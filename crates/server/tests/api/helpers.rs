//! The test harness: `spawn_app()` starts the real server on 127.0.0.1:0 with its own
//! database — a fresh SQLite file, or, when `SIGNALBOX_TEST_POSTGRES` is set, a fresh Postgres
//! database cloned from a migrated template — and gives typed helpers to talk to it.
//!
//! Every rate and count limit is lifted unless a test sets one; argon2 runs with test-only
//! parameters; JWT leeway is 0; the clock is a `ManualClock` the test can move.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use clap::{Args, Command, FromArgMatches};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use signalbox_core::ManualClock;
use signalbox_server::Application;
use signalbox_server::config::ServeConfig;
use signalbox_server::db::Db;
use signalbox_server::webhooks::destination::StaticResolver;
use tokio::sync::{OnceCell, oneshot};

pub const OWNER_EMAIL: &str = "owner@example.test";
pub const OWNER_PASSWORD: &str = "correct horse battery staple";
pub const TEST_PASSWORD: &str = "another long password";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub db: Db,
    pub config: ServeConfig,
    /// Where webhook host names resolve: tests map names here; nothing reaches real DNS.
    pub resolver: Arc<StaticResolver>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    storage: Storage,
}

/// Where a test's data lives; cleaned up on drop.
enum Storage {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, database: String },
}

/// A response read whole: status, headers and the body as JSON (`Null` if not JSON).
#[derive(Debug)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl ApiResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Server options as the harness sets them, before a test's own changes.
pub fn test_config(database_url: &str) -> ServeConfig {
    // Parse from flags with every environment variable detached, so the developer's
    // SIGNALBOX_* settings cannot leak into tests.
    let command = ServeConfig::augment_args(Command::new("test")).mut_args(|arg| arg.env(None::<&str>));
    let matches = command
        .try_get_matches_from([
            "test",
            "--listen=127.0.0.1:0",
            &format!("--database-url={database_url}"),
            &format!("--secret-key={}", "ab".repeat(32)),
            &format!("--admin-email={OWNER_EMAIL}"),
            &format!("--admin-password={OWNER_PASSWORD}"),
            "--jwt-leeway=0s",
            "--login-max-failures=0",
            "--signal-rate-limit=0",
            "--max-signal-endpoints=0",
            "--max-tokens-per-endpoint=0",
            "--argon2-memory-kib=64",
            "--argon2-iterations=1",
            "--shutdown-timeout=5s",
            "--log-level=warn",
            // Webhook tests send to receivers on loopback, and need exact retry times.
            "--webhook-allow-cidr=127.0.0.1/32",
            "--webhook-retry-jitter=0",
            // Tests send signals faster than the storm guard allows; its own test sets it.
            "--action-runs-per-minute=0",
        ])
        .expect("test flags parse");
    ServeConfig::from_arg_matches(&matches).expect("test config builds")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server with the harness defaults changed by `configure`.
pub async fn spawn_app_with(configure: impl FnOnce(&mut ServeConfig)) -> TestApp {
    let (database_url, storage) = new_database().await;
    let mut config = test_config(&database_url);
    configure(&mut config);
    start(config, storage).await
}

async fn start(config: ServeConfig, storage: Storage) -> TestApp {
    start_with_clock(config, storage, Arc::new(ManualClock::starting_now())).await
}

async fn start_with_clock(config: ServeConfig, storage: Storage, clock: Arc<ManualClock>) -> TestApp {
    let resolver = Arc::new(StaticResolver::default());
    let application =
        Application::build_with(config.clone(), clock.clone(), resolver.clone()).await.expect("the server starts");
    let address = format!("http://{}", application.local_addr());
    let db = application.state().db.clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(application.run(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder().no_proxy().build().expect("a client");
    TestApp { address, client, clock, db, config, resolver, stop: Some(stop), server: Some(server), storage }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> ApiResponse {
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a readable body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        ApiResponse { status, headers, body, text }
    }

    fn authorized(&self, request: reqwest::RequestBuilder, token: Option<&str>) -> reqwest::RequestBuilder {
        match token {
            Some(token) => request.header("authorization", format!("Bearer {token}")),
            None => request,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> ApiResponse {
        self.send(self.authorized(self.client.get(self.url(path)), token)).await
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> ApiResponse {
        self.send(self.authorized(self.client.post(self.url(path)).json(body), token)).await
    }

    pub async fn put_json(&self, path: &str, token: Option<&str>, body: &Value) -> ApiResponse {
        self.send(self.authorized(self.client.put(self.url(path)).json(body), token)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> ApiResponse {
        self.send(self.authorized(self.client.delete(self.url(path)), token)).await
    }

    /// Logs in and returns the session JWT; panics unless the login succeeds.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let response = self.post_json("/v1/auth/login", None, &json!({ "email": email, "password": password })).await;
        assert_eq!(response.status, 200, "login as {email}: {}", response.text);
        response.body["token"].as_str().expect("a token").to_owned()
    }

    pub async fn login_owner(&self) -> String {
        self.login(OWNER_EMAIL, OWNER_PASSWORD).await
    }

    /// Adds a user with `role` to the owner's workspace; returns (id, email, session token).
    pub async fn user_with_role(&self, owner: &str, role: &str) -> (String, String, String) {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let email = format!("{role}{n}@example.test");
        let body = json!({ "email": email, "role": role, "password": TEST_PASSWORD });
        let response = self.post_json("/v1/users", Some(owner), &body).await;
        assert_eq!(response.status, 201, "create {role}: {}", response.text);
        let id = response.body["id"].as_str().expect("an id").to_owned();
        let token = self.login(&email, TEST_PASSWORD).await;
        (id, email, token)
    }

    /// Creates an API token with `role` as the caller of `bearer`; returns its secret.
    pub async fn api_token(&self, bearer: &str, role: &str) -> String {
        let response = self.post_json("/v1/api-tokens", Some(bearer), &json!({ "name": "test", "role": role })).await;
        assert_eq!(response.status, 201, "create token: {}", response.text);
        response.body["token"].as_str().expect("a secret").to_owned()
    }

    /// Moves the test clock and wakes the delivery engine, as time passing would.
    pub fn advance(&self, by: std::time::Duration) {
        self.clock.advance(by);
        signalbox_server::db::committed();
    }

    /// The test clock's time plus `seconds`, as the API writes timestamps.
    pub fn clock_now_plus(&self, seconds: u64) -> String {
        use signalbox_core::Clock;
        self.clock.now().plus(std::time::Duration::from_secs(seconds)).to_string()
    }

    /// Creates a signal endpoint; returns its `/v1` body.
    pub async fn signal_endpoint(&self, bearer: &str, name: &str) -> Value {
        let response = self.post_json("/v1/signal-endpoints", Some(bearer), &json!({ "name": name })).await;
        assert_eq!(response.status, 201, "create endpoint {name}: {}", response.text);
        response.body
    }

    /// Creates a token for an endpoint; returns (token id, secret).
    pub async fn endpoint_token(&self, bearer: &str, endpoint_id: &str, name: &str) -> (String, String) {
        let path = format!("/v1/signal-endpoints/{endpoint_id}/tokens");
        let response = self.post_json(&path, Some(bearer), &json!({ "name": name })).await;
        assert_eq!(response.status, 201, "create token {name}: {}", response.text);
        (response.body["id"].as_str().unwrap().to_owned(), response.body["token"].as_str().unwrap().to_owned())
    }

    /// Creates a signal endpoint with one token; returns the token's secret.
    pub async fn endpoint_with_token(&self, bearer: &str, endpoint: &str, token: &str) -> String {
        let created = self.signal_endpoint(bearer, endpoint).await;
        self.endpoint_token(bearer, created["id"].as_str().unwrap(), token).await.1
    }

    /// `POST /api/signal-endpoint/{name}` with `Authorization: Bearer <token>` and a JSON body.
    pub async fn send_signal(&self, name: &str, token: &str, body: &Value) -> ApiResponse {
        let request = self.client.post(self.url(&format!("/api/signal-endpoint/{name}"))).bearer_auth(token).json(body);
        self.send(request).await
    }

    /// Rows in a table, to check that a refused request wrote nothing.
    pub async fn count_rows(&self, table: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
        match &self.db {
            Db::Sqlite { read, .. } => sqlx::query_scalar(sql).fetch_one(read).await.expect("count"),
            Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.expect("count"),
        }
    }

    /// Rows of a table whose `column` equals `value`.
    pub async fn count_rows_where(&self, table: &str, column: &str, value: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1"));
        match &self.db {
            Db::Sqlite { read, .. } => sqlx::query_scalar(sql).bind(value).fetch_one(read).await.expect("count"),
            Db::Postgres(pool) => sqlx::query_scalar(sql).bind(value).fetch_one(pool).await.expect("count"),
        }
    }

    /// Creates another workspace as `owner` (the owner's session) and logs the owner in to it;
    /// returns (workspace id, a session there).
    pub async fn new_workspace_session(&self, owner: &str, name: &str) -> (String, String) {
        let created = self.post_json("/v1/workspaces", Some(owner), &json!({ "name": name })).await;
        assert_eq!(created.status, 201, "{}", created.text);
        let id = created.body["id"].as_str().expect("a workspace id").to_owned();
        let body = json!({ "email": OWNER_EMAIL, "password": OWNER_PASSWORD, "workspace_id": id });
        let login = self.post_json("/v1/auth/login", None, &body).await;
        assert_eq!(login.status, 200, "{}", login.text);
        (id, login.body["token"].as_str().expect("a token").to_owned())
    }

    /// Sends raw HTTP/1.1 bytes (for what clients will not send, such as a chunked body) and
    /// returns the raw response.
    pub async fn send_raw(&self, request: String) -> String {
        use std::io::{Read, Write};
        let address = self.address.trim_start_matches("http://").to_owned();
        tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(address).expect("connect");
            stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).expect("a timeout");
            stream.write_all(request.as_bytes()).expect("send");
            let mut response = String::new();
            let _ = stream.read_to_string(&mut response);
            response
        })
        .await
        .expect("the raw request task")
    }

    /// Whether the tests run on Postgres (`SIGNALBOX_TEST_POSTGRES`).
    pub fn on_postgres(&self) -> bool {
        matches!(self.storage, Storage::Postgres { .. })
    }

    /// A second server on the same database, as another node of a cluster would be. Only
    /// for Postgres; its database is this app's, dropped with this app.
    pub async fn another_node(&self) -> TestApp {
        assert!(self.on_postgres(), "several nodes share a Postgres database, not a SQLite file");
        let storage = Storage::Postgres { admin_url: String::new(), database: String::new() };
        start(self.config.clone(), storage).await
    }

    /// Stops this server and starts another on the same database `later` after this one's
    /// clock (as if it had been down that long).
    pub async fn restart_later(mut self, later: std::time::Duration) -> TestApp {
        use signalbox_core::Clock;
        self.shut_down().await;
        let storage = std::mem::replace(
            &mut self.storage,
            Storage::Postgres { admin_url: String::new(), database: String::new() },
        );
        let clock = Arc::new(ManualClock::new(self.clock.now().plus(later)));
        start_with_clock(self.config.clone(), storage, clock).await
    }

    /// Stops this server and starts another on the same database (a restart).
    pub async fn restart(mut self) -> TestApp {
        self.shut_down().await;
        let storage = std::mem::replace(
            &mut self.storage,
            Storage::Postgres { admin_url: String::new(), database: String::new() },
        );
        start(self.config.clone(), storage).await
    }

    /// Graceful shutdown, waiting for the server task to end.
    pub async fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("the server task").expect("the server stops cleanly");
        }
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Storage::Postgres { admin_url, database } = &self.storage
            && !database.is_empty()
        {
            let (admin_url, database) = (admin_url.clone(), database.clone());
            // Drop runs inside the test's runtime; a separate thread with its own runtime
            // can block on the cleanup.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
                runtime.block_on(postgres::drop_database(&admin_url, &database));
            })
            .join();
        }
    }
}

/// A new empty (migrated, for Postgres) database for one test.
async fn new_database() -> (String, Storage) {
    match std::env::var("SIGNALBOX_TEST_POSTGRES") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let template = TEMPLATE.get_or_init(|| postgres::prepare_template(admin_url.clone())).await;
            let database = postgres::create_from_template(&admin_url, template).await;
            (postgres::url_for(&admin_url, &database), Storage::Postgres { admin_url, database })
        }
        _ => {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let url = format!("sqlite://{}", dir.path().join("signalbox.db").display());
            (url, Storage::Sqlite(dir))
        }
    }
}

static TEMPLATE: OnceCell<String> = OnceCell::const_new();

mod postgres {
    use std::sync::atomic::{AtomicU32, Ordering};

    use sqlx::{Connection, PgConnection};

    static NEXT: AtomicU32 = AtomicU32::new(0);
    const PREFIX: &str = "sbx_test_";

    /// `postgres://…/test` with the database name replaced.
    pub fn url_for(admin_url: &str, database: &str) -> String {
        let (base, query) = admin_url.split_once('?').map_or((admin_url, None), |(b, q)| (b, Some(q)));
        let slash = base.rfind('/').expect("a database URL with a path");
        let mut url = format!("{}/{database}", &base[..slash]);
        if let Some(query) = query {
            url.push('?');
            url.push_str(query);
        }
        url
    }

    async fn admin(admin_url: &str) -> PgConnection {
        PgConnection::connect(admin_url).await.expect("connect to SIGNALBOX_TEST_POSTGRES")
    }

    /// Creates (once per migration set) a migrated template database, and drops databases
    /// left by test processes that no longer run.
    pub async fn prepare_template(admin_url: String) -> String {
        let mut conn = admin(&admin_url).await;
        // One process at a time prepares; others wait here.
        sqlx::query("SELECT pg_advisory_lock(7265)").execute(&mut conn).await.expect("lock");
        let names: Vec<String> = sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'sbx_test_%'")
            .fetch_all(&mut conn)
            .await
            .expect("list databases");
        for name in names {
            let owner_alive = name
                .strip_prefix(PREFIX)
                .and_then(|rest| rest.split('_').next())
                .and_then(|pid| pid.parse::<u32>().ok())
                .is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
            if !owner_alive {
                let sql = sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
                let _ = sqlx::query(sql).execute(&mut conn).await;
            }
        }
        let template = format!("sbx_template_{}", migrations_fingerprint());
        let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
            .bind(&template)
            .fetch_optional(&mut conn)
            .await
            .expect("look up the template");
        if exists.is_none() {
            let sql = sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{template}\""));
            sqlx::query(sql).execute(&mut conn).await.expect("create the template");
            let url = url_for(&admin_url, &template);
            let options = signalbox_server::db::PoolOptions {
                max_connections: 1,
                connect_timeout: std::time::Duration::from_secs(10),
            };
            let db = signalbox_server::db::connect(&url.parse().expect("a URL"), &options).await.expect("connect");
            signalbox_server::db::migrate(&db).await.expect("migrate the template");
            db.close().await;
        }
        sqlx::query("SELECT pg_advisory_unlock(7265)").execute(&mut conn).await.expect("unlock");
        template
    }

    pub async fn create_from_template(admin_url: &str, template: &str) -> String {
        let name = format!("{PREFIX}{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let mut conn = admin(admin_url).await;
        let sql = sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""));
        sqlx::query(sql).execute(&mut conn).await.expect("clone the template");
        name
    }

    pub async fn drop_database(admin_url: &str, database: &str) {
        if let Ok(mut conn) = PgConnection::connect(admin_url).await {
            let sql = sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"));
            let _ = sqlx::query(sql).execute(&mut conn).await;
        }
    }

    /// Changes whenever a Postgres migration changes, so a stale template is never used.
    fn migrations_fingerprint() -> String {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres");
        let mut entries: Vec<_> = std::fs::read_dir(dir).expect("migrations").flatten().map(|e| e.path()).collect();
        entries.sort();
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for path in entries {
            for byte in std::fs::read(&path).expect("a migration") {
                hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        format!("{hash:016x}")
    }
}

/// Asserts a problem+json answer with `status`, and, when given, an error naming `field`.
pub fn assert_problem(response: &ApiResponse, status: u16, field: Option<&str>) {
    assert_eq!(response.status, status, "status of {}", response.text);
    assert_eq!(response.header("content-type"), Some("application/problem+json"), "content type of {}", response.text);
    assert_eq!(response.body["status"], status, "problem status in {}", response.text);
    assert!(response.body["type"].as_str().is_some_and(|t| !t.is_empty()), "problem type in {}", response.text);
    assert!(response.body["title"].is_string() && response.body["detail"].is_string(), "{}", response.text);
    if let Some(field) = field {
        let fields: Vec<&str> =
            response.body["errors"].as_array().into_iter().flatten().filter_map(|e| e["field"].as_str()).collect();
        assert!(fields.contains(&field), "expected an error on {field:?}, got {fields:?} in {}", response.text);
    }
}
