//! The race detector: FastTrack-style shadow state per variable, on top of
//! [`HappensBefore`]'s vector clocks.
//!
//! # How an access is checked
//!
//! [`HappensBefore`] gives each event its epoch (thread, counter) and its thread's vector clock.
//! An earlier access *happens before* a later one when its epoch is covered by the later clock;
//! an access of the same thread always is. Per variable the analyzer keeps:
//!
//! * the **last plain write** — plain writes are totally ordered unless they race, so one is
//!   enough (FastTrack's write epoch);
//! * the **plain reads** since that write — usually one, several only while reads are
//!   concurrent (FastTrack's read epoch, widened to a read set only when needed);
//! * the **atomic accesses** since that write — atomics do not order each other, so they are kept
//!   like concurrent reads.
//!
//! A new access is compared with the entries it conflicts with: a plain read with writes (plain
//! or atomic), a plain write with everything, an atomic read with the plain write, an atomic
//! write with the plain write and reads. Atomic accesses never race with each other. A pair that
//! is not ordered is a race unless both accesses held a common lock, exclusively on at least one
//! side. Happens-before already orders accesses made under one lock, so the lockset is a second
//! opinion: it only suppresses races that an under-estimated clock (an overflow, a release lost
//! to dropped events) would otherwise invent. A set entry that happens before a new entry of the
//! same or weaker kind is dropped: any later access that races with the old one also races with
//! the new one.
//!
//! Like FastTrack, the first race on each variable is always found. After a race the conflicting
//! entries are replaced, so a later race that involves only the replaced access can be missed.
//!
//! # RwLock readers
//!
//! Shared holds of an `RwLock` do not order each other in [`HappensBefore`] (readers run in
//! parallel), and they do not protect each other in the lockset. Two readers that only read never
//! conflict; a *write* made under a shared hold (through interior mutability) races with the other
//! readers' accesses, which is exactly the bug the shared lock does not prevent. A writer's
//! exclusive hold is ordered with every reader by happens-before, and protects in the lockset.
//!
//! # Atomics
//!
//! The event model records no memory ordering on atomic accesses, so an atomic release/acquire
//! pair creates no happens-before edge here: a plain access published through an atomic flag is
//! reported as a race. Use a recorded lock, channel or spawn/join edge to publish data.
//!
//! # Memory
//!
//! Per variable at most one write and [`MAX_READERS`] plain reads and [`MAX_READERS`] atomic
//! accesses are kept. A set that would grow past that drops its oldest entry and counts it
//! ([`Summary::capped_reads`](crate::report::Summary::capped_reads)): a later write that races
//! only with the dropped entry is missed. Distinct races are kept up to
//! [`Analyzer::with_max_races`] (default [`DEFAULT_MAX_RACES`]); further occurrences of kept
//! races are still counted, new ones only counted as
//! [`races_not_kept`](crate::report::Summary::races_not_kept). Locksets are interned (at most
//! 4096 distinct ones). Variables are kept while in use, up to [`DEFAULT_MAX_VARIABLES`]
//! ([`Analyzer::with_max_variables`]): one nobody touched for a generation is forgotten
//! ([`forgotten_variables`](crate::report::Summary::forgotten_variables), and a caveat in the
//! report), because a race with what was forgotten cannot be found; a later access to a
//! recently forgotten one is counted
//! ([`forgotten_accesses`](crate::report::Summary::forgotten_accesses)). Per-thread locksets live as long as their thread;
//! [`HappensBefore`] bounds its own tables.
//!
//! # Uncertainty
//!
//! A race is marked uncertain when either access was observed as
//! [uncertain](raceway_core::causality::Observed::uncertain) (after a dropped-events marker),
//! or when the later access's clock may lack what could have ordered the earlier one (it
//! overflowed, relied on a join long forgotten, or missed an edge lost to capacity). The report
//! also says from which event on races may have been missed.
//!
//! # Examples
//!
//! A decoded stream (locations are [`Site`](raceway_core::event::Site)s): two readers under a
//! shared `RwLock` hold, one of which writes.
//!
//! ```
//! use raceway_analyze::{Analyzer, Severity};
//! use raceway_core::event::{Event, Site};
//! use raceway_core::{Access, Kind, LockKind, ThreadId};
//!
//! let event = |thread, line, kind| Event {
//!     time: 0,
//!     location: Site { file: "src/stats.rs", line, column: 1 },
//!     thread: ThreadId::from_raw(thread),
//!     kind,
//! };
//! let hits = |access| Kind::StateChange {
//!     variable: "stats.hits".into(),
//!     access,
//!     old: Default::default(),
//!     new: Default::default(),
//! };
//! let (lock, lock_kind) = ("stats".into(), LockKind::RwRead);
//! let events = [
//!     event(1, 10, Kind::LockAcquire { lock, lock_kind }),
//!     event(2, 20, Kind::LockAcquire { lock, lock_kind }),
//!     event(1, 11, hits(Access::Write)), // a write under a read guard
//!     event(2, 21, hits(Access::Read)),
//!     event(1, 12, Kind::LockRelease { lock, lock_kind }),
//!     event(2, 22, Kind::LockRelease { lock, lock_kind }),
//! ];
//!
//! let report = Analyzer::analyze(&events);
//! assert_eq!(report.races.len(), 1);
//! assert_eq!(report.races[0].severity, Severity::Warning);
//! assert_eq!((report.races[0].earlier.line, report.races[0].later.line), (11, 21));
//! ```
//!
//! # Benchmarks
//!
//! `analyze/throughput` (`benches/benches/analyze.rs`): 1 M synthetic events from 16 threads
//! over 1 000 variables, a third of the steps in mutex-guarded critical sections, analyzed at
//! about 9.7 M events/s on one core of the 2-core development machine (replaying happens-before
//! alone: about 17 M events/s). Run
//! `cargo bench -p raceway-benches --bench analyze -- --warm-up-time 1 --measurement-time 5`.

use std::fmt;

use raceway_core::causality::{HappensBefore, Stamp};
use raceway_core::clock::VectorClock;
use raceway_core::event::SourceLocation;
use raceway_core::generations::Generations;
use raceway_core::{Access, Event, Kind, Name, ThreadId, Value};

use crate::lockset::{LocksetId, Locksets};
use crate::report::{Race, RaceAccess, Report, Severity, Summary};
use crate::timeline::{Recorder, Side, Timeline};
use crate::HashMap;

/// Plain reads (and, separately, atomic accesses) kept per variable.
pub const MAX_READERS: usize = 8;
/// Distinct races kept unless [`Analyzer::with_max_races`] says otherwise.
pub const DEFAULT_MAX_RACES: usize = 1000;
/// Variables whose last accesses are kept unless [`Analyzer::with_max_variables`] says
/// otherwise: a working set of half of it is never forgotten (see
/// [`Generations`](raceway_core::generations)). About 200 bytes each.
pub const DEFAULT_MAX_VARIABLES: usize = 1 << 22;
/// Hashed lock names remembered for counting them once: as many as the replay keeps locks.
const MAX_HASHED_LOCKS: usize = raceway_core::causality::MAX_LOCKS;

/// Finds data races in a stream of events (see the [module docs](self)).
///
/// `L` is the events' source location: `&'static Location` for events drained in-process,
/// [`Site`](raceway_core::event::Site) for decoded streams. It must compare and hash, so that
/// repeated races at one pair of source lines are counted as one.
pub struct Analyzer<L> {
    hb: HappensBefore,
    locksets: Locksets,
    variables: Generations<Name, Shadow<L>>,
    /// Distinct variable names seen.
    variables_seen: u64,
    /// Accesses to a variable whose earlier accesses were forgotten for memory.
    forgotten_accesses: u64,
    /// Lock names seen only by their identity (their text was forgotten upstream), recently.
    hashed_locks: Generations<Name, ()>,
    /// Distinct lock and variable names seen only by their identity.
    hashed_names: u64,
    races: Races<L>,
    events: u64,
    uncertain_events: u64,
    first_drop_after: Option<u64>,
    capped_reads: u64,
    /// Short logs of synchronising events, for the races' timelines.
    timelines: Recorder<L>,
}

/// One access as the shadow state remembers it.
#[derive(Clone, Copy, Debug)]
struct Seen<L> {
    stamp: Stamp,
    thread: ThreadId,
    location: L,
    access: Access,
    old: Value,
    new: Value,
    lockset: LocksetId,
    uncertain: bool,
    /// Position in the stream (counting events, not loss markers), from 0.
    index: u64,
}

#[derive(Debug)]
struct Shadow<L> {
    write: Option<Seen<L>>,
    reads: Vec<Seen<L>>,
    atomics: Vec<Seen<L>>,
}

impl<L> Default for Shadow<L> {
    fn default() -> Self {
        Shadow {
            write: None,
            reads: Vec::new(),
            atomics: Vec::new(),
        }
    }
}

#[derive(Debug)]
struct Races<L> {
    found: Vec<Found<L>>,
    /// Index into `found` by variable and pair of locations (in source order).
    index: HashMap<(Name, L, L), usize>,
    max: usize,
    not_kept: u64,
}

#[derive(Debug)]
struct Found<L> {
    variable: Name,
    earlier: Seen<L>,
    later: Seen<L>,
    count: u64,
    timeline: Timeline,
}

impl<L: SourceLocation + Eq + std::hash::Hash> Analyzer<L> {
    /// An analyzer that has seen nothing, keeping up to [`DEFAULT_MAX_RACES`] distinct races.
    pub fn new() -> Self {
        Self::with_max_races(DEFAULT_MAX_RACES)
    }

    /// An analyzer that keeps at most `max_races` distinct races (per variable and pair of source
    /// locations); later ones are only counted.
    pub fn with_max_races(max_races: usize) -> Self {
        Analyzer {
            hb: HappensBefore::new(),
            locksets: Locksets::new(),
            variables: Generations::new(DEFAULT_MAX_VARIABLES),
            variables_seen: 0,
            forgotten_accesses: 0,
            hashed_locks: Generations::new(MAX_HASHED_LOCKS),
            hashed_names: 0,
            races: Races {
                found: Vec::new(),
                index: HashMap::default(),
                max: max_races,
                not_kept: 0,
            },
            events: 0,
            uncertain_events: 0,
            first_drop_after: None,
            capped_reads: 0,
            timelines: Recorder::new(),
        }
    }

    /// The same analyzer, keeping the last accesses of at most `max_variables` variables: a
    /// variable nobody touched while `max_variables / 2` others were is forgotten, and a later
    /// access to it is counted in [`Summary::forgotten_accesses`].
    pub fn with_max_variables(mut self, max_variables: usize) -> Self {
        self.variables = Generations::new(max_variables);
        self
    }

    /// Analyzes a whole stream and reports.
    pub fn analyze<'a>(events: impl IntoIterator<Item = &'a Event<L>>) -> Report
    where
        L: 'a,
    {
        let mut analyzer = Self::new();
        for event in events {
            analyzer.observe(event);
        }
        analyzer.report()
    }

    /// Takes the next event of the stream, in the order it left the ring (or the capture).
    pub fn observe(&mut self, event: &Event<L>) {
        let observed = self.hb.observe(event);
        let Some(stamp) = observed.stamp() else {
            // A loss marker: whatever follows may have lost its partner. A lost release would
            // leave its lock in a lockset for good and veto real races, so every lockset starts
            // again empty: held locks then only stop vetoing (happens-before still orders
            // through them), and the races that shows are uncertain anyway.
            self.first_drop_after.get_or_insert(self.events);
            self.locksets.clear();
            return;
        };
        let index = self.events;
        self.events += 1;
        self.uncertain_events += u64::from(observed.uncertain);
        self.timelines.observe(event, index, stamp.epoch, &self.hb);
        match event.kind {
            Kind::StateChange {
                variable,
                access,
                old,
                new,
            } => {
                let seen = Seen {
                    stamp,
                    thread: event.thread,
                    location: event.location,
                    access,
                    old,
                    new,
                    lockset: self.locksets.current(event.thread),
                    uncertain: observed.uncertain,
                    index,
                };
                self.access(variable, seen);
            }
            Kind::LockAcquire { lock, lock_kind } => {
                if lock.is_forgotten() {
                    self.hashed_locks
                        .get_or_insert_with(lock, || self.hashed_names += 1);
                }
                self.locksets.acquire(event.thread, lock, lock_kind)
            }
            Kind::LockRelease { lock, lock_kind } => {
                self.locksets.release(event.thread, lock, lock_kind)
            }
            Kind::ThreadEnd => self.locksets.end(event.thread),
            Kind::Join { child } => self.locksets.end(child),
            _ => {}
        }
    }

    fn access(&mut self, variable: Name, now: Seen<L>) {
        let Some(clock) = self.hb.clock(now.thread) else {
            unreachable!("the event's thread was just observed")
        };
        let mut fresh = false;
        let (shadow, forgotten) = self.variables.get_or_insert_with(variable, || {
            fresh = true;
            Shadow::default()
        });
        if forgotten {
            // What it remembered is gone: a race with those accesses cannot be found.
            self.forgotten_accesses += 1;
        } else if fresh {
            self.variables_seen += 1;
            self.hashed_names += u64::from(variable.is_forgotten());
        }
        let (hb, locksets) = (&self.hb, &self.locksets);
        let races = &mut self.races;
        let timelines = &self.timelines;
        let mut check = |earlier: &Seen<L>| {
            if !hb.happens_before(earlier.stamp, clock)
                && !locksets.protects(earlier.lockset, now.lockset)
            {
                // The clock may have known the earlier access and forgotten it for capacity.
                let forgotten = hb.may_have_forgotten(earlier.stamp, clock);
                if let Some(found) = races.add(variable, earlier, &now, forgotten) {
                    // A new race (or a certain occurrence of an uncertain one): draw it now,
                    // while the threads' logs still hold what lies between the accesses.
                    let held = locksets
                        .locks(earlier.lockset)
                        .chain(locksets.locks(now.lockset));
                    found.timeline = timelines.timeline(&side(earlier), &side(&now), held);
                }
            }
        };
        let write = now.access.is_write();
        if let Some(earlier) = &shadow.write {
            check(earlier);
        }
        if write {
            shadow.reads.iter().for_each(&mut check);
        }
        if !now.access.is_atomic() {
            shadow
                .atomics
                .iter()
                .filter(|earlier| write || earlier.access.is_write())
                .for_each(&mut check);
        }

        match (now.access.is_atomic(), write) {
            (false, true) => {
                shadow.write = Some(now);
                shadow.reads.clear();
                shadow.atomics.clear();
            }
            (false, false) => self.capped_reads += remember(&mut shadow.reads, now, hb, clock),
            (true, _) => self.capped_reads += remember(&mut shadow.atomics, now, hb, clock),
        }
    }

    /// The report as of the events observed so far.
    pub fn report(&self) -> Report {
        let mut sources = crate::report::SourceLines::default();
        let mut races: Vec<Race> = self
            .races
            .found
            .iter()
            .map(|found| Race {
                variable: found.variable.to_string(),
                severity: if found.earlier.access.is_write() && found.later.access.is_write() {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
                count: found.count,
                uncertain: found.earlier.uncertain || found.later.uncertain,
                earlier: race_access(&found.earlier, &mut sources),
                later: race_access(&found.later, &mut sources),
                timeline: found.timeline.clone(),
            })
            .collect();
        // Critical first, then in the order they were found (a stable sort keeps that).
        races.sort_by_key(|race| race.severity);
        Report {
            summary: Summary {
                events: self.events,
                threads: self.hb.threads_seen(),
                variables: self.variables_seen,
                forgotten_variables: self.variables.evicted(),
                forgotten_accesses: self.forgotten_accesses,
                dropped_events: self.hb.dropped_events(),
                first_drop_after: self.first_drop_after,
                uncertain_events: self.uncertain_events,
                lost_edges: self.hb.lost_edges(),
                maybe_lost_edges: self.hb.maybe_lost_edges(),
                evicted_threads: self.hb.evicted_threads(),
                clock_overflow: self.hb.overflowed(),
                capped_reads: self.capped_reads,
                capped_locksets: self.locksets.capped,
                races_not_kept: self.races.not_kept,
                hashed_names: self.hashed_names,
            },
            races,
        }
    }
}

/// Adds `now` to an access set, dropping entries it makes redundant and, past [`MAX_READERS`],
/// the oldest; returns how many were dropped for capacity.
fn remember<L>(
    set: &mut Vec<Seen<L>>,
    now: Seen<L>,
    hb: &HappensBefore,
    clock: &VectorClock,
) -> u64 {
    // An entry ordered before `now` is redundant if `now` conflicts with at least as much.
    set.retain(|old| {
        !(hb.happens_before(old.stamp, clock) && (now.access.is_write() || !old.access.is_write()))
    });
    // Room first, so that the set never grows past its cap: a push beyond it would double the
    // capacity, and every variable that ever had that many readers would keep it.
    let dropped = if set.len() >= MAX_READERS {
        set.remove(0);
        1
    } else {
        0
    };
    set.push(now);
    dropped
}

/// A location as something that sorts.
fn spot<L: SourceLocation>(location: &L) -> (&str, u32, u32) {
    (location.file(), location.line(), location.column())
}

fn side<L: Copy>(seen: &Seen<L>) -> Side<L> {
    Side {
        thread: seen.thread,
        index: seen.index,
        location: seen.location,
        epoch: seen.stamp.epoch,
        access: seen.access,
        old: seen.old,
        new: seen.new,
    }
}

fn race_access<L: SourceLocation>(
    seen: &Seen<L>,
    sources: &mut crate::report::SourceLines,
) -> RaceAccess {
    let file = seen.location.file();
    let line = seen.location.line();
    RaceAccess {
        service: None,
        thread: seen.thread,
        file: file.to_owned(),
        line,
        column: seen.location.column(),
        access: seen.access,
        old: seen.old,
        new: seen.new,
        event: seen.index,
        source: sources.line(file, line),
    }
}

impl<L: SourceLocation + Eq + std::hash::Hash> Races<L> {
    /// Counts a race; returns its entry when it is new or now shows a different occurrence.
    fn add(
        &mut self,
        variable: Name,
        earlier: &Seen<L>,
        later: &Seen<L>,
        forgotten: bool,
    ) -> Option<&mut Found<L>> {
        let (mut earlier, mut later) = (*earlier, *later);
        earlier.uncertain |= forgotten;
        later.uncertain |= forgotten;
        let (earlier, later) = (&earlier, &later);
        // The same two lines race whichever runs first: one race, counted twice.
        let key = if spot(&earlier.location) <= spot(&later.location) {
            (variable, earlier.location, later.location)
        } else {
            (variable, later.location, earlier.location)
        };
        if let Some(&index) = self.index.get(&key) {
            let found = &mut self.found[index];
            found.count += 1;
            // Prefer showing an occurrence that is certain.
            if (found.earlier.uncertain || found.later.uncertain)
                && !(earlier.uncertain || later.uncertain)
            {
                found.earlier = *earlier;
                found.later = *later;
                return Some(found);
            }
            None
        } else if self.found.len() < self.max {
            self.index.insert(key, self.found.len());
            self.found.push(Found {
                variable,
                earlier: *earlier,
                later: *later,
                count: 1,
                timeline: Timeline::default(),
            });
            self.found.last_mut()
        } else {
            self.not_kept += 1;
            None
        }
    }
}

impl<L: SourceLocation + Eq + std::hash::Hash> Default for Analyzer<L> {
    fn default() -> Self {
        Self::new()
    }
}

impl<L> fmt::Debug for Analyzer<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Analyzer")
            .field("events", &self.events)
            .field("threads", &self.hb.threads_seen())
            .field("variables", &self.variables.len())
            .field("races", &self.races.found.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raceway_core::generations::Lookup;
    use raceway_core::{Access, Event, Kind, ThreadId, Value};

    #[test]
    fn a_variable_with_many_concurrent_readers_keeps_at_most_the_cap() {
        let mut analyzer = Analyzer::new();
        let read = Kind::StateChange {
            variable: "config".into(),
            access: Access::Read,
            old: Value::None,
            new: Value::None,
        };
        for raw in 1..=4 * MAX_READERS as u32 {
            analyzer.observe(&Event::new(0, ThreadId::from_raw(raw), read));
        }
        let Lookup::Found(shadow) = analyzer.variables.get(&"config".into()) else {
            unreachable!("the variable was just read")
        };
        assert_eq!(shadow.reads.len(), MAX_READERS);
        assert!(shadow.reads.capacity() <= MAX_READERS);
        assert_eq!(
            analyzer.report().summary.capped_reads,
            3 * MAX_READERS as u64
        );
    }
}
