//! The Raceway server sink: events kept in a bounded retry buffer, encoded to the server's JSON
//! and posted in batches by a sender thread of its own.
//!
//! The drain thread only moves events into the retry buffer (a `crossbeam-queue` `ArrayQueue`
//! of [`Config::retry_buffer_bytes`] bytes), so it keeps emptying the recording threads' lanes
//! whatever the server does. The sender thread runs [`raceway_transport_http`]'s stream encoder
//! (ids, parent chains, vector clocks and timestamps are made there, never on the record path)
//! and posts each batch until the server has answered it: refused or cut connections, timeouts,
//! 429 and 5xx are retried with backoff and jitter, honouring `Retry-After`, for as long as it
//! takes; a 206 (the server's queue overflowed) holds back the next request. 413 splitting, the
//! 401 stop and the 2 MiB body limit are the delivery client's.
//!
//! A request carries every event waiting when it is made, up to the 2 MiB limit: at a quiet
//! service that is one drain batch ([`Config::batch_size`]); a sender that has fallen behind
//! catches up in a few large requests rather than many small ones, each of which costs the
//! service and the server the same whatever it carries.
//!
//! ```text
//! drain thread (client) ──┐                    sender thread
//!                         ├─▶ send ─▶ retry buffer ─▶ encode ─▶ POST /events ─▶ server
//! raceway bridge (device)─┘    (bounded)             (JSON)     retry, or give up
//! ```
//!
//! The sink takes events with any source location: the client's (`ServerSink`, made by
//! [`ServerSink::new`]) and the ones `raceway bridge` decodes from a device (`ServerSink<Site>`,
//! made by [`ServerSink::for_locations`]). Their times must already be Unix nanoseconds.
//!
//! **Giving up.** With [`Config::give_up_after`] set, a batch that the server has not accepted
//! that long after its first request (the request under way then gets up to half as long
//! again to finish) stops the sink for good, as a refused API key does: what it holds and
//! everything sent to it afterwards is counted as failed without a request, [`Sink::problem`]
//! says why, and [`ServerSink::stopped`] tells the caller at once. A tool that must end in
//! bounded time against a dead server (the bridge's `--timeout`) sets it; a long-running
//! service leaves it unset, so that an outage costs only what the retry buffer cannot hold.
//!
//! While a batch waits for the server, newer events wait in the retry buffer: an outage that
//! fits in it loses nothing. What does not fit is dropped and counted in
//! [`Stats::dropped_in_delivery`](crate::Stats::dropped_in_delivery), and a `raceway.dropped`
//! marker with the count takes its place in the stream as soon as there is room again, so the
//! server learns of the loss once it is back. [`Stats::sent`](crate::Stats::sent) counts the
//! events the server accepted; trace starts, remote clocks and thread ends only shape the
//! events around them and are counted in [`Stats::state_only`](crate::Stats::state_only).
//!
//! # Examples
//!
//! ```no_run
//! use raceway::server::ServerSink;
//! use raceway::{Client, Config};
//!
//! let config = Config::builder()
//!     .server_url("http://localhost:8080")
//!     .service_name("checkout")
//!     .build()?;
//! let sink = ServerSink::new(&config)?;
//! let client = Client::new(config, sink)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;
use raceway_core::event::SourceLocation;
use raceway_core::{Event, Kind, ThreadId};
use raceway_transport_http::{
    Attempt, Batch, BatchLimits, DeliveryReport, Encoded, Fate, HttpClient, HttpClientConfig,
    HttpConfigError, JsonEncoder, JsonEncoderConfig, MAX_BODY_BYTES,
};

/// Why a [`ServerSink`] stopped for good ([`ServerSink::stopped`]): the delivery client's
/// error type.
pub use raceway_transport_http::DeliveryError;

use crate::config::Config;
use crate::sink::{Incomplete, Sink, SinkStats, Undelivered};

/// How long the idle sender sleeps when nobody wakes it.
const IDLE_WAIT: Duration = Duration::from_millis(50);
/// The deadline of a request when no shutdown sets one (a request's own timeout is shorter).
const NO_DEADLINE: Duration = Duration::from_secs(24 * 3600);

/// Delivers events (located by `L`) to the Raceway server configured in [`Config::server_url`].
pub struct ServerSink<L: SourceLocation = &'static Location<'static>> {
    outbox: Arc<Outbox<L>>,
    sender: Option<JoinHandle<()>>,
    /// Events (not markers) put into the retry buffer.
    queued: u64,
    /// Items (events and markers) put into the retry buffer.
    pushed: u64,
    /// Events that did not fit in the retry buffer.
    overflowed: u64,
    /// Events lost (here or in a lane) whose marker did not fit in the retry buffer yet.
    unsignalled: u64,
    /// Where the latest loss happened: the unsignalled losses' marker is located there.
    lost_at: Option<L>,
}

/// What the drain thread and the sender thread share.
struct Outbox<L> {
    buffer: ArrayQueue<Event<L>>,
    /// `pushed` at the end of the latest `send`: the sender posts a partial batch only once it
    /// has taken everything up to such a boundary, so batches are not cut in the middle.
    sealed: AtomicU64,
    /// The drain's `unsignalled`: the sender does not finish while a marker is still to come.
    unsignalled: AtomicU64,
    http: HttpClient,
    /// [`Config::give_up_after`].
    give_up_after: Option<Duration>,
    progress: Mutex<Progress>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct Progress {
    /// Events the server accepted.
    delivered: u64,
    /// Events given up on by the sender (refused, dropped by the server, over the size limit).
    failed: u64,
    /// Events with no wire form of their own.
    state_only: u64,
    /// What went wrong with the latest request, until one succeeds.
    problem: Option<String>,
    /// Why the sender stopped delivering for good, once it has.
    stopped: Option<DeliveryError>,
    /// Set by shutdown: deliver what can be delivered by then, and stop.
    shutdown: Option<Instant>,
    /// Set when shutdown stopped waiting: nothing more is counted.
    abandoned: bool,
    finished: bool,
}

impl<L: SourceLocation + Send> fmt::Debug for ServerSink<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSink")
            .field("endpoint", &self.outbox.http.endpoint())
            .field("buffered", &self.outbox.buffer.len())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl ServerSink {
    /// A sink for `config`'s server, service, instance, environment, tags, API key,
    /// retry buffer and [give-up time](Config::give_up_after), with its sender thread started.
    /// Fails if the URL cannot be used (e.g. `https://` without the `tls` feature).
    ///
    /// # Panics
    ///
    /// If the operating system refuses to start the sender thread.
    pub fn new(config: &Config) -> Result<Self, HttpConfigError> {
        Self::for_locations(config)
    }
}

impl<L: SourceLocation + Send + 'static> ServerSink<L> {
    /// [`new`](ServerSink::new) for events located by `L` (e.g. the
    /// [`Site`](raceway_core::event::Site)s decoded from a device's stream).
    ///
    /// # Panics
    ///
    /// If the operating system refuses to start the sender thread.
    pub fn for_locations(config: &Config) -> Result<Self, HttpConfigError> {
        let mut encoding = JsonEncoderConfig::new(config.service_name(), config.instance_id());
        encoding.environment = config.environment().to_owned();
        encoding.tags = config.tags().clone();
        encoding.limits = BatchLimits {
            max_events: usize::MAX,
            max_bytes: MAX_BODY_BYTES,
        };
        let mut delivery = HttpClientConfig::new(config.server_url().as_str());
        delivery.api_key = config.api_key().cloned();
        if let Some(path) = config.tls_root_certificates() {
            let pem = std::fs::read(path).map_err(|e| {
                HttpConfigError::RootCertificates(format!("{}: {e}", path.display()))
            })?;
            delivery.root_certificates_pem = Some(pem);
        }
        let slot = std::mem::size_of::<Event<L>>() + std::mem::size_of::<usize>();
        let outbox = Arc::new(Outbox {
            buffer: ArrayQueue::new((config.retry_buffer_bytes() / slot).max(1)),
            sealed: AtomicU64::new(0),
            unsignalled: AtomicU64::new(0),
            http: HttpClient::new(delivery)?,
            give_up_after: config.give_up_after(),
            progress: Mutex::new(Progress::default()),
            changed: Condvar::new(),
        });
        let sender = {
            let outbox = Arc::clone(&outbox);
            let encoder = JsonEncoder::new(encoding);
            std::thread::Builder::new()
                .name("raceway-sender".to_owned())
                .spawn(move || Sender::new(&outbox, encoder).run())
                .expect("start the raceway-sender thread")
        };
        Ok(ServerSink {
            outbox,
            sender: Some(sender),
            queued: 0,
            pushed: 0,
            overflowed: 0,
            unsignalled: 0,
            lost_at: None,
        })
    }
}

impl<L: SourceLocation> ServerSink<L> {
    /// Why this sink has stopped delivering for good, if it has: the server refused the API key
    /// ([`DeliveryError::Unauthorized`]), or a batch was not accepted within
    /// [`Config::give_up_after`] ([`DeliveryError::Unavailable`], or
    /// [`DeliveryError::DeadlineExceeded`] when the last request did not finish). From then
    /// on every event is counted as failed without a request.
    pub fn stopped(&self) -> Option<DeliveryError> {
        self.outbox.progress().stopped.clone()
    }

    /// Puts a marker for the unsignalled losses into the buffer, if there is room.
    fn signal_losses(&mut self) {
        while self.unsignalled > 0 {
            let Some(location) = self.lost_at else {
                return; // no loss without an event, which has a location
            };
            let count = u32::try_from(self.unsignalled).unwrap_or(u32::MAX);
            let marker = Event {
                time: 0,
                location,
                thread: ThreadId::NONE,
                kind: Kind::Dropped { count },
            };
            if self.outbox.buffer.push(marker).is_err() {
                return;
            }
            self.pushed += 1;
            self.unsignalled -= u64::from(count);
        }
    }

    /// Tells the sender that everything pushed so far may be posted, and wakes it.
    fn seal(&self) {
        // In this order: a sender that sees the losses signalled also sees their marker sealed.
        self.outbox.sealed.store(self.pushed, Ordering::Release);
        self.outbox
            .unsignalled
            .store(self.unsignalled, Ordering::Release);
        if let Some(sender) = &self.sender {
            sender.thread().unpark();
        }
    }

    /// Events taken in and not settled yet (in the buffer, being encoded or being posted).
    fn pending(&self, progress: &Progress) -> u64 {
        self.queued - (progress.delivered + progress.failed + progress.state_only)
    }
}

impl<L> Outbox<L> {
    fn progress(&self) -> MutexGuard<'_, Progress> {
        // The sender never panics while holding it; recover rather than propagate a poison.
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<L: SourceLocation + Send> Sink<L> for ServerSink<L> {
    fn send(&mut self, batch: &[Event<L>], _deadline: Instant) {
        for event in batch {
            self.signal_losses();
            match self.outbox.buffer.push(*event) {
                Ok(()) => {
                    self.pushed += 1;
                    if !matches!(event.kind, Kind::Dropped { .. }) {
                        self.queued += 1;
                    }
                }
                Err(event) => {
                    self.lost_at = Some(event.location);
                    match event.kind {
                        // A lane's loss marker: counted already, but the server must still
                        // hear it.
                        Kind::Dropped { count } => self.unsignalled += u64::from(count),
                        _ => {
                            self.overflowed += 1;
                            self.unsignalled += 1;
                        }
                    }
                }
            }
        }
        self.seal();
    }

    fn flush(&mut self, deadline: Instant) -> Result<(), Incomplete> {
        loop {
            // A loss marker waiting for room goes in as soon as the sender makes some.
            self.signal_losses();
            self.seal();
            let progress = self.outbox.progress();
            let pending = self.pending(&progress);
            if pending == 0 {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || progress.finished {
                return Err(Incomplete { pending });
            }
            let _ = self.outbox.changed.wait_timeout(progress, left);
        }
    }

    fn shutdown(&mut self, deadline: Instant) -> Undelivered {
        let mut progress = loop {
            self.signal_losses();
            self.seal();
            let mut progress = self.outbox.progress();
            // Set under the lock the sender reads it with, after the last seal.
            progress.shutdown = Some(deadline);
            let left = deadline.saturating_duration_since(Instant::now());
            if progress.finished || left.is_zero() {
                break progress;
            }
            drop(self.outbox.changed.wait_timeout(progress, left));
        };
        // A request still under way may yet land; it is counted as undelivered.
        progress.abandoned = true;
        let finished = progress.finished;
        let events = self.pending(&progress);
        drop(progress);
        if finished {
            if let Some(sender) = self.sender.take() {
                let _ = sender.join();
            }
        }
        Undelivered { events }
    }

    fn stats(&self) -> SinkStats {
        let progress = self.outbox.progress();
        SinkStats {
            delivered: progress.delivered,
            failed: progress.failed + self.overflowed,
            state_only: progress.state_only,
            retried: self.outbox.http.stats().retries,
        }
    }

    fn problem(&self) -> Option<String> {
        let endpoint = self.outbox.http.endpoint();
        if self.outbox.http.is_stopped() {
            return Some(format!(
                "the Raceway server at {endpoint} refused the API key: set a valid one \
                 (RACEWAY_API_KEY)"
            ));
        }
        let progress = self.outbox.progress();
        let problem = progress.problem.as_ref()?;
        Some(format!("the Raceway server at {endpoint}: {problem}"))
    }
}

impl<L: SourceLocation> Drop for ServerSink<L> {
    fn drop(&mut self) {
        // Dropped without a shutdown: stop the sender now, leaving what it holds undelivered.
        if self.sender.is_some() {
            let mut progress = self.outbox.progress();
            progress.shutdown = Some(Instant::now());
            progress.abandoned = true;
            drop(progress);
            self.seal();
        }
    }
}

/// The sender thread's state: the encoder, and the batches it is trying to deliver.
struct Sender<'a, L> {
    outbox: &'a Outbox<L>,
    encoder: JsonEncoder,
    /// Items taken from the buffer so far.
    taken: u64,
    /// Complete batches not delivered yet, oldest first, each with the markers it holds.
    ready: VecDeque<(Batch, usize)>,
    /// Markers in the batch the encoder is filling.
    markers: usize,
    /// Events settled since the last report to `progress`: with no wire form, and given up on
    /// without a request (over the size limit, or after delivery stopped).
    state_only: u64,
    failed: u64,
    /// Requests made for the first ready batch.
    attempt: u32,
    /// When the first request for the first ready batch was made.
    first_attempt: Option<Instant>,
}

impl<'a, L: SourceLocation> Sender<'a, L> {
    fn new(outbox: &'a Outbox<L>, encoder: JsonEncoder) -> Self {
        Sender {
            outbox,
            encoder,
            taken: 0,
            ready: VecDeque::new(),
            markers: 0,
            state_only: 0,
            failed: 0,
            attempt: 0,
            first_attempt: None,
        }
    }

    fn run(mut self) {
        loop {
            if self.ready.is_empty() {
                self.fill();
            }
            let (shutdown, stopped) = {
                let progress = self.outbox.progress();
                (progress.shutdown, progress.stopped.is_some())
            };
            if shutdown.is_some_and(|deadline| Instant::now() >= deadline) {
                break;
            }
            let Some((batch, markers)) = self.ready.pop_front() else {
                let all_taken = self.outbox.unsignalled.load(Ordering::Acquire) == 0
                    && self.taken == self.outbox.sealed.load(Ordering::Acquire);
                if self.settle(None) && shutdown.is_some() && all_taken {
                    break;
                }
                std::thread::park_timeout(IDLE_WAIT);
                continue;
            };
            // Once delivery has stopped for good, batches are counted as failed, not posted.
            if stopped {
                self.discard(&batch, markers);
                continue;
            }
            // Wait out the server's pause here rather than in `attempt`, to notice a shutdown.
            if let Some(resume) = self.outbox.http.resume_at() {
                let resume = shutdown.map_or(resume, |deadline| resume.min(deadline));
                std::thread::park_timeout(resume.saturating_duration_since(Instant::now()));
                if Instant::now() < resume {
                    self.ready.push_front((batch, markers));
                    continue;
                }
            }
            let mut deadline = shutdown.unwrap_or_else(|| Instant::now() + NO_DEADLINE);
            let first_attempt = *self.first_attempt.get_or_insert_with(Instant::now);
            let give_up_after = self.outbox.give_up_after;
            if let Some(after) = give_up_after {
                // The request under way at the give-up time gets half as long again to finish.
                deadline = deadline.min(first_attempt + after + after / 2);
            }
            self.attempt += 1;
            match self.outbox.http.attempt(batch, self.attempt, deadline) {
                Attempt::Done(report) => {
                    self.attempt = 0;
                    self.first_attempt = None;
                    let stop = match report.error {
                        Some(DeliveryError::Unauthorized) => Some(DeliveryError::Unauthorized),
                        // The give-up deadline, not a shutdown's, cut the request short.
                        Some(DeliveryError::DeadlineExceeded)
                            if shutdown.is_none() && give_up_after.is_some() =>
                        {
                            Some(DeliveryError::DeadlineExceeded)
                        }
                        _ => None,
                    };
                    self.settle(Some((report, markers)));
                    if let Some(error) = stop {
                        self.stop(error);
                    }
                }
                Attempt::Split(first, second) => {
                    self.attempt = 0;
                    self.first_attempt = None;
                    let first_markers = markers.min(first.len());
                    self.ready.push_front((second, markers - first_markers));
                    self.ready.push_front((first, first_markers));
                }
                Attempt::Retry { batch, last } => {
                    log::debug!(target: "raceway", "delivery attempt {} failed: {last}", self.attempt);
                    let resume = self.outbox.http.resume_at().unwrap_or_else(Instant::now);
                    if give_up_after.is_some_and(|after| resume >= first_attempt + after) {
                        let attempts = self.attempt;
                        self.stop(DeliveryError::Unavailable { attempts, last });
                        self.discard(&batch, markers);
                    } else {
                        self.outbox.progress().problem = Some(format!("unavailable ({last})"));
                        self.ready.push_front((batch, markers));
                    }
                }
            }
        }
        self.settle(None);
        self.outbox.progress().finished = true;
        self.outbox.changed.notify_all();
    }

    /// Encodes events from the buffer until a batch is complete or the buffer is empty; at the
    /// end of what the drain handed over, the partial batch is complete too.
    fn fill(&mut self) {
        while self.ready.is_empty() {
            let Some(event) = self.outbox.buffer.pop() else {
                break;
            };
            self.taken += 1;
            let Encoded { batch, fate } = self.encoder.encode(&event);
            // A completed batch never holds the event that completed it.
            if let Some(batch) = batch {
                self.ready
                    .push_back((batch, std::mem::take(&mut self.markers)));
            }
            match fate {
                Fate::Written => {}
                Fate::Marker => self.markers += 1,
                Fate::StateOnly => self.state_only += 1,
                Fate::Oversized => self.failed += 1,
            }
        }
        if self.ready.is_empty() && self.taken == self.outbox.sealed.load(Ordering::Acquire) {
            if let Some(batch) = self.encoder.flush() {
                self.ready
                    .push_back((batch, std::mem::take(&mut self.markers)));
            }
        }
    }

    /// Stops delivering for good because of `error`: from now on batches are counted as
    /// failed, not posted.
    fn stop(&self, error: DeliveryError) {
        let after = self.outbox.give_up_after.unwrap_or_default().as_secs_f64();
        let why = match &error {
            DeliveryError::Unauthorized => None, // `problem` names the key
            DeliveryError::Unavailable { attempts, last } => Some(format!(
                "unavailable for {after} s ({attempts} attempts, last: {last}); gave up, no \
                 more events are sent"
            )),
            _ => Some(format!(
                "a batch was not accepted within {after} s; gave up, no more events are sent"
            )),
        };
        if let Some(why) = &why {
            let endpoint = self.outbox.http.endpoint();
            log::error!(target: "raceway", "the Raceway server at {endpoint}: {why}");
        }
        let mut progress = self.outbox.progress();
        if why.is_some() {
            progress.problem = why;
        }
        progress.stopped = Some(error);
    }

    /// Counts a batch that is not posted (delivery has stopped) as failed.
    fn discard(&mut self, batch: &Batch, markers: usize) {
        self.failed += (batch.len() - markers.min(batch.len())) as u64;
        self.settle(None);
    }

    /// Counts what was settled (a batch's outcome, and events with no wire form); returns
    /// whether the sender holds nothing unsettled.
    fn settle(&mut self, outcome: Option<(DeliveryReport, usize)>) -> bool {
        let idle = self.ready.is_empty() && self.encoder.pending_events() == 0;
        let mut progress = self.outbox.progress();
        if progress.abandoned {
            return idle;
        }
        progress.state_only += std::mem::take(&mut self.state_only);
        progress.failed += std::mem::take(&mut self.failed);
        if let Some((report, markers)) = outcome {
            // Count the markers among the first wire events to arrive: at worst this credits a
            // marker's delivery to an event, never an event twice.
            let delivered = report.sent - report.sent.min(markers);
            let events = report.events - markers.min(report.events);
            progress.delivered += delivered as u64;
            progress.failed += (events - delivered) as u64;
            progress.problem = match report.error {
                None if report.server_dropped > 0 => Some(format!(
                    "its queue overflowed and dropped {} events (206)",
                    report.server_dropped
                )),
                None => None,
                // Keep the reason the deadline could not be met.
                Some(DeliveryError::DeadlineExceeded) => progress.problem.take(),
                Some(error) => Some(error.to_string()),
            };
        }
        drop(progress);
        self.outbox.changed.notify_all();
        idle
    }
}
