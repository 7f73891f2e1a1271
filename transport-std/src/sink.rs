//! Sinks: where the drain thread delivers batches of events.
//!
//! A sink takes events with any [`SourceLocation`]: the client's carry the `&'static
//! Location` of the tracking call (the default, `Sink` alone), while `raceway bridge` feeds the
//! same server and analyzer sinks the [`Site`](raceway_core::event::Site)s it decodes from a
//! device's stream (`Sink<Site>`), its own main loop standing where the drain does, under the
//! same call order and accounting. The accounting lets a feeder see how much is still pending
//! (what it handed over minus what is counted) and [`flush`](Sink::flush) when that grows.
//!
//! In the client, a [`Sink`] runs on the drain thread only, so it may block (an HTTP request,
//! a file write, an analysis step) without ever slowing the recording threads; while it
//! blocks, events wait in the recording threads' buffers, and a buffer that fills up drops and
//! counts them. The drain calls it in this order:
//!
//! 1. [`send`](Sink::send) any number of times, each with a batch of at most
//!    [`Config::batch_size`](crate::Config::batch_size) events in stream order;
//! 2. [`flush`](Sink::flush) whenever the client is asked to flush;
//! 3. [`shutdown`](Sink::shutdown) once, last; the sink is dropped afterwards.
//!
//! In a batch, [`Event::time`] is already converted to Unix nanoseconds (format it with
//! [`format_unix_nanos`](crate::time::format_unix_nanos)), and [`Kind::Dropped`] markers stand where a
//! buffer lost events, so a sink can mark the loss in its own output. Each logical thread's events
//! arrive in program order, every [`Kind::Spawn`] before the child's first event, and a
//! [`Kind::TraceStart`] as each logical thread's first event.
//!
//! # Accounting
//!
//! [`SinkStats`] counts events — not loss markers — cumulatively. Every event passed to `send`
//! must end up counted exactly once as delivered, failed or state only; until then it is pending in the sink
//! (bounded by the sink). After `shutdown` returns, nothing may stay pending: what it could not
//! deliver is returned as [`Undelivered`], and the client counts it as dropped in delivery.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use raceway::sink::MemorySink;
//! use raceway::{Client, Config};
//!
//! let (sink, captured) = MemorySink::new(10_000);
//! let client = Client::new(Config::default(), sink)?;
//! let ctx = client.start_trace();
//! ctx.track_write("balance", 100, 50);
//! client.flush(Duration::from_secs(5))?;
//! assert!(captured
//!     .events()
//!     .iter()
//!     .any(|e| e.kind.variable().is_some_and(|v| v == "balance")));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::panic::Location;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use raceway_core::event::SourceLocation;
use raceway_core::{Event, Kind};

/// Where batches of events go, located by `L` (the client's `&'static Location` unless said
/// otherwise). See the [module docs](self) for the call order and accounting.
pub trait Sink<L: SourceLocation = &'static Location<'static>>: Send + fmt::Debug {
    /// Takes one batch (stream order, times in Unix nanoseconds). Should return by `deadline`;
    /// what it cannot deliver by then it may keep (bounded) for a later call, or count as failed.
    fn send(&mut self, batch: &[Event<L>], deadline: Instant);

    /// Delivers everything still pending, giving up at `deadline`.
    fn flush(&mut self, deadline: Instant) -> Result<(), Incomplete> {
        let _ = deadline;
        Ok(())
    }

    /// Last call: delivers what it can by `deadline`, then gives up on the rest and says how
    /// much that was. The client counts those events as dropped in delivery: do not also count
    /// them in [`SinkStats::failed`].
    fn shutdown(&mut self, deadline: Instant) -> Undelivered {
        match self.flush(deadline) {
            Ok(()) => Undelivered::default(),
            Err(incomplete) => Undelivered {
                events: incomplete.pending,
            },
        }
    }

    /// Cumulative counters (events, not loss markers). Called on the drain thread after every
    /// other call and between them; the client publishes them to [`Stats`](crate::Stats).
    fn stats(&self) -> SinkStats;

    /// What the user has to hear about, if anything: a destination that refused the API key
    /// or could not be reached. Asked once, after [`shutdown`](Sink::shutdown); the client
    /// says it together with what was lost ([`Config::on_delivery_problem`](crate::ConfigBuilder::on_delivery_problem)).
    fn problem(&self) -> Option<String> {
        None
    }
}

impl<L: SourceLocation, S: Sink<L> + ?Sized> Sink<L> for Box<S> {
    fn send(&mut self, batch: &[Event<L>], deadline: Instant) {
        (**self).send(batch, deadline)
    }
    fn flush(&mut self, deadline: Instant) -> Result<(), Incomplete> {
        (**self).flush(deadline)
    }
    fn shutdown(&mut self, deadline: Instant) -> Undelivered {
        (**self).shutdown(deadline)
    }
    fn stats(&self) -> SinkStats {
        (**self).stats()
    }
    fn problem(&self) -> Option<String> {
        (**self).problem()
    }
}

/// A sink's cumulative counters, in events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SinkStats {
    /// Events that reached their destination.
    pub delivered: u64,
    /// Events given up on (refused, dropped from a full retry buffer).
    pub failed: u64,
    /// Events the destination has no form for (trace starts, remote clocks, thread ends for the
    /// Raceway server): used to shape the events around them, never sent on their own.
    pub state_only: u64,
    /// Delivery attempts repeated after a transient failure.
    pub retried: u64,
}

/// A flush ran out of time with events still pending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Incomplete {
    /// Events still pending in the sink.
    pub pending: u64,
}

impl fmt::Display for Incomplete {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} events still pending at the deadline", self.pending)
    }
}

impl std::error::Error for Incomplete {}

/// What a sink gave up on at shutdown (not counted in its [`SinkStats::failed`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Undelivered {
    /// Events not delivered.
    pub events: u64,
}

/// Sends every batch to several sinks, in order.
///
/// The first sink is the primary one: its counters are the client's statistics, so an event is
/// counted once however many destinations it reaches. The others get the same batches as
/// best-effort copies (a local report, a capture file). At shutdown the copies go first, since
/// they are quick, and the primary gets what is left of the deadline.
#[derive(Debug)]
pub struct Fanout<L: SourceLocation = &'static Location<'static>> {
    sinks: Vec<Box<dyn Sink<L>>>,
}

impl<L: SourceLocation> Fanout<L> {
    /// Fans out to `sinks`; the first is the primary. With none, events count as delivered to
    /// nowhere (nothing was asked for).
    pub fn new(sinks: Vec<Box<dyn Sink<L>>>) -> Self {
        Fanout { sinks }
    }
}

impl<L: SourceLocation> Sink<L> for Fanout<L> {
    fn send(&mut self, batch: &[Event<L>], deadline: Instant) {
        for sink in &mut self.sinks {
            sink.send(batch, deadline);
        }
    }

    fn flush(&mut self, deadline: Instant) -> Result<(), Incomplete> {
        let mut primary = Ok(());
        for (i, sink) in self.sinks.iter_mut().enumerate() {
            let result = sink.flush(deadline);
            if i == 0 {
                primary = result;
            }
        }
        primary
    }

    fn shutdown(&mut self, deadline: Instant) -> Undelivered {
        let Some((primary, copies)) = self.sinks.split_first_mut() else {
            return Undelivered::default();
        };
        for copy in copies {
            copy.shutdown(deadline);
        }
        primary.shutdown(deadline)
    }

    fn stats(&self) -> SinkStats {
        self.sinks.first().map(|s| s.stats()).unwrap_or_default()
    }

    fn problem(&self) -> Option<String> {
        self.sinks.iter().find_map(|sink| sink.problem())
    }
}

/// Sends every batch to a closure; the closure's events count as delivered.
///
/// # Examples
///
/// ```
/// use raceway::sink::CallbackSink;
/// use raceway::{Client, Config};
///
/// let sink = CallbackSink::new(|batch: &[raceway_core::Event]| {
///     for event in batch {
///         println!("{:?}", event.kind);
///     }
/// });
/// let client = Client::new(Config::default(), sink)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct CallbackSink<F> {
    callback: F,
    stats: SinkStats,
}

impl<F> CallbackSink<F> {
    /// A sink calling `callback` with every batch (of events located by `L`).
    pub fn new<L: SourceLocation>(callback: F) -> Self
    where
        F: FnMut(&[Event<L>]) + Send,
    {
        CallbackSink {
            callback,
            stats: SinkStats::default(),
        }
    }
}

impl<F> fmt::Debug for CallbackSink<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackSink")
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<L: SourceLocation, F: FnMut(&[Event<L>]) + Send> Sink<L> for CallbackSink<F> {
    fn send(&mut self, batch: &[Event<L>], _deadline: Instant) {
        (self.callback)(batch);
        self.stats.delivered += events_in(batch);
    }

    fn stats(&self) -> SinkStats {
        self.stats
    }
}

/// How many real events (not loss markers) a batch holds.
pub fn events_in<L>(batch: &[Event<L>]) -> u64 {
    batch
        .iter()
        .filter(|e| !matches!(e.kind, Kind::Dropped { .. }))
        .count() as u64
}

/// Keeps events in memory, up to a capacity, for tests and in-process inspection. Events beyond
/// the capacity count as failed (memory stays bounded).
#[derive(Debug)]
pub struct MemorySink<L: SourceLocation = &'static Location<'static>> {
    shared: Arc<Captured<L>>,
    capacity: usize,
    stats: SinkStats,
}

/// The reading side of a [`MemorySink`]: clone it freely, read from any thread.
#[derive(Debug)]
pub struct Captured<L: SourceLocation = &'static Location<'static>> {
    events: Mutex<Vec<Event<L>>>,
    arrived: Condvar,
}

impl MemorySink {
    /// A sink keeping at most `capacity` of the client's events (markers included), and the
    /// handle to read them.
    pub fn new(capacity: usize) -> (Self, Arc<Captured>) {
        Self::for_locations(capacity)
    }
}

impl<L: SourceLocation> MemorySink<L> {
    /// [`new`](MemorySink::new) for events located by `L` (e.g. decoded
    /// [`Site`](raceway_core::event::Site)s).
    pub fn for_locations(capacity: usize) -> (Self, Arc<Captured<L>>) {
        let shared = Arc::new(Captured::default());
        let sink = MemorySink {
            shared: Arc::clone(&shared),
            capacity,
            stats: SinkStats::default(),
        };
        (sink, shared)
    }
}

impl<L: SourceLocation + Send> Sink<L> for MemorySink<L> {
    fn send(&mut self, batch: &[Event<L>], _deadline: Instant) {
        let mut events = self.shared.lock();
        let room = self.capacity.saturating_sub(events.len()).min(batch.len());
        let (kept, refused) = batch.split_at(room);
        events.extend_from_slice(kept);
        self.stats.delivered += events_in(kept);
        self.stats.failed += events_in(refused);
        drop(events);
        self.shared.arrived.notify_all();
    }

    fn stats(&self) -> SinkStats {
        self.stats
    }
}

impl<L: SourceLocation> Default for Captured<L> {
    fn default() -> Self {
        Captured {
            events: Mutex::new(Vec::new()),
            arrived: Condvar::new(),
        }
    }
}

impl<L: SourceLocation> Captured<L> {
    fn lock(&self) -> MutexGuard<'_, Vec<Event<L>>> {
        // A panicking reader cannot leave the vector half-updated: recover it.
        self.events.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of every event kept so far, in stream order.
    pub fn events(&self) -> Vec<Event<L>> {
        self.lock().clone()
    }

    /// Takes every event kept so far, leaving room for more.
    pub fn take(&self) -> Vec<Event<L>> {
        std::mem::take(&mut *self.lock())
    }

    /// Waits until `done` holds for the events kept so far, or `timeout` passes; returns whether
    /// it held.
    pub fn wait_until(&self, timeout: Duration, mut done: impl FnMut(&[Event<L>]) -> bool) -> bool {
        let events = self.lock();
        let (_events, waited) = self
            .arrived
            .wait_timeout_while(events, timeout, |events| !done(events))
            .unwrap_or_else(PoisonError::into_inner);
        !waited.timed_out()
    }
}
