//! Configuration: where events go, how this service names itself, and how the drain batches.
//!
//! Every option has a default, may be set in code, and (for the ones a deployment changes) may
//! come from the environment. **Precedence: code, then environment, then default** — a value
//! set in code wins over the environment, which wins over the default, whatever order the
//! builder calls come in. The environment is read only when asked: [`Config::from_env`] and
//! [`ConfigBuilder::with_env`] read it, while [`Config::builder`] and [`Config::default`] start
//! from the defaults alone, so that a configuration built in code (a test, a tool) is the same
//! on every machine. Invalid values, in code or in a variable, are an error from
//! [`ConfigBuilder::build`] naming what to fix, never a panic later.
//!
//! | option | default | variable |
//! |---|---|---|
//! | [`server_url`](ConfigBuilder::server_url) | `http://localhost:8080` (see below) | `RACEWAY_URL` |
//! | [`service_name`](ConfigBuilder::service_name) | `unknown-service` | `RACEWAY_SERVICE_NAME` |
//! | [`instance_id`](ConfigBuilder::instance_id) | `<hostname>-<pid>` | `RACEWAY_INSTANCE_ID` |
//! | [`environment`](ConfigBuilder::environment) | `development` | `RACEWAY_ENV` |
//! | [`api_key`](ConfigBuilder::api_key) | none | `RACEWAY_API_KEY` |
//! | [`debug`](ConfigBuilder::debug) | `false` | `RACEWAY_DEBUG` (`1/true/yes/on`, `0/false/no/off`) |
//! | [`batch_size`](ConfigBuilder::batch_size) | 100 events | `RACEWAY_BATCH_SIZE` |
//! | [`flush_interval`](ConfigBuilder::flush_interval) | 1 s | `RACEWAY_FLUSH_INTERVAL_MS` (milliseconds) |
//! | [`tag`](ConfigBuilder::tag) | none | `RACEWAY_TAGS` (`key=value,key=value`; a tag set in code wins for its key) |
//! | [`lane_capacity`](ConfigBuilder::lane_capacity) | 16 384 events per recording thread | |
//! | [`shutdown_timeout`](ConfigBuilder::shutdown_timeout) | 5 s | |
//! | [`local_analysis`](ConfigBuilder::local_analysis) | on when no server URL is configured (and the `analyzer` feature is on) | `RACEWAY_ANALYZE` (like `RACEWAY_DEBUG`) |
//! | [`capture_path`](ConfigBuilder::capture_path) | none | `RACEWAY_CAPTURE` |
//! | [`html_report`](ConfigBuilder::html_report) | none (turns local analysis on) | `RACEWAY_REPORT` |
//! | [`retry_buffer_bytes`](ConfigBuilder::retry_buffer_bytes) | 4 MiB (about 47 000 events) | `RACEWAY_RETRY_BUFFER_BYTES` |
//! | [`give_up_after`](ConfigBuilder::give_up_after) | never: retry while the retry buffer holds the outage | `RACEWAY_GIVE_UP_AFTER_MS` (milliseconds) |
//! | [`on_delivery_problem`](ConfigBuilder::on_delivery_problem) | one line on stderr | |
//! | [`tls_root_certificates`](ConfigBuilder::tls_root_certificates) | the webpki roots | `RACEWAY_CA_CERT` (a PEM file) |
//!
//! An `https://` server URL needs the `tls` feature (rustls, through the HTTP transport); without
//! it the client refuses to start with an error that says so.
//!
//! An empty variable counts as unset. Whether a server URL was configured at all (in code or in
//! `RACEWAY_URL`) stays observable through [`Config::configured_server_url`]: with none, the
//! default destination is the local analyzer rather than a server that is probably not running.
//! [`Client::from_config`](crate::Client::from_config) sends events to every destination
//! configured: the server, the local analyzer (which prints its race report at shutdown) and a
//! capture file for `raceway check`.
//!
//! The API key is never shown: `Debug` prints `<redacted>` and errors never include it.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use raceway::Config;
//!
//! let config = Config::builder()
//!     .service_name("bank")
//!     .server_url("http://raceway.internal:8080")
//!     .api_key("s3cret")
//!     .flush_interval(Duration::from_millis(500))
//!     .tag("team", "payments")
//!     .build()?;
//! assert_eq!(config.service_name(), "bank");
//! assert_eq!(config.server_url().events_endpoint(), "http://raceway.internal:8080/events");
//! assert!(!format!("{config:?}").contains("s3cret"));
//!
//! // The environment fills in what the code leaves open.
//! let config = Config::builder()
//!     .with_env_from(|name| (name == "RACEWAY_ENV").then(|| "staging".to_owned()))
//!     .build()?;
//! assert_eq!(config.environment(), "staging");
//! assert!(config.configured_server_url().is_none());
//!
//! // Invalid values are errors at construction.
//! assert!(Config::builder().batch_size(0).build().is_err());
//! assert!(Config::builder().server_url("localhost:8080").build().is_err());
//! # Ok::<(), raceway::ConfigError>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The server URL and API key types are the HTTP transport's, which delivers with them.
pub use raceway_transport_http::{ApiKey, InvalidUrl, ServerUrl};

mod builder;

pub use builder::ConfigBuilder;

/// The server URL used when none is configured.
pub const DEFAULT_SERVER_URL: &str = "http://localhost:8080";
/// The service name used when none is configured.
pub const DEFAULT_SERVICE_NAME: &str = "unknown-service";
/// The environment used when none is configured.
pub const DEFAULT_ENVIRONMENT: &str = "development";
/// Events per batch by default.
pub const DEFAULT_BATCH_SIZE: usize = 100;
/// How long events may wait in a partial batch by default.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// Events each recording thread buffers by default (88 bytes each: 1.4 MiB per thread, allocated
/// when a thread first records and reused after it exits).
pub const DEFAULT_LANE_CAPACITY: usize = 1 << 14;
/// The largest per-thread buffer accepted.
pub const MAX_LANE_CAPACITY: usize = 1 << 20;
/// Bytes of events kept for the Raceway server while it cannot take them, by default: 4 MiB,
/// about 47 000 events (24 s of an outage at 2 000 events/s).
pub const DEFAULT_RETRY_BUFFER_BYTES: usize = 4 << 20;
/// How long dropping a [`Client`](crate::Client) waits for delivery by default.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a configuration was rejected. The message says what to fix.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The server URL is malformed.
    InvalidUrl {
        /// Where it came from: `RACEWAY_URL` or `server_url`.
        origin: &'static str,
        /// The rejected URL.
        url: String,
        /// What is wrong with it.
        reason: InvalidUrl,
    },
    /// `batch_size` is 0.
    ZeroBatchSize,
    /// `flush_interval` is zero.
    ZeroFlushInterval,
    /// `lane_capacity` is 0 or above [`MAX_LANE_CAPACITY`].
    LaneCapacity(usize),
    /// A name that appears in every event is empty.
    Empty(&'static str),
    /// The API key is empty or contains characters an HTTP header cannot carry (it is not shown).
    InvalidApiKey,
    /// An environment variable has a value that means nothing.
    InvalidVariable {
        /// The variable.
        variable: &'static str,
        /// Its value.
        value: String,
        /// What values are accepted.
        expected: &'static str,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::InvalidUrl {
                origin,
                url,
                reason,
            } => write!(f, "invalid Raceway server URL {url:?} ({origin}): {reason}"),
            ConfigError::ZeroBatchSize => f.write_str("batch_size must be at least 1"),
            ConfigError::ZeroFlushInterval => f.write_str("flush_interval must be above zero"),
            ConfigError::LaneCapacity(capacity) => write!(
                f,
                "lane_capacity {capacity} is out of range (1 to {MAX_LANE_CAPACITY} events)"
            ),
            ConfigError::Empty(field) => write!(f, "{field} must not be empty"),
            ConfigError::InvalidApiKey => f.write_str(
                "the API key (RACEWAY_API_KEY or api_key) is empty or has characters other than \
                 visible ASCII",
            ),
            ConfigError::InvalidVariable {
                variable,
                value,
                expected,
            } => write!(f, "{variable}={value:?} is invalid: expected {expected}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// A validated configuration. Build one with [`Config::builder`] or [`Config::from_env`].
#[derive(Clone)]
pub struct Config {
    server_url: Option<ServerUrl>,
    default_url: ServerUrl,
    service_name: String,
    instance_id: String,
    environment: String,
    api_key: Option<ApiKey>,
    debug: bool,
    batch_size: usize,
    flush_interval: Duration,
    tags: BTreeMap<String, String>,
    lane_capacity: usize,
    shutdown_timeout: Duration,
    local_analysis: bool,
    capture_path: Option<PathBuf>,
    html_report: Option<PathBuf>,
    retry_buffer_bytes: usize,
    give_up_after: Option<Duration>,
    delivery_problem: Option<ProblemHook>,
    tls_root_certificates: Option<PathBuf>,
}

/// Where the shutdown line about lost events and delivery problems goes.
pub type ProblemHook = Arc<dyn Fn(&str) + Send + Sync>;

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("server_url", &self.server_url)
            .field("service_name", &self.service_name)
            .field("instance_id", &self.instance_id)
            .field("environment", &self.environment)
            .field("api_key", &self.api_key)
            .field("debug", &self.debug)
            .field("batch_size", &self.batch_size)
            .field("flush_interval", &self.flush_interval)
            .field("tags", &self.tags)
            .field("lane_capacity", &self.lane_capacity)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("local_analysis", &self.local_analysis)
            .field("capture_path", &self.capture_path)
            .field("html_report", &self.html_report)
            .field("retry_buffer_bytes", &self.retry_buffer_bytes)
            .field("give_up_after", &self.give_up_after)
            .field(
                "on_delivery_problem",
                &self
                    .delivery_problem
                    .as_ref()
                    .map_or("stderr", |_| "custom"),
            )
            .finish()
    }
}

impl Default for Config {
    /// Every default, ignoring the environment.
    fn default() -> Self {
        match ConfigBuilder::default().build() {
            Ok(config) => config,
            Err(e) => unreachable!("the defaults are valid: {e}"),
        }
    }
}

impl Config {
    /// A builder starting from the defaults; it reads no variable unless told to with
    /// [`with_env`](ConfigBuilder::with_env) (see [precedence](self)).
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// The defaults with the `RACEWAY_*` variables applied.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::builder().with_env().build()
    }

    /// The server URL to send to: the configured one, or [`DEFAULT_SERVER_URL`].
    pub fn server_url(&self) -> &ServerUrl {
        self.server_url.as_ref().unwrap_or(&self.default_url)
    }

    /// The server URL only if one was configured (in code or in `RACEWAY_URL`).
    pub fn configured_server_url(&self) -> Option<&ServerUrl> {
        self.server_url.as_ref()
    }

    /// The service's name (`service_name` on the wire).
    pub fn service_name(&self) -> &str {
        &self.service_name
    }

    /// This process's instance id (`instance_id` on the wire).
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    /// The deployment environment (`environment` on the wire).
    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// The API key, if any.
    pub fn api_key(&self) -> Option<&ApiKey> {
        self.api_key.as_ref()
    }

    /// Whether to log every batch and propagation decision at `debug` level.
    pub fn debug(&self) -> bool {
        self.debug
    }

    /// Events per batch handed to the sink.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The longest an event waits in a partial batch.
    pub fn flush_interval(&self) -> Duration {
        self.flush_interval
    }

    /// Tags added to every event's metadata.
    pub fn tags(&self) -> &BTreeMap<String, String> {
        &self.tags
    }

    /// How many events each recording thread buffers before it drops (rounded up to a power of
    /// two). Up to 256 threads get a buffer of their own; threads beyond share one.
    pub fn lane_capacity(&self) -> usize {
        self.lane_capacity
    }

    /// How long dropping the client waits for delivery.
    pub fn shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
    }

    /// Whether the built-in analyzer receives the events and prints a race report at shutdown.
    pub fn local_analysis(&self) -> bool {
        self.local_analysis
    }

    /// The capture file events are also written to, if any (`raceway check FILE` reads it).
    pub fn capture_path(&self) -> Option<&Path> {
        self.capture_path.as_deref()
    }

    /// Where the local analyzer writes its HTML race report at shutdown, if anywhere.
    pub fn html_report(&self) -> Option<&Path> {
        self.html_report.as_deref()
    }

    /// Bytes of events the Raceway server sink keeps while the server cannot take them; beyond
    /// that, events are dropped, counted and signalled to the server once it is back.
    pub fn retry_buffer_bytes(&self) -> usize {
        self.retry_buffer_bytes
    }

    /// How long the Raceway server sink retries one batch before it stops delivering for good
    /// (see [`give_up_after`](ConfigBuilder::give_up_after)); `None`: it never gives up.
    pub fn give_up_after(&self) -> Option<Duration> {
        self.give_up_after
    }

    /// Says `line` (lost events, a refused key, an unreachable server) through the
    /// [`on_delivery_problem`](ConfigBuilder::on_delivery_problem) hook, or on stderr.
    pub fn report_delivery_problem(&self, line: &str) {
        match &self.delivery_problem {
            Some(hook) => hook(line),
            None => eprintln!("{line}"),
        }
    }

    /// The PEM file of the certificates trusted for an `https://` server instead of the webpki
    /// roots, if any.
    pub fn tls_root_certificates(&self) -> Option<&Path> {
        self.tls_root_certificates.as_deref()
    }

    /// This process's vector clock component, `service#instance`.
    pub fn clock_component(&self) -> String {
        format!("{}#{}", self.service_name, self.instance_id)
    }
}
