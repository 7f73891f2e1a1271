//! The record path: every tracking call ends here.
//!
//! Each OS thread that records leases a lane of the client's [`Lanes`] the first time and keeps
//! it in a thread-local until it exits, so threads never contend on the record path (see
//! [`raceway_core::lanes`] for how the drain merges lanes in happens-before order). Threads
//! beyond [`LEASES`] share one lane.

use std::cell::RefCell;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use raceway_core::lanes::{Lanes, Lease};
use raceway_core::{Event, Kind, ThreadId};

/// Threads that can hold a lane of their own at once. A lane is allocated when first leased
/// and reused after its thread exits.
pub(crate) const LEASES: usize = 256;

/// The lane a logical thread has never recorded in.
const NO_LANE: usize = usize::MAX;

/// Ids ended this close to the end of the id space (or later) are kept for reuse.
const RECYCLE_WINDOW: u64 = 1 << 20;

/// The lanes, the time source and the logical thread ids of one client.
pub(crate) struct Recorder {
    lanes: Arc<Lanes>,
    now: fn() -> u64,
    /// Ids handed out so far.
    handed_out: AtomicU64,
    /// Ids whose `ThreadEnd` is in the stream, for when all 2³² - 1 ids have been handed out.
    recycled: Mutex<Vec<u32>>,
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
            handed_out: AtomicU64::new(0),
            recycled: Mutex::new(Vec::new()),
        }
    }

    /// A recorder whose next thread id is `next` (for tests of the id space running out).
    #[cfg(test)]
    fn starting_at(next: u32) -> Self {
        let recorder = Recorder::new(64, || 0);
        recorder
            .handed_out
            .store(u64::from(next) - 1, Ordering::Relaxed);
        recorder
    }

    pub(crate) fn lanes(&self) -> &Lanes {
        &self.lanes
    }

    /// A logical thread id that no live context has (never `ThreadId::NONE`): counting up, and
    /// once all 2³² - 1 ids were handed out (five days at 10 000 contexts a second), ids whose
    /// `ThreadEnd` is in the stream. The replay starts a new run of a thread at its first event
    /// after `ThreadEnd` (the two are ordered: both take a ticket), so a reused id is a new thread
    /// to the analysis and on the wire.
    pub(crate) fn new_thread(&self) -> ThreadId {
        let n = self.handed_out.fetch_add(1, Ordering::Relaxed);
        if n < u64::from(u32::MAX) {
            return ThreadId::from_raw(n as u32 + 1);
        }
        let reused = self
            .recycled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        reused.map_or_else(
            || {
                // Every id is live or was ended before the window: share one, and say so.
                static WARNED: std::sync::Once = std::sync::Once::new();
                WARNED.call_once(|| {
                    log::warn!(
                        target: "raceway",
                        "raceway: no free logical thread id; contexts now share ids, which can hide races between them"
                    )
                });
                ThreadId::from_raw((n % u64::from(u32::MAX)) as u32 + 1)
            },
            ThreadId::from_raw,
        )
    }

    /// Records `thread`'s `ThreadEnd`; once the stream has it, the id may be handed out again.
    pub(crate) fn end(
        &self,
        thread: ThreadId,
        location: &'static Location<'static>,
        last_lane: &LastLane,
    ) {
        let recorded = self.push(thread, Kind::ThreadEnd, location, last_lane);
        let near_the_end =
            self.handed_out.load(Ordering::Relaxed) + RECYCLE_WINDOW >= u64::from(u32::MAX);
        if recorded && near_the_end {
            self.recycled
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(thread.to_raw());
        }
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
        self.push(thread, kind, location, last_lane);
    }

    /// Records `kind` for `thread`; whether it was kept.
    #[inline]
    fn push(
        &self,
        thread: ThreadId,
        kind: Kind,
        location: &'static Location<'static>,
        last_lane: &LastLane,
    ) -> bool {
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
        match pushed {
            Ok(pushed) => pushed.is_ok(),
            // This thread's locals are being torn down: no lease any more.
            Err(_) => self.lanes.push_shared(event, true).is_ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_reused_only_after_their_end_once_the_space_runs_out() {
        let recorder = Recorder::starting_at(u32::MAX - 1);
        let last = LastLane::new();
        let a = recorder.new_thread();
        let b = recorder.new_thread();
        assert_eq!((a.to_raw(), b.to_raw()), (u32::MAX - 1, u32::MAX));
        recorder.end(a, Location::caller(), &last);
        let c = recorder.new_thread();
        assert_eq!(c, a, "the ended id comes back, never NONE or a live one");
        assert_ne!(c, ThreadId::NONE);
    }
}
