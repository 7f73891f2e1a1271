//! What a client shares with its contexts and its drain thread: the recorder, the delivery
//! counters, the flush and shutdown requests, and the [`Stats`] read from them.
//!
//! Below the client, its contexts and its drain in the module graph, so that each of them
//! imports it and none imports another for it.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::Thread;
use std::time::Instant;

use raceway_core::lanes::Mark;

use crate::config::Config;
use crate::record::Recorder;
use crate::sink::SinkStats;

/// Tracking calls made with no current context (process-wide): [`Stats::untracked`].
pub(crate) static UNTRACKED: AtomicU64 = AtomicU64::new(0);
/// Context guards dropped out of order (process-wide): [`Stats::misordered_guards`].
pub(crate) static MISORDERED: AtomicU64 = AtomicU64::new(0);
/// Lookups that found another task's context (process-wide): [`Stats::guards_of_other_tasks`].
pub(crate) static OTHER_TASKS: AtomicU64 = AtomicU64::new(0);

/// What every context and the drain thread share.
pub(crate) struct Shared {
    pub(crate) recorder: Recorder,
    pub(crate) config: Config,
    /// `service#instance`, this process's clock component in `raceway-clock`.
    pub(crate) component: String,
    delivered: AtomicU64,
    failed: AtomicU64,
    state_only: AtomicU64,
    retried: AtomicU64,
    /// What the sink said went wrong, asked at shutdown.
    pub(crate) problem: Mutex<Option<String>>,
    /// Events the drain gave up on itself (a sink's shutdown leftovers).
    abandoned: AtomicU64,
    /// Set when a command waits in `control`, so the drain checks the mutex only then.
    command: AtomicBool,
    control: Mutex<Control>,
    pub(crate) changed: Condvar,
    pub(crate) drain_thread: OnceLock<Thread>,
}

#[derive(Debug, Default)]
pub(crate) struct Control {
    /// Flush requests made so far.
    pub(crate) flush_requested: u64,
    /// How far every lane must be drained for every request so far.
    pub(crate) flush_target: Mark,
    /// The latest deadline among pending requests.
    pub(crate) flush_deadline: Option<Instant>,
    /// Flush requests completed so far, and whether the last completed one was complete.
    pub(crate) flush_done: u64,
    pub(crate) flush_ok: bool,
    pub(crate) shutdown_deadline: Option<Instant>,
    /// The drain has finished for good.
    pub(crate) finished: bool,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("service", &self.component)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// The state of a client recording into `recorder`, before its drain starts.
    pub(crate) fn new(recorder: Recorder, config: Config) -> Shared {
        Shared {
            recorder,
            component: config.clock_component(),
            config,
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            state_only: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            problem: Mutex::new(None),
            abandoned: AtomicU64::new(0),
            command: AtomicBool::new(false),
            control: Mutex::new(Control::default()),
            changed: Condvar::new(),
            drain_thread: OnceLock::new(),
        }
    }

    pub(crate) fn control(&self) -> MutexGuard<'_, Control> {
        // Nothing panics while holding it; recover rather than propagate a poison.
        self.control.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn notify(&self) {
        self.changed.notify_all();
    }

    pub(crate) fn take_command(&self) -> bool {
        self.command.swap(false, Ordering::Acquire)
    }

    pub(crate) fn wake_drain(&self) {
        self.command.store(true, Ordering::Release);
        if let Some(thread) = self.drain_thread.get() {
            thread.unpark();
        }
    }

    pub(crate) fn publish(&self, stats: SinkStats) {
        self.delivered.store(stats.delivered, Ordering::Release);
        self.failed.store(stats.failed, Ordering::Release);
        self.state_only.store(stats.state_only, Ordering::Release);
        self.retried.store(stats.retried, Ordering::Release);
    }

    pub(crate) fn set_problem(&self, problem: Option<String>) {
        *self.problem.lock().unwrap_or_else(|e| e.into_inner()) = problem;
    }

    pub(crate) fn abandon(&self, events: u64) {
        self.abandoned.fetch_add(events, Ordering::AcqRel);
    }

    pub(crate) fn stats(&self) -> Stats {
        // Downstream counters first: an event can only move downstream while we read, so the
        // snapshot never counts one twice and `in_flight` never goes negative.
        let sent = self.delivered.load(Ordering::Acquire);
        let state_only = self.state_only.load(Ordering::Acquire);
        let dropped_in_delivery =
            self.failed.load(Ordering::Acquire) + self.abandoned.load(Ordering::Acquire);
        let retried = self.retried.load(Ordering::Acquire);
        let ring = self.recorder.lanes().stats();
        let in_flight = ring
            .recorded
            .saturating_sub(ring.dropped + sent + state_only + dropped_in_delivery);
        Stats {
            recorded: ring.recorded,
            sent,
            state_only,
            dropped_in_lanes: ring.dropped,
            dropped_in_delivery,
            retried,
            in_flight,
            untracked: UNTRACKED.load(Ordering::Relaxed),
            misordered_guards: MISORDERED.load(Ordering::Relaxed),
            guards_of_other_tasks: OTHER_TASKS.load(Ordering::Relaxed),
            names_overflowed: crate::names::overflowed(),
        }
    }
}

/// Counters of a client, read at one moment.
///
/// `recorded == sent + state_only + dropped_in_lanes + dropped_in_delivery + in_flight` holds
/// for every snapshot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events recorded (including those dropped because a buffer was full).
    pub recorded: u64,
    /// Events the sink delivered: for the Raceway server, the events it accepted.
    pub sent: u64,
    /// Events with no form of their own at the destination (for the Raceway server: trace
    /// starts, remote clocks and thread ends, which shape the events around them).
    pub state_only: u64,
    /// Events lost because the recording thread's buffer was full (the drain fell behind).
    pub dropped_in_lanes: u64,
    /// Events the sink gave up on (refused, dropped from a full retry buffer, or left at
    /// shutdown).
    pub dropped_in_delivery: u64,
    /// Delivery attempts the sink repeated.
    pub retried: u64,
    /// Events in the threads' buffers, in the drain's hands, or pending in the sink.
    pub in_flight: u64,
    /// Tracking calls made with no current context, which recorded nothing (process-wide).
    pub untracked: u64,
    /// Context guards ([`Entered`](crate::Entered)) dropped out of order (process-wide): a
    /// guard held across an `.await` or moved out of its scope.
    pub misordered_guards: u64,
    /// Lookups of the current context that found one entered by another tokio task, whose
    /// guard is held across an `.await` on this thread (process-wide; `tokio` feature): the
    /// caller got no context, so its calls were also counted as untracked.
    pub guards_of_other_tasks: u64,
    /// Dynamic names shown by hash (or, for function and event names, as `OVERFLOW_NAME`) and
    /// long values cut because a table was full (process-wide; see [`crate::names`]).
    pub names_overflowed: u64,
}
