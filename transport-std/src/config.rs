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

/// Builds a [`Config`]; see the [module docs](self) for every option.
#[derive(Default)]
pub struct ConfigBuilder {
    server_url: Option<String>,
    service_name: Option<String>,
    instance_id: Option<String>,
    environment: Option<String>,
    api_key: Option<String>,
    debug: Option<bool>,
    batch_size: Option<usize>,
    flush_interval: Option<Duration>,
    tags: BTreeMap<String, String>,
    lane_capacity: Option<usize>,
    shutdown_timeout: Option<Duration>,
    local_analysis: Option<bool>,
    capture_path: Option<PathBuf>,
    html_report: Option<PathBuf>,
    retry_buffer_bytes: Option<usize>,
    delivery_problem: Option<ProblemHook>,
    tls_root_certificates: Option<PathBuf>,
    env: Env,
}

#[derive(Default)]
struct Env {
    url: Option<String>,
    service_name: Option<String>,
    instance_id: Option<String>,
    environment: Option<String>,
    api_key: Option<String>,
    debug: Option<String>,
    analyze: Option<String>,
    capture: Option<String>,
    report: Option<String>,
    retry_buffer_bytes: Option<String>,
    ca_cert: Option<String>,
    batch_size: Option<String>,
    flush_interval_ms: Option<String>,
    tags: Option<String>,
}

impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigBuilder")
            .field("server_url", &self.server_url)
            .field("service_name", &self.service_name)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl ConfigBuilder {
    /// The Raceway server's base URL, e.g. `http://raceway:8080`.
    pub fn server_url(mut self, url: impl Into<String>) -> Self {
        self.server_url = Some(url.into());
        self
    }

    /// This service's name.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// This process's instance id (one per process: see the wire contract).
    pub fn instance_id(mut self, id: impl Into<String>) -> Self {
        self.instance_id = Some(id.into());
        self
    }

    /// The deployment environment.
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// The API key the server expects.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Verbose diagnostics at `debug` level.
    pub fn debug(mut self, debug: bool) -> Self {
        self.debug = Some(debug);
        self
    }

    /// Events per batch (at least 1).
    pub fn batch_size(mut self, size: usize) -> Self {
        self.batch_size = Some(size);
        self
    }

    /// The longest an event waits in a partial batch (above zero).
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = Some(interval);
        self
    }

    /// Adds a tag to every event's metadata.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Events each recording thread buffers until the drain takes them (1 to
    /// [`MAX_LANE_CAPACITY`], rounded up to a power of two). Raise it if `dropped_in_lanes` grows
    /// during bursts.
    pub fn lane_capacity(mut self, capacity: usize) -> Self {
        self.lane_capacity = Some(capacity);
        self
    }

    /// How long dropping the client waits for delivery.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// Whether the built-in analyzer should also (or should not) receive the events. Without
    /// this call it does exactly when no server URL is configured (and never when the
    /// `analyzer` feature is off).
    pub fn local_analysis(mut self, on: bool) -> Self {
        self.local_analysis = Some(on);
        self
    }

    /// Also writes every event to a capture file at `path` (created or truncated).
    pub fn capture_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.capture_path = Some(path.into());
        self
    }

    /// Has the local analyzer write its race report as one self-contained HTML page at `path`
    /// at shutdown (a timeline of each race; see `raceway_analyze::html`). Turns local
    /// analysis on unless [`local_analysis`](Self::local_analysis) says otherwise.
    pub fn html_report(mut self, path: impl Into<PathBuf>) -> Self {
        self.html_report = Some(path.into());
        self
    }

    /// Bytes of events kept for the Raceway server while it is unreachable or asks to slow
    /// down (one event takes 88 bytes; at least one is kept). An outage that fits loses
    /// nothing; beyond it events are dropped, counted in `dropped_in_delivery`, and signalled to
    /// the server with a `raceway.dropped` marker once it is back. Allocated when the client
    /// starts.
    pub fn retry_buffer_bytes(mut self, bytes: usize) -> Self {
        self.retry_buffer_bytes = Some(bytes);
        self
    }

    /// Where the line said at shutdown goes when events were lost or delivery went wrong (a
    /// refused API key, an unreachable server). By default it is printed on stderr, with or
    /// without a `log` backend; pass e.g. `|line| log::warn!("{line}")` to route it elsewhere.
    pub fn on_delivery_problem(mut self, hook: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.delivery_problem = Some(Arc::new(hook));
        self
    }

    /// Trusts the certificates in the PEM file at `path` — a private CA, or the server's own
    /// self-signed certificate — instead of the webpki roots for an `https://` server (feature
    /// `tls`). Read when the client starts; a missing or empty file is a start error.
    pub fn tls_root_certificates(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls_root_certificates = Some(path.into());
        self
    }

    /// Reads the `RACEWAY_*` variables from the process environment.
    pub fn with_env(self) -> Self {
        self.with_env_from(|name| std::env::var(name).ok())
    }

    /// Reads the `RACEWAY_*` variables through `lookup` (for tests and custom sources).
    pub fn with_env_from(mut self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(name).filter(|value| !value.is_empty());
        self.env = Env {
            url: get("RACEWAY_URL"),
            service_name: get("RACEWAY_SERVICE_NAME"),
            instance_id: get("RACEWAY_INSTANCE_ID"),
            environment: get("RACEWAY_ENV"),
            api_key: get("RACEWAY_API_KEY"),
            debug: get("RACEWAY_DEBUG"),
            analyze: get("RACEWAY_ANALYZE"),
            capture: get("RACEWAY_CAPTURE"),
            report: get("RACEWAY_REPORT"),
            retry_buffer_bytes: get("RACEWAY_RETRY_BUFFER_BYTES"),
            ca_cert: get("RACEWAY_CA_CERT"),
            batch_size: get("RACEWAY_BATCH_SIZE"),
            flush_interval_ms: get("RACEWAY_FLUSH_INTERVAL_MS"),
            tags: get("RACEWAY_TAGS"),
        };
        self
    }

    /// Validates everything and builds the configuration.
    pub fn build(self) -> Result<Config, ConfigError> {
        let ConfigBuilder {
            server_url,
            service_name,
            instance_id,
            environment,
            api_key,
            debug,
            batch_size,
            flush_interval,
            tags,
            lane_capacity,
            shutdown_timeout,
            local_analysis,
            capture_path,
            html_report,
            retry_buffer_bytes,
            delivery_problem,
            tls_root_certificates,
            env,
        } = self;
        let tls_root_certificates = tls_root_certificates.or(env.ca_cert.map(PathBuf::from));
        let batch_size = match (batch_size, env.batch_size) {
            (None, Some(value)) => Some(number(value, "RACEWAY_BATCH_SIZE")?),
            (code, _) => code,
        };
        let flush_interval = match (flush_interval, env.flush_interval_ms) {
            (None, Some(value)) => Some(Duration::from_millis(number(
                value,
                "RACEWAY_FLUSH_INTERVAL_MS",
            )?)),
            (code, _) => code,
        };
        let tags = match env.tags {
            Some(value) => {
                let mut merged = parse_tags(value)?;
                merged.extend(tags);
                merged
            }
            None => tags,
        };
        let server_url = match (server_url, env.url) {
            (Some(url), _) => Some(parse_url(url, "server_url")?),
            (None, Some(url)) => Some(parse_url(url, "RACEWAY_URL")?),
            (None, None) => None,
        };
        let debug = flag(debug, env.debug, "RACEWAY_DEBUG")?.unwrap_or(false);
        let html_report = html_report.or(env.report.map(PathBuf::from));
        let local_analysis = flag(local_analysis, env.analyze, "RACEWAY_ANALYZE")?.unwrap_or(
            (server_url.is_none() || html_report.is_some()) && cfg!(feature = "analyzer"),
        );
        let capture_path = capture_path.or(env.capture.map(PathBuf::from));
        let api_key = api_key.or(env.api_key);
        let api_key = api_key
            .map(ApiKey::new)
            .transpose()
            .map_err(|_| ConfigError::InvalidApiKey)?;
        let service_name = service_name
            .or(env.service_name)
            .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_owned());
        let instance_id = instance_id
            .or(env.instance_id)
            .unwrap_or_else(default_instance_id);
        if service_name.is_empty() {
            return Err(ConfigError::Empty("service_name"));
        }
        if instance_id.is_empty() {
            return Err(ConfigError::Empty("instance_id"));
        }
        let batch_size = batch_size.unwrap_or(DEFAULT_BATCH_SIZE);
        if batch_size == 0 {
            return Err(ConfigError::ZeroBatchSize);
        }
        let flush_interval = flush_interval.unwrap_or(DEFAULT_FLUSH_INTERVAL);
        if flush_interval.is_zero() {
            return Err(ConfigError::ZeroFlushInterval);
        }
        let retry_buffer_bytes = match (retry_buffer_bytes, env.retry_buffer_bytes) {
            (Some(bytes), _) => bytes,
            (None, Some(value)) => {
                value
                    .trim()
                    .parse()
                    .map_err(|_| ConfigError::InvalidVariable {
                        variable: "RACEWAY_RETRY_BUFFER_BYTES",
                        value,
                        expected: "a number of bytes",
                    })?
            }
            (None, None) => DEFAULT_RETRY_BUFFER_BYTES,
        };
        let lane_capacity = lane_capacity.unwrap_or(DEFAULT_LANE_CAPACITY);
        if lane_capacity == 0 || lane_capacity > MAX_LANE_CAPACITY {
            return Err(ConfigError::LaneCapacity(lane_capacity));
        }
        Ok(Config {
            server_url,
            default_url: ServerUrl::parse(DEFAULT_SERVER_URL).expect("the default URL is valid"),
            service_name,
            instance_id,
            environment: environment
                .or(env.environment)
                .unwrap_or_else(|| DEFAULT_ENVIRONMENT.to_owned()),
            api_key,
            debug,
            batch_size,
            flush_interval,
            tags,
            lane_capacity,
            shutdown_timeout: shutdown_timeout.unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT),
            local_analysis,
            capture_path,
            html_report,
            retry_buffer_bytes,
            delivery_problem,
            tls_root_certificates,
        })
    }
}

/// A boolean option: the value set in code, else the variable's, else none.
fn flag(
    code: Option<bool>,
    variable_value: Option<String>,
    variable: &'static str,
) -> Result<Option<bool>, ConfigError> {
    match (code, variable_value) {
        (Some(on), _) => Ok(Some(on)),
        (None, Some(value)) => match parse_bool(&value) {
            Some(on) => Ok(Some(on)),
            None => Err(ConfigError::InvalidVariable {
                variable,
                value,
                expected: "1, true, yes, on, 0, false, no or off",
            }),
        },
        (None, None) => Ok(None),
    }
}

/// A number from the variable `variable`.
fn number<N: std::str::FromStr>(value: String, variable: &'static str) -> Result<N, ConfigError> {
    value
        .trim()
        .parse()
        .map_err(|_| ConfigError::InvalidVariable {
            variable,
            value,
            expected: "a whole number",
        })
}

/// `RACEWAY_TAGS`: `key=value` pairs separated by commas, blanks around each trimmed.
fn parse_tags(value: String) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut tags = BTreeMap::new();
    for pair in value.split(',').filter(|pair| !pair.trim().is_empty()) {
        match pair.split_once('=') {
            Some((key, tag)) if !key.trim().is_empty() => {
                tags.insert(key.trim().to_owned(), tag.trim().to_owned());
            }
            _ => {
                return Err(ConfigError::InvalidVariable {
                    variable: "RACEWAY_TAGS",
                    value,
                    expected: "key=value pairs separated by commas",
                })
            }
        }
    }
    Ok(tags)
}

fn parse_url(url: String, origin: &'static str) -> Result<ServerUrl, ConfigError> {
    ServerUrl::parse(&url).map_err(|reason| ConfigError::InvalidUrl {
        origin,
        url,
        reason,
    })
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// `<hostname>-<pid>`.
fn default_instance_id() -> String {
    let host = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}-{}", std::process::id())
}
