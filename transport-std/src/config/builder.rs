//! The builder of a [`Config`]: the options set in code, the `RACEWAY_*` variables read, and
//! the validation that turns both into a configuration (see the [module docs](super) for the
//! precedence).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{
    ApiKey, Config, ConfigError, ProblemHook, ServerUrl, DEFAULT_BATCH_SIZE, DEFAULT_ENVIRONMENT,
    DEFAULT_FLUSH_INTERVAL, DEFAULT_LANE_CAPACITY, DEFAULT_RETRY_BUFFER_BYTES, DEFAULT_SERVER_URL,
    DEFAULT_SERVICE_NAME, DEFAULT_SHUTDOWN_TIMEOUT, MAX_LANE_CAPACITY,
};

/// Builds a [`Config`]; see the [module docs](super) for every option.
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
    give_up_after: Option<Duration>,
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
    give_up_after_ms: Option<String>,
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

    /// Events the drain hands to the sinks at a time (at least 1): what a server request
    /// carries at a quiet service; a sender that has fallen behind posts all that waits, up to
    /// the server's 2 MiB, in one request.
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

    /// Makes the Raceway server sink stop delivering for good once one batch has gone
    /// unaccepted for `after` since its first request (the request under way then gets up to
    /// half as long again): what it holds and everything recorded afterwards is counted in
    /// `dropped_in_delivery`, and the line said at shutdown tells why. For a job or a tool
    /// that must end in bounded time against a dead server; without it, the sink retries for
    /// as long as the outage lasts and loses only what the retry buffer cannot hold.
    pub fn give_up_after(mut self, after: Duration) -> Self {
        self.give_up_after = Some(after);
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
            give_up_after_ms: get("RACEWAY_GIVE_UP_AFTER_MS"),
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
            give_up_after,
            delivery_problem,
            tls_root_certificates,
            env,
        } = self;
        let tls_root_certificates = tls_root_certificates.or(env.ca_cert.map(PathBuf::from));
        let batch_size = code_or_env(batch_size, env.batch_size, "RACEWAY_BATCH_SIZE", |n| n)?;
        let flush_interval = code_or_env(
            flush_interval,
            env.flush_interval_ms,
            "RACEWAY_FLUSH_INTERVAL_MS",
            Duration::from_millis,
        )?;
        let give_up_after = code_or_env(
            give_up_after,
            env.give_up_after_ms,
            "RACEWAY_GIVE_UP_AFTER_MS",
            Duration::from_millis,
        )?;
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
            give_up_after,
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

/// What code set, else the variable's whole number in `unit`: code wins over the environment.
fn code_or_env<N: std::str::FromStr, T>(
    code: Option<T>,
    value: Option<String>,
    variable: &'static str,
    unit: impl FnOnce(N) -> T,
) -> Result<Option<T>, ConfigError> {
    match code {
        Some(code) => Ok(Some(code)),
        None => value
            .map(|value| number(value, variable).map(unit))
            .transpose(),
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
