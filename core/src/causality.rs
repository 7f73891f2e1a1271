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
//! | exclusive `LockRelease` | the lock's write clock becomes the thread's clock; its read clock is cleared (the releasing writer has already seen every reader) |
//! | shared (`RwRead`) `LockRelease` | the lock's read clock joins the thread's clock |
//! | exclusive `LockAcquire` | the thread joins the lock's write and read clocks |
//! | shared `LockAcquire` | the thread joins the write clock only: readers do not order each other |
//! | `Spawn { child }` | the child's first event starts from the parent's clock |
//! | `Join { child }` | the thread joins the child's clock as of its latest event |
//! | `ThreadEnd` | none: the thread is finished, and its clock is kept only for a later join |
//! | `Send` → `Receive` | the receiver joins the sender's clock (matched by message id) |
//! | outbound `HttpRequest` → inbound `HttpRequest` | same, matched by span (0 = no edge) |
//! | inbound `HttpResponse` → outbound `HttpResponse` | same: the server's response reaches the client |
//!
//! # Uncertainty
//!
//! [`Observed::uncertain`] says that a result involving the event cannot be trusted either way:
//!
//! * after a [`Kind::Dropped`] marker (for the rest of the stream): the lost events may have
//!   been accesses (missed races) or releases (invented races);
//! * after an edge or a live thread was evicted for capacity and turned out to be needed (see
//!   below);
//! * when the event's own clock overflowed (see [`crate::clock`]).
//!
//! # Memory
//!
//! Everything is bounded. Locks are keyed by their name's identity ([`crate::name::Name::id`]),
//! so the lock table is as large as the program's set of lock names. Other tables have caps:
//!
//! * spawns whose child has not run yet: [`MAX_PENDING_SPAWNS`];
//! * messages and HTTP exchanges not received yet: [`MAX_PENDING_MESSAGES`];
//! * joined threads kept for a second join: [`MAX_FINISHED_THREADS`];
//! * threads alive at once: [`MAX_THREADS`].
//!
//! An edge that is never consumed is normal (a request to an uninstrumented service, a task that
//! records nothing), so evicting the oldest pending edge only counts it
//! ([`evicted_edges`](HappensBefore::evicted_edges)) and remembers its key
//! ([`MAX_LOST_KEYS`] of them); if its consumer turns up later the edge is
//! [lost](HappensBefore::lost_edges) and results become uncertain. Evicting a live thread makes
//! results uncertain at once, because its counter would restart if it recorded again. A joined
//! or [forgotten](HappensBefore::forget) thread is finished, so dropping it costs nothing: thread
//! ids are never reused ([`crate::Recorder::new_thread`] counts up).
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
//! assert!(first.happens_before(hb.clock(b).unwrap()));
//! assert!(!second.uncertain);
//! ```

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;

use crate::clock::{Epoch, VectorClock, DEFAULT_CAPACITY};
use crate::event::{Direction, Event, Kind, ThreadId};

/// Spawns remembered until the child's first event (oldest evicted first).
pub const MAX_PENDING_SPAWNS: usize = 4096;
/// Sends and HTTP exchanges remembered until received (oldest evicted first).
pub const MAX_PENDING_MESSAGES: usize = 4096;
/// Keys of evicted edges remembered per table, so that a late consumer is noticed.
pub const MAX_LOST_KEYS: usize = 65_536;
/// Joined threads whose clocks are kept for another join of the same child.
pub const MAX_FINISHED_THREADS: usize = 1024;
/// Threads tracked at once; beyond it the least recently active eighth is evicted.
///
/// A thread costs about 300 bytes, so a full table is about 20 MB.
pub const MAX_THREADS: usize = 65_536;

/// What [`HappensBefore::observe`] learned about one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observed {
    /// The event's epoch; `None` for a [`Kind::Dropped`] marker, which no thread recorded.
    pub epoch: Option<Epoch>,
    /// Whether results involving this event may be wrong (see the [module docs](self)).
    pub uncertain: bool,
}

/// Replays events in stream order and keeps every thread's vector clock.
#[derive(Debug)]
pub struct HappensBefore<const N: usize = DEFAULT_CAPACITY> {
    threads: BTreeMap<ThreadId, ThreadState<N>>,
    locks: BTreeMap<u64, LockState<N>>,
    spawns: Pending<ThreadId, N>,
    messages: Pending<Edge, N>,
    /// Joined threads, oldest first.
    finished: VecDeque<ThreadId>,
    /// Events observed so far: the "last active" time of threads.
    events: u64,
    dropped_events: u64,
    evicted_threads: u64,
    lost_edges: u64,
    uncertain: bool,
    overflowed: bool,
}

#[derive(Debug)]
struct ThreadState<const N: usize> {
    clock: VectorClock<N>,
    last_active: u64,
    joined: bool,
}

#[derive(Debug, Default)]
struct LockState<const N: usize> {
    /// The last exclusive holder's clock at release.
    write: VectorClock<N>,
    /// Every shared holder's clock at release since the last exclusive release.
    read: VectorClock<N>,
}

/// One end of a message edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Edge {
    Message(u64),
    Request(u64),
    Response(u64),
}

impl<const N: usize> HappensBefore<N> {
    /// A replay that has seen nothing.
    pub fn new() -> Self {
        HappensBefore {
            threads: BTreeMap::new(),
            locks: BTreeMap::new(),
            spawns: Pending::new(MAX_PENDING_SPAWNS),
            messages: Pending::new(MAX_PENDING_MESSAGES),
            finished: VecDeque::new(),
            events: 0,
            dropped_events: 0,
            evicted_threads: 0,
            lost_edges: 0,
            uncertain: false,
            overflowed: false,
        }
    }

    /// Applies the next event of the stream; afterwards [`clock`](Self::clock) of its thread is
    /// the event's vector clock.
    pub fn observe<L>(&mut self, event: &Event<L>) -> Observed {
        let thread = event.thread;
        if let Kind::Dropped { count } = event.kind {
            self.dropped_events += u64::from(count);
            self.uncertain = true;
            return Observed {
                epoch: None,
                uncertain: true,
            };
        }
        self.events += 1;

        // Both clocks live in `threads`: copy the child's before borrowing this thread's.
        let child_clock = match event.kind {
            Kind::Join { child } if child != thread => self.finish(child),
            _ => None,
        };
        if let Kind::ThreadEnd = event.kind {
            // Its clock stays for a later join; it is freed with the other finished threads.
            self.finish(thread);
        }
        if !self.threads.contains_key(&thread) {
            self.start(thread);
        }
        let Some(state) = self.threads.get_mut(&thread) else {
            unreachable!("the thread was just started")
        };
        state.last_active = self.events;
        let clock = &mut state.clock;
        let tick = clock.tick(thread);

        match event.kind {
            Kind::LockAcquire { lock, lock_kind } => {
                if let Some(lock) = self.locks.get(&lock.id()) {
                    clock.join(&lock.write);
                    if lock_kind.is_exclusive() {
                        clock.join(&lock.read);
                    }
                }
            }
            Kind::LockRelease { lock, lock_kind } => {
                let lock = self.locks.entry(lock.id()).or_default();
                if lock_kind.is_exclusive() {
                    lock.write.clone_from(clock);
                    lock.read = VectorClock::new();
                } else {
                    lock.read.join(clock);
                }
            }
            Kind::Spawn { child } => self.spawns.insert(child, self.events, clock),
            Kind::Join { .. } => {
                if let Some(child_clock) = &child_clock {
                    clock.join(child_clock);
                }
            }
            kind => match message_edge(&kind) {
                Some((Direction::Outbound, edge)) => self.messages.insert(edge, self.events, clock),
                Some((Direction::Inbound, edge)) => match self.messages.take(&edge) {
                    Taken::Found(sent) => clock.join(&sent),
                    Taken::Lost => {
                        self.lost_edges += 1;
                        self.uncertain = true;
                    }
                    Taken::Missing => {}
                },
                None => {}
            },
        }

        self.overflowed |= clock.overflowed();
        let observed = Observed {
            epoch: Some(Epoch { thread, tick }),
            uncertain: self.uncertain || clock.overflowed(),
        };
        self.trim_finished();
        observed
    }

    /// The clock of `thread` as of its latest event (`None` if it recorded nothing yet, or was
    /// forgotten).
    pub fn clock(&self, thread: ThreadId) -> Option<&VectorClock<N>> {
        self.threads.get(&thread).map(|state| &state.clock)
    }

    /// Drops what is kept for `thread`, which promises to record nothing more: the way to free a
    /// logical thread (a request context) that nobody joins.
    pub fn forget(&mut self, thread: ThreadId) {
        self.threads.remove(&thread);
    }

    /// Whether results from here on may be wrong because events were dropped or an edge or a
    /// thread was lost to capacity (clock overflow is per event: see [`Observed::uncertain`]).
    pub fn uncertain(&self) -> bool {
        self.uncertain
    }

    /// How many events [`Kind::Dropped`] markers reported lost.
    pub fn dropped_events(&self) -> u64 {
        self.dropped_events
    }

    /// How many spawn and message edges were evicted before being consumed (most are never
    /// consumed at all; see [`lost_edges`](Self::lost_edges)).
    pub fn evicted_edges(&self) -> u64 {
        self.spawns.evicted + self.messages.evicted
    }

    /// How many evicted edges were then needed: each made results uncertain.
    pub fn lost_edges(&self) -> u64 {
        self.lost_edges
    }

    /// How many live (never joined or forgotten) threads were evicted for capacity.
    pub fn evicted_threads(&self) -> u64 {
        self.evicted_threads
    }

    /// Whether any thread's clock has overflowed.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Creates `thread`'s state, from its spawn if one is pending.
    fn start(&mut self, thread: ThreadId) {
        if self.threads.len() >= MAX_THREADS {
            self.evict_idle_threads();
        }
        let clock = match self.spawns.take(&thread) {
            Taken::Found(clock) => clock,
            Taken::Lost => {
                self.lost_edges += 1;
                self.uncertain = true;
                VectorClock::new()
            }
            Taken::Missing => VectorClock::new(),
        };
        let state = ThreadState {
            clock,
            last_active: 0,
            joined: false,
        };
        self.threads.insert(thread, state);
    }

    /// Marks `child` finished (joined, or ended) and returns its clock.
    fn finish(&mut self, child: ThreadId) -> Option<VectorClock<N>> {
        let state = self.threads.get_mut(&child)?;
        if !state.joined {
            state.joined = true;
            self.finished.push_back(child);
        }
        Some(state.clock.clone())
    }

    fn trim_finished(&mut self) {
        while self.finished.len() > MAX_FINISHED_THREADS {
            let Some(oldest) = self.finished.pop_front() else {
                break;
            };
            // It may have been forgotten (and, against the rules, started again) since.
            if self.threads.get(&oldest).is_some_and(|state| state.joined) {
                self.threads.remove(&oldest);
            }
        }
    }

    /// Evicts the least recently active eighth of the threads in one pass, so that the scan
    /// costs O(1) per new thread on average.
    fn evict_idle_threads(&mut self) {
        let mut idle: Vec<(u64, ThreadId)> = self
            .threads
            .iter()
            .map(|(&thread, state)| (state.last_active, thread))
            .collect();
        let count = (MAX_THREADS / 8).max(1).min(idle.len());
        if count == 0 {
            return;
        }
        idle.select_nth_unstable(count - 1);
        for &(_, thread) in &idle[..count] {
            if let Some(state) = self.threads.remove(&thread) {
                if !state.joined {
                    // If it records again its counter restarts, and old epochs of it could
                    // then look ordered before its new events.
                    self.evicted_threads += 1;
                    self.uncertain = true;
                }
            }
        }
    }
}

impl<const N: usize> Default for HappensBefore<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// The message edge an event sends (`Outbound`) or receives (`Inbound`), if any.
fn message_edge(kind: &Kind) -> Option<(Direction, Edge)> {
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

/// Edges waiting for their consumer: the newest `capacity` with their clocks, then the keys of
/// the next [`MAX_LOST_KEYS`] older ones, so a late consumer learns its edge was lost.
#[derive(Debug)]
struct Pending<K, const N: usize> {
    live: BTreeMap<K, (u64, VectorClock<N>)>,
    lost: BTreeMap<K, u64>,
    /// Every insertion, oldest first, tagged with its sequence number: an entry whose tag no
    /// longer matches the maps was consumed or superseded.
    order: VecDeque<(u64, K)>,
    capacity: usize,
    evicted: u64,
}

enum Taken<const N: usize> {
    Found(VectorClock<N>),
    Lost,
    Missing,
}

impl<K: Ord + Copy, const N: usize> Pending<K, N> {
    fn new(capacity: usize) -> Self {
        Pending {
            live: BTreeMap::new(),
            lost: BTreeMap::new(),
            order: VecDeque::new(),
            capacity,
            evicted: 0,
        }
    }

    fn insert(&mut self, key: K, seq: u64, clock: &VectorClock<N>) {
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
                self.lost.insert(key, seq);
                self.evicted += 1;
            }
        }
        if self.order.len() > self.capacity + MAX_LOST_KEYS {
            if let Some((seq, key)) = self.order.pop_front() {
                if self.lost.get(&key) == Some(&seq) {
                    self.lost.remove(&key);
                }
            }
        }
    }

    fn take(&mut self, key: &K) -> Taken<N> {
        if let Some((_, clock)) = self.live.remove(key) {
            Taken::Found(clock)
        } else if self.lost.remove(key).is_some() {
            Taken::Lost
        } else {
            Taken::Missing
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
        clock.tick(thread);
        clock
    }

    #[test]
    fn pending_keeps_the_newest_and_remembers_evicted_keys() {
        let mut pending = Pending::<u64, 4>::new(2);
        for key in 0..3 {
            pending.insert(key, key, &clock_of(t(1)));
        }
        assert_eq!(pending.evicted, 1);
        assert!(matches!(pending.take(&0), Taken::Lost));
        assert!(matches!(pending.take(&0), Taken::Missing));
        assert!(matches!(pending.take(&2), Taken::Found(_)));
        assert!(matches!(pending.take(&9), Taken::Missing));
    }

    #[test]
    fn consumed_edges_are_not_evicted() {
        let mut pending = Pending::<u64, 4>::new(2);
        for key in 0..10 {
            pending.insert(key, key, &clock_of(t(1)));
            assert!(matches!(pending.take(&key), Taken::Found(_)));
        }
        assert_eq!(pending.evicted, 0);
        assert!(pending.live.is_empty() && pending.lost.is_empty());
    }

    #[test]
    fn superseded_edge_is_not_evicted_twice() {
        let mut pending = Pending::<u64, 4>::new(2);
        pending.insert(7, 0, &clock_of(t(1)));
        pending.insert(7, 1, &clock_of(t(2)));
        pending.insert(8, 2, &clock_of(t(1)));
        // The first (superseded) insertion of 7 aged out, the live one did not.
        assert_eq!(pending.evicted, 0);
        match pending.take(&7) {
            Taken::Found(clock) => assert_eq!(clock.get(t(2)), 1),
            _ => panic!("the newer edge must survive"),
        }
    }

    #[test]
    fn joined_threads_are_trimmed_without_uncertainty() {
        let mut hb = HappensBefore::<4>::new();
        let parent = t(1);
        for child in 2..(MAX_FINISHED_THREADS as u32 + 12) {
            hb.observe(&Event::new(
                0,
                t(child),
                Kind::Custom {
                    name: "work",
                    data: crate::Value::None,
                },
            ));
            hb.observe(&Event::new(0, parent, Kind::Join { child: t(child) }));
        }
        assert_eq!(hb.threads.len(), MAX_FINISHED_THREADS + 1);
        assert!(!hb.uncertain());
        assert_eq!(hb.evicted_threads(), 0);
    }
}
