//! The replay keeps clocks small by leaving things out: joined runs, finished lock holders (their
//! lock's hand-over count stands for them), finished runs as ranges, and, at capacity, the
//! oldest entries. Whatever it leaves out, on random programs (locks taken and let go in other
//! threads, shared holds, spawns, joins of live and ended children, ids used again) it must
//! agree with plain, unbounded vector clocks: never order two events those do not order (a
//! hidden race), and where it misses an order, say that it may have forgotten.

use std::collections::BTreeMap;

use proptest::prelude::*;
use raceway_core::causality::{HappensBefore, Stamp};
use raceway_core::{Access, Event, Kind, LockKind, Name, ThreadId, Value};

const IDS: u32 = 8;
const LOCKS: u32 = 3;
/// Lock 2 is an `RwLock`: shared holds as well as exclusive ones.
const RW_LOCK: u32 = 2;

/// One plain vector clock per run, no capacity: the answer the replay must agree with.
type Clock = BTreeMap<u64, u32>;

fn join(into: &mut Clock, other: &Clock) {
    for (&run, &tick) in other {
        let entry = into.entry(run).or_default();
        *entry = (*entry).max(tick);
    }
}

/// A program: the events, made valid by construction (a lock is held by one thread at a time,
/// a child is spawned before it runs, a joined child was spawned and not joined yet).
#[derive(Default)]
struct Program {
    events: Vec<Event>,
    live: [bool; IDS as usize + 1],
    /// Spawned and not joined: the id is not handed out again until then.
    unjoined: [bool; IDS as usize + 1],
    owner: [Option<u32>; LOCKS as usize],
    readers: Vec<u32>,
}

impl Program {
    fn push(&mut self, thread: u32, kind: Kind) {
        self.live[thread as usize] = true;
        self.events
            .push(Event::new(0, ThreadId::from_raw(thread), kind));
    }

    fn holds_nothing(&self, thread: u32) -> bool {
        !self.owner.contains(&Some(thread)) && !self.readers.contains(&thread)
    }

    fn may_start(&self, thread: u32) -> bool {
        self.live[thread as usize] || !self.unjoined[thread as usize]
    }

    fn step(&mut self, op: u8, a: u32, b: u32) {
        let lock_name = |l: u32| Name::forgotten(u64::from(l));
        let lock_kind = |l: u32| {
            if l == RW_LOCK {
                LockKind::RwWrite
            } else {
                LockKind::Mutex
            }
        };
        match op % 8 {
            0 | 1 if self.may_start(a) => {
                let kind = Kind::StateChange {
                    variable: Name::forgotten(100 + u64::from(b % 3)),
                    access: Access::Write,
                    old: Value::None,
                    new: Value::None,
                };
                self.push(a, kind);
            }
            2 => {
                let l = b % LOCKS;
                let free =
                    self.owner[l as usize].is_none() && (l != RW_LOCK || self.readers.is_empty());
                if free && self.may_start(a) {
                    self.owner[l as usize] = Some(a);
                    self.push(
                        a,
                        Kind::LockAcquire {
                            lock: lock_name(l),
                            lock_kind: lock_kind(l),
                        },
                    );
                }
            }
            3 => {
                let l = b % LOCKS;
                if let Some(owner) = self.owner[l as usize] {
                    // Mostly the holder; sometimes another thread (a guard sent elsewhere).
                    let releaser = if a % 3 == 0 && self.may_start(a) {
                        a
                    } else {
                        owner
                    };
                    self.owner[l as usize] = None;
                    self.push(
                        releaser,
                        Kind::LockRelease {
                            lock: lock_name(l),
                            lock_kind: lock_kind(l),
                        },
                    );
                }
            }
            4 => {
                let shared = LockKind::RwRead;
                let lock = lock_name(RW_LOCK);
                if let Some(at) = self.readers.iter().position(|&r| r == a) {
                    self.readers.remove(at);
                    self.push(
                        a,
                        Kind::LockRelease {
                            lock,
                            lock_kind: shared,
                        },
                    );
                } else if self.owner[RW_LOCK as usize].is_none() && self.may_start(a) {
                    self.readers.push(a);
                    self.push(
                        a,
                        Kind::LockAcquire {
                            lock,
                            lock_kind: shared,
                        },
                    );
                }
            }
            5 => {
                let child = b;
                let free = !self.live[child as usize] && !self.unjoined[child as usize];
                if child != a && free && self.may_start(a) {
                    self.unjoined[child as usize] = true;
                    self.push(
                        a,
                        Kind::Spawn {
                            child: ThreadId::from_raw(child),
                        },
                    );
                }
            }
            6 if self.live[a as usize] && self.holds_nothing(a) => {
                self.push(a, Kind::ThreadEnd);
                self.live[a as usize] = false;
            }
            7 => {
                let child = b;
                if child != a
                    && self.unjoined[child as usize]
                    && self.holds_nothing(child)
                    && self.may_start(a)
                {
                    self.unjoined[child as usize] = false;
                    self.live[child as usize] = false;
                    self.push(
                        a,
                        Kind::Join {
                            child: ThreadId::from_raw(child),
                        },
                    );
                }
            }
            _ => {}
        }
    }
}

/// The plain replay: one unbounded clock per run, the same edges as the replay's.
#[derive(Default)]
struct Oracle {
    runs: u64,
    current: BTreeMap<u32, (u64, Clock, bool)>,
    spawns: BTreeMap<u32, Clock>,
    ended: BTreeMap<u32, Clock>,
    write: BTreeMap<u64, Clock>,
    read: BTreeMap<u64, Clock>,
}

impl Oracle {
    /// Applies `event`; returns its (run, tick).
    fn observe(&mut self, event: &Event) -> (u64, u32) {
        let thread = event.thread.to_raw();
        let joined = match event.kind {
            Kind::Join { child } => {
                let child = child.to_raw();
                match self.current.remove(&child) {
                    Some((_, clock, _)) => Some(clock),
                    None => self.ended.remove(&child),
                }
            }
            _ => None,
        };
        let (run, clock, _) = self.current.entry(thread).or_insert_with(|| {
            self.runs += 1;
            match self.spawns.remove(&thread) {
                Some(clock) => (self.runs, clock, true),
                None => (self.runs, Clock::new(), false),
            }
        });
        let run = *run;
        let tick = {
            let entry = clock.entry(run).or_default();
            *entry += 1;
            *entry
        };
        match event.kind {
            Kind::LockAcquire { lock, lock_kind } => {
                if let Some(write) = self.write.get(&lock.id()) {
                    join(clock, write);
                }
                if lock_kind.is_exclusive() {
                    if let Some(read) = self.read.get(&lock.id()) {
                        join(clock, read);
                    }
                }
            }
            Kind::LockRelease { lock, lock_kind } if lock_kind.is_exclusive() => {
                self.write.insert(lock.id(), clock.clone());
                self.read.remove(&lock.id());
            }
            Kind::LockRelease { lock, .. } => join(self.read.entry(lock.id()).or_default(), clock),
            Kind::Spawn { child } => {
                self.spawns.insert(child.to_raw(), clock.clone());
            }
            Kind::Join { .. } => {
                if let Some(child) = &joined {
                    join(clock, child);
                }
            }
            Kind::ThreadEnd => {
                if let Some((_, clock, spawned)) = self.current.remove(&thread) {
                    if spawned {
                        self.ended.insert(thread, clock);
                    }
                }
            }
            _ => {}
        }
        (run, tick)
    }

    fn clock(&self, thread: u32) -> Option<&Clock> {
        self.current.get(&thread).map(|(_, clock, _)| clock)
    }
}

/// Replays `events` both ways and compares every earlier write with every later event's clock.
fn agree<const N: usize>(events: &[Event]) -> Result<(), TestCaseError> {
    let mut hb = HappensBefore::<N>::new();
    let mut oracle = Oracle::default();
    let mut writes: Vec<(Stamp, u64, u32, usize)> = Vec::new();
    for (index, event) in events.iter().enumerate() {
        let observed = hb.observe(event);
        let (run, tick) = oracle.observe(event);
        let stamp = observed.stamp().expect("no loss markers here");
        prop_assert!(!observed.uncertain, "nothing was lost, at event {index}");
        let thread = event.thread.to_raw();
        if let (Some(clock), Some(truth)) = (hb.clock(event.thread), oracle.clock(thread)) {
            for &(earlier, run, tick, at) in &writes {
                let ordered = truth.get(&run).is_some_and(|&known| known >= tick);
                let said = hb.happens_before(earlier, clock);
                prop_assert!(
                    !said || ordered,
                    "event {index} is taken as after the write at {at}, which it is not: {events:#?}"
                );
                prop_assert!(
                    said || !ordered || hb.may_have_forgotten(earlier, clock),
                    "event {index} follows the write at {at}, and the replay lost that silently: {events:#?}"
                );
            }
        }
        if let Kind::StateChange { .. } = event.kind {
            writes.push((stamp, run, tick, index));
        }
    }
    Ok(())
}

fn program() -> impl Strategy<Value = Vec<Event>> {
    proptest::collection::vec((any::<u8>(), 1..=IDS, 1..=IDS), 1..400).prop_map(|steps| {
        let mut program = Program::default();
        for (op, a, b) in steps {
            program.step(op, a, b);
        }
        program.events
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn with_room_for_every_thread(events in program()) {
        agree::<256>(&events)?;
    }

    #[test]
    fn with_clocks_that_must_forget(events in program()) {
        agree::<3>(&events)?;
    }
}
