//! The client: the lanes every context records into, the drain thread that empties them into a
//! [`Sink`], and the statistics.
//!
//! One client per process is the norm. Recording never waits for the drain: a thread whose lane
//! is full drops events and counts them. [`Client::flush`] and [`Client::shutdown`] take a timeout and return
//! by then whatever the sink does; dropping the last clone of a client shuts it down with
//! [`Config::shutdown_timeout`].
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use raceway::sink::MemorySink;
//! use raceway::{Client, Config};
//!
//! let (sink, captured) = MemorySink::new(1000);
//! let client = Client::new(Config::default(), sink)?;
//! let ctx = client.start_trace();
//! ctx.run(|| raceway::track_write("counter", 0, 1));
//! drop(ctx);
//!
//! let report = client.shutdown(Duration::from_secs(5));
//! assert!(!report.timed_out);
//! assert_eq!(report.undelivered, 0);
//! let stats = report.stats;
//! assert_eq!(stats.recorded, 3); // TraceStart, the write, ThreadEnd
//! assert_eq!(
//!     stats.recorded,
//!     stats.sent + stats.state_only + stats.dropped_in_lanes + stats.dropped_in_delivery + stats.in_flight
//! );
//! assert_eq!(captured.events().len(), 3);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[cfg(feature = "analyzer")]
use crate::analysis::{Analysis, AnalyzerSink};
#[cfg(feature = "capture")]
use crate::capture::CaptureSink;
use crate::config::{Config, ConfigError};
use crate::context::{Context, Trace};
use crate::propagation::{HeaderSource, Incoming};
use crate::record::Recorder;
#[cfg(feature = "server")]
use crate::server::ServerSink;
use crate::shared::{Shared, Stats};
use crate::sink::{Fanout, Sink};
use raceway_core::event::Direction;

// Handles move between threads and tasks; guards stay on theirs.
const _: () = {
    const fn movable<T: Send + Sync + Clone>() {}
    movable::<Context>();
    movable::<Client>();
};

/// Why a flush did not complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlushError {
    /// The timeout passed first; `in_flight` events were still on their way.
    TimedOut {
        /// Events still in flight at the timeout.
        in_flight: u64,
    },
    /// The client was shut down; nothing more will be delivered.
    Closed,
}

impl fmt::Display for FlushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlushError::TimedOut { in_flight } => {
                write!(f, "flush timed out with {in_flight} events still in flight")
            }
            FlushError::Closed => f.write_str("the Raceway client is shut down"),
        }
    }
}

impl std::error::Error for FlushError {}

/// What [`Client::shutdown`] achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShutdownReport {
    /// The counters when shutdown returned.
    pub stats: Stats,
    /// Events recorded but not delivered (nor state only): dropped in the ring, dropped in
    /// delivery, or left in flight.
    pub undelivered: u64,
    /// Whether the timeout passed before the drain finished (it then finishes on its own).
    pub timed_out: bool,
}

/// The Raceway client: cheap to clone, shared by every context it starts.
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    shared: Arc<Shared>,
    drain: Mutex<Option<JoinHandle<()>>>,
    report: Mutex<Option<ShutdownReport>>,
    /// The local analysis, when [`Client::from_config`] chose the analyzer.
    #[cfg(feature = "analyzer")]
    analysis: Option<Analysis>,
}

/// Why [`Client::from_config`] could not start a client.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration (or a `RACEWAY_*` variable) is invalid.
    Config(ConfigError),
    /// The server URL or API key cannot be used for delivery (e.g. `https://` without TLS).
    Server(raceway_transport_http::HttpConfigError),
    /// The capture file could not be created, or the drain thread could not start.
    Io(std::io::Error),
    /// The configuration names a destination this build leaves out: the named cargo feature
    /// of `raceway-transport-std` (`server`, `analyzer` or `capture`) is off.
    FeatureOff(&'static str),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Config(e) => write!(f, "invalid Raceway configuration: {e}"),
            StartError::Server(e) => write!(f, "cannot deliver to the Raceway server: {e}"),
            StartError::Io(e) => write!(f, "cannot start the Raceway client: {e}"),
            StartError::FeatureOff(feature) => write!(
                f,
                "the Raceway configuration needs the `{feature}` feature of \
                 raceway-transport-std, which this build leaves out"
            ),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Config(e) => Some(e),
            StartError::Server(e) => Some(e),
            StartError::Io(e) => Some(e),
            StartError::FeatureOff(_) => None,
        }
    }
}

impl From<ConfigError> for StartError {
    fn from(e: ConfigError) -> Self {
        StartError::Config(e)
    }
}

impl From<raceway_transport_http::HttpConfigError> for StartError {
    fn from(e: raceway_transport_http::HttpConfigError) -> Self {
        StartError::Server(e)
    }
}

impl From<std::io::Error> for StartError {
    fn from(e: std::io::Error) -> Self {
        StartError::Io(e)
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.shared.config)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Client {
    /// A client configured by the `RACEWAY_*` variables alone: [`Client::from_config`] with
    /// [`Config::from_env`].
    pub fn from_env() -> Result<Client, StartError> {
        Client::from_config(Config::from_env()?)
    }

    /// A client delivering to every destination `config` names: the Raceway server when a URL
    /// is configured, the local analyzer when [`Config::local_analysis`] is on (the default
    /// without a server: its race report is printed at shutdown and readable through
    /// [`Client::analysis`]), and a capture file when [`Config::capture_path`] is set. With
    /// none of them, events go to the default server URL.
    ///
    /// A destination whose cargo feature (`server`, `analyzer`, `capture`) is off is
    /// [`StartError::FeatureOff`]; so is a configuration left with no destination at all.
    /// Without the `server` feature, the default server URL is not a destination: a capture
    /// file alone is enough.
    pub fn from_config(config: Config) -> Result<Client, StartError> {
        // With no destination feature at all, nothing is ever pushed.
        #[cfg_attr(
            not(any(feature = "server", feature = "analyzer", feature = "capture")),
            allow(unused_mut)
        )]
        let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
        if config.configured_server_url().is_some() || !config.local_analysis() {
            #[cfg(feature = "server")]
            sinks.push(Box::new(ServerSink::new(&config)?));
            #[cfg(not(feature = "server"))]
            if config.configured_server_url().is_some() || config.capture_path().is_none() {
                return Err(StartError::FeatureOff("server"));
            }
        }
        #[cfg(feature = "analyzer")]
        let mut analysis = None;
        if config.local_analysis() {
            #[cfg(feature = "analyzer")]
            {
                let (mut sink, handle) = AnalyzerSink::new();
                if let Some(path) = config.html_report() {
                    sink = sink.html_report(path, config.service_name());
                }
                sinks.push(Box::new(sink));
                analysis = Some(handle);
            }
            #[cfg(not(feature = "analyzer"))]
            return Err(StartError::FeatureOff("analyzer"));
        }
        if let Some(path) = config.capture_path() {
            #[cfg(feature = "capture")]
            sinks.push(Box::new(CaptureSink::create(path)?));
            #[cfg(not(feature = "capture"))]
            {
                let _ = path;
                return Err(StartError::FeatureOff("capture"));
            }
        }
        let sink = Fanout::new(sinks);
        let client = Client::start(
            config,
            Box::new(sink),
            #[cfg(feature = "analyzer")]
            analysis,
        )?;
        Ok(client)
    }

    /// The local analysis, if this client was started by [`Client::from_config`] with the
    /// analyzer among its destinations. Its report is complete after [`Client::shutdown`].
    #[cfg(feature = "analyzer")]
    pub fn analysis(&self) -> Option<&Analysis> {
        self.inner.analysis.as_ref()
    }

    /// A client delivering to `sink`, with its drain thread started.
    ///
    /// Fails only if the operating system refuses to start the thread.
    pub fn new(config: Config, sink: impl Sink + 'static) -> std::io::Result<Client> {
        Self::with_boxed_sink(config, Box::new(sink))
    }

    /// [`Client::new`] for a sink chosen at run time.
    pub fn with_boxed_sink(config: Config, sink: Box<dyn Sink>) -> std::io::Result<Client> {
        Client::start(
            config,
            sink,
            #[cfg(feature = "analyzer")]
            None,
        )
    }

    fn start(
        config: Config,
        sink: Box<dyn Sink>,
        #[cfg(feature = "analyzer")] analysis: Option<Analysis>,
    ) -> std::io::Result<Client> {
        let recorder = Recorder::new(config.lane_capacity(), crate::time::tick_fn());
        let shared = Arc::new(Shared::new(recorder, config));
        let handle = crate::drain::start(Arc::clone(&shared), sink)?;
        let _ = shared.drain_thread.set(handle.thread().clone());
        if shared.config.debug() {
            log::debug!(target: "raceway", "client started: {:?}", shared.config);
        }
        Ok(Client {
            inner: Arc::new(ClientInner {
                shared,
                drain: Mutex::new(Some(handle)),
                report: Mutex::new(None),
                #[cfg(feature = "analyzer")]
                analysis,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.shared.config
    }

    /// The counters right now.
    pub fn stats(&self) -> Stats {
        self.inner.shared.stats()
    }

    /// Starts a new trace by hand (a job, a CLI command, a test): a fresh trace id and span, on
    /// a new logical thread. Enter it with [`Context::enter`] or [`Context::run`].
    #[track_caller]
    pub fn start_trace(&self) -> Context {
        Context::start(Arc::clone(&self.inner.shared), Trace::fresh(), None)
    }

    /// Continues a trace received from another service (see [`crate::propagation::extract`]):
    /// a new logical thread whose span is the adopted one, with the caller's span as upstream
    /// and the received clock entries recorded.
    #[track_caller]
    pub fn continue_trace(&self, incoming: &Incoming) -> Context {
        Context::start(
            Arc::clone(&self.inner.shared),
            incoming.trace(),
            incoming.parent_event(),
        )
    }

    /// Starts the context of a received request from its headers and records the inbound
    /// request (linked to the caller's outbound request through the adopted span). What the
    /// middleware does; use it directly in frameworks without tower.
    #[track_caller]
    pub fn inbound_request<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        method: &str,
        url: &str,
    ) -> Context {
        let location = std::panic::Location::caller();
        let incoming = crate::propagation::extract(headers);
        if self.config().debug() {
            log::debug!(target: "raceway", "{method} {url}: {incoming:?}");
        }
        let ctx = Context::start(
            Arc::clone(&self.inner.shared),
            incoming.trace(),
            incoming.parent_event(),
        );
        ctx.http_request_at(Direction::Inbound, method, url, location);
        ctx
    }

    /// Waits until every event recorded before the call has been delivered or given up on, or
    /// until `timeout` passes.
    pub fn flush(&self, timeout: Duration) -> Result<(), FlushError> {
        let shared = &self.inner.shared;
        let deadline = Instant::now() + timeout;
        let mut control = shared.control();
        if control.finished || control.shutdown_deadline.is_some() {
            return Err(FlushError::Closed);
        }
        control.flush_requested += 1;
        let ticket = control.flush_requested;
        control.flush_target = shared.recorder.lanes().mark();
        control.flush_deadline = Some(control.flush_deadline.map_or(deadline, |d| d.max(deadline)));
        shared.wake_drain();
        let left = deadline.saturating_duration_since(Instant::now());
        let (control, _) = shared
            .changed
            .wait_timeout_while(control, left, |c| c.flush_done < ticket && !c.finished)
            .unwrap_or_else(PoisonError::into_inner);
        if control.flush_done >= ticket {
            if control.flush_ok {
                return Ok(());
            }
        } else if control.finished {
            return Err(FlushError::Closed);
        }
        drop(control);
        Err(FlushError::TimedOut {
            in_flight: shared.stats().in_flight,
        })
    }

    /// Stops the drain after delivering what it can within `timeout`, and reports what could not
    /// be delivered. Later calls return the first report. Events recorded afterwards stay in
    /// flight (and are dropped once their thread's buffer is full).
    pub fn shutdown(&self, timeout: Duration) -> ShutdownReport {
        self.inner.shutdown(timeout)
    }
}

impl ClientInner {
    fn shutdown(&self, timeout: Duration) -> ShutdownReport {
        let mut report = self.report.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(report) = *report {
            return report;
        }
        let shared = &self.shared;
        let deadline = Instant::now() + timeout;
        let mut control = shared.control();
        control.shutdown_deadline = Some(deadline);
        shared.wake_drain();
        let left = deadline.saturating_duration_since(Instant::now());
        let (control, _) = shared
            .changed
            .wait_timeout_while(control, left, |c| !c.finished)
            .unwrap_or_else(PoisonError::into_inner);
        let timed_out = !control.finished;
        drop(control);
        if !timed_out {
            let handle = self.drain.lock().ok().and_then(|mut h| h.take());
            if let Some(handle) = handle {
                let _ = handle.join();
            }
        }
        let stats = shared.stats();
        let done = ShutdownReport {
            stats,
            undelivered: stats.recorded - stats.sent - stats.state_only,
            timed_out,
        };
        let problem = shared
            .problem
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(line) = shutdown_line(&done, problem.as_deref()) {
            shared.config.report_delivery_problem(&line);
        }
        *report = Some(done);
        done
    }
}

/// The one line said at shutdown when something was lost or went wrong, or `None`.
fn shutdown_line(report: &ShutdownReport, problem: Option<&str>) -> Option<String> {
    let stats = &report.stats;
    let mut line = String::from("raceway: ");
    if report.undelivered > 0 {
        line += &format!(
            "{} of {} events were not delivered (",
            report.undelivered, stats.recorded
        );
        let parts = [
            (
                stats.dropped_in_lanes,
                "dropped because a recording thread's buffer was full",
            ),
            (stats.dropped_in_delivery, "dropped in delivery"),
            (stats.in_flight, "still in flight when shutdown timed out"),
        ];
        let parts: Vec<String> = parts
            .iter()
            .filter(|(count, _)| *count > 0)
            .map(|(count, what)| format!("{count} {what}"))
            .collect();
        line += &parts.join(", ");
        line.push(')');
        if problem.is_some() {
            line += "; ";
        }
    } else if problem.is_none() {
        return None;
    }
    if let Some(problem) = problem {
        line += problem;
    }
    Some(line)
}

impl Drop for ClientInner {
    fn drop(&mut self) {
        self.shutdown(self.shared.config.shutdown_timeout());
    }
}
