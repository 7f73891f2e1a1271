//! The record path: every tracking call ends here.
//!
//! Each OS thread that records leases a lane of the client's [`Lanes`] the first time and keeps
//! it in a thread-local until it exits, so threads never contend on the record path (see
//! [`raceway_core::lanes`] for how the drain merges lanes in happens-before order). Threads
//! beyond [`LEASES`] share one lane.

use std::cell::RefCell;
use std::panic::Location;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

use raceway_core::lanes::{Lanes, Lease};
use raceway_core::{Event, Kind, ThreadId};

/// Threads that can hold a lane of their own at once. A lane is allocated when first leased
/// and reused after its thread exits.
pub(crate) const LEASES: usize = 256;

/// The lane a logical thread has never recorded in.
const NO_LANE: usize = usize::MAX;

/// The lanes, the time source and the logical thread ids of one client.
pub(crate) struct Recorder {
    lanes: Arc<Lanes>,
    now: fn() -> u64,
    next_thread: AtomicU32,
}

/// Where a logical thread recorded last: its first event in another lane must be ordered
/// against every lane.
#[derive(Debug)]
pub(crate) struct LastLane(AtomicUsize);

impl LastLane {
    pub(crate) fn new() -> Self {
        LastLane(AtomicUsize::new(NO_LANE))
    }

    /// Whether an event in `lane` is the logical thread's first there since it recorded
    /// elsewhere.
    fn moved_to(&self, lane: usize) -> bool {
        // One logical thread records from one OS thread at a time, so load-then-store is enough.
        let moved = self.0.load(Ordering::Relaxed) != lane;
        if moved {
            self.0.store(lane, Ordering::Relaxed);
        }
        moved
    }
}

/// This thread's lease, and the lanes it was taken from (`None` inside: none was free).
struct Held {
    lanes: Arc<Lanes>,
    lease: Option<Lease<Arc<Lanes>>>,
}

thread_local! {
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
}

impl Recorder {
    pub(crate) fn new(lane_capacity: usize, now: fn() -> u64) -> Self {
        Recorder {
            lanes: Arc::new(Lanes::new(lane_capacity, LEASES)),
            now,
            next_thread: AtomicU32::new(0),
        }
    }

    pub(crate) fn lanes(&self) -> &Lanes {
        &self.lanes
    }

    /// A fresh logical thread id (never `ThreadId::NONE`).
    pub(crate) fn new_thread(&self) -> ThreadId {
        ThreadId::from_raw(
            self.next_thread
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_add(1),
        )
    }

    /// Records `kind` for `thread` now. A full lane drops the event; the lanes count it.
    #[inline]
    pub(crate) fn record(
        &self,
        thread: ThreadId,
        kind: Kind,
        location: &'static Location<'static>,
        last_lane: &LastLane,
    ) {
        let event = Event {
            time: (self.now)(),
            location,
            thread,
            kind,
        };
        let pushed = HELD.try_with(|held| {
            let mut held = held.borrow_mut();
            let held = match &mut *held {
                Some(held) if Arc::ptr_eq(&held.lanes, &self.lanes) => held,
                // First use on this thread, or another client's lanes: (re)lease.
                other => other.insert(Held {
                    lanes: Arc::clone(&self.lanes),
                    lease: Lease::new(Arc::clone(&self.lanes)),
                }),
            };
            match &held.lease {
                Some(lease) => lease.push(event, last_lane.moved_to(lease.lane())),
                None => self.lanes.push_shared(event, last_lane.moved_to(0)),
            }
        });
        if pushed.is_err() {
            // This thread's locals are being torn down: no lease any more.
            let _ = self.lanes.push_shared(event, true);
        }
    }
}
