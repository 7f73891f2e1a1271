//! The record path: a ring, a time source and logical thread ids, tied together.
//!
//! [`Recorder::record`] stamps the event with the time source and the caller's source location
//! (`#[track_caller]`: a `'static` pointer, free at run time) and pushes it into the ring. That
//! is all: no clock arithmetic, no formatting, no allocation. A full ring drops the event; the
//! ring counts it and the consumer sees a loss marker in its place.
//!
//! # Examples
//!
//! ```
//! use raceway_core::event::{Access, Kind, Value};
//! use raceway_core::recorder::{Recorder, TimeSource};
//! use raceway_core::ring::{Ring, Slot};
//!
//! /// A cycle counter or timer on firmware; a fast monotonic clock on std.
//! struct Ticks;
//!
//! impl TimeSource for Ticks {
//!     fn now(&self) -> u64 {
//!         42
//!     }
//! }
//!
//! static RECORDER: Recorder<[Slot; 256], Ticks> = Recorder::new(Ring::new(), Ticks);
//!
//! let main = RECORDER.new_thread();
//! RECORDER.record(main, Kind::StateChange {
//!     variable: "counter".into(),
//!     access: Access::Write,
//!     old: Value::U64(0),
//!     new: Value::U64(1),
//! });
//! let events: Vec<_> = RECORDER.consumer().unwrap().collect();
//! assert_eq!(events.len(), 1);
//! assert_eq!(events[0].time, 42);
//! assert_eq!(RECORDER.stats().recorded, 1);
//! ```
//!
//! # Benchmarks
//!
//! `cargo bench -p raceway-benches --bench record` compares [`Recorder::record`] with a
//! `tracing` event into a collecting layer and with crossbeam's `ArrayQueue`; the figures are in
//! the README.

use core::fmt;
use core::panic::Location;

use crate::event::{Event, Kind, ThreadId};
use crate::ring::{Consumer, Ring, Slot};
// Thread ids need no model checking: plain atomics even under loom, so `new` stays `const`.
use portable_atomic::{AtomicU32, Ordering};

/// Where event timestamps come from: nanoseconds or device ticks (the consumer converts).
///
/// Any `Fn() -> u64` is one. Firmware that keeps its recorder in a `static` names a unit struct
/// instead of a function pointer: the static then holds no non-zero field, so it lives in
/// `.bss` and costs no flash for its start-up image, and the call is inlined.
pub trait TimeSource {
    /// The current time.
    fn now(&self) -> u64;
}

impl<F: Fn() -> u64> TimeSource for F {
    #[inline]
    fn now(&self) -> u64 {
        self()
    }
}

/// Records events into a ring. Share it (`&'static`, `Arc`) between every producer.
pub struct Recorder<S, T = fn() -> u64> {
    ring: Ring<S>,
    time: T,
    next_thread: AtomicU32,
}

impl<S: AsRef<[Slot]>, T: TimeSource> fmt::Debug for Recorder<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("ring", &self.ring)
            .field("stats", &self.stats())
            .finish()
    }
}

/// Counters of a recorder, read at one moment.
///
/// `recorded == drained + dropped + in_flight` holds for every snapshot. On 32-bit targets the
/// counters wrap after 2³² events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events handed to [`Recorder::record`] (or pushed into the ring directly).
    pub recorded: u64,
    /// Events lost because the ring was full.
    pub dropped: u64,
    /// Events the consumer has taken out of the ring.
    pub drained: u64,
    /// Events in the ring, waiting for the consumer.
    pub in_flight: u64,
}

impl<S, T> Recorder<S, T> {
    /// A recorder over `ring`, stamping events with `time`. `const`, so firmware can keep it in
    /// a `static`.
    pub const fn new(ring: Ring<S>, time: T) -> Self {
        Recorder {
            ring,
            time,
            // Zero, so a `static` recorder is all zero bytes and lives in `.bss`.
            next_thread: AtomicU32::new(0),
        }
    }
}

impl<S: AsRef<[Slot]>, T: TimeSource> Recorder<S, T> {
    /// A fresh logical thread id, distinct from every other this recorder handed out.
    pub fn new_thread(&self) -> ThreadId {
        // Ids start at 1: 0 is `ThreadId::NONE`.
        ThreadId::from_raw(
            self.next_thread
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_add(1),
        )
    }

    /// Records `kind` for `thread` at the caller's source location.
    #[track_caller]
    #[inline]
    pub fn record(&self, thread: ThreadId, kind: Kind) {
        self.record_at(thread, kind, Location::caller());
    }

    /// Records `kind` for `thread` at an explicit source location (for wrappers that captured
    /// their caller's location themselves).
    #[inline]
    pub fn record_at(&self, thread: ThreadId, kind: Kind, location: &'static Location<'static>) {
        let event = Event {
            time: self.time.now(),
            location,
            thread,
            kind,
        };
        // A full ring has already counted the loss and will mark it in the stream.
        let _ = self.ring.push(event);
    }

    /// The current time from this recorder's time source.
    pub fn now(&self) -> u64 {
        self.time.now()
    }

    /// The consumer side of the ring, if no one else holds it.
    pub fn consumer(&self) -> Option<Consumer<'_, S>> {
        self.ring.consumer()
    }

    /// The ring itself, for producers that build events by hand.
    pub fn ring(&self) -> &Ring<S> {
        &self.ring
    }

    /// The counters, derived from the ring's positions.
    pub fn stats(&self) -> Stats {
        // Read the consumer's position first: it never passes the producers', so the snapshot
        // never shows more drained than claimed.
        let drained = self.ring.consumed();
        let claimed = self.ring.claimed();
        let dropped = self.ring.dropped();
        Stats {
            recorded: claimed.wrapping_add(dropped) as u64,
            dropped: dropped as u64,
            drained: drained as u64,
            in_flight: claimed.wrapping_sub(drained) as u64,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::event::Value;

    fn zero() -> u64 {
        0
    }

    #[test]
    fn stats_identity_holds_with_drops() {
        let recorder: Recorder<[Slot; 8]> = Recorder::new(Ring::new(), zero);
        let t = recorder.new_thread();
        for i in 0..20u64 {
            recorder.record(
                t,
                Kind::Custom {
                    name: "n",
                    data: Value::U64(i),
                },
            );
        }
        let stats = recorder.stats();
        assert_eq!(stats.recorded, 20);
        assert_eq!(stats.dropped, 12);
        assert_eq!(stats.in_flight, 8);
        let mut consumer = recorder.consumer().unwrap();
        for _ in 0..3 {
            consumer.pop();
        }
        let stats = recorder.stats();
        assert_eq!(stats.drained, 3);
        assert_eq!(
            stats.recorded,
            stats.drained + stats.dropped + stats.in_flight
        );
    }

    #[test]
    fn location_is_the_callers() {
        let recorder: Recorder<[Slot; 2]> = Recorder::new(Ring::new(), zero);
        let line = line!() + 1;
        recorder.record(
            ThreadId::from_raw(1),
            Kind::DatabaseResult { rows_affected: 1 },
        );
        let event = recorder.consumer().unwrap().pop().unwrap();
        assert_eq!(event.location.line(), line);
        assert!(event.location.file().ends_with("recorder.rs"));
    }

    #[test]
    fn thread_ids_are_distinct_and_not_none() {
        let recorder: Recorder<[Slot; 2]> = Recorder::new(Ring::new(), zero);
        let a = recorder.new_thread();
        let b = recorder.new_thread();
        assert_ne!(a, b);
        assert_ne!(a, ThreadId::NONE);
    }
}
