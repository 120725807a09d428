//! Server configuration. Every option is a flag, a `SIGNALBOX_*` environment variable and a
//! key of the optional TOML file; precedence is flag > env > file > default (see
//! [`crate::config_file`]). Later features add their limits here, each documented.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use signalbox_core::retry::RetrySchedule;
use signalbox_core::ssrf::Cidr;

use crate::db::DatabaseUrl;
use crate::duration::parse_duration;

/// Where the data lives. Shared by every subcommand that touches the database.
#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// Database to use: `sqlite://PATH` (created if missing) or `postgres://USER@HOST/DB`.
    /// `DATABASE_URL` is read when neither this flag nor `SIGNALBOX_DATABASE_URL` is set.
    #[arg(long, env = "SIGNALBOX_DATABASE_URL", default_value = "sqlite://signalbox.db", value_parser = clap::value_parser!(DatabaseUrl))]
    pub database_url: DatabaseUrl,

    /// Most database connections to hold open (SQLite: readers; it always has one writer).
    #[arg(long, env = "SIGNALBOX_DATABASE_MAX_CONNECTIONS", default_value_t = 10)]
    pub database_max_connections: u32,

    /// How long to wait for a database connection before giving up.
    #[arg(long, env = "SIGNALBOX_DATABASE_CONNECT_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub database_connect_timeout: Duration,
}

impl clap::builder::ValueParserFactory for DatabaseUrl {
    type Parser = clap::builder::ValueParser;
    fn value_parser() -> Self::Parser {
        clap::builder::ValueParser::new(|s: &str| s.parse::<DatabaseUrl>())
    }
}

/// The server key: signs sessions and encrypts stored secrets.
#[derive(Debug, Clone, Args)]
pub struct KeyConfig {
    /// The server key: 32 bytes as 64 hex digits or base64. Takes precedence over the key file.
    #[arg(long, env = "SIGNALBOX_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,

    /// File holding the server key; created with mode 0600 on first start when missing.
    /// Default: `signalbox.key` beside the SQLite database, or in the working directory.
    #[arg(long, env = "SIGNALBOX_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Everything `signalbox serve` needs.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    #[command(flatten)]
    pub database: DatabaseConfig,

    #[command(flatten)]
    pub key: KeyConfig,

    /// Address and port to listen on.
    #[arg(long, env = "SIGNALBOX_LISTEN", default_value = "127.0.0.1:4280")]
    pub listen: SocketAddr,

    /// The address people and systems use to reach this server (links, examples, cookies).
    /// Default: `http://` + the listen address.
    #[arg(long, env = "SIGNALBOX_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,

    /// Log output: `pretty` for people, `json` for log collectors.
    #[arg(long, env = "SIGNALBOX_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    /// Log filter: a level (`info`) or per-target directives (`info,sqlx=warn`).
    #[arg(long, env = "SIGNALBOX_LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// How long a login session (JWT) lasts.
    #[arg(long, env = "SIGNALBOX_JWT_LIFETIME", default_value = "12h", value_parser = parse_duration)]
    pub jwt_lifetime: Duration,

    /// Clock skew tolerated when checking a JWT's expiry.
    #[arg(long, env = "SIGNALBOX_JWT_LEEWAY", default_value = "60s", value_parser = parse_duration)]
    pub jwt_leeway: Duration,

    /// Failed logins per email, and per client IP, before further attempts get 429 (0 = no limit).
    #[arg(long, env = "SIGNALBOX_LOGIN_MAX_FAILURES", default_value_t = 5)]
    pub login_max_failures: u32,

    /// The window over which failed logins are counted.
    #[arg(long, env = "SIGNALBOX_LOGIN_FAILURE_WINDOW", default_value = "15m", value_parser = parse_duration)]
    pub login_failure_window: Duration,

    /// Largest request body accepted by the JSON API, in bytes (at least 1: a limit of 0
    /// would refuse every body through one path and, read as "no limit", none through another).
    #[arg(long, env = "SIGNALBOX_MAX_BODY_BYTES", default_value_t = 1_048_576, value_parser = parse_body_limit)]
    pub max_body_bytes: usize,

    /// On first start, the owner account's email.
    #[arg(long, env = "SIGNALBOX_ADMIN_EMAIL", default_value = "admin@signalbox.local")]
    pub admin_email: String,

    /// On first start, the owner account's password (at least 12 characters). When unset, a
    /// random one is generated and printed once in the log.
    #[arg(long, env = "SIGNALBOX_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    #[command(flatten)]
    pub password_hashing: PasswordHashingConfig,

    #[command(flatten)]
    pub signals: SignalLimits,

    #[command(flatten)]
    pub webhooks: WebhookConfig,

    #[command(flatten)]
    pub actions: ActionConfig,

    #[command(flatten)]
    pub typed_signals: TypedSignalConfig,

    /// Longest time to produce a response before answering 503 (streams, once started, are
    /// not cut off).
    #[arg(long, env = "SIGNALBOX_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// How long graceful shutdown may take before the process exits anyway.
    #[arg(long, env = "SIGNALBOX_SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,
}

/// Signal endpoint limits: the seed's defaults, each a server-wide default and cap that a
/// workspace may lower in its settings. `0` means no limit.
#[derive(Debug, Clone, Args)]
pub struct SignalLimits {
    /// Signals accepted per second per signal endpoint (0 = no limit). A burst of up to one
    /// second's worth is allowed; more gets 429 with Retry-After.
    #[arg(long, env = "SIGNALBOX_SIGNAL_RATE_LIMIT", default_value_t = 1)]
    pub signal_rate_limit: u32,

    /// Signal endpoints per workspace (0 = no limit).
    #[arg(long, env = "SIGNALBOX_MAX_SIGNAL_ENDPOINTS", default_value_t = 5)]
    pub max_signal_endpoints: u32,

    /// Tokens per signal endpoint (0 = no limit).
    #[arg(long, env = "SIGNALBOX_MAX_TOKENS_PER_ENDPOINT", default_value_t = 5)]
    pub max_tokens_per_endpoint: u32,

    /// Largest signal payload accepted, in bytes (0 = no limit).
    #[arg(long, env = "SIGNALBOX_MAX_SIGNAL_PAYLOAD_BYTES", default_value_t = 102_400)]
    pub max_signal_payload_bytes: u32,

    /// Delete signals older than this (e.g. `30d`). Default: keep them.
    #[arg(long, env = "SIGNALBOX_SIGNAL_RETENTION", value_parser = parse_duration)]
    pub signal_retention: Option<Duration>,

    /// Delete events older than this (e.g. `90d`). Default: keep them.
    #[arg(long, env = "SIGNALBOX_EVENT_RETENTION", value_parser = parse_duration)]
    pub event_retention: Option<Duration>,
}

/// Typed signals (`POST /signals`): the seed's workspace rate limits (0 = no limit).
#[derive(Debug, Clone, Args)]
pub struct TypedSignalConfig {
    /// Typed signals per workspace per UTC minute (repeats count).
    #[arg(long, env = "SIGNALBOX_TYPED_SIGNAL_RATE_PER_MINUTE", default_value_t = 500)]
    pub typed_signal_rate_per_minute: u64,

    /// Typed signals per workspace per UTC day (repeats count).
    #[arg(long, env = "SIGNALBOX_TYPED_SIGNAL_RATE_PER_DAY", default_value_t = 50_000)]
    pub typed_signal_rate_per_day: u64,
}

/// Action sets: Unleash's count limits (0 = no limit), the storm guard and run retention.
#[derive(Debug, Clone, Args)]
pub struct ActionConfig {
    /// Action sets per project.
    #[arg(long, env = "SIGNALBOX_MAX_ACTION_SETS_PER_PROJECT", default_value_t = 5)]
    pub max_action_sets_per_project: u32,

    /// Payload filters per action set.
    #[arg(long, env = "SIGNALBOX_MAX_ACTION_FILTERS", default_value_t = 5)]
    pub max_action_filters: u32,

    /// Values per filter (`IN`, `NOT_IN`, `STR_*`).
    #[arg(long, env = "SIGNALBOX_MAX_ACTION_FILTER_VALUES", default_value_t = 25)]
    pub max_action_filter_values: u32,

    /// Actions per action set.
    #[arg(long, env = "SIGNALBOX_MAX_ACTIONS_PER_SET", default_value_t = 10)]
    pub max_actions_per_set: u32,

    /// Storm guard: runs started per action set per minute; beyond it runs are recorded as
    /// `skipped` (0 = no limit).
    #[arg(long, env = "SIGNALBOX_ACTION_RUNS_PER_MINUTE", default_value_t = 60)]
    pub action_runs_per_minute: u32,

    /// Delete finished action runs older than this (e.g. `30d`). Default: keep them.
    #[arg(long, env = "SIGNALBOX_RUN_RETENTION", value_parser = parse_duration)]
    pub run_retention: Option<Duration>,
}

/// Outgoing webhooks: where they may go, how they are retried, how many run at once.
#[derive(Debug, Clone, Args)]
pub struct WebhookConfig {
    /// Internal networks webhooks may reach anyway, e.g. `10.0.0.0/8` (repeatable; the
    /// environment variable takes a comma-separated list). Loopback, private, link-local and
    /// other internal ranges are refused otherwise.
    #[arg(long = "webhook-allow-cidr", env = "SIGNALBOX_WEBHOOK_ALLOW_CIDR", value_delimiter = ',')]
    pub webhook_allow_cidr: Vec<Cidr>,

    /// Delays between attempts when a webhook has no schedule of its own: `1s,4s` means three
    /// attempts (at once, after 1 s, after 4 more) before a delivery is dead. Up to 10 delays
    /// of at most 24h each; `ms`, `s`, `m`, `h`.
    #[arg(long, env = "SIGNALBOX_WEBHOOK_RETRY_SCHEDULE", default_value = "1s,4s", value_parser = parse_schedule)]
    pub webhook_retry_schedule: RetrySchedule,

    /// Spread of each retry delay, as a fraction (0.2 = ±20 %), so retries do not arrive in step.
    #[arg(long, env = "SIGNALBOX_WEBHOOK_RETRY_JITTER", default_value_t = 0.2)]
    pub webhook_retry_jitter: f64,

    /// Longest wait for a receiver's answer before the attempt counts as failed.
    #[arg(long, env = "SIGNALBOX_WEBHOOK_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub webhook_timeout: Duration,

    /// After a webhook's secret changes, deliveries are signed with the old secret too (a
    /// second `webhook-signature` entry) for this long, so receivers can switch over.
    #[arg(long, env = "SIGNALBOX_WEBHOOK_SECRET_GRACE", default_value = "24h", value_parser = parse_duration)]
    pub webhook_secret_grace: Duration,

    /// Disable a webhook after this many deliveries in a row died (0 = never).
    #[arg(long, env = "SIGNALBOX_WEBHOOK_AUTO_DISABLE_AFTER", default_value_t = 0)]
    pub webhook_auto_disable_after: u32,

    /// Deliveries in flight at once, over all webhooks.
    #[arg(long, env = "SIGNALBOX_WEBHOOK_CONCURRENCY", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub webhook_concurrency: u32,

    /// Deliveries in flight at once to one webhook, so a slow receiver cannot hold up others.
    #[arg(long, env = "SIGNALBOX_WEBHOOK_CONCURRENCY_PER_WEBHOOK", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    pub webhook_concurrency_per_webhook: u32,

    /// Delete finished deliveries and their attempts older than this (e.g. `30d`). Default: keep them.
    #[arg(long, env = "SIGNALBOX_DELIVERY_RETENTION", value_parser = parse_duration)]
    pub delivery_retention: Option<Duration>,
}

fn parse_body_limit(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1 byte".to_owned()),
        Ok(bytes) => Ok(bytes),
        Err(_) => Err(format!("{text:?} is not a whole number of bytes")),
    }
}

fn parse_schedule(text: &str) -> Result<RetrySchedule, String> {
    let entries: Vec<&str> = text.split(',').map(str::trim).filter(|e| !e.is_empty()).collect();
    RetrySchedule::parse(&entries).map_err(|e| e.to_string())
}

/// Argon2id cost. The defaults are OWASP's recommendation (19 MiB, 2 passes, 1 lane).
#[derive(Debug, Clone, Args)]
pub struct PasswordHashingConfig {
    /// Argon2 memory per hash, in KiB.
    #[arg(long, env = "SIGNALBOX_ARGON2_MEMORY_KIB", default_value_t = 19_456)]
    pub argon2_memory_kib: u32,

    /// Argon2 passes over memory.
    #[arg(long, env = "SIGNALBOX_ARGON2_ITERATIONS", default_value_t = 2)]
    pub argon2_iterations: u32,

    /// Argon2 lanes.
    #[arg(long, env = "SIGNALBOX_ARGON2_PARALLELISM", default_value_t = 1)]
    pub argon2_parallelism: u32,
}

fn parse_public_url(text: &str) -> Result<String, String> {
    let rest = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => Ok(text.to_owned()),
        _ => Err(format!("{text:?} is not an http:// or https:// URL")),
    }
}

impl ServeConfig {
    /// The external base URL, without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }
}

impl KeyConfig {
    /// The key file to use when no key is given inline.
    pub fn key_file(&self, database: &DatabaseUrl) -> PathBuf {
        if let Some(path) = &self.secret_key_file {
            return path.clone();
        }
        let dir = database
            .sqlite_path()
            .and_then(|p| p.parent())
            .filter(|d| !d.as_os_str().is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        dir.join("signalbox.key")
    }
}
