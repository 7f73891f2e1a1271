//! Delivery: `POST {server}/events` with blocking `ureq`, every answer of the server handled.
//!
//! [`HttpClient::deliver`] sends one [`Batch`] and returns when every event in it has an outcome
//! or the caller's deadline has passed. It never blocks past the deadline.
//!
//! | answer | what happens | counted as |
//! |---|---|---|
//! | 200 (any 2xx but 206) | done | `sent` |
//! | 206 | the server's queue overflowed; `"Ingested N events, M errors"` is parsed, and the next request waits a backoff that grows with each 206 in a row | `sent` N, `server_dropped` M |
//! | 400, 415, 422 | an encoding bug: the server's message is logged with `log::error!`, never resent | `rejected` |
//! | 401, 403 | one `log::error!` naming the API key; this client stops sending for good | `dropped` |
//! | 413 | the batch is split in halves, each sent again (a single event: rejected) | by outcome |
//! | 408, 429, 5xx, timeouts, connection errors | retried with exponential backoff and full jitter, honouring `Retry-After` seconds, up to [`HttpClientConfig::max_attempts`] and [`HttpClientConfig::max_retry_time`] | `retries`; `dropped` when out of attempts or time |
//! | anything else | logged, not resent | `dropped` |
//!
//! So every event handed to [`HttpClient::deliver`] ends up in exactly one of `sent`,
//! `server_dropped`, `rejected` and `dropped` ([`DeliveryStats`]).
//!
//! A 206, a 429, a 5xx or a failed connection also holds back the client's next request,
//! whatever batch it carries ([`HttpClient::resume_at`]): the server said it is overloaded or
//! away. [`HttpClient::attempt`] makes one request and leaves the retrying to the caller, for a
//! caller that keeps undelivered batches in a retry buffer of its own.
//!
//! # The API key
//!
//! The key travels only in the `Authorization: Bearer` header of requests to the configured
//! server: redirects are not followed, no proxy is used, and every `Debug` output and log
//! message shows `<redacted>` instead.
//!
//! # Examples
//!
//! ```no_run
//! use std::time::{Duration, Instant};
//! use raceway_transport_http::{ApiKey, Batch, HttpClient, HttpClientConfig};
//!
//! let mut config = HttpClientConfig::new("http://localhost:8080");
//! config.api_key = Some(ApiKey::new("secret-key")?);
//! let client = HttpClient::new(config)?;
//!
//! let report = client.deliver(Batch::new(), Instant::now() + Duration::from_secs(5));
//! assert!(report.error.is_none());
//! println!("{:?}", client.stats());
//! # Ok::<(), raceway_transport_http::HttpConfigError>(())
//! ```

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

use crate::batch::Batch;
use crate::url::{ApiKey, ServerUrl};
use crate::uuid::Rng;

/// How much of a response body is read (for error messages).
const MAX_RESPONSE_BYTES: u64 = 64 * 1024;

/// Where and how to deliver.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HttpClientConfig {
    /// The server's base URL, e.g. `http://localhost:8080`; events go to `{server_url}/events`.
    pub server_url: String,
    /// Sent as `Authorization: Bearer <key>` when set.
    pub api_key: Option<ApiKey>,
    /// Longest time for one request, from connecting to reading the answer.
    pub request_timeout: Duration,
    /// Longest time to establish a connection (within `request_timeout`).
    pub connect_timeout: Duration,
    /// Requests per batch at most, first attempt included (at least 1).
    pub max_attempts: u32,
    /// The backoff ceiling before the first retry; it doubles per retry.
    pub initial_backoff: Duration,
    /// The backoff ceiling never grows past this.
    pub max_backoff: Duration,
    /// Longest time spent retrying one batch, whatever the caller's deadline.
    pub max_retry_time: Duration,
    /// PEM certificates to trust for an `https://` server *instead of* the webpki roots: a
    /// private CA, or the server's own self-signed certificate (with the `tls` feature).
    pub root_certificates_pem: Option<Vec<u8>>,
}

impl HttpClientConfig {
    /// Defaults: no key, 10 s per request (3 s to connect), 8 attempts, backoff from 100 ms
    /// up to 5 s, at most 30 s of retrying per batch.
    pub fn new(server_url: impl Into<String>) -> Self {
        HttpClientConfig {
            server_url: server_url.into(),
            api_key: None,
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
            max_attempts: 8,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            max_retry_time: Duration::from_secs(30),
            root_certificates_pem: None,
        }
    }
}

/// A configuration that cannot work; each variant says what to fix.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpConfigError {
    /// The server URL is not `http://host[:port][/path]` (or `https://` with the `tls`
    /// feature); user info, queries and fragments are not allowed. Holds the reason.
    InvalidUrl(String),
    /// An `https://` URL, but this build has no TLS: enable the `tls` feature.
    TlsNotEnabled,
    /// The API key is empty or has characters a header cannot carry (spaces, control
    /// characters, non-ASCII).
    InvalidApiKey,
    /// The root certificates to trust could not be read or hold no certificate. Holds the
    /// reason.
    RootCertificates(String),
}

impl fmt::Display for HttpConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpConfigError::InvalidUrl(reason) => write!(f, "invalid Raceway server URL: {reason}"),
            HttpConfigError::TlsNotEnabled => f.write_str(
                "the Raceway server URL is https:// but raceway-transport-http was built without its `tls` feature",
            ),
            HttpConfigError::InvalidApiKey => f.write_str(
                "invalid Raceway API key: it must be non-empty visible ASCII (check RACEWAY_API_KEY)",
            ),
            HttpConfigError::RootCertificates(reason) => {
                write!(f, "unusable TLS root certificates: {reason}")
            }
        }
    }
}

impl std::error::Error for HttpConfigError {}

/// Why (part of) a batch was not delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryError {
    /// The server refused the API key (401/403). Nothing more is sent by this client: fix the
    /// key (`RACEWAY_API_KEY`) and create a new client.
    Unauthorized,
    /// The server rejected the body as malformed (400/415/422): an encoder bug, never resent.
    /// Holds the status and the server's message.
    Rejected {
        /// The HTTP status.
        status: u16,
        /// What the server said (it names the offending field for 422).
        message: String,
    },
    /// One event alone is over the server's body limit (413): lower its size or raise the
    /// server's limit.
    TooLarge,
    /// The server stayed unreachable or overloaded (429/5xx/timeouts/connection errors) for
    /// every allowed attempt. Holds the attempts made and the last problem.
    Unavailable {
        /// Requests made for this batch.
        attempts: u32,
        /// The last status or transport error.
        last: String,
    },
    /// The caller's deadline passed before the batch was delivered.
    DeadlineExceeded,
    /// An answer this client does not know how to handle (e.g. a redirect: point the URL at
    /// the final address). Holds the status and the server's message.
    UnexpectedStatus {
        /// The HTTP status.
        status: u16,
        /// What the server said.
        message: String,
    },
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeliveryError::Unauthorized => f.write_str(
                "the Raceway server refused the API key (401): set a valid key (RACEWAY_API_KEY); no more events are sent",
            ),
            DeliveryError::Rejected { status, message } => write!(
                f,
                "the Raceway server rejected a batch ({status}): {message} (an encoder bug: please report it)"
            ),
            DeliveryError::TooLarge => f.write_str(
                "one event is larger than the Raceway server's body limit (413)",
            ),
            DeliveryError::Unavailable { attempts, last } => write!(
                f,
                "the Raceway server was unavailable for {attempts} attempts (last: {last})"
            ),
            DeliveryError::DeadlineExceeded => {
                f.write_str("the deadline passed before the batch was delivered")
            }
            DeliveryError::UnexpectedStatus { status, message } => write!(
                f,
                "unexpected answer from the Raceway server ({status}): {message}"
            ),
        }
    }
}

impl std::error::Error for DeliveryError {}

/// What became of one batch handed to [`HttpClient::deliver`].
///
/// `events == sent + server_dropped + rejected + dropped`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryReport {
    /// Events in the batch.
    pub events: usize,
    /// Accepted and kept by the server.
    pub sent: usize,
    /// Accepted, then dropped by the server's full queue (206).
    pub server_dropped: usize,
    /// Refused as malformed (400/415/422, or one event over the limit).
    pub rejected: usize,
    /// Not delivered: out of attempts or time, or the key was refused.
    pub dropped: usize,
    /// Requests repeated after a retriable failure.
    pub retries: u32,
    /// The last problem met, if any.
    pub error: Option<DeliveryError>,
}

impl DeliveryReport {
    /// Adds the outcome of part of the batch (a half of a split, a retried request).
    fn add(&mut self, part: DeliveryReport) {
        self.sent += part.sent;
        self.server_dropped += part.server_dropped;
        self.rejected += part.rejected;
        self.dropped += part.dropped;
        self.retries += part.retries;
        if part.error.is_some() {
            self.error = part.error;
        }
    }

    /// Whether every event reached the server and was kept.
    pub fn is_complete(&self) -> bool {
        self.sent == self.events
    }

    /// Events that did not reach the server's store.
    pub fn undelivered(&self) -> usize {
        self.events - self.sent
    }
}

/// Totals over every delivery of a client, readable at any time from any thread.
///
/// Every event passed to [`HttpClient::deliver`] is counted once in `sent`, `server_dropped`,
/// `rejected` or `dropped`, once its delivery has returned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryStats {
    /// Events the server accepted and kept.
    pub sent: u64,
    /// Events the server accepted and then dropped (206).
    pub server_dropped: u64,
    /// Events refused as malformed (never resent).
    pub rejected: u64,
    /// Events given up on (retries exhausted, deadline, refused key).
    pub dropped: u64,
    /// Requests repeated after a retriable failure.
    pub retries: u64,
    /// Requests made.
    pub requests: u64,
}

#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    server_dropped: AtomicU64,
    rejected: AtomicU64,
    dropped: AtomicU64,
    retries: AtomicU64,
    requests: AtomicU64,
}

/// What one request made of a batch: see [`HttpClient::attempt`].
#[derive(Debug)]
pub enum Attempt {
    /// Every event of the batch has its outcome, counted in the report and in
    /// [`HttpClient::stats`].
    Done(DeliveryReport),
    /// The server found the batch too large (413): send these halves instead, the first first.
    Split(Batch, Batch),
    /// A retriable failure (408, 429, 5xx, a timeout, a refused or cut connection): send the
    /// same batch again, not before [`HttpClient::resume_at`].
    Retry {
        /// The batch, unchanged.
        batch: Batch,
        /// The status or transport error met.
        last: String,
    },
}

/// When the server asked this client to slow down.
#[derive(Debug, Default)]
struct Pace {
    /// No request before this.
    until: Option<Instant>,
    /// 206 answers in a row.
    overflows: u32,
}

/// TLS that trusts exactly the certificates in `pem`.
#[cfg(feature = "tls")]
fn trusting(pem: &[u8]) -> Result<ureq::tls::TlsConfig, HttpConfigError> {
    use ureq::tls::{PemItem, RootCerts, TlsConfig};
    let mut roots = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        match item {
            Ok(PemItem::Certificate(certificate)) => roots.push(certificate),
            Ok(_) => {}
            Err(e) => return Err(HttpConfigError::RootCertificates(e.to_string())),
        }
    }
    if roots.is_empty() {
        return Err(HttpConfigError::RootCertificates(
            "no PEM certificate found".to_owned(),
        ));
    }
    Ok(TlsConfig::builder()
        .root_certs(RootCerts::new_with_certs(&roots))
        .build())
}

/// What one request came back with.
enum Answer {
    Status {
        status: u16,
        retry_after: Option<Duration>,
        body: String,
    },
    /// Timeouts, refused or cut connections: worth retrying.
    Transport(String),
    /// Errors retrying cannot fix (a bad URI).
    Fatal(String),
}

/// Delivers batches to one Raceway server. `Send + Sync`: share it by reference or `Arc`;
/// [`stats`](Self::stats) may be read while another thread delivers.
pub struct HttpClient {
    agent: ureq::Agent,
    endpoint: String,
    authorization: Option<String>,
    config: HttpClientConfig,
    stopped: AtomicBool,
    counters: Counters,
    pace: Mutex<Pace>,
    rng: Mutex<Rng>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("endpoint", &self.endpoint)
            .field("config", &self.config)
            .field("stopped", &self.stopped.load(Ordering::Relaxed))
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client for `config.server_url`, or what is wrong with the configuration.
    pub fn new(config: HttpClientConfig) -> Result<Self, HttpConfigError> {
        let endpoint = endpoint(&config.server_url)?;
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // The key must reach no one but the server: no redirects, no proxy from the
            // environment.
            .max_redirects(0)
            .proxy(None)
            .timeout_connect(Some(config.connect_timeout))
            .user_agent(concat!("raceway-rust/", env!("CARGO_PKG_VERSION")));
        #[cfg(feature = "tls")]
        let agent = match &config.root_certificates_pem {
            Some(pem) => agent.tls_config(trusting(pem)?),
            None => agent,
        };
        let agent = ureq::Agent::with_parts(
            agent.build(),
            ureq::unversioned::transport::DefaultConnector::new(),
            LiteralFirst::default(),
        );
        let authorization = config
            .api_key
            .as_ref()
            .map(|key| format!("Bearer {}", key.expose()));
        Ok(HttpClient {
            agent,
            endpoint,
            authorization,
            config,
            stopped: AtomicBool::new(false),
            counters: Counters::default(),
            pace: Mutex::new(Pace::default()),
            rng: Mutex::new(Rng::from_entropy()),
        })
    }

    /// The URL batches are posted to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Whether a refused API key stopped this client (every later batch is dropped unsent).
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    /// The totals so far.
    pub fn stats(&self) -> DeliveryStats {
        let c = &self.counters;
        DeliveryStats {
            sent: c.sent.load(Ordering::Relaxed),
            server_dropped: c.server_dropped.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            requests: c.requests.load(Ordering::Relaxed),
        }
    }

    /// When the next request may be made, if the server asked this client to slow down: after
    /// a 206 (its queue overflowed), a 429, a 5xx or a failed connection. [`attempt`](Self::attempt)
    /// waits for it by itself; a caller with its own waiting (one that must wake up for
    /// something else) waits for it first.
    pub fn resume_at(&self) -> Option<Instant> {
        let pace = self.pace.lock().unwrap_or_else(|e| e.into_inner());
        pace.until.filter(|until| *until > Instant::now())
    }

    /// Sends `batch`, retrying and splitting as the [module docs](self) describe, and returns
    /// no later than `deadline` (plus one connection's teardown). Events still undelivered at
    /// the deadline are dropped and counted; the report says how many.
    pub fn deliver(&self, batch: Batch, deadline: Instant) -> DeliveryReport {
        let mut report = DeliveryReport {
            events: batch.len(),
            ..DeliveryReport::default()
        };
        // Halves of split batches go first-half-first, so parents stay ahead of children.
        let mut queue = vec![batch];
        while let Some(batch) = queue.pop() {
            if batch.is_empty() {
                continue;
            }
            if let Some((first, second)) = self.deliver_one(batch, deadline, &mut report) {
                queue.push(second);
                queue.push(first);
            }
        }
        report
    }

    /// Sends one batch until it has an outcome; returns its halves if the server wants it split.
    fn deliver_one(
        &self,
        mut batch: Batch,
        deadline: Instant,
        report: &mut DeliveryReport,
    ) -> Option<(Batch, Batch)> {
        let retry_deadline = deadline.min(Instant::now() + self.config.max_retry_time);
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            if attempt > 1 {
                report.retries += 1;
            }
            let last = match self.attempt(batch, attempt, deadline) {
                Attempt::Done(outcome) => {
                    report.add(outcome);
                    return None;
                }
                Attempt::Split(first, second) => return Some((first, second)),
                Attempt::Retry { batch: again, last } => {
                    batch = again;
                    last
                }
            };
            let resume = self.resume_at().unwrap_or_else(Instant::now);
            if attempt >= self.config.max_attempts.max(1) || resume >= retry_deadline {
                let error = if resume >= deadline && attempt < self.config.max_attempts {
                    DeliveryError::DeadlineExceeded
                } else {
                    DeliveryError::Unavailable {
                        attempts: attempt,
                        last: last.clone(),
                    }
                };
                log::warn!(
                    "raceway: dropped {} events after {attempt} attempts: {last}",
                    batch.len()
                );
                report.add(self.give_up(batch.len(), error));
                return None;
            }
            log::debug!("raceway: attempt {attempt} failed ({last}); retrying");
            std::thread::sleep(resume.saturating_duration_since(Instant::now()));
        }
    }

    /// Makes one request for `batch` (its `attempt`-th, from 1), after waiting out
    /// [`resume_at`](Self::resume_at) (but not past `deadline`), and says what became of it.
    ///
    /// This is [`deliver`](Self::deliver) without the retry loop, for a caller that keeps
    /// undelivered batches itself (in a retry buffer) and retries them for as long as it
    /// chooses. What `Done` reports is counted in [`stats`](Self::stats); a retriable failure
    /// sets [`resume_at`](Self::resume_at) to the server's `Retry-After` or to the backoff for
    /// `attempt`.
    pub fn attempt(&self, batch: Batch, attempt: u32, deadline: Instant) -> Attempt {
        let events = batch.len();
        if let Some(until) = self.resume_at() {
            std::thread::sleep(
                until
                    .min(deadline)
                    .saturating_duration_since(Instant::now()),
            );
        }
        if self.is_stopped() {
            return Attempt::Done(self.give_up(events, DeliveryError::Unauthorized));
        }
        let now = Instant::now();
        if now >= deadline {
            return Attempt::Done(self.give_up(events, DeliveryError::DeadlineExceeded));
        }
        if attempt > 1 {
            self.counters.retries.fetch_add(1, Ordering::Relaxed);
        }
        let mut report = DeliveryReport {
            events,
            ..DeliveryReport::default()
        };
        let timeout = self.config.request_timeout.min(deadline - now);
        let (retry_after, last) = match self.post(batch.body(), timeout) {
            Answer::Status {
                status,
                retry_after,
                body,
            } => match status {
                206 => {
                    let dropped = parse_partial(&body, events);
                    if dropped.is_none() {
                        log::warn!("raceway: the server answered 206 without saying how many events it dropped: {body}");
                    }
                    let dropped = dropped.unwrap_or(0);
                    let pause = self.overflowed();
                    log::warn!("raceway: the server's queue overflowed and dropped {dropped} of {events} events; pausing {pause:?} before the next request");
                    report.server_dropped = dropped;
                    report.sent = events - dropped;
                    return Attempt::Done(self.settle(report));
                }
                200..=299 => {
                    self.pace().overflows = 0;
                    report.sent = events;
                    return Attempt::Done(self.settle(report));
                }
                400 | 415 | 422 => {
                    log::error!(
                        "raceway: the server rejected a batch of {events} events ({status}): {body}"
                    );
                    report.rejected = events;
                    report.error = Some(DeliveryError::Rejected {
                        status,
                        message: body,
                    });
                    return Attempt::Done(self.settle(report));
                }
                401 | 403 => {
                    if !self.stopped.swap(true, Ordering::Relaxed) {
                        log::error!(
                            "raceway: the server at {} refused the API key ({status}); set a valid key (RACEWAY_API_KEY). No more events will be sent.",
                            self.endpoint
                        );
                    }
                    return Attempt::Done(self.give_up(events, DeliveryError::Unauthorized));
                }
                413 => match batch.split() {
                    (first, Some(second)) => {
                        log::debug!(
                            "raceway: the server found {events} events too large (413); splitting"
                        );
                        return Attempt::Split(first, second);
                    }
                    (_, None) => {
                        log::error!(
                            "raceway: one event is over the server's body limit (413); dropped"
                        );
                        report.rejected = events;
                        report.error = Some(DeliveryError::TooLarge);
                        return Attempt::Done(self.settle(report));
                    }
                },
                408 | 429 | 500..=599 => (retry_after, format!("status {status}: {body}")),
                _ => {
                    log::error!("raceway: unexpected answer from the server ({status}): {body}");
                    let error = DeliveryError::UnexpectedStatus {
                        status,
                        message: body,
                    };
                    return Attempt::Done(self.give_up(events, error));
                }
            },
            Answer::Transport(error) => (None, error),
            Answer::Fatal(error) => {
                log::error!("raceway: cannot send to {}: {error}", self.endpoint);
                let error = DeliveryError::Unavailable {
                    attempts: attempt,
                    last: error,
                };
                return Attempt::Done(self.give_up(events, error));
            }
        };
        // A retriable failure: nothing goes to this server before the wait is over.
        let wait = retry_after.unwrap_or_else(|| self.backoff(attempt, false));
        self.pace().until = Some(Instant::now() + wait);
        Attempt::Retry { batch, last }
    }

    /// Counts a finished batch in the totals.
    fn settle(&self, report: DeliveryReport) -> DeliveryReport {
        let c = &self.counters;
        c.sent.fetch_add(report.sent as u64, Ordering::Relaxed);
        c.server_dropped
            .fetch_add(report.server_dropped as u64, Ordering::Relaxed);
        c.rejected
            .fetch_add(report.rejected as u64, Ordering::Relaxed);
        c.dropped
            .fetch_add(report.dropped as u64, Ordering::Relaxed);
        report
    }

    /// Gives up on `events` events for `error`, counted.
    fn give_up(&self, events: usize, error: DeliveryError) -> DeliveryReport {
        self.settle(DeliveryReport {
            events,
            dropped: events,
            error: Some(error),
            ..DeliveryReport::default()
        })
    }

    /// Notes a 206 and returns the pause before the next request: the backoff for the number
    /// of 206 answers in a row, at least half of its ceiling so that the pause is never
    /// negligible.
    fn overflowed(&self) -> Duration {
        let overflows = {
            let mut pace = self.pace();
            pace.overflows = pace.overflows.saturating_add(1);
            pace.overflows
        };
        let pause = self.backoff(overflows, true);
        self.pace().until = Some(Instant::now() + pause);
        pause
    }

    fn pace(&self) -> std::sync::MutexGuard<'_, Pace> {
        self.pace.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Jitter below the ceiling `min(max_backoff, initial_backoff * 2^(step-1))`: uniform in
    /// `[0, ceiling]` (full jitter, for retries) or, with `half_floor`, in `[ceiling/2, ceiling]`
    /// (for pacing, which must really slow down).
    fn backoff(&self, step: u32, half_floor: bool) -> Duration {
        let ceiling = self
            .config
            .initial_backoff
            .saturating_mul(1u32 << (step.max(1) - 1).min(20))
            .min(self.config.max_backoff);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        let floor = if half_floor { nanos / 2 } else { 0 };
        let mut rng = self
            .rng
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Duration::from_nanos(floor + rng.below(nanos - floor))
    }

    fn post(&self, body: &[u8], timeout: Duration) -> Answer {
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let mut request = self
            .agent
            .post(&self.endpoint)
            .config()
            .timeout_global(Some(timeout))
            .build()
            .header("Content-Type", "application/json");
        if let Some(authorization) = &self.authorization {
            request = request.header("Authorization", authorization);
        }
        match request.send(body) {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| value.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let body = response
                    .body_mut()
                    .with_config()
                    .limit(MAX_RESPONSE_BYTES)
                    .read_to_string()
                    .unwrap_or_default();
                Answer::Status {
                    status,
                    retry_after,
                    body,
                }
            }
            Err(error @ (ureq::Error::BadUri(_) | ureq::Error::Http(_))) => {
                Answer::Fatal(error.to_string())
            }
            Err(error) => Answer::Transport(error.to_string()),
        }
    }
}

/// How many events a 206 answer says were dropped: `"Ingested N events, M errors"`.
fn parse_partial(body: &str, events: usize) -> Option<usize> {
    let number_before = |marker: &str| -> Option<usize> {
        let end = body.find(marker)?;
        let digits = body[..end]
            .bytes()
            .rev()
            .take_while(u8::is_ascii_digit)
            .count();
        body[end - digits..end].parse().ok()
    };
    let errors = number_before(" errors").or_else(|| number_before(" error"))?;
    Some(errors.min(events))
}

/// ureq's resolver, except for a host given as an IP address: ureq looks every host up on a
/// thread of its own whenever the request has a deadline, as every request here has, and that
/// was a thread started and ended per request for a server on `127.0.0.1` too.
#[derive(Debug, Default)]
struct LiteralFirst(DefaultResolver);

impl Resolver for LiteralFirst {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        match ip_literal(uri) {
            Some(address) => {
                let mut addresses = self.empty();
                addresses.push(address);
                Ok(addresses)
            }
            None => self.0.resolve(uri, config, timeout),
        }
    }
}

/// The socket address of a URI whose host is an IP address (IPv6 in brackets).
fn ip_literal(uri: &Uri) -> Option<SocketAddr> {
    let host = uri.host()?;
    let host = (host.strip_prefix('[').and_then(|h| h.strip_suffix(']'))).unwrap_or(host);
    let ip: IpAddr = host.parse().ok()?;
    let port = match (uri.port_u16(), uri.scheme_str()) {
        (Some(port), _) => port,
        (None, Some("http")) => 80,
        (None, Some("https")) => 443,
        (None, _) => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// `{server_url}/events`, checked.
fn endpoint(server_url: &str) -> Result<String, HttpConfigError> {
    let url = ServerUrl::parse(server_url)
        .map_err(|reason| HttpConfigError::InvalidUrl(reason.to_string()))?;
    if url.is_https() && !cfg!(feature = "tls") {
        return Err(HttpConfigError::TlsNotEnabled);
    }
    Ok(url.events_endpoint())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ip_addresses_skip_the_lookup() {
        let literal = |uri: &str| ip_literal(&uri.parse().unwrap());
        let address = |text: &str| Some(text.parse::<SocketAddr>().unwrap());
        assert_eq!(
            literal("http://127.0.0.1:8080/events"),
            address("127.0.0.1:8080")
        );
        assert_eq!(literal("http://10.1.2.3/events"), address("10.1.2.3:80"));
        assert_eq!(literal("https://[::1]/events"), address("[::1]:443"));
        assert_eq!(
            literal("https://[fd00::7]:9443/events"),
            address("[fd00::7]:9443")
        );
        assert_eq!(literal("http://localhost:8080/events"), None);
        assert_eq!(literal("https://raceway.internal/events"), None);
        assert_eq!(literal("http://127.0.0.1.nip.io/events"), None);
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            endpoint("http://localhost:8080").unwrap(),
            "http://localhost:8080/events"
        );
        assert_eq!(
            endpoint("http://h:1/raceway/").unwrap(),
            "http://h:1/raceway/events"
        );
        assert!(endpoint("localhost:8080").is_err());
        assert!(endpoint("ftp://h").is_err());
        assert!(endpoint("http://user:pw@h").is_err());
        assert!(endpoint("http://h/?q=1").is_err());
        assert!(endpoint("not a url").is_err());
        if !cfg!(feature = "tls") {
            assert_eq!(endpoint("https://h"), Err(HttpConfigError::TlsNotEnabled));
        }
    }

    #[test]
    fn partial_answers() {
        assert_eq!(
            parse_partial(
                r#"{"success":true,"data":"Ingested 5 events, 15 errors"}"#,
                20
            ),
            Some(15)
        );
        assert_eq!(parse_partial("Ingested 1 events, 1 error", 2), Some(1));
        assert_eq!(parse_partial("Ingested 5 events, 99 errors", 20), Some(20));
        assert_eq!(parse_partial("nothing", 20), None);
    }
}
