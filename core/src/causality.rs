//! Rebuilds happens-before from the event stream: every event's vector clock, replayed in ring
//! order.
//!
//! Events carry only their logical thread, so [`HappensBefore`] replays them in the order they
//! left the ring and keeps one [`VectorClock`] per thread, per lock and per edge still in flight.
//! Ring order respects happens-before because each synchronising event is recorded on the right
//! side of the synchronisation: a lock acquire after the lock is held, a release before it is
//! let go, a spawn before the child runs, a send before the message can be received.
//!
//! Every event ticks its own thread's component; on top of that:
//!
//! | event | edge |
//! |---|---|
//! | exclusive `LockRelease` | the lock's write clock becomes the thread's clock, plus one more hand-over on the lock's own component; its read clock is cleared (the releasing writer has already seen every reader) |
//! | shared (`RwRead`) `LockRelease` | the lock's read clock joins the thread's clock |
//! | exclusive `LockAcquire` | the thread joins the lock's write and read clocks |
//! | shared `LockAcquire` | the thread joins the write clock only: readers do not order each other |
//! | `Spawn { child }` | the child's first event starts from the parent's clock |
//! | `Join { child }` | the thread joins the child's clock as of its latest event; the child's own entry is dropped, since the join stands for its whole run ([`HappensBefore::happens_before`]) |
//! | `ThreadEnd` | none: the run is over; a spawned thread's final clock is kept for its join |
//! | `Send` → `Receive` | the receiver joins the sender's clock (matched by message id) |
//! | outbound `HttpRequest` → inbound `HttpRequest` | same, matched by span (0 = no edge) |
//! | inbound `HttpResponse` → outbound `HttpResponse` | same: the server's response reaches the client |
//!
//! # Runs of threads
//!
//! Clocks are keyed by [`Incarnation`]: the replay numbers each run of a logical thread, from
//! its first event to its `ThreadEnd` (or [`forget`](HappensBefore::forget)). A thread id that
//! records again after its end is a new run that knows nothing of the old one, so ids the
//! program recycles never make old accesses look ordered. Ended runs cost nothing but 24 bytes
//! in a bounded table ([`MAX_RETIRABLE_THREADS`]) that lets clocks *retire* them: a clock that
//! has seen a finished run's last access keeps it as part of a range instead of an entry (see
//! [`crate::clock`]). That is what keeps a `join_all` over thousands of tasks, or a lock that
//! every request takes, at a few clock entries. The one rule this relies on: an id is not
//! handed out again while its run is live (the std client counts ids up; after 2³² contexts it
//! wraps, see [`ThreadId`]).
//!
//! # Lock hand-overs
//!
//! A lock that request after request takes would otherwise carry every holder in its clock: the
//! holders of one lock are far apart among all the runs, so they do not collapse into ranges.
//! So each lock has a component of its own ([`Incarnation::of_lock`]) that counts its exclusive
//! releases, and every event made while holding an exclusive lock is *stamped* with the
//! hand-over that its release will make ([`Observed::held`], [`Stamp`]): whatever knows that
//! hand-over happens after the event. A finished run whose every access was made under one
//! hand-over needs no entry in a clock that knows the hand-over: lock clocks shed such holders
//! as soon as they grow past a few entries, and [`happens_before`](HappensBefore::happens_before)
//! asks the stamp when the run's entry is gone. A lock's clock then holds its own component and
//! its latest holders, whatever its history. A run that also joined something, or accessed
//! outside the lock, keeps its entry and retires as below.
//!
//! # Uncertainty
//!
//! [`Observed::uncertain`] says that a result involving the event cannot be trusted either way:
//! after a [`Kind::Dropped`] marker (for the rest of the stream), the lost events may have been
//! accesses (missed races) or releases (invented races).
//!
//! What a clock forgot for capacity is decided per comparison instead:
//! [`VectorClock::may_have_forgotten`] says whether the clock could have known the earlier
//! access, so only results that really depend on forgotten entries are uncertain. An edge
//! evicted before its consumer came, or a lock's last release forgotten before its next
//! acquire, is the same kind of loss: the consumer's clock then *may lack* every run and lock
//! component that existed when the edge was evicted (all that its sender could have known), and
//! comparisons with those are uncertain. The same goes for a join dropped from the table of
//! joined runs ([`MAX_JOINED_RUNS`]), unless the run compared with is still live.
//!
//! # Memory
//!
//! Bounded by live state: live threads ([`MAX_THREADS`]), pending edges, and fixed-size
//! tables:
//!
//! * locks in use, keyed by the name's identity ([`crate::name::Name::id`]): [`MAX_LOCKS`]; a
//!   lock nobody used for a generation is forgotten, and acquiring it later is a lost edge;
//! * spawns whose child has not run yet: [`MAX_PENDING_SPAWNS`];
//! * messages and HTTP exchanges not received yet: [`MAX_PENDING_MESSAGES`];
//! * spawned threads that ended and are not joined yet: [`MAX_JOINABLE_THREADS`] (request
//!   contexts nobody spawned are never kept);
//! * last accesses of ended runs, for retiring: those of the newest [`MAX_RETIRABLE_THREADS`]
//!   runs.
//!
//! An edge that is never consumed is normal (a request to an uninstrumented service, a task that
//! records nothing, a detached thread), so evicting the oldest pending edge only counts it
//! ([`evicted_edges`](HappensBefore::evicted_edges)) and remembers its key and the replay's
//! horizon then ([`MAX_LOST_KEYS`] of them); if its consumer turns up later the edge is
//! [lost](HappensBefore::lost_edges) and the consumer's clock may lack what it carried. Once a
//! key is forgotten too, a consumer that finds nothing cannot tell a sender outside the stream
//! from a forgotten one, so it is marked the same way with the newest forgotten key's horizon
//! ([`maybe_lost_edges`](HappensBefore::maybe_lost_edges)). That horizon trails the stream by
//! at least [`MAX_LOST_KEYS`] edges, so runs that started since, such as concurrent requests,
//! still compare with certainty after weeks. A live thread evicted for capacity (the least
//! recently active eighth, once [`MAX_THREADS`] are live) ends its run, and its clock waits
//! like a spawn for the run that continues it if it records again: an edge like the others,
//! lost and marked the same way if it waits too long. The response to an
//! HTTP request that came from no sender in the stream (an untraced client, as for most of a
//! service's requests) is not kept at all: only that request's sender could be waiting for it.
//!
//! # Examples
//!
//! ```
//! use raceway_core::causality::HappensBefore;
//! use raceway_core::{Access, Event, Kind, LockKind, ThreadId, Value};
//!
//! let (a, b) = (ThreadId::from_raw(1), ThreadId::from_raw(2));
//! let (lock, lock_kind) = ("accounts".into(), LockKind::Mutex);
//! let write = Kind::StateChange {
//!     variable: "balance".into(),
//!     access: Access::Write,
//!     old: Value::None,
//!     new: Value::I64(1),
//! };
//!
//! let mut hb = HappensBefore::<8>::new();
//! let mut record = |thread, kind| hb.observe(&Event::new(0, thread, kind));
//! record(a, Kind::LockAcquire { lock, lock_kind });
//! let first = record(a, write).epoch.unwrap();
//! record(a, Kind::LockRelease { lock, lock_kind });
//! record(b, Kind::LockAcquire { lock, lock_kind });
//! let second = record(b, write);
//!
//! // B's write is ordered after A's: no race, and nothing was lost on the way.
//! assert!(hb.happens_before(first, hb.clock(b).unwrap()));
//! assert!(!second.uncertain);
//! ```

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::hash::Hash;

use crate::clock::{Epoch, Incarnation, VectorClock, DEFAULT_CAPACITY};
use crate::event::{Direction, Event, Kind, ThreadId};
use crate::generations::{Generations, Hasher, Lookup};

/// The replay's tables of live threads and pending edges: hashed, as they are looked up on
/// every event. As B-trees, searches through their cold nodes were about a third of the drain
/// thread's time in a traced service (perf, `service/raceway_analyzer`).
type Map<K, V> = hashbrown::HashMap<K, V, Hasher>;
type Set<K> = hashbrown::HashSet<K, Hasher>;

/// Spawns remembered until the child's first event (oldest evicted first).
pub const MAX_PENDING_SPAWNS: usize = 4096;
/// Sends and HTTP exchanges remembered until received (oldest evicted first).
pub const MAX_PENDING_MESSAGES: usize = 4096;
/// Keys of evicted edges remembered per table, so that a late consumer is noticed.
pub const MAX_LOST_KEYS: usize = 65_536;
/// Spawned threads that ended and may still be joined: their final clocks, oldest evicted first.
/// Only spawned threads are kept (a request context that nobody spawned is never joined), so
/// any number of ended requests between a spawn and its join costs nothing here.
pub const MAX_JOINABLE_THREADS: usize = 65_536;
/// Finished threads whose last access is remembered, so that clocks can retire their entries
/// (see [`crate::clock`]): those of the newest this many runs started. 24 bytes each.
pub const MAX_RETIRABLE_THREADS: usize = 1 << 20;
/// Locks whose last release is kept: a lock released at least once per
/// `MAX_LOCKS / 2` releases of other locks is never forgotten (see [`crate::generations`]).
pub const MAX_LOCKS: usize = 1 << 18;
/// Joined runs whose join is remembered, so that clocks need no entry for them: a run joined
/// more than `MAX_JOINED_RUNS / 2` joins ago may be dropped (see [`crate::generations`]), and
/// comparisons that needed it are then uncertain.
pub const MAX_JOINED_RUNS: usize = 1 << 21;
/// How many joins [`HappensBefore::happens_before`] follows (nested fan-ins).
const MAX_JOIN_HOPS: usize = 64;
/// Threads tracked at once; beyond it the least recently active eighth is evicted.
pub const MAX_THREADS: usize = 65_536;
/// Live threads evicted in one pass, whose clocks are kept for when they record again.
const EVICTED_AT_ONCE: usize = MAX_THREADS / 8;

/// Lock clocks shed finished holders once they hold more entries than this (see "Lock
/// hand-overs" in the [module docs](self)).
const LOCK_CLOCK_ROOM: usize = 8;
/// Exclusive locks a thread holds at once that stamp its events (the outermost one stamps).
const MAX_HELD: usize = 16;
/// Ended runs' buffers kept for new runs: enough for runs that end in bursts, and no memory
/// worth counting (each clock holds at most `N` entries).
const MAX_SPARE: usize = 64;

/// What [`HappensBefore::observe`] learned about one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observed {
    /// The event's epoch; `None` for a [`Kind::Dropped`] marker, which no thread recorded.
    pub epoch: Option<Epoch>,
    /// The hand-over of the outermost exclusive lock the thread held at the event, if any: the
    /// event happens before whatever knows it (see [`Stamp`]).
    pub held: Option<Epoch>,
    /// Whether results involving this event may be wrong because something was lost on the way
    /// (see the [module docs](self)). What a clock forgot for capacity is per comparison:
    /// [`VectorClock::may_have_forgotten`].
    pub uncertain: bool,
}

impl Observed {
    /// What a later comparison needs of the event (`None` for a loss marker).
    pub fn stamp(&self) -> Option<Stamp> {
        self.epoch.map(|epoch| Stamp {
            epoch,
            held: self.held,
        })
    }
}

/// What a later comparison needs of an event: its epoch, and the lock hand-over it was made
/// under, which stands for it once its run is finished and clocks have shed its entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Stamp {
    /// The thread's run and counter at the event.
    pub epoch: Epoch,
    /// [`Observed::held`].
    pub held: Option<Epoch>,
}

impl From<Epoch> for Stamp {
    /// The stamp of an event made under no lock.
    fn from(epoch: Epoch) -> Self {
        Stamp { epoch, held: None }
    }
}

/// Replays events in stream order and keeps every thread's vector clock.
#[derive(Debug)]
pub struct HappensBefore<const N: usize = DEFAULT_CAPACITY> {
    threads: Map<ThreadId, ThreadState<N>>,
    next_incarnation: u64,
    locks: Generations<u64, LockState<N>>,
    /// What `locks` dropped: an acquire that finds no release may have lost one.
    locks_dropped: Dropped,
    /// Lock components handed out so far.
    locks_seen: u64,
    /// Whether lock clocks shed finished holders as soon as they grow (see [`Self::for_wire`]).
    shed_holders: bool,
    /// Joined runs: the join that their whole run happens before.
    joined: Generations<Incarnation, Epoch>,
    /// What `joined` dropped: a comparison that misses the join of a run within it is
    /// uncertain unless the run is live.
    joins_dropped: Dropped,
    /// Live runs, once joins were dropped: a live run was never joined, so a missing join says
    /// nothing about it.
    live_runs: Option<Set<Incarnation>>,
    spawns: Pending<ThreadId, N>,
    messages: Pending<Edge, N>,
    joinable: Pending<ThreadId, N>,
    /// Live threads evicted for capacity: their clocks, for the run that continues them if they
    /// record again.
    evicted: Pending<ThreadId, N>,
    retirable: Retirable,
    /// Emptied clocks and held-lock lists of ended runs, for new runs to reuse: a service
    /// starts a run per request, and growing each one's clock and freeing it again was most of
    /// the replay's allocations.
    spare: Vec<(VectorClock<N>, Vec<(u64, Epoch)>)>,
    /// Events observed so far: the "last active" time of threads.
    events: u64,
    dropped_events: u64,
    evicted_threads: u64,
    missed: MissedEdges,
    uncertain: bool,
    overflowed: bool,
}

#[derive(Debug)]
struct ThreadState<const N: usize> {
    incarnation: Incarnation,
    clock: VectorClock<N>,
    /// The tick of its latest point: an access or a join, what stamps and joins name (0: none
    /// yet).
    last_point: u32,
    /// The exclusive locks it holds, outermost first: (lock id, the hand-over its release
    /// makes).
    held: Vec<(u64, Epoch)>,
    /// The hand-over every point so far was made under.
    cover: Cover,
    last_active: u64,
    /// Started by a [`Kind::Spawn`]: someone may join it.
    spawned: bool,
    /// The span of an HTTP request this run received from no sender that the replay knows (an
    /// untraced client; 0: none). Its response's edge could reach no one, so it is not kept.
    unanswerable: u64,
}

#[derive(Debug)]
struct LockState<const N: usize> {
    /// The last exclusive holder's clock at release, with the lock's own component.
    write: VectorClock<N>,
    /// Every shared holder's clock at release since the last exclusive release.
    read: VectorClock<N>,
    /// The lock's own component: its counter is the number of exclusive releases.
    component: Incarnation,
    hand_overs: u32,
    /// Whether `write` carries the lock's component: only once it held a finished run, so
    /// that the locks of long-lived threads cost no clock entry anywhere.
    counted: bool,
    /// `write` sheds finished holders when it has more entries than this.
    shed_above: usize,
}

impl<const N: usize> LockState<N> {
    fn new(locks_seen: &mut u64) -> Self {
        LockState {
            write: VectorClock::new(),
            read: VectorClock::new(),
            component: lock_component(locks_seen),
            hand_overs: 0,
            counted: false,
            shed_above: LOCK_CLOCK_ROOM,
        }
    }

    /// The hand-over the current exclusive holder's release will make.
    fn next_hand_over(&self) -> Option<Epoch> {
        (self.hand_overs < u32::MAX).then_some(Epoch {
            incarnation: self.component,
            tick: self.hand_overs + 1,
        })
    }
}

/// A lock component never handed out before.
fn lock_component(locks_seen: &mut u64) -> Incarnation {
    *locks_seen += 1;
    Incarnation::of_lock(*locks_seen)
}

/// Whether all of a run's points were made under one lock hand-over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cover {
    /// No point yet.
    Empty,
    /// Every point so far was made holding a lock that this hand-over then released.
    By(Epoch),
    /// Some point was made under another hand-over, or none, or was a join.
    Mixed,
}

impl Cover {
    fn add(&mut self, held: Option<Epoch>) {
        *self = match (*self, held) {
            (Cover::Empty, Some(held)) => Cover::By(held),
            (Cover::By(by), Some(held)) if by == held => Cover::By(by),
            _ => Cover::Mixed,
        };
    }
}

/// A message edge, as both of its ends name it (see [`message_edge`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Edge {
    /// [`Kind::Send`] → [`Kind::Receive`] of one message id.
    Message(u64),
    /// An outbound [`Kind::HttpRequest`] → the callee's inbound one, of one span.
    Request(u64),
    /// The callee's inbound [`Kind::HttpResponse`] → the caller's outbound one, of one span.
    Response(u64),
}

impl<const N: usize> HappensBefore<N> {
    /// A replay that has seen nothing.
    pub fn new() -> Self {
        HappensBefore {
            threads: Map::default(),
            next_incarnation: 1,
            locks: Generations::new(MAX_LOCKS),
            locks_dropped: Dropped::default(),
            locks_seen: 0,
            shed_holders: true,
            joined: Generations::new(MAX_JOINED_RUNS),
            joins_dropped: Dropped::default(),
            live_runs: None,
            spawns: Pending::new(MAX_PENDING_SPAWNS),
            messages: Pending::new(MAX_PENDING_MESSAGES),
            joinable: Pending::new(MAX_JOINABLE_THREADS),
            evicted: Pending::new(EVICTED_AT_ONCE),
            retirable: Retirable::default(),
            spare: Vec::new(),
            events: 0,
            dropped_events: 0,
            evicted_threads: 0,
            missed: MissedEdges::default(),
            uncertain: false,
            overflowed: false,
        }
    }

    /// A replay for consumers that read the clocks themselves rather than asking
    /// [`happens_before`](Self::happens_before) (the HTTP encoder writes them on the wire, and
    /// the server has no stamps): lock clocks keep their finished holders until they fill up,
    /// as thread clocks do, and no clock has a lock's component (every entry is a thread's run).
    pub fn for_wire() -> Self {
        HappensBefore {
            shed_holders: false,
            ..Self::new()
        }
    }

    /// Applies the next event of the stream; afterwards [`clock`](Self::clock) of its thread is
    /// the event's vector clock (until the thread ends).
    pub fn observe<L>(&mut self, event: &Event<L>) -> Observed {
        let thread = event.thread;
        if let Kind::Dropped { count } = event.kind {
            self.dropped_events += u64::from(count);
            self.uncertain = true;
            return Observed {
                epoch: None,
                held: None,
                uncertain: true,
            };
        }
        self.events += 1;

        let child_clock = match event.kind {
            Kind::Join { child } if child != thread => self.take_joined(child),
            _ => None,
        };
        if !self.threads.contains_key(&thread) {
            self.start(thread);
        }
        // What an edge or a table entry made now can carry at most.
        let now = self.horizon();
        let Some(state) = self.threads.get_mut(&thread) else {
            unreachable!("the thread was just started")
        };
        state.last_active = self.events;
        let incarnation = state.incarnation;
        let clock = &mut state.clock;
        let tick = clock.tick(incarnation);

        let mut joined = false;
        let mut joins_dropped = false;
        match event.kind {
            Kind::LockAcquire { lock, lock_kind } => {
                let locks_seen = &mut self.locks_seen;
                let mut created = false;
                let (state_of_lock, forgotten) = self.locks.get_or_insert_with(lock.id(), || {
                    created = true;
                    LockState::new(locks_seen)
                });
                clock.join(&state_of_lock.write);
                if lock_kind.is_exclusive() {
                    clock.join(&state_of_lock.read);
                    // A stamp of an earlier hold of this lock (let go elsewhere) ends here.
                    state.held.retain(|&(held, _)| held != lock.id());
                    if let Some(hand_over) = state_of_lock.next_hand_over() {
                        if state.held.len() < MAX_HELD {
                            state.held.push((lock.id(), hand_over));
                        }
                    }
                }
                joined = true;
                let dropped = self.locks_dropped.update(&self.locks, now);
                if forgotten {
                    // Its last release was dropped for capacity: the hand-over is lost.
                    self.missed
                        .mark(Missed::Lost(dropped.unwrap_or_default()), clock);
                } else if created {
                    self.missed.mark(Missed::Unknown(dropped), clock);
                }
            }
            Kind::LockRelease { lock, lock_kind } => {
                let id = lock.id();
                let locks_seen = &mut self.locks_seen;
                let (lock, _) = self
                    .locks
                    .get_or_insert_with(id, || LockState::new(locks_seen));
                let this_hold = (id, lock.next_hand_over());
                let own = state
                    .held
                    .iter()
                    .any(|&(held, stamp)| (held, Some(stamp)) == this_hold);
                // Whatever the kind of release (an exclusive hold may be let go as a shared
                // one), this run's events from now on are not under the lock.
                state.held.retain(|&(held, _)| held != id);
                if lock_kind.is_exclusive() {
                    lock.write.clone_from(clock);
                    lock.read = VectorClock::new();
                    if !own {
                        // Held by another run (a guard sent elsewhere), or its acquire was not
                        // seen: the holder's stamps promise an order this release does not give,
                        // so the count they name is never published. A fresh component takes
                        // over.
                        lock.component = lock_component(&mut self.locks_seen);
                        lock.hand_overs = 0;
                    }
                    if let Some(hand_over) = lock.next_hand_over() {
                        lock.hand_overs = hand_over.tick;
                    }
                    if self.shed_holders {
                        shed_holders(lock, &self.retirable);
                    }
                } else {
                    lock.read.join(clock);
                    if lock.read.wants_retiring() {
                        retire(&mut lock.read, &self.retirable);
                    }
                }
                // A release inserts too: follow every turnover.
                self.locks_dropped.update(&self.locks, now);
            }
            Kind::Spawn { child } => {
                self.spawns.insert(child, self.events, clock, now);
            }
            Kind::Join { .. } => {
                if let Some(child_clock) = &child_clock {
                    clock.join(child_clock);
                    // The child's whole run happens before this join: from now on the joiner's
                    // own entry says so, and the child's entry would only take room.
                    if let Some(child) = child_clock.owner().filter(|&c| c != incarnation) {
                        clock.remove(child);
                        self.joined.insert(child, Epoch { incarnation, tick });
                        joins_dropped = self.joins_dropped.update(&self.joined, now).is_some();
                    }
                    // The join is a point that comparisons reach through the child, and no
                    // stamp stands for it.
                    state.last_point = tick;
                    state.cover = Cover::Mixed;
                    joined = true;
                }
            }
            kind => match message_edge(&kind) {
                // The answer to a request from no known sender: no one can take it.
                Some((Direction::Outbound, Edge::Response(span))) if span == state.unanswerable => {
                }
                Some((Direction::Outbound, edge)) => {
                    self.messages.insert(edge, self.events, clock, now);
                }
                Some((Direction::Inbound, edge)) => match self.messages.take(&edge) {
                    Ok(sent) => {
                        clock.join(&sent);
                        joined = true;
                    }
                    Err(missed) => {
                        self.missed.mark(missed, clock);
                        if let (Edge::Request(span), Missed::Unknown(_)) = (edge, missed) {
                            state.unanswerable = span;
                        }
                    }
                },
                None => {}
            },
        }
        let held = state.held.first().map(|&(_, hand_over)| hand_over);
        if let Kind::StateChange { .. } = event.kind {
            state.last_point = tick;
            state.cover.add(held);
        }
        if joined && clock.wants_retiring() {
            retire(clock, &self.retirable);
        }

        self.overflowed |= clock.overflowed();
        if joins_dropped && self.live_runs.is_none() {
            let live = self.threads.values().map(|state| state.incarnation);
            self.live_runs = Some(live.collect());
        }
        let observed = Observed {
            epoch: Some(Epoch { incarnation, tick }),
            held,
            uncertain: self.uncertain,
        };
        if let Kind::ThreadEnd = event.kind {
            self.end(thread);
        }
        observed
    }

    /// The clock of `thread`'s current run as of its latest event (`None` if it recorded
    /// nothing yet, ended, or was forgotten).
    pub fn clock(&self, thread: ThreadId) -> Option<&VectorClock<N>> {
        self.threads.get(&thread).map(|state| &state.clock)
    }

    /// Whether the event `epoch` happens before the point `clock` describes: `clock` knows it,
    /// or knows a join that `epoch`'s run ended in (a joiner's clock keeps no entry for the
    /// runs it joined, so a fan-in of any size costs no room).
    ///
    /// Pass the event's [`Stamp`] where you have it (an epoch alone is a stamp without a lock):
    /// once a finished run is shed from clocks, its lock hand-over is what orders its events.
    pub fn happens_before(&self, event: impl Into<Stamp>, clock: &VectorClock<N>) -> bool {
        self.order(event.into(), clock).is_ok()
    }

    /// Whether a comparison of `epoch` with `clock` that found them unordered may be wrong
    /// because something on the way was forgotten for capacity (an entry of the clock, or the
    /// join a run ended in).
    pub fn may_have_forgotten(&self, event: impl Into<Stamp>, clock: &VectorClock<N>) -> bool {
        self.order(event.into(), clock) == Err(true)
    }

    /// Whether `clock` knows the stamp's hand-over, else follows the joins from its epoch until
    /// `clock` knows one: `Ok` if it does, else whether something on the way may have been
    /// forgotten.
    fn order(&self, stamp: Stamp, clock: &VectorClock<N>) -> Result<(), bool> {
        let mut forgotten = false;
        if let Some(held) = stamp.held {
            if clock.knows(held) {
                return Ok(());
            }
            forgotten = clock.may_have_forgotten(held.incarnation);
        }
        let mut epoch = stamp.epoch;
        for _ in 0..MAX_JOIN_HOPS {
            if clock.knows(epoch) {
                return Ok(());
            }
            forgotten |= clock.may_have_forgotten(epoch.incarnation);
            match self.joined.get(&epoch.incarnation) {
                Lookup::Found(&join) => epoch = join,
                Lookup::Forgotten => return Err(true),
                Lookup::Missing => {
                    return Err(forgotten || self.join_may_be_dropped(epoch.incarnation))
                }
            }
        }
        Err(true)
    }

    /// The newest run and lock component any clock can know now.
    fn horizon(&self) -> Horizon {
        Horizon {
            runs: self.next_incarnation - 1,
            lock_components: self.locks_seen,
        }
    }

    /// Whether `run` may have been joined, and the join dropped from `joined`.
    fn join_may_be_dropped(&self, run: Incarnation) -> bool {
        self.joins_dropped
            .up_to
            .is_some_and(|dropped| run.0 <= dropped.runs)
            && !self
                .live_runs
                .as_ref()
                .is_some_and(|live| live.contains(&run))
    }

    /// Drops what is kept for `thread`, which promises to record nothing more: the way to free a
    /// logical thread (a request context) that ends without a [`Kind::ThreadEnd`].
    pub fn forget(&mut self, thread: ThreadId) {
        self.end(thread);
    }

    /// Whether results from here on may be wrong because events were dropped (what clocks
    /// forgot or missed for capacity is per comparison: see
    /// [`VectorClock::may_have_forgotten`]).
    pub fn uncertain(&self) -> bool {
        self.uncertain
    }

    /// How many events [`Kind::Dropped`] markers reported lost.
    pub fn dropped_events(&self) -> u64 {
        self.dropped_events
    }

    /// Whether the replay keeps `edge` for its receiving end: sent, not received yet, and
    /// neither evicted nor left unkept (as the answer to a request from no known sender is).
    pub fn awaits(&self, edge: &Edge) -> bool {
        self.messages.live.contains_key(edge)
    }

    /// How many spawn, join and message edges were evicted before being consumed (most are
    /// never consumed at all; see [`lost_edges`](Self::lost_edges)).
    pub fn evicted_edges(&self) -> u64 {
        self.spawns.evicted + self.messages.evicted + self.joinable.evicted
    }

    /// How many evicted edges (or forgotten locks) were then needed: each made the comparisons
    /// it could have decided uncertain.
    pub fn lost_edges(&self) -> u64 {
        self.missed.lost
    }

    /// How many consumers (receives, spawned threads' first events, joins, lock acquisitions)
    /// found no edge after some edge of their kind had been forgotten altogether for capacity:
    /// each may have lost one, and comparisons it could have decided are uncertain.
    pub fn maybe_lost_edges(&self) -> u64 {
        self.missed.maybe_lost
    }

    /// How many live (never ended) threads were evicted for capacity (each one's next run, if it
    /// records again, goes on from its clock).
    pub fn evicted_threads(&self) -> u64 {
        self.evicted_threads
    }

    /// Whether any clock forgot something for capacity, or joins that clocks relied on were
    /// dropped.
    pub fn overflowed(&self) -> bool {
        self.overflowed || self.joins_dropped.up_to.is_some()
    }

    /// How many runs of logical threads the stream has had so far.
    pub fn threads_seen(&self) -> u64 {
        self.next_incarnation - 1
    }

    /// How many threads are live (started and not ended): what the replay's memory follows.
    pub fn live_threads(&self) -> usize {
        self.threads.len()
    }

    /// Creates a new run of `thread`, from its spawn if one is pending.
    fn start(&mut self, thread: ThreadId) {
        if self.threads.len() >= MAX_THREADS {
            self.evict_idle_threads();
        }
        let (mut clock, held) = self.spare.pop().unwrap_or_default();
        let spawned = match self.spawns.take(&thread) {
            Ok(sent) => {
                clock = sent;
                true
            }
            Err(missed) => {
                self.missed.mark(missed, &mut clock);
                matches!(missed, Missed::Lost(_))
            }
        };
        // A thread evicted for capacity goes on from where it was.
        match self.evicted.take(&thread) {
            Ok(before) => clock.join(&before),
            Err(missed) => {
                self.missed.mark(missed, &mut clock);
            }
        }
        let incarnation = Incarnation(self.next_incarnation);
        self.next_incarnation += 1;
        if let Some(live) = &mut self.live_runs {
            live.insert(incarnation);
        }
        let state = ThreadState {
            incarnation,
            clock,
            last_point: 0,
            held,
            cover: Cover::Empty,
            last_active: 0,
            spawned,
            unanswerable: 0,
        };
        self.threads.insert(thread, state);
    }

    /// Ends the current run of `thread`: its clock stays for a join if it was spawned, and its
    /// last access lets clocks retire it.
    fn end(&mut self, thread: ThreadId) {
        let Some(state) = self.threads.remove(&thread) else {
            return;
        };
        if let Some(live) = &mut self.live_runs {
            live.remove(&state.incarnation);
        }
        let cover = match state.cover {
            Cover::By(hand_over) => Some(hand_over),
            Cover::Empty | Cover::Mixed => None,
        };
        self.retirable.insert(
            state.incarnation,
            Finished {
                last_point: state.last_point,
                cover,
            },
        );
        if state.spawned {
            let now = self.horizon();
            self.joinable.insert(thread, self.events, &state.clock, now);
        }
        if self.spare.len() < MAX_SPARE {
            let ThreadState {
                mut clock,
                mut held,
                ..
            } = state;
            clock.clear();
            held.clear();
            self.spare.push((clock, held));
        }
    }

    /// The final clock of `child` for a join: from its ended run, or its live one (which the
    /// join ends).
    fn take_joined(&mut self, child: ThreadId) -> Option<VectorClock<N>> {
        if let Some(state) = self.threads.get(&child) {
            let clock = state.clock.clone();
            self.end(child);
            let _ = self.joinable.take(&child);
            return Some(clock);
        }
        match self.joinable.take(&child) {
            Ok(clock) => Some(clock),
            Err(missed) => {
                // A clock that knows nothing but what the lost edge may have carried.
                let mut clock = VectorClock::new();
                self.missed.mark(missed, &mut clock).then_some(clock)
            }
        }
    }

    /// Evicts the least recently active eighth of the threads in one pass, so that the scan
    /// costs O(1) per new thread on average. An evicted thread's run ends, and its clock is
    /// kept as if it spawned the run that continues it.
    fn evict_idle_threads(&mut self) {
        let active = self
            .threads
            .iter()
            .map(|(&thread, state)| (state.last_active, thread));
        let now = self.horizon();
        for thread in least_recently_active(active, EVICTED_AT_ONCE) {
            if let Some(state) = self.threads.get(&thread) {
                // If it records again, its next run goes on from this clock.
                self.evicted.insert(thread, self.events, &state.clock, now);
                self.end(thread);
                self.evicted_threads += 1;
            }
        }
    }
}

/// The `count` least recently active of `threads`, given as `(last active, thread)` pairs:
/// what a table of per-thread state that reached its cap evicts, a fraction of the cap at a
/// time so that the scan costs O(1) per new thread.
pub fn least_recently_active(
    threads: impl Iterator<Item = (u64, ThreadId)>,
    count: usize,
) -> Vec<ThreadId> {
    let mut idle: Vec<(u64, ThreadId)> = threads.collect();
    let count = count.min(idle.len());
    if count == 0 {
        return Vec::new();
    }
    idle.select_nth_unstable(count - 1);
    idle[..count].iter().map(|&(_, thread)| thread).collect()
}

impl<const N: usize> Default for HappensBefore<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// After an exclusive release: counts the hand-over in the lock's clock and sheds the holders
/// it stands for, once the clock has held finished runs and has grown past a few entries.
fn shed_holders<const N: usize>(lock: &mut LockState<N>, retirable: &Retirable) {
    if !lock.counted && lock.write.len() > lock.shed_above {
        // A hand-over count starts ordering at any point: it stands for every earlier holder.
        lock.counted = lock
            .write
            .iter()
            .any(|(run, _)| retirable.get(run).is_some());
        lock.shed_above = lock.write.len() + LOCK_CLOCK_ROOM;
    }
    if lock.counted {
        lock.write.raise(lock.component, lock.hand_overs);
        if lock.write.len() > lock.shed_above {
            retire(&mut lock.write, retirable);
            lock.shed_above = lock.write.len() + LOCK_CLOCK_ROOM;
        }
    }
}

/// Retires the finished threads a clock knows completely: a run whose every point was made
/// under a lock hand-over the clock knows goes altogether (its stamps order its events), and
/// a run whose last point the clock knows joins the clock's ranges.
fn retire<const N: usize>(clock: &mut VectorClock<N>, retirable: &Retirable) {
    let shed: Vec<Incarnation> = clock
        .iter()
        .filter(|&(run, _)| {
            retirable
                .get(run)
                .and_then(|finished| finished.cover)
                .is_some_and(|hand_over| clock.knows(hand_over))
        })
        .map(|(run, _)| run)
        .collect();
    clock.retire(|run| {
        if shed.binary_search(&run).is_ok() {
            Some(0)
        } else {
            retirable.get(run).map(|finished| finished.last_point)
        }
    });
}

/// What retiring needs of a finished run.
#[derive(Clone, Copy, Debug)]
struct Finished {
    /// The tick of its last access or join (0: none).
    last_point: u32,
    /// The lock hand-over that all its points were made under, if one was.
    cover: Option<Epoch>,
}

/// Finished runs of the newest [`MAX_RETIRABLE_THREADS`] incarnations, direct-mapped: an
/// incarnation has one slot (its number modulo the cap), in chunks allocated as incarnations
/// reach them. Every operation is one memory access and nothing is ever moved: a hash map of a
/// million finished requests stalled the replay for milliseconds whenever it grew or rehashed,
/// long enough for recording threads' lanes to fill.
#[derive(Debug, Default)]
struct Retirable {
    chunks: Vec<Option<Box<[RetiredSlot]>>>,
}

/// Slots per chunk of [`Retirable`].
const RETIRABLE_CHUNK: usize = 1024;

/// One slot of [`Retirable`]: 24 bytes.
#[derive(Clone, Copy, Debug, Default)]
struct RetiredSlot {
    /// The run it holds (0: none).
    run: u64,
    /// [`Finished::cover`]'s component (0: none) and its count.
    cover_run: u64,
    cover_tick: u32,
    last_point: u32,
}

impl Retirable {
    fn slot_of(run: Incarnation) -> (usize, usize) {
        let index = run.0 as usize & (MAX_RETIRABLE_THREADS - 1);
        (index / RETIRABLE_CHUNK, index % RETIRABLE_CHUNK)
    }

    fn insert(&mut self, run: Incarnation, finished: Finished) {
        let (chunk, at) = Self::slot_of(run);
        if self.chunks.len() <= chunk {
            self.chunks.resize_with(chunk + 1, || None);
        }
        let slots = self.chunks[chunk]
            .get_or_insert_with(|| alloc::vec![RetiredSlot::default(); RETIRABLE_CHUNK].into());
        let slot = &mut slots[at];
        // A run that finishes after a run a whole cap newer keeps out of its slot: the newer
        // one is the likelier to be asked about. Either way the other is only not retired.
        if slot.run < run.0 {
            let (cover_run, cover_tick) = finished
                .cover
                .map_or((0, 0), |epoch| (epoch.incarnation.0, epoch.tick));
            *slot = RetiredSlot {
                run: run.0,
                cover_run,
                cover_tick,
                last_point: finished.last_point,
            };
        }
    }

    fn get(&self, run: Incarnation) -> Option<Finished> {
        let (chunk, at) = Self::slot_of(run);
        let slot = self.chunks.get(chunk)?.as_ref()?[at];
        (slot.run == run.0 && run.0 != 0).then(|| Finished {
            last_point: slot.last_point,
            cover: (slot.cover_run != 0).then_some(Epoch {
                incarnation: Incarnation(slot.cover_run),
                tick: slot.cover_tick,
            }),
        })
    }
}

/// The message edge an event sends (`Outbound`) or receives (`Inbound`), if any: the one rule
/// for which end of an exchange orders which, for every tool that matches edges.
pub fn message_edge(kind: &Kind) -> Option<(Direction, Edge)> {
    use Direction::{Inbound, Outbound};
    match *kind {
        Kind::Send { message } => Some((Outbound, Edge::Message(message))),
        Kind::Receive { message } => Some((Inbound, Edge::Message(message))),
        Kind::HttpRequest {
            direction, span, ..
        } if span != 0 => Some((direction, Edge::Request(span))),
        // The server (the inbound side of the exchange) sends the response.
        Kind::HttpResponse {
            direction, span, ..
        } if span != 0 => {
            let flipped = match direction {
                Inbound => Outbound,
                Outbound => Inbound,
            };
            Some((flipped, Edge::Response(span)))
        }
        _ => None,
    }
}

/// The newest run and lock component that some clock of the replay could know at one point:
/// all that an edge sent before then can carry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Horizon {
    runs: u64,
    lock_components: u64,
}

/// What a [`Generations`] table of the replay has dropped. A generation that is dropped holds
/// only entries last used before the turnover before, so the horizon at that turnover bounds
/// what they carried.
#[derive(Debug, Default)]
struct Dropped {
    /// The table's turnovers seen so far.
    turnovers: u64,
    /// The replay's horizon at the last of them.
    at_last_turnover: Horizon,
    /// What dropped entries can have carried (`None`: none was dropped).
    up_to: Option<Horizon>,
}

impl Dropped {
    /// Catches up with `table` after an insertion; `now` is the replay's horizon. Returns what
    /// dropped entries can have carried, if any were dropped.
    fn update<K: Hash + Eq + Copy, V>(
        &mut self,
        table: &Generations<K, V>,
        now: Horizon,
    ) -> Option<Horizon> {
        let turnovers = table.turnovers();
        if turnovers != self.turnovers {
            // After two turnovers at once, what the second dropped was used before the first,
            // whose horizon was not seen: now's is an upper bound.
            let before = match turnovers - self.turnovers {
                1 => self.at_last_turnover,
                _ => now,
            };
            if table.evicted() > 0 {
                self.up_to = Some(before);
            }
            self.turnovers = turnovers;
            self.at_last_turnover = now;
        }
        self.up_to
    }
}

/// Edges waiting for their consumer: the newest `capacity` with their clocks, then the keys of
/// the next [`MAX_LOST_KEYS`] older ones, so a late consumer learns its edge was lost and what
/// the sender could have known.
#[derive(Debug)]
struct Pending<K, const N: usize> {
    live: Map<K, (u64, VectorClock<N>)>,
    /// Evicted edges: their sequence numbers and the replay's horizon when they were evicted.
    lost: Map<K, (u64, Horizon)>,
    /// Every insertion, oldest first, tagged with its sequence number: an entry whose tag no
    /// longer matches the maps was consumed or superseded.
    order: VecDeque<(u64, K)>,
    capacity: usize,
    evicted: u64,
    /// The newest horizon of an edge forgotten altogether (its key left `lost`): a consumer
    /// that finds nothing may have lost such an edge (`None`: none was forgotten).
    forgotten: Option<Horizon>,
}

/// Why a consumer found no edge kept for it.
#[derive(Clone, Copy, Debug)]
enum Missed {
    /// Evicted for capacity: its sender knew no more than the horizon.
    Lost(Horizon),
    /// Never sent in the stream, or sent and then forgotten altogether within the horizon
    /// (`None`: no edge was forgotten, so it was never sent).
    Unknown(Option<Horizon>),
}

/// Edges that consumers did not find.
#[derive(Debug, Default)]
struct MissedEdges {
    /// Evicted ones (and forgotten locks) that were then needed.
    lost: u64,
    /// Ones whose consumers found nothing after some edge had been forgotten altogether.
    maybe_lost: u64,
}

impl MissedEdges {
    /// Counts `missed` and marks in `clock`, its consumer's, what the edge may have carried, so
    /// that only the comparisons it could have decided are uncertain. Whether it was marked.
    fn mark<const N: usize>(&mut self, missed: Missed, clock: &mut VectorClock<N>) -> bool {
        let horizon = match missed {
            Missed::Lost(horizon) => {
                self.lost += 1;
                horizon
            }
            Missed::Unknown(Some(horizon)) => {
                self.maybe_lost += 1;
                horizon
            }
            Missed::Unknown(None) => return false,
        };
        clock.forget_up_to(horizon.runs, horizon.lock_components);
        true
    }
}

impl<K: Hash + Eq + Copy, const N: usize> Pending<K, N> {
    fn new(capacity: usize) -> Self {
        Pending {
            live: Map::default(),
            lost: Map::default(),
            order: VecDeque::new(),
            capacity,
            evicted: 0,
            forgotten: None,
        }
    }

    /// Keeps `clock` for the consumer of `key`; `now` is the replay's horizon.
    fn insert(&mut self, key: K, seq: u64, clock: &VectorClock<N>, now: Horizon) {
        // A repeated key supersedes the older edge: ordering after only the newer send can
        // invent a race but never hide one.
        self.live.insert(key, (seq, clock.clone()));
        self.lost.remove(&key);
        self.order.push_back((seq, key));

        // Each entry passes this position exactly once: when `capacity` newer ones exist.
        if let Some(&(seq, key)) = self
            .order
            .len()
            .checked_sub(self.capacity + 1)
            .and_then(|i| self.order.get(i))
        {
            if self.live.get(&key).is_some_and(|&(live, _)| live == seq) {
                self.live.remove(&key);
                self.lost.insert(key, (seq, now));
                self.evicted += 1;
            }
        }
        if self.order.len() > self.capacity + MAX_LOST_KEYS {
            if let Some((seq, key)) = self.order.pop_front() {
                if let Some(&(_, horizon)) = self.lost.get(&key).filter(|&&(lost, _)| lost == seq) {
                    self.lost.remove(&key);
                    // Keys leave in eviction order, so horizons only grow.
                    self.forgotten = Some(horizon);
                }
            }
        }
    }

    fn take(&mut self, key: &K) -> Result<VectorClock<N>, Missed> {
        if let Some((_, clock)) = self.live.remove(key) {
            Ok(clock)
        } else if let Some((_, horizon)) = self.lost.remove(key) {
            Err(Missed::Lost(horizon))
        } else {
            Err(Missed::Unknown(self.forgotten))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(raw: u32) -> ThreadId {
        ThreadId::from_raw(raw)
    }

    fn clock_of(thread: ThreadId) -> VectorClock<4> {
        let mut clock = VectorClock::new();
        clock.tick(Incarnation(u64::from(thread.to_raw())));
        clock
    }

    #[test]
    fn a_run_that_reuses_an_ended_runs_memory_knows_nothing_of_it() {
        let mut hb = HappensBefore::<4>::new();
        let write = |thread| {
            let (variable, access) = ("x".into(), crate::Access::Write);
            let (old, new) = (crate::Value::None, crate::Value::None);
            Event::new(
                0,
                thread,
                Kind::StateChange {
                    variable,
                    access,
                    old,
                    new,
                },
            )
        };
        let Some(first) = hb.observe(&write(t(1))).stamp() else {
            unreachable!("an access has a stamp")
        };
        hb.observe(&Event::new(0, t(1), Kind::ThreadEnd));
        // The next run, of another thread or of the same id, starts with the ended run's clock
        // memory: emptied, or the two unordered writes would look ordered.
        for thread in [t(2), t(1)] {
            hb.observe(&write(thread));
            let Some(clock) = hb.clock(thread) else {
                unreachable!("the run is live")
            };
            assert!(!hb.happens_before(first, clock));
            hb.observe(&Event::new(0, thread, Kind::ThreadEnd));
        }
    }

    fn horizon(runs: u64) -> Horizon {
        Horizon {
            runs,
            lock_components: runs + 1,
        }
    }

    #[test]
    fn pending_keeps_the_newest_and_remembers_evicted_keys() {
        let mut pending = Pending::<u64, 4>::new(2);
        for key in 0..3 {
            pending.insert(key, key, &clock_of(t(1)), horizon(key));
        }
        assert_eq!(pending.evicted, 1);
        // Key 0 went when key 2 came: its sender knew no more than the replay did then.
        assert!(matches!(pending.take(&0), Err(Missed::Lost(h)) if h == horizon(2)));
        assert!(matches!(pending.take(&0), Err(Missed::Unknown(None))));
        assert!(pending.take(&2).is_ok());
        assert!(matches!(pending.take(&9), Err(Missed::Unknown(None))));
    }

    #[test]
    #[cfg_attr(miri, ignore = "65 536 insertions: too slow under Miri")]
    fn a_key_forgotten_altogether_leaves_its_horizon_to_every_consumer_that_finds_nothing() {
        let mut pending = Pending::<u64, 4>::new(2);
        // Key 0 is evicted by key 2, and its key forgotten by key 2 + MAX_LOST_KEYS.
        let last = 2 + MAX_LOST_KEYS as u64;
        for key in 0..last {
            pending.insert(key, key, &clock_of(t(1)), horizon(key));
        }
        assert!(matches!(
            pending.take(&u64::MAX),
            Err(Missed::Unknown(None))
        ));
        pending.insert(last, last, &clock_of(t(1)), horizon(last));
        // Key 0's consumer cannot tell it from a key never sent, and neither can any other.
        for key in [0, u64::MAX] {
            assert!(matches!(pending.take(&key), Err(Missed::Unknown(Some(h))) if h == horizon(2)));
        }
        assert!(matches!(pending.take(&1), Err(Missed::Lost(h)) if h == horizon(3)));
        assert!(pending.take(&last).is_ok());
    }

    #[test]
    fn retirable_keeps_the_newest_run_of_each_slot() {
        let finished = |last_point| Finished {
            last_point,
            cover: Some(Epoch {
                incarnation: Incarnation::of_lock(3),
                tick: 9,
            }),
        };
        let (old, new) = (
            Incarnation(5),
            Incarnation(5 + MAX_RETIRABLE_THREADS as u64),
        );
        let mut retirable = Retirable::default();
        assert!(retirable.get(old).is_none());
        retirable.insert(old, finished(1));
        let found = retirable.get(old).expect("just inserted");
        assert_eq!((found.last_point, found.cover), (1, finished(1).cover));
        // A run a whole cap newer takes the slot; the older one is then unknown, not mistaken.
        retirable.insert(new, finished(2));
        assert!(retirable.get(old).is_none());
        assert_eq!(retirable.get(new).map(|f| f.last_point), Some(2));
        // An older run finishing late does not push the newer one out.
        retirable.insert(
            Incarnation(5 + 2 * MAX_RETIRABLE_THREADS as u64),
            finished(3),
        );
        retirable.insert(new, finished(4));
        assert!(retirable.get(new).is_none());
        // Neither lock components nor runs never finished are found.
        assert!(retirable.get(Incarnation::of_lock(5)).is_none());
        assert!(retirable.get(Incarnation(6)).is_none());
        assert!(retirable.get(Incarnation(0)).is_none());
    }

    #[test]
    fn consumed_edges_are_not_evicted() {
        let mut pending = Pending::<u64, 4>::new(2);
        for key in 0..10 {
            pending.insert(key, key, &clock_of(t(1)), horizon(key));
            assert!(pending.take(&key).is_ok());
        }
        assert_eq!(pending.evicted, 0);
        assert!(pending.live.is_empty() && pending.lost.is_empty());
    }

    #[test]
    fn superseded_edge_is_not_evicted_twice() {
        let mut pending = Pending::<u64, 4>::new(2);
        pending.insert(7, 0, &clock_of(t(1)), horizon(0));
        pending.insert(7, 1, &clock_of(t(2)), horizon(1));
        pending.insert(8, 2, &clock_of(t(1)), horizon(2));
        // The first (superseded) insertion of 7 aged out, the live one did not.
        assert_eq!(pending.evicted, 0);
        match pending.take(&7) {
            Ok(clock) => assert_eq!(clock.get(Incarnation(2)), 1),
            Err(_) => panic!("the newer edge must survive"),
        }
    }

    #[test]
    fn a_join_dropped_long_ago_is_uncertain_but_live_and_newer_runs_stay_certain() {
        // Joins are remembered in two generations of 4 here, so a few dozen drop the first.
        let mut hb = HappensBefore::<8> {
            joined: Generations::new(8),
            ..HappensBefore::new()
        };
        let (main, boot, worker, request) = (t(1), t(2), t(3), t(4));
        let mut observe = |thread, kind| hb.observe(&Event::new(0, thread, kind));
        let write = || Kind::StateChange {
            variable: "x".into(),
            access: crate::Access::Write,
            old: crate::Value::None,
            new: crate::Value::None,
        };
        observe(main, Kind::Spawn { child: boot });
        let boot_write = observe(boot, write()).stamp();
        observe(boot, Kind::ThreadEnd);
        observe(main, Kind::Join { child: boot });
        // A thread that lives on and is never joined.
        let worker_write = observe(worker, write()).stamp();
        for raw in 100..140 {
            let child = t(raw);
            observe(main, Kind::Spawn { child });
            observe(child, write());
            observe(main, Kind::Join { child });
        }
        // A run that ends unjoined after the last join that could have been dropped.
        let newer_write = observe(t(200), write()).stamp();
        observe(t(200), Kind::ThreadEnd);
        observe(main, Kind::Spawn { child: request });
        observe(request, write());

        let (Some(boot_write), Some(worker_write), Some(newer_write)) =
            (boot_write, worker_write, newer_write)
        else {
            unreachable!("accesses have stamps")
        };
        let clock = hb.clock(request).expect("the request is live");
        assert!(
            !hb.happens_before(boot_write, clock) && hb.may_have_forgotten(boot_write, clock),
            "the boot task's join was dropped: its write is not known to be ordered, and that is \
             uncertain, not a certain race"
        );
        for unordered in [worker_write, newer_write] {
            assert!(!hb.happens_before(unordered, clock));
            assert!(!hb.may_have_forgotten(unordered, clock), "{unordered:?}");
        }
        assert!(hb.overflowed());
    }

    #[test]
    fn a_lock_forgotten_for_capacity_is_a_lost_edge_not_a_silent_one() {
        // Last releases are remembered in two generations of 4 here.
        let mut hb = HappensBefore::<8> {
            locks: Generations::new(8),
            ..HappensBefore::new()
        };
        let lock_kind = crate::LockKind::Mutex;
        let observe =
            |hb: &mut HappensBefore<8>, thread, kind| hb.observe(&Event::new(0, thread, kind));
        let write_then_hold = |hb: &mut HappensBefore<8>, thread, lock: crate::Name| {
            let write = Kind::StateChange {
                variable: "x".into(),
                access: crate::Access::Write,
                old: crate::Value::None,
                new: crate::Value::None,
            };
            let stamp = observe(hb, thread, write).stamp();
            observe(hb, thread, Kind::LockAcquire { lock, lock_kind });
            observe(hb, thread, Kind::LockRelease { lock, lock_kind });
            stamp.expect("an access has a stamp")
        };
        // A lock per object, each used once: enough to drop the first generation.
        let mut objects = (0..).map(crate::Name::forgotten);
        let mut use_locks = |hb: &mut HappensBefore<8>, count| {
            for name in objects.by_ref().take(count) {
                write_then_hold(hb, t(9), name);
            }
        };
        let accounts = write_then_hold(&mut hb, t(1), "accounts".into());
        use_locks(&mut hb, 8);
        assert!(!hb.uncertain(), "locks used once and dropped lose nothing");
        write_then_hold(&mut hb, t(2), "accounts".into());
        assert_eq!(hb.lost_edges(), 1);
        let clock = hb.clock(t(2)).expect("t2 is live");
        assert!(!hb.happens_before(accounts, clock));
        assert!(
            hb.may_have_forgotten(accounts, clock),
            "the hand-over from t1 was forgotten: say so"
        );
        assert!(
            !hb.uncertain(),
            "for the comparisons it could decide, not for all"
        );

        // Long enough that even the filter forgets "ledger": its acquire finds nothing.
        let ledger = write_then_hold(&mut hb, t(3), "ledger".into());
        use_locks(&mut hb, 32);
        let newer = write_then_hold(&mut hb, t(5), "object.new".into());
        let maybe_lost = hb.maybe_lost_edges();
        write_then_hold(&mut hb, t(4), "ledger".into());
        assert_eq!(hb.maybe_lost_edges(), maybe_lost + 1);
        let clock = hb.clock(t(4)).expect("t4 is live");
        assert!(!hb.happens_before(ledger, clock) && hb.may_have_forgotten(ledger, clock));
        assert!(
            !hb.happens_before(newer, clock) && !hb.may_have_forgotten(newer, clock),
            "a run that started after the release could have been dropped stays certain"
        );
    }

    #[test]
    #[cfg_attr(miri, ignore = "130 000 contexts: too slow under Miri")]
    fn a_late_join_finds_its_child_after_many_requests_ended() {
        let mut hb = HappensBefore::<8>::new();
        let custom = Kind::Custom {
            name: "work",
            data: crate::Value::None,
        };
        let (parent, child) = (t(1), t(2));
        hb.observe(&Event::new(0, parent, Kind::Spawn { child }));
        hb.observe(&Event::new(0, child, custom));
        hb.observe(&Event::new(0, child, Kind::ThreadEnd));
        for request in 10..(10 + 2 * MAX_JOINABLE_THREADS as u32) {
            hb.observe(&Event::new(0, t(request), custom));
            hb.observe(&Event::new(0, t(request), Kind::ThreadEnd));
        }
        hb.observe(&Event::new(0, parent, Kind::Join { child }));
        let clock = hb.clock(parent).unwrap();
        let write = Epoch {
            incarnation: Incarnation(2),
            tick: 1,
        };
        assert!(hb.happens_before(write, clock));
        assert!(!hb.uncertain());
        assert!(hb.live_threads() <= 1, "ended requests are not kept");
    }
}
