//! Per-thread lanes: the record path for hosts, where each recording thread owns a queue of its
//! own and only synchronising events touch memory shared with other producers.
//!
//! The [`Ring`](crate::ring::Ring) makes every event of every thread claim the next position of
//! one shared counter. That claim is what puts the stream in an order that respects
//! happens-before, and it is also the cost: a contended cache line on every event, so two
//! producers go no faster than one. Lanes keep the order where the analysis needs it and drop
//! it where it does not:
//!
//! * A thread [leases](Lanes::lease) a lane: a single-producer queue it pushes into with plain
//!   stores and one release store. Threads beyond the leases available share lane 0 behind a
//!   short spin lock ([`Lanes::push_shared`]).
//! * **Global** events — those that create or consume a happens-before edge (locks, spawn and
//!   join, send and receive, HTTP, trace start and end, clocks from other processes, fences),
//!   and any event the caller marks global — take a ticket from one shared counter.
//! * **Plain** events — state changes, calls, returns, queries, errors, custom events — take
//!   nothing: they are ordered only within their lane.
//!
//! # Why the merged stream respects happens-before
//!
//! The single consumer merges the lanes: each lane in FIFO order, global events in ticket
//! order, and before a global event every event that was visible in any lane when the consumer
//! found that ticket.
//!
//! * Two global events ordered by happens-before took their tickets in that order: the ticket
//!   counter's modification order agrees with happens-before.
//! * A plain event that happens before a global event on another lane was published before it,
//!   so the consumer, having seen the global event, sees the plain one too and emits it first.
//! * A plain event after a global event on another lane is reached through a global event on
//!   its own lane (the acquire, join or receive that made the edge) and follows it there.
//! * A logical thread that moves to another lane (an async task resumed on another worker)
//!   must mark its first event there global: the caller knows where its last event went. A
//!   lane can't tell on its own, since the thread may come back to a lane it used before.
//!
//! Plain events of different lanes that no global event orders are concurrent; they appear in
//! whatever order the consumer reads them.
//!
//! # Loss
//!
//! A full lane drops the event (it takes no ticket, so tickets have no gaps), counts it, and the
//! consumer yields a [`Kind::Dropped`] marker where the loss happened in that lane, as the ring
//! does.
//!
//! # Examples
//!
//! ```
//! use raceway_core::event::{Event, Kind, ThreadId};
//! use raceway_core::lanes::Lanes;
//!
//! let lanes = Lanes::new(1024, 4);
//! let lease = lanes.lease().expect("a free lane");
//! let t = ThreadId::from_raw(1);
//! lease.push(Event::new(0, t, Kind::Custom { name: "plain", data: 1u64.into() }), false)?;
//! lease.push(Event::new(1, t, Kind::Send { message: 7 }), false)?;
//!
//! let kinds: Vec<Kind> = lanes.consumer().unwrap().map(|e| e.kind).collect();
//! assert_eq!(kinds.len(), 2);
//! assert_eq!(lanes.stats().drained, 2);
//! # Ok::<(), raceway_core::ring::Full>(())
//! ```

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::Cell;
use core::fmt;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ops::Deref;

use crate::event::{Event, Kind};
use crate::recorder::Stats;
use crate::ring::{Full, Losses};
use crate::sync::{spin_loop, AtomicPtr, AtomicU64, AtomicUsize, Ordering, UnsafeCell};

mod merge;
#[cfg(all(test, not(loom)))]
mod tests;

pub use merge::LanesConsumer;

/// Lane 0: shared, behind a spin lock, by every thread that holds no lease.
const SHARED: usize = 0;

/// `Lane::state` of a leasable lane nobody holds, and of the shared lane when unlocked.
const FREE: usize = 0;
/// `Lane::state` of a leased lane, and of the shared lane while a producer holds its lock.
const TAKEN: usize = 1;

/// Whether an event of this kind is ordered only within its lane. Everything that creates or
/// consumes a happens-before edge in [`crate::causality`] is not.
fn is_plain(kind: &Kind) -> bool {
    matches!(
        kind,
        Kind::StateChange { .. }
            | Kind::FunctionCall { .. }
            | Kind::FunctionReturn { .. }
            | Kind::DatabaseQuery { .. }
            | Kind::DatabaseResult { .. }
            | Kind::Error { .. }
            | Kind::Custom { .. }
    )
}

/// A value alone on its cache line, so that one side's writes don't slow the other's reads.
#[repr(align(64))]
#[derive(Debug)]
struct Line<T>(T);

impl<T> Deref for Line<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// One event of a lane and its ticket, alone on a 128-byte block: two slots never share a cache
/// line, nor the pair of lines x86 prefetchers fetch together, so the consumer reading a
/// published slot never pulls away a line the producer is about to write. Measured on a 2-vCPU
/// AMD EPYC VM with the drain on the other core, 128-byte slots took the producer's cost from
/// 48–53 to 36–42 ns per event (88-byte slots, three runs each); a larger stride did not help.
#[repr(align(128))]
struct LaneSlot {
    event: UnsafeCell<MaybeUninit<Event>>,
    /// 0 for a plain event, else its global ticket.
    ticket: UnsafeCell<u64>,
}

/// What the lane's current producer writes on every push, and what it reads with it.
#[derive(Debug)]
struct ProducerSide {
    /// Events published so far (the next position to write).
    tail: AtomicUsize,
    /// The consumer's `head` when the producer last looked, so a push reads the consumer's
    /// cache line only when the lane looks full.
    head_seen: AtomicUsize,
    /// The lane's slots; null until the lane is first leased.
    slots: AtomicPtr<LaneSlot>,
    /// [`FREE`] or [`TAKEN`]: the lease, or the shared lane's lock.
    state: AtomicUsize,
}

/// What the consumer writes on every event it takes.
#[derive(Debug)]
struct ConsumerSide {
    /// Events taken by the consumer so far.
    head: AtomicUsize,
}

struct Lane {
    producer: Line<ProducerSide>,
    consumer: Line<ConsumerSide>,
    /// Written only when the lane is full, so on a line of its own.
    losses: Line<Losses>,
}

impl Lane {
    fn new() -> Self {
        Lane {
            producer: Line(ProducerSide {
                tail: AtomicUsize::new(0),
                head_seen: AtomicUsize::new(0),
                slots: AtomicPtr::new(core::ptr::null_mut()),
                state: AtomicUsize::new(FREE),
            }),
            consumer: Line(ConsumerSide {
                head: AtomicUsize::new(0),
            }),
            losses: Line(Losses::new()),
        }
    }
}

/// The consumer's totals, on a line of their own: producers never read them.
#[derive(Debug)]
struct ConsumerTotals {
    /// Events the consumer has taken, loss markers not included.
    drained: AtomicU64,
    /// The ticket the consumer emits next, kept here for the next consumer.
    next_ticket: AtomicU64,
    /// 1 while a [`LanesConsumer`] exists.
    taken: AtomicUsize,
}

/// A set of lanes and the one ticket counter. See the [module docs](self).
pub struct Lanes {
    /// Lane 0 is shared; lanes 1.. are leased.
    lanes: Box<[Lane]>,
    /// Slots per lane, a power of two.
    capacity: usize,
    /// Lanes `0..in_use` have been used: the consumer looks at these only.
    in_use: AtomicUsize,
    /// The last ticket handed out (tickets start at 1; 0 marks a plain event).
    ticket: Line<AtomicU64>,
    totals: Line<ConsumerTotals>,
}

// SAFETY: a slot is written only by its lane's single producer (the leaseholder, or the holder
// of the shared lane's lock) before it publishes the lane's tail with Release, and read only by
// the single consumer after an Acquire load of that tail; the producer reuses it only after an
// Acquire load of the consumer's `head` that the consumer stored with Release after reading.
unsafe impl Sync for Lanes {}
// SAFETY: events are plain `Copy` data with `'static` references only.
unsafe impl Send for Lanes {}

impl fmt::Debug for Lanes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lanes")
            .field("lane_capacity", &self.capacity)
            .field("leases", &(self.lanes.len() - 1))
            .field("in_use", &self.in_use.load(Ordering::Relaxed))
            .field("stats", &self.stats())
            .finish()
    }
}

impl Lanes {
    /// Lanes of `lane_capacity` events each (rounded up to a power of two, at least 2), with up
    /// to `leases` threads holding a lane of their own at once. Only the shared lane is
    /// allocated now; a leased lane is allocated when it is first leased and reused after.
    pub fn new(lane_capacity: usize, leases: usize) -> Self {
        let capacity = lane_capacity.max(2).next_power_of_two();
        let lanes: Box<[Lane]> = (0..=leases).map(|_| Lane::new()).collect();
        lanes[SHARED]
            .producer
            .slots
            .store(allocate(capacity), Ordering::Release);
        Lanes {
            lanes,
            capacity,
            in_use: AtomicUsize::new(1),
            ticket: Line(AtomicU64::new(0)),
            totals: Line(ConsumerTotals {
                drained: AtomicU64::new(0),
                next_ticket: AtomicU64::new(1),
                taken: AtomicUsize::new(0),
            }),
        }
    }

    /// Events each lane holds at most.
    pub fn lane_capacity(&self) -> usize {
        self.capacity
    }

    /// A lane of the calling thread's own, if one is free. Keep it (in a thread-local) for as
    /// long as the thread records: leasing takes a scan and a compare-and-swap. Dropping the
    /// lease hands the lane back; events still in it are drained as usual.
    pub fn lease(&self) -> Option<Lease<&Self>> {
        Lease::new(self)
    }

    fn lease_index(&self) -> Option<usize> {
        let index = (1..self.lanes.len()).find(|&i| {
            self.lanes[i]
                .producer
                .state
                .compare_exchange(FREE, TAKEN, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        })?;
        let side = &self.lanes[index].producer;
        if side.slots.load(Ordering::Acquire).is_null() {
            side.slots.store(allocate(self.capacity), Ordering::Release);
        }
        self.in_use.fetch_max(index + 1, Ordering::AcqRel);
        Some(index)
    }

    fn release(&self, index: usize) {
        self.lanes[index]
            .producer
            .state
            .store(FREE, Ordering::Release);
    }

    /// Records `event` in the shared lane, for threads without a lease. See [`Lease::push`] for
    /// `global`. Spins while another thread is pushing there (a few nanoseconds at a time).
    pub fn push_shared(&self, event: Event, global: bool) -> Result<(), Full> {
        let lock = &self.lanes[SHARED].producer.state;
        while lock
            .compare_exchange_weak(FREE, TAKEN, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            spin_loop();
        }
        // SAFETY: holding the shared lane's lock makes this thread its only producer.
        let result = unsafe { self.push_exclusive(SHARED, event, global) };
        lock.store(FREE, Ordering::Release);
        result
    }

    /// Pushes into lane `index`.
    ///
    /// # Safety
    /// The caller is the lane's only producer until this returns.
    #[inline]
    unsafe fn push_exclusive(&self, index: usize, event: Event, global: bool) -> Result<(), Full> {
        let lane = &self.lanes[index];
        let p = &lane.producer;
        let tail = p.tail.load(Ordering::Relaxed);
        if tail.wrapping_sub(p.head_seen.load(Ordering::Relaxed)) >= self.capacity {
            let head = lane.consumer.head.load(Ordering::Acquire);
            p.head_seen.store(head, Ordering::Relaxed);
            if tail.wrapping_sub(head) >= self.capacity {
                lane.losses.note(tail);
                return Err(Full(event));
            }
        }
        // The ticket is taken only once the event is sure to fit, so no ticket goes missing.
        let ticket = if global || !is_plain(&event.kind) {
            self.ticket.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            0
        };
        let slots = p.slots.load(Ordering::Relaxed);
        // SAFETY: `slots` holds `capacity` slots (allocated before the lane was first used), and
        // the position is free: the consumer has taken everything up to `tail - capacity`.
        let slot = unsafe { &*slots.add(tail & (self.capacity - 1)) };
        // SAFETY: this producer is the slot's only accessor until it publishes `tail + 1`.
        slot.event
            .with_mut(|cell| unsafe { cell.write(MaybeUninit::new(event)) });
        slot.ticket.with_mut(|cell| unsafe { *cell = ticket });
        p.tail.store(tail.wrapping_add(1), Ordering::Release);
        // No prefetch of the slots ahead, as the ring does: in a lane that is nearly full, they
        // are the very slots the consumer is about to read, and taking their lines for writing
        // made the consumer miss on every one (on the Intel Xeon VM, two producers delivered
        // 47-49 M events/s with it, 64-66 M without; one producer recorded in 15.5-16.5 ns with
        // it, 12.8-13.2 without).
        Ok(())
    }

    /// The consumer, if no other consumer exists right now. Dropping it hands the role on.
    pub fn consumer(&self) -> Option<LanesConsumer<'_>> {
        LanesConsumer::new(self)
    }

    /// Global events recorded so far: a counter that only grows, and grows along every
    /// happens-before chain of global events.
    pub fn tickets(&self) -> u64 {
        self.ticket.load(Ordering::Relaxed)
    }

    /// How far every lane has been published right now. Once [`LanesConsumer::reached`] says
    /// yes for it, every event recorded before this call has been taken by the consumer.
    pub fn mark(&self) -> Mark {
        let in_use = self.in_use.load(Ordering::Acquire);
        Mark(
            self.lanes[..in_use]
                .iter()
                .map(|lane| lane.producer.tail.load(Ordering::Acquire))
                .collect(),
        )
    }

    /// The counters, summed over the lanes. `recorded == drained + dropped + in_flight` holds
    /// for every snapshot.
    pub fn stats(&self) -> Stats {
        // The consumer's count first: it never passes what the lanes published after it.
        let drained = self.totals.drained.load(Ordering::Acquire);
        let in_use = self.in_use.load(Ordering::Acquire);
        let (mut published, mut dropped) = (0u64, 0u64);
        for lane in &self.lanes[..in_use] {
            dropped += lane.losses.dropped() as u64;
            published += lane.producer.tail.load(Ordering::Acquire) as u64;
        }
        Stats {
            recorded: published + dropped,
            dropped,
            drained,
            in_flight: published.saturating_sub(drained),
        }
    }
}

fn allocate(capacity: usize) -> *mut LaneSlot {
    let slots: Box<[LaneSlot]> = (0..capacity)
        .map(|_| LaneSlot {
            event: UnsafeCell::new(MaybeUninit::uninit()),
            ticket: UnsafeCell::new(0),
        })
        .collect();
    Box::into_raw(slots).cast()
}

impl Drop for Lanes {
    fn drop(&mut self) {
        for lane in self.lanes.iter() {
            let slots = lane.producer.slots.load(Ordering::Acquire);
            if !slots.is_null() {
                // SAFETY: allocated by `allocate(self.capacity)` and owned by this set alone.
                drop(unsafe {
                    Box::from_raw(core::ptr::slice_from_raw_parts_mut(slots, self.capacity))
                });
            }
        }
    }
}

/// How far each lane had been published at one moment: see [`Lanes::mark`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mark(Vec<usize>);

mod sealed {
    /// Keeps [`LanesRef`](super::LanesRef) to the types listed there.
    pub trait Sealed {}
}

/// How a [`Lease`] reaches its lanes: `&Lanes`, or an `Arc<Lanes>` to keep in a thread-local.
///
/// Sealed, because a lease's soundness rests on reaching the *same* [`Lanes`] on every push:
/// the lease made this thread the only producer of one lane of those lanes, not of another
/// set's. A reference and an `Arc` always dereference to the same place; an arbitrary `Deref`
/// need not, and could lead two leases to write into one lane:
///
/// ```compile_fail
/// use std::cell::Cell;
/// use std::ops::Deref;
/// use raceway_core::lanes::{Lanes, Lease};
///
/// /// Dereferences to `a` and `b` in turn.
/// struct Flip { a: Lanes, b: Lanes, turn: Cell<bool> }
///
/// impl Deref for Flip {
///     type Target = Lanes;
///     fn deref(&self) -> &Lanes {
///         self.turn.set(!self.turn.get());
///         if self.turn.get() { &self.a } else { &self.b }
///     }
/// }
///
/// let flip = Flip { a: Lanes::new(8, 1), b: Lanes::new(8, 1), turn: Cell::new(false) };
/// let lease = Lease::new(flip); // leases in `a`, would push into `b`
/// ```
pub trait LanesRef: sealed::Sealed + Deref<Target = Lanes> {}

impl sealed::Sealed for &Lanes {}
impl LanesRef for &Lanes {}

#[cfg(target_has_atomic = "ptr")]
impl sealed::Sealed for alloc::sync::Arc<Lanes> {}
#[cfg(target_has_atomic = "ptr")]
impl LanesRef for alloc::sync::Arc<Lanes> {}

#[cfg(loom)]
impl sealed::Sealed for loom::sync::Arc<Lanes> {}
#[cfg(loom)]
impl LanesRef for loom::sync::Arc<Lanes> {}

/// A lane held by one thread. Not `Sync`: one thread pushes at a time. `L` is how the lease
/// reaches its lanes (see [`LanesRef`]).
pub struct Lease<L: LanesRef> {
    lanes: L,
    index: usize,
    _not_sync: PhantomData<Cell<()>>,
}

impl<L: LanesRef> fmt::Debug for Lease<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease").field("lane", &self.index).finish()
    }
}

impl<L: LanesRef> Lease<L> {
    /// A lease of a free lane of `lanes`, if there is one.
    pub fn new(lanes: L) -> Option<Self> {
        let index = lanes.lease_index()?;
        Some(Lease {
            lanes,
            index,
            _not_sync: PhantomData,
        })
    }

    /// The lanes this lease belongs to.
    pub fn lanes(&self) -> &Lanes {
        &self.lanes
    }

    /// The lane's number (never 0, the shared lane's). Events of one logical thread recorded
    /// in two lanes in a row must mark the second one global.
    pub fn lane(&self) -> usize {
        self.index
    }

    /// Records `event`, or counts it as dropped and hands it back if the lane is full.
    ///
    /// `global` orders the event against every lane, as synchronising events always are: pass
    /// `true` when the event's logical thread last recorded in another lane (or never).
    #[inline]
    pub fn push(&self, event: Event, global: bool) -> Result<(), Full> {
        // SAFETY: the lease makes this thread the lane's only producer, and `Lease` is not
        // `Sync`, so no other thread pushes through it at the same time. `L: LanesRef`
        // dereferences to the lanes the lease was taken from, every time.
        unsafe { self.lanes.push_exclusive(self.index, event, global) }
    }
}

impl<L: LanesRef> Drop for Lease<L> {
    fn drop(&mut self) {
        self.lanes.release(self.index);
    }
}
