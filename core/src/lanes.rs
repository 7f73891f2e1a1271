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
use crate::ring::{prefetch_for_write, Full, Losses, PREFETCH_AHEAD};
use crate::sync::{spin_loop, AtomicPtr, AtomicU64, AtomicUsize, Ordering, UnsafeCell};

/// The consumer tells a lane's producer how far it has read at least this often (in events).
const PUBLISH_EVERY: usize = 32;

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
        // SAFETY: within the lane's slots (the position wraps around the mask).
        prefetch_for_write(unsafe {
            &*slots.add(tail.wrapping_add(PREFETCH_AHEAD) & (self.capacity - 1))
        });
        Ok(())
    }

    /// The consumer, if no other consumer exists right now. Dropping it hands the role on.
    pub fn consumer(&self) -> Option<LanesConsumer<'_>> {
        self.totals
            .taken
            .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .ok()?;
        let mut consumer = LanesConsumer {
            lanes: self,
            next_ticket: self.totals.next_ticket.load(Ordering::Acquire),
            cursors: Vec::new(),
            publish_mask: (self.capacity / 4).clamp(1, PUBLISH_EVERY) - 1,
            current: 0,
            waiting: None,
            drained: self.totals.drained.load(Ordering::Acquire),
        };
        consumer.in_use();
        Some(consumer)
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

/// The consumer's view of one lane.
struct Cursor {
    head: usize,
    /// How far the producer has been told the consumer read.
    published: usize,
    /// How far this visit of the lane may read (the tail read on arrival).
    end: usize,
    /// While a global event waits: how far the lane must be emptied before it.
    limit: usize,
    slots: *const LaneSlot,
}

impl Cursor {
    /// Whether this visit may read another event. `end` can lag behind `head`: a limit set
    /// before the waiting global event was taken.
    fn has_more(&self) -> bool {
        self.end.wrapping_sub(self.head) as isize > 0
    }
}

/// What the consumer found when it looked for the next ticket.
enum Seek {
    /// At the head of this lane.
    Found(usize),
    /// Not at any lane's head, but a plain event is: it was published after the last look.
    Plain,
    /// Nowhere yet: its producer is between taking the ticket and publishing the event, or
    /// nothing more is recorded.
    NotYet,
}

/// The single consumer of a [`Lanes`]: yields events in an order that respects happens-before
/// (see the [module docs](self)), with loss markers, and stops when nothing more is visible.
pub struct LanesConsumer<'a> {
    lanes: &'a Lanes,
    next_ticket: u64,
    /// One per lane in use, added as lanes come into use.
    cursors: Vec<Cursor>,
    /// A lane's progress is published whenever its head is a multiple of this plus one.
    publish_mask: usize,
    /// The lane being read.
    current: usize,
    /// The lane whose head holds `next_ticket`, once found.
    waiting: Option<usize>,
    drained: u64,
}

impl fmt::Debug for LanesConsumer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LanesConsumer")
            .field("next_ticket", &self.next_ticket)
            .field("drained", &self.drained)
            .finish_non_exhaustive()
    }
}

impl<'a> LanesConsumer<'a> {
    /// The next event or loss marker, or `None` if nothing more can be emitted yet.
    pub fn pop(&mut self) -> Option<Event> {
        // The common case: the lane being read has more plain events in this visit.
        if self.waiting.is_none() {
            if let Some(event) = self.plain_head(self.current) {
                return Some(event);
            }
        }
        loop {
            if let Some(lane) = self.waiting {
                if let Some(event) = self.next_plain(true) {
                    return Some(event);
                }
                self.waiting = None;
                self.next_ticket += 1;
                return Some(self.take_head(lane));
            }
            if let Some(event) = self.next_plain(false) {
                return Some(event);
            }
            match self.find_next_ticket() {
                Seek::Found(lane) => self.waiting = Some(lane),
                // Published since the last look: take it first.
                Seek::Plain => {}
                Seek::NotYet => {
                    self.publish_all();
                    return None;
                }
            }
        }
    }

    /// Whether this consumer has taken everything up to `mark`.
    pub fn reached(&self, mark: &Mark) -> bool {
        mark.0.iter().enumerate().all(|(index, &tail)| {
            let head = match self.cursors.get(index) {
                Some(cursor) => cursor.head,
                // Not read by this consumer yet: what earlier consumers published is exact.
                None => self.lanes.lanes[index]
                    .consumer
                    .head
                    .load(Ordering::Acquire),
            };
            tail.wrapping_sub(head) as isize <= 0
        })
    }

    /// How many lanes are in use, with a cursor for each.
    fn in_use(&mut self) -> usize {
        let in_use = self.lanes.in_use.load(Ordering::Acquire);
        for lane in &self.lanes.lanes[self.cursors.len()..in_use] {
            let head = lane.consumer.head.load(Ordering::Acquire);
            self.cursors.push(Cursor {
                head,
                published: head,
                end: head,
                limit: head,
                slots: core::ptr::null(),
            });
        }
        in_use
    }

    /// A visible plain event or loss marker from any lane, read lane after lane: each visit
    /// reads up to the tail seen on arrival (or up to `limit` while a global event waits).
    fn next_plain(&mut self, up_to_limit: bool) -> Option<Event> {
        let in_use = self.in_use();
        if self.current >= in_use {
            self.current = 0;
        }
        for _ in 0..=in_use {
            if let Some(event) = self.plain_head(self.current) {
                return Some(event);
            }
            self.publish(self.current);
            self.current = (self.current + 1) % in_use;
            let lane = &self.lanes.lanes[self.current];
            let cursor = &mut self.cursors[self.current];
            cursor.end = if up_to_limit {
                cursor.limit
            } else {
                lane.producer.tail.load(Ordering::Acquire)
            };
        }
        None
    }

    /// Lane `index`'s loss marker if it is due, else its head event if this visit may read it
    /// and it is plain.
    #[inline]
    fn plain_head(&mut self, index: usize) -> Option<Event> {
        let head = self.cursors[index].head;
        if let Some(marker) = self.lanes.lanes[index].losses.marker(head) {
            return Some(marker);
        }
        if !self.cursors[index].has_more() {
            return None;
        }
        let slot = self.slot(index);
        // SAFETY: published (head < tail seen with Acquire) and not yet handed back.
        if slot.ticket.with(|cell| unsafe { *cell }) != 0 {
            return None;
        }
        // SAFETY: as above.
        let event = slot.event.with(|cell| unsafe { (*cell).assume_init() });
        self.advance(index);
        Some(event)
    }

    /// The lane whose head holds the next ticket, with every lane's limit set to what is
    /// visible now.
    fn find_next_ticket(&mut self) -> Seek {
        let in_use = self.in_use();
        let mut plain = false;
        let found = (0..in_use).find(|&index| {
            let tail = self.lanes.lanes[index]
                .producer
                .tail
                .load(Ordering::Acquire);
            self.cursors[index].end = tail;
            if self.cursors[index].head == tail {
                return false;
            }
            let ticket = self.ticket_at(index);
            plain |= ticket == 0;
            ticket == self.next_ticket
        });
        let Some(found) = found else {
            return if plain { Seek::Plain } else { Seek::NotYet };
        };
        // Everything published before the global event was is visible now: bound it, so that a
        // busy lane can't keep the global event waiting. That includes lanes first leased after
        // `in_use` was read above, by a thread the global event's producer synchronised with.
        let in_use = self.in_use();
        for (lane, cursor) in self.lanes.lanes[..in_use]
            .iter()
            .zip(self.cursors.iter_mut())
        {
            cursor.limit = lane.producer.tail.load(Ordering::Acquire);
        }
        self.cursors[found].limit = self.cursors[found].head;
        Seek::Found(found)
    }

    fn slots(&mut self, index: usize) -> *const LaneSlot {
        let cursor = &mut self.cursors[index];
        if cursor.slots.is_null() {
            cursor.slots = self.lanes.lanes[index]
                .producer
                .slots
                .load(Ordering::Acquire);
        }
        cursor.slots
    }

    /// The ticket of lane `index`'s head event, which must be published.
    fn ticket_at(&mut self, index: usize) -> u64 {
        let slot = self.slot(index);
        // SAFETY: published (head < tail seen with Acquire) and not yet handed back.
        slot.ticket.with(|cell| unsafe { *cell })
    }

    #[inline]
    fn slot(&mut self, index: usize) -> &'a LaneSlot {
        let slots = self.slots(index);
        let position = self.cursors[index].head & (self.lanes.capacity - 1);
        // SAFETY: the lane has been used, so its slots are allocated, `capacity` of them.
        unsafe { &*slots.add(position) }
    }

    /// Takes lane `index`'s head event, which must be published.
    fn take_head(&mut self, index: usize) -> Event {
        let slot = self.slot(index);
        // SAFETY: published (Release/Acquire on the tail) and not yet handed back.
        let event = slot.event.with(|cell| unsafe { (*cell).assume_init() });
        self.advance(index);
        event
    }

    /// Hands lane `index`'s head slot back to its producer.
    #[inline]
    fn advance(&mut self, index: usize) {
        let cursor = &mut self.cursors[index];
        cursor.head = cursor.head.wrapping_add(1);
        self.drained += 1;
        if cursor.head & self.publish_mask == 0 {
            self.publish(index);
        }
    }

    /// Tells lane `index`'s producer (and [`Lanes::stats`]) how far the consumer has read.
    /// Done every [`PUBLISH_EVERY`] events (a quarter of a small lane), when leaving a lane and
    /// when stopping, not on every event: a producer whose lane is nearly full reads it, and a
    /// store per event would pull that line back and forth.
    fn publish(&mut self, index: usize) {
        let cursor = &mut self.cursors[index];
        if cursor.published != cursor.head {
            cursor.published = cursor.head;
            self.lanes.lanes[index]
                .consumer
                .head
                .store(cursor.head, Ordering::Release);
            self.lanes
                .totals
                .drained
                .store(self.drained, Ordering::Release);
        }
    }

    fn publish_all(&mut self) {
        for index in 0..self.cursors.len() {
            self.publish(index);
        }
    }
}

impl Iterator for LanesConsumer<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        self.pop()
    }
}

impl Drop for LanesConsumer<'_> {
    fn drop(&mut self) {
        self.publish_all();
        let totals = &self.lanes.totals;
        totals
            .next_ticket
            .store(self.next_ticket, Ordering::Release);
        totals.taken.store(0, Ordering::Release);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;
    use crate::event::{Access, LockKind, ThreadId, Value};

    fn custom(thread: u32, n: u64) -> Event {
        Event::new(
            0,
            ThreadId::from_raw(thread),
            Kind::Custom {
                name: "n",
                data: Value::U64(n),
            },
        )
    }

    fn send(thread: u32, message: u64) -> Event {
        Event::new(0, ThreadId::from_raw(thread), Kind::Send { message })
    }

    fn numbers(events: impl Iterator<Item = Event>) -> Vec<u64> {
        events
            .map(|e| match e.kind {
                Kind::Custom {
                    data: Value::U64(n),
                    ..
                } => n,
                Kind::Send { message } => message,
                Kind::Dropped { count } => 1_000_000 + u64::from(count),
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_lane_is_fifo_across_many_laps() {
        let lanes = Lanes::new(4, 1);
        let lease = lanes.lease().unwrap();
        let mut consumer = lanes.consumer().unwrap();
        for lap in 0..50u64 {
            for i in 0..3 {
                lease.push(custom(1, lap * 3 + i), false).unwrap();
            }
            let want: Vec<u64> = (0..3).map(|i| lap * 3 + i).collect();
            assert_eq!(numbers(consumer.by_ref()), want);
        }
        assert_eq!(lanes.stats().drained, 150);
    }

    #[test]
    fn global_events_come_out_in_ticket_order() {
        let lanes = Lanes::new(16, 2);
        let (a, b) = (lanes.lease().unwrap(), lanes.lease().unwrap());
        for i in 0..10 {
            let lease = if i % 3 == 0 { &a } else { &b };
            lease.push(send(1, i), false).unwrap();
        }
        assert_eq!(
            numbers(lanes.consumer().unwrap()),
            (0..10).collect::<Vec<_>>()
        );
    }

    #[test]
    fn what_a_lane_published_before_a_global_event_elsewhere_comes_first() {
        let lanes = Lanes::new(16, 2);
        let (a, b) = (lanes.lease().unwrap(), lanes.lease().unwrap());
        // Lane b is read first, but its global event must wait for lane a's earlier events.
        b.push(custom(2, 100), false).unwrap();
        a.push(custom(1, 1), false).unwrap();
        a.push(custom(1, 2), false).unwrap();
        b.push(send(2, 3), false).unwrap();
        let got = numbers(lanes.consumer().unwrap());
        let at = |n| got.iter().position(|&m| m == n).unwrap();
        assert!(at(1) < at(3) && at(2) < at(3) && at(100) < at(3), "{got:?}");
        assert_eq!(got.len(), 4);
    }

    #[test]
    fn marking_an_event_global_orders_it_after_everything_visible() {
        let lanes = Lanes::new(16, 2);
        let (a, b) = (lanes.lease().unwrap(), lanes.lease().unwrap());
        a.push(custom(1, 1), false).unwrap();
        // The same logical thread continues in lane b: its first event there is global.
        b.push(custom(1, 2), true).unwrap();
        b.push(custom(1, 3), false).unwrap();
        // And comes back to lane a: global again, so it can't overtake 2 and 3.
        a.push(custom(1, 4), true).unwrap();
        assert_eq!(numbers(lanes.consumer().unwrap()), [1, 2, 3, 4]);
    }

    #[test]
    fn a_full_lane_counts_its_losses_and_marks_where_they_were() {
        let lanes = Lanes::new(2, 1);
        let lease = lanes.lease().unwrap();
        let mut consumer = lanes.consumer().unwrap();
        lease.push(custom(1, 0), false).unwrap();
        lease.push(custom(1, 1), false).unwrap();
        assert_eq!(lease.push(send(1, 2), false), Err(Full(send(1, 2))));
        assert!(lease.push(custom(1, 3), false).is_err());
        assert_eq!(numbers(consumer.by_ref().take(1)), [0]);
        lease.push(custom(1, 4), false).unwrap();
        assert_eq!(numbers(consumer.by_ref()), [1, 1_000_002, 4]);
        let stats = lanes.stats();
        assert_eq!((stats.recorded, stats.dropped, stats.drained), (5, 2, 3));
        assert_eq!(stats.in_flight, 0);
        // No ticket was spent on the lost global event: the next one is not waited for forever.
        lease.push(send(1, 5), false).unwrap();
        assert_eq!(numbers(consumer.by_ref()), [5]);
    }

    #[test]
    fn leases_run_out_and_come_back() {
        let lanes = Lanes::new(8, 2);
        let a = lanes.lease().unwrap();
        let b = lanes.lease().unwrap();
        assert!(lanes.lease().is_none());
        a.push(custom(1, 1), false).unwrap();
        let lane = a.lane();
        drop(a);
        let c = lanes.lease().unwrap();
        assert_eq!(c.lane(), lane);
        c.push(custom(3, 2), true).unwrap();
        b.push(custom(2, 3), false).unwrap();
        lanes.push_shared(custom(4, 4), false).unwrap();
        let mut got = numbers(lanes.consumer().unwrap());
        // The released lane's event is still drained, before its next holder's.
        assert!(got.iter().position(|&n| n == 1) < got.iter().position(|&n| n == 2));
        got.sort_unstable();
        assert_eq!(got, [1, 2, 3, 4]);
    }

    #[test]
    fn a_mark_is_reached_once_everything_before_it_is_taken() {
        let lanes = Lanes::new(8, 1);
        let lease = lanes.lease().unwrap();
        lease.push(custom(1, 1), false).unwrap();
        lanes.push_shared(send(2, 2), false).unwrap();
        let mark = lanes.mark();
        lease.push(custom(1, 3), false).unwrap();
        let mut consumer = lanes.consumer().unwrap();
        assert!(!consumer.reached(&mark));
        let mut taken = 0;
        while !consumer.reached(&mark) {
            consumer.pop().unwrap();
            taken += 1;
        }
        assert!(taken >= 2);
        // What the producer and the counters see is published at the latest when it stops.
        assert_eq!(consumer.by_ref().count() + taken, 3);
        assert_eq!(lanes.stats().drained, 3);
    }

    #[test]
    fn a_new_consumer_resumes_in_ticket_order() {
        let lanes = Lanes::new(8, 1);
        let lease = lanes.lease().unwrap();
        for i in 0..4 {
            lease.push(send(1, i), false).unwrap();
        }
        assert_eq!(numbers(lanes.consumer().unwrap().take(2)), [0, 1]);
        lanes.push_shared(send(2, 4), false).unwrap();
        assert_eq!(numbers(lanes.consumer().unwrap()), [2, 3, 4]);
        assert!(lanes.consumer().is_some());
    }

    /// Threads take turns under a mutex, recording acquire, the write and release as the std
    /// client does. Whatever the interleaving and whoever holds a lane, the stream must show the
    /// writes in the order they happened.
    #[cfg(feature = "std")]
    #[test]
    fn writes_under_a_lock_come_out_in_the_order_they_happened() {
        use std::sync::{Arc, Mutex};
        const THREADS: u32 = 4;
        const ROUNDS: u64 = if cfg!(miri) { 50 } else { 2_000 };
        // Two leases for four threads: two of them share lane 0.
        let lanes = Arc::new(Lanes::new(64, 2));
        let counter = Arc::new(Mutex::new(0u64));
        let workers: Vec<_> = (1..=THREADS)
            .map(|t| {
                let (lanes, counter) = (Arc::clone(&lanes), Arc::clone(&counter));
                std::thread::spawn(move || {
                    let lease = Lease::new(Arc::clone(&lanes));
                    let push = |kind: Kind| {
                        let event = Event::new(0, ThreadId::from_raw(t), kind);
                        // A full lane loses the event; retry so the check below sees them all.
                        loop {
                            let pushed = match &lease {
                                Some(lease) => lease.push(event, false),
                                None => lanes.push_shared(event, false),
                            };
                            if pushed.is_ok() {
                                break;
                            }
                            std::thread::yield_now();
                        }
                    };
                    for _ in 0..ROUNDS {
                        let mut value = counter.lock().unwrap();
                        let (lock, lock_kind) = ("counter".into(), LockKind::Mutex);
                        push(Kind::LockAcquire { lock, lock_kind });
                        push(Kind::StateChange {
                            variable: "counter".into(),
                            access: Access::Write,
                            old: Value::U64(*value),
                            new: Value::U64(*value + 1),
                        });
                        *value += 1;
                        push(Kind::LockRelease { lock, lock_kind });
                    }
                })
            })
            .collect();
        let total = u64::from(THREADS) * ROUNDS;
        let mut writes = Vec::new();
        let mut holder = None;
        let mut consumer = lanes.consumer().unwrap();
        while writes.len() < total as usize {
            let Some(event) = consumer.pop() else {
                std::thread::yield_now();
                continue;
            };
            match event.kind {
                Kind::LockAcquire { .. } => {
                    assert_eq!(holder, None, "two holders at once");
                    holder = Some(event.thread);
                }
                Kind::LockRelease { .. } => assert_eq!(holder.take(), Some(event.thread)),
                Kind::Dropped { .. } => {}
                Kind::StateChange {
                    new: Value::U64(n), ..
                } => {
                    assert_eq!(holder, Some(event.thread), "a write outside the lock");
                    writes.push(n);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        workers.into_iter().for_each(|w| w.join().unwrap());
        assert!(consumer
            .next()
            .is_some_and(|e| matches!(e.kind, Kind::LockRelease { .. })));
        assert_eq!(writes, (1..=total).collect::<Vec<_>>());
        assert_eq!(lanes.stats().dropped, lanes.stats().recorded - 3 * total);
    }
}
