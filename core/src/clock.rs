//! Vector clocks whose size does not grow with history: explicit entries for the threads a clock
//! knows partly, one interval set for the finished threads it knows completely.
//!
//! A [`VectorClock`] maps each logical thread to how many of its events are known to have
//! happened before. Threads are keyed by [`Incarnation`]: one run of a logical thread, numbered
//! by the replay and never reused, so a thread id that the program recycles (or that wraps after
//! four billion contexts) can never make a new thread's events look ordered after an old one's.
//! An [`Epoch`] is one incarnation's counter at one event — FastTrack's observation that an
//! event is usually compared against a clock, so it needs only its own component.
//!
//! # Finished threads
//!
//! A request context, a task or a worker finishes; from then on, all a clock needs to say about
//! it is whether it has seen *every access* the thread made. [`VectorClock::retire`] turns such
//! an entry into membership of a set of incarnation ranges, and drops it outright when the thread
//! made no access at all. Incarnations are numbered in the order threads start, so the requests
//! that took one lock in turn collapse into a few ranges, and a lock every request takes keeps
//! a clock of a handful of entries. [`crate::causality::HappensBefore`] retires entries whenever
//! a clock fills up, and keeps no entry at all for the runs a thread joined: the joiner's own
//! entry at the join stands for them, so a `join_all` over any number of tasks costs nothing,
//! however the tasks' runs interleave with other threads'.
//!
//! # Capacity
//!
//! A clock keeps at most `N` explicit entries and [`MAX_RANGES`] ranges. When even retiring does
//! not make room, a lock's component goes first (that only costs the comparisons that go through
//! the lock's hand-overs), then the entry (or range) of the *oldest* run, and the clock records
//! how far forgetting reached, for runs and for lock components apart. A forgotten entry reads as 0,
//! so a forgetful clock can only make an ordered pair look unordered (a possible false race),
//! never the reverse; and [`VectorClock::may_have_forgotten`] tells exactly which comparisons
//! that can affect, so analysis marks only those results uncertain. The owner's own entry (the
//! thread that last ticked the clock) is never forgotten, so the epochs a thread hands out stay
//! exact. A counter saturating at `u32::MAX` (four billion events on one thread) also counts as
//! forgetting.
//!
//! # Examples
//!
//! ```
//! use raceway_core::clock::{Causality, Epoch, Incarnation, VectorClock};
//!
//! let (a, b) = (Incarnation(1), Incarnation(2));
//! let mut clock_a = VectorClock::<4>::new();
//! let mut clock_b = VectorClock::<4>::new();
//!
//! let write = Epoch { incarnation: a, tick: clock_a.tick(a) }; // A writes
//! clock_b.tick(b); // B does something concurrently
//! assert_eq!(clock_a.compare(&clock_b), Causality::Concurrent);
//! assert!(!write.happens_before(&clock_b));
//!
//! clock_b.join(&clock_a); // A releases a lock that B then acquires
//! clock_b.tick(b);
//! assert!(clock_a.happens_before(&clock_b));
//! assert!(write.happens_before(&clock_b));
//! ```

use alloc::vec::Vec;
use core::fmt;
use core::mem::take;

/// How many partly known threads a clock keeps before it retires or forgets entries, unless a
/// capacity is chosen. The same number of slots as ThreadSanitizer's v3 runtime, but only the
/// entries in use take memory (12 bytes each).
pub const DEFAULT_CAPACITY: usize = 256;

/// How many ranges of completely known finished threads a clock keeps.
pub const MAX_RANGES: usize = 64;

/// One run of a logical thread, from its first event to its end, as numbered by a replay in the
/// order threads start. Never reused.
///
/// A lock has a component of its own too ([`Incarnation::of_lock`]): it counts the lock's
/// exclusive releases, so that a clock can say "after the lock's c-th hand-over" and stand for
/// every finished holder before it (see [`crate::causality`]). Lock components sort after
/// every run.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Incarnation(pub u64);

/// The bit that marks a lock's component.
const LOCK: u64 = 1 << 63;

impl Incarnation {
    /// The component of the `n`-th lock a replay has seen.
    pub const fn of_lock(n: u64) -> Self {
        Incarnation(LOCK | n)
    }

    /// Whether this is a lock's component rather than a thread's run.
    pub const fn is_lock(self) -> bool {
        self.0 & LOCK != 0
    }

    /// The `n` of a lock's component ([`of_lock`](Self::of_lock)`(n)`): the number with the
    /// lock bit cleared, so lock components compare among themselves as runs do.
    const fn lock_number(self) -> u64 {
        self.0 & !LOCK
    }
}

impl fmt::Debug for Incarnation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_lock() {
            write!(f, "Incarnation::of_lock({})", self.lock_number())
        } else {
            write!(f, "Incarnation({})", self.0)
        }
    }
}

impl fmt::Display for Incarnation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_lock() {
            write!(f, "lock#{}", self.lock_number())
        } else {
            write!(f, "#{}", self.0)
        }
    }
}

/// How two clocks (or the events they belong to) are ordered by happens-before.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Causality {
    /// Both clocks know exactly the same.
    Equal,
    /// The left clock happens before the right one.
    Before,
    /// The right clock happens before the left one.
    After,
    /// Neither happens before the other.
    Concurrent,
}

/// One incarnation's counter at one event: enough to ask whether the event happens before a
/// clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Epoch {
    /// The run of the thread that recorded the event.
    pub incarnation: Incarnation,
    /// The thread's own counter at that event (its first event is 1).
    pub tick: u32,
}

impl Epoch {
    /// Whether the event with this epoch happens before (or is) the point `clock` describes, as
    /// far as the clock alone knows. Clocks of a replay leave out the runs their thread joined:
    /// ask [`HappensBefore::happens_before`](crate::causality::HappensBefore::happens_before).
    pub fn happens_before<const N: usize>(&self, clock: &VectorClock<N>) -> bool {
        clock.knows(*self)
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.incarnation, self.tick)
    }
}

/// A vector clock of at most `N` explicit entries (see the [module docs](self)).
#[derive(PartialEq, Eq)]
pub struct VectorClock<const N: usize = DEFAULT_CAPACITY> {
    /// Non-zero entries of threads known partly (or not yet retired), sorted by incarnation.
    entries: Vec<(Incarnation, u32)>,
    /// Finished threads whose every access this clock has seen: sorted, disjoint, inclusive
    /// ranges that do not touch.
    complete: Vec<(u64, u64)>,
    /// The thread that last ticked this clock: its entry is never forgotten.
    owner: Option<Incarnation>,
    /// Every run up to this one may have been forgotten (0: nothing was).
    forgotten: u64,
    /// Every lock component up to this one (without [`LOCK`]) may have been forgotten.
    forgotten_locks: u64,
    /// How many entries were left after the last [`retire`](Self::retire).
    retired_at: usize,
}

impl<const N: usize> VectorClock<N> {
    const CAPACITY_IS_NOT_ZERO: () = assert!(N > 0, "a vector clock needs room for one thread");

    /// The clock that has seen nothing.
    pub const fn new() -> Self {
        let () = Self::CAPACITY_IS_NOT_ZERO;
        VectorClock {
            entries: Vec::new(),
            complete: Vec::new(),
            owner: None,
            forgotten: 0,
            forgotten_locks: 0,
            retired_at: 0,
        }
    }

    /// Makes this the clock that has seen nothing, keeping its memory for reuse.
    pub(crate) fn clear(&mut self) {
        let (mut entries, mut complete) = (take(&mut self.entries), take(&mut self.complete));
        entries.clear();
        complete.clear();
        *self = VectorClock {
            entries,
            complete,
            ..Self::new()
        };
    }

    /// The explicit counter of `incarnation` (0 if the clock has no entry for it; a retired
    /// thread reads as 0 too: ask [`knows`](Self::knows)).
    pub fn get(&self, incarnation: Incarnation) -> u32 {
        self.position(incarnation)
            .map_or(0, |index| self.entries[index].1)
    }

    /// Whether the event `epoch` happens before (or is) the point this clock describes.
    pub fn knows(&self, epoch: Epoch) -> bool {
        self.get(epoch.incarnation) >= epoch.tick || self.is_complete(epoch.incarnation)
    }

    /// Whether this clock may have forgotten what it knew of `incarnation` (see the
    /// [module docs](self)): a comparison that finds `incarnation`'s events unordered is then
    /// uncertain.
    pub fn may_have_forgotten(&self, incarnation: Incarnation) -> bool {
        if incarnation.is_lock() {
            incarnation.lock_number() <= self.forgotten_locks
        } else {
            incarnation.0 <= self.forgotten
        }
    }

    /// Records that this clock may lack what it could have known of the runs up to `runs` and
    /// the lock components up to `lock_components` (the `n` of [`Incarnation::of_lock`]): an
    /// edge that may have reached it was forgotten for capacity, and its sender knew no more.
    pub fn forget_up_to(&mut self, runs: u64, lock_components: u64) {
        self.forgotten = self.forgotten.max(runs);
        self.forgotten_locks = self.forgotten_locks.max(lock_components);
    }

    /// Whether this clock ever forgot anything for capacity (or saturated a counter).
    pub fn overflowed(&self) -> bool {
        self.forgotten > 0 || self.forgotten_locks > 0
    }

    /// Counts one more event of `incarnation`, which becomes the clock's owner; returns the new
    /// counter, i.e. the event's [`Epoch::tick`].
    pub fn tick(&mut self, incarnation: Incarnation) -> u32 {
        self.owner = Some(incarnation);
        match self.position(incarnation) {
            Ok(index) => {
                let counter = self.entries[index].1;
                if counter == u32::MAX {
                    self.forget(incarnation);
                }
                self.entries[index].1 = counter.saturating_add(1);
                self.entries[index].1
            }
            Err(index) => {
                self.insert(index, incarnation, 1);
                1
            }
        }
    }

    /// Pointwise maximum: afterwards `self` has seen everything `other` has.
    pub fn join(&mut self, other: &Self) {
        self.forgotten = self.forgotten.max(other.forgotten);
        self.forgotten_locks = self.forgotten_locks.max(other.forgotten_locks);
        for &(low, high) in &other.complete {
            self.add_complete(low, high);
        }
        if other.entries.is_empty() {
            return;
        }
        // One linear merge of the two sorted lists, from the back and in place: the entries
        // grow by `other`'s length, and each merged entry is written where it ends up, so a
        // join allocates nothing once the clock has room (a request's thread joins the lock's
        // clock on every acquire).
        let mine = self.entries.len();
        let theirs = &other.entries;
        let total = mine + theirs.len();
        self.entries.resize(total, (Incarnation(0), 0));
        let (mut i, mut j, mut write) = (mine, theirs.len(), total);
        while j > 0 {
            let (b, y) = theirs[j - 1];
            let next = match i.checked_sub(1).map(|last| self.entries[last]) {
                Some((a, x)) if a > b => {
                    i -= 1;
                    (a, x)
                }
                Some((a, x)) if a == b => {
                    i -= 1;
                    j -= 1;
                    (a, x.max(y))
                }
                _ => {
                    j -= 1;
                    if self.is_complete(b) {
                        continue;
                    }
                    (b, y)
                }
            };
            // `write - i` never falls below the entries of `other` still to place: no write
            // lands on an entry of `self` not read yet.
            write -= 1;
            self.entries[write] = next;
        }
        // The rest of `self`, `..i`, is in place already: close the gap after it.
        self.entries.copy_within(write.., i);
        self.entries.truncate(i + (total - write));
        while self.entries.len() > N {
            let Some(victim) = victim(&self.entries, self.owner) else {
                break;
            };
            let (gone, _) = self.entries.remove(victim);
            self.forget(gone);
        }
    }

    /// Retires finished threads: `last_access(i)` is `Some(tick of its last access, or 0)` for a
    /// finished incarnation and `None` for one that may still run (or is unknown). An entry
    /// that covers the thread's last access becomes part of the complete set (or disappears if
    /// the thread made no access at all). Returns how many entries went.
    pub fn retire(&mut self, mut last_access: impl FnMut(Incarnation) -> Option<u32>) -> usize {
        let owner = self.owner;
        let mut done = Vec::new();
        let before = self.entries.len();
        self.entries.retain(|&(incarnation, counter)| {
            if Some(incarnation) == owner {
                return true;
            }
            match last_access(incarnation) {
                Some(0) => false,
                Some(last) if counter >= last => {
                    done.push(incarnation.0);
                    false
                }
                _ => true,
            }
        });
        for incarnation in done {
            self.add_complete(incarnation, incarnation);
        }
        self.retired_at = self.entries.len();
        before - self.entries.len()
    }

    /// Drops the entry of `incarnation`, which something else in the clock implies (a joined
    /// child is implied by the joiner's entry at the join: see
    /// [`HappensBefore::happens_before`](crate::causality::HappensBefore::happens_before)).
    pub fn remove(&mut self, incarnation: Incarnation) {
        if Some(incarnation) != self.owner {
            if let Ok(index) = self.position(incarnation) {
                self.entries.remove(index);
            }
        }
    }

    /// The thread that last ticked this clock: the owner of a thread's final clock is that
    /// thread's run.
    pub fn owner(&self) -> Option<Incarnation> {
        self.owner
    }

    /// Whether the clock has grown enough since it last retired entries to try again: past a
    /// quarter of its capacity, and by an eighth of it since the last try, so that a clock of
    /// threads that cannot be retired yet does not pay for the lookups on every join.
    pub fn wants_retiring(&self) -> bool {
        self.entries.len() > (N / 4).max(self.retired_at + N / 8)
    }

    /// How `self` and `other` are ordered.
    pub fn compare(&self, other: &Self) -> Causality {
        match (self.at_most(other), other.at_most(self)) {
            (true, true) => Causality::Equal,
            (true, false) => Causality::Before,
            (false, true) => Causality::After,
            (false, false) => Causality::Concurrent,
        }
    }

    /// Whether `self` strictly happens before `other`.
    pub fn happens_before(&self, other: &Self) -> bool {
        self.compare(other) == Causality::Before
    }

    /// The explicit entries, in incarnation order (retired threads are not listed).
    pub fn iter(&self) -> impl Iterator<Item = (Incarnation, u32)> + '_ {
        self.entries.iter().copied()
    }

    /// How many explicit entries the clock holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the clock has seen nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.complete.is_empty()
    }

    /// How many ranges of completely known threads the clock holds.
    pub fn ranges(&self) -> usize {
        self.complete.len()
    }

    /// Whether everything `self` knows, `other` knows too.
    fn at_most(&self, other: &Self) -> bool {
        self.entries
            .iter()
            .all(|&(incarnation, tick)| other.knows(Epoch { incarnation, tick }))
            && self
                .complete
                .iter()
                .all(|&(low, high)| other.complete.iter().any(|&(l, h)| l <= low && high <= h))
    }

    fn position(&self, incarnation: Incarnation) -> Result<usize, usize> {
        self.entries.binary_search_by_key(&incarnation, |&(i, _)| i)
    }

    fn is_complete(&self, incarnation: Incarnation) -> bool {
        let i = incarnation.0;
        let index = self.complete.partition_point(|&(_, high)| high < i);
        self.complete.get(index).is_some_and(|&(low, _)| low <= i)
    }

    /// Raises `incarnation`'s entry to at least `counter` (a lock's component at its release;
    /// tests build clocks with it).
    pub(crate) fn raise(&mut self, incarnation: Incarnation, counter: u32) {
        match self.position(incarnation) {
            Ok(index) => {
                let entry = &mut self.entries[index].1;
                *entry = (*entry).max(counter);
            }
            Err(index) => self.insert(index, incarnation, counter),
        }
    }

    /// Inserts a new entry at `index`, forgetting another entry if the clock is full (see
    /// [`victim`]).
    fn insert(&mut self, mut index: usize, incarnation: Incarnation, counter: u32) {
        if self.entries.len() >= N {
            let victim = match victim(&self.entries, self.owner) {
                // The owner's own entry always goes in; anyone else's only if it would not be
                // the first to go.
                Some(victim)
                    if Some(incarnation) == self.owner
                        || forgetting_order(self.entries[victim].0)
                            < forgetting_order(incarnation) =>
                {
                    victim
                }
                _ => {
                    self.forget(incarnation);
                    return;
                }
            };
            let (gone, _) = self.entries.remove(victim);
            self.forget(gone);
            if victim < index {
                index -= 1;
            }
        }
        self.entries.insert(index, (incarnation, counter));
    }

    /// Adds the range `low..=high` to the complete set, merging touching ranges.
    fn add_complete(&mut self, low: u64, high: u64) {
        let (mut low, mut high) = (low, high);
        // Ranges that overlap or touch `low..=high` merge with it.
        let start = self
            .complete
            .partition_point(|&(_, h)| h.saturating_add(1) < low);
        let mut end = start;
        while end < self.complete.len() && self.complete[end].0 <= high.saturating_add(1) {
            low = low.min(self.complete[end].0);
            high = high.max(self.complete[end].1);
            end += 1;
        }
        self.complete.splice(start..end, [(low, high)]);
        // Entries now covered by the range are redundant.
        let owner = self.owner;
        self.entries
            .retain(|&(i, _)| Some(i) == owner || !(low <= i.0 && i.0 <= high));
        if self.complete.len() > MAX_RANGES {
            let (_, high) = self.complete.remove(0);
            self.forget(Incarnation(high));
        }
    }

    /// Records that what the clock knew of `incarnation` (and of every older one of its kind)
    /// is gone.
    fn forget(&mut self, incarnation: Incarnation) {
        if incarnation.is_lock() {
            self.forgotten_locks = self.forgotten_locks.max(incarnation.lock_number());
        } else {
            self.forgotten = self.forgotten.max(incarnation.0);
        }
    }
}

/// Which entry of a full clock goes first: never the owner's; a lock's component before any
/// run (forgetting it only costs the comparisons that go through that lock, see
/// [`crate::causality`]), the oldest of each kind first. Entries are sorted, so runs come
/// first and lock components last.
fn victim(entries: &[(Incarnation, u32)], owner: Option<Incarnation>) -> Option<usize> {
    let first_lock = entries.partition_point(|&(i, _)| !i.is_lock());
    if first_lock < entries.len() {
        return Some(first_lock);
    }
    entries.iter().position(|&(i, _)| Some(i) != owner)
}

/// The order in which [`victim`] forgets: lock components first, then runs, oldest first.
fn forgetting_order(incarnation: Incarnation) -> (bool, u64) {
    (!incarnation.is_lock(), incarnation.0)
}

impl<const N: usize> Clone for VectorClock<N> {
    fn clone(&self) -> Self {
        VectorClock {
            entries: self.entries.clone(),
            complete: self.complete.clone(),
            ..*self
        }
    }

    /// Reuses `self`'s memory: a lock's clock takes its holder's at every release.
    fn clone_from(&mut self, source: &Self) {
        let (mut entries, mut complete) = (take(&mut self.entries), take(&mut self.complete));
        entries.clone_from(&source.entries);
        complete.clone_from(&source.complete);
        *self = VectorClock {
            entries,
            complete,
            ..*source
        };
    }
}

impl<const N: usize> Default for VectorClock<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Debug for VectorClock<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VectorClock")?;
        f.debug_map().entries(self.iter()).finish()?;
        if !self.complete.is_empty() {
            write!(f, " complete {:?}", self.complete)?;
        }
        if self.forgotten > 0 {
            write!(f, " (forgot up to #{})", self.forgotten)?;
        }
        if self.forgotten_locks > 0 {
            write!(f, " (forgot locks up to lock#{})", self.forgotten_locks)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(raw: u64) -> Incarnation {
        Incarnation(raw)
    }

    fn epoch(raw: u64, tick: u32) -> Epoch {
        Epoch {
            incarnation: t(raw),
            tick,
        }
    }

    #[test]
    fn a_full_clock_forgets_lock_components_first_and_says_which() {
        let mut clock = VectorClock::<2>::new();
        clock.tick(t(5));
        clock.raise(Incarnation::of_lock(1), 3);
        clock.raise(t(4), 1);
        assert_eq!(clock.iter().collect::<Vec<_>>(), [(t(4), 1), (t(5), 1)]);
        assert!(clock.may_have_forgotten(Incarnation::of_lock(1)));
        assert!(!clock.may_have_forgotten(Incarnation::of_lock(2)));
        assert!(!clock.may_have_forgotten(t(3)) && !clock.may_have_forgotten(t(4)));
        assert!(clock.overflowed());
        // A newcomer lock component is the first to go when only runs are kept.
        clock.raise(Incarnation::of_lock(7), 1);
        assert_eq!(clock.len(), 2);
        assert!(clock.may_have_forgotten(Incarnation::of_lock(7)));
        assert!(!clock.may_have_forgotten(t(4)));
    }

    #[test]
    fn missing_threads_count_as_zero() {
        let clock = VectorClock::<4>::new();
        assert_eq!(clock.get(t(3)), 0);
        assert!(clock.is_empty());
        assert_eq!(clock.compare(&VectorClock::new()), Causality::Equal);
    }

    #[test]
    fn tick_counts_own_events_and_keeps_entries_sorted() {
        let mut clock = VectorClock::<4>::new();
        assert_eq!(clock.tick(t(5)), 1);
        assert_eq!(clock.tick(t(2)), 1);
        assert_eq!(clock.tick(t(5)), 2);
        assert_eq!(clock.iter().collect::<Vec<_>>(), [(t(2), 1), (t(5), 2)]);
        assert_eq!(clock.len(), 2);
    }

    #[test]
    fn join_is_pointwise_max() {
        let mut a = VectorClock::<4>::new();
        let mut b = VectorClock::<4>::new();
        a.tick(t(1));
        a.tick(t(1));
        b.tick(t(1));
        b.tick(t(2));
        a.join(&b);
        assert_eq!((a.get(t(1)), a.get(t(2))), (2, 1));
        assert_eq!(b.compare(&a), Causality::Before);
        assert_eq!(a.compare(&b), Causality::After);
        assert!(b.happens_before(&a) && !a.happens_before(&b));
    }

    #[test]
    fn join_interleaves_both_lists_and_skips_runs_known_completely() {
        let mut own = VectorClock::<8>::new();
        for (thread, counter) in [(2, 1), (5, 3), (9, 1)] {
            own.raise(t(thread), counter);
        }
        own.tick(t(7));
        // Run 2 finished with its last access at tick 1, which `own` has seen.
        own.retire(|incarnation| (incarnation == t(2)).then_some(1));
        let mut other = VectorClock::<8>::new();
        for (thread, counter) in [(1, 4), (2, 5), (5, 1), (6, 2), (10, 1)] {
            other.raise(t(thread), counter);
        }
        own.join(&other);
        assert_eq!(
            own.iter().collect::<Vec<_>>(),
            [
                (t(1), 4),
                (t(5), 3),
                (t(6), 2),
                (t(7), 1),
                (t(9), 1),
                (t(10), 1)
            ]
        );
        assert!(own.knows(epoch(2, 5)), "run 2 is known completely");
        // Joining what it already knows changes nothing.
        let before = own.clone();
        own.join(&other);
        assert_eq!(own, before);
    }

    #[test]
    fn a_cleared_clock_is_the_clock_that_has_seen_nothing() {
        let mut clock = VectorClock::<2>::new();
        clock.tick(t(1));
        clock.tick(t(2));
        clock.retire(|incarnation| (incarnation == t(1)).then_some(1));
        clock.raise(t(3), 1);
        clock.raise(t(4), 1);
        assert!(clock.overflowed() && clock.ranges() > 0);
        clock.clear();
        assert!(clock == VectorClock::new() && !clock.overflowed());
    }

    #[test]
    fn independent_ticks_are_concurrent() {
        let mut a = VectorClock::<4>::new();
        let mut b = VectorClock::<4>::new();
        a.tick(t(1));
        b.tick(t(2));
        assert_eq!(a.compare(&b), Causality::Concurrent);
        assert!(!epoch(1, 1).happens_before(&b));
        assert!(epoch(1, 1).happens_before(&a));
    }

    #[test]
    fn a_full_clock_forgets_the_oldest_other_entry_and_says_which() {
        let mut clock = VectorClock::<2>::new();
        clock.tick(t(1));
        clock.tick(t(1));
        clock.tick(t(2));
        assert!(!clock.overflowed());
        assert_eq!(clock.tick(t(3)), 1);
        assert!(clock.overflowed());
        assert_eq!(clock.iter().collect::<Vec<_>>(), [(t(2), 1), (t(3), 1)]);
        assert!(clock.may_have_forgotten(t(1)));
        assert!(!clock.may_have_forgotten(t(2)));
        assert!(!clock.may_have_forgotten(t(4)));
    }

    #[test]
    fn join_into_a_full_clock_never_forgets_the_owner() {
        let mut own = VectorClock::<2>::new();
        own.tick(t(1));
        let mut other = VectorClock::<2>::new();
        other.tick(t(2));
        other.tick(t(2));
        other.tick(t(3));
        other.tick(t(3));
        own.join(&other);
        assert!(own.overflowed());
        assert_eq!(own.get(t(1)), 1);
        assert_eq!(own.len(), 2);
        assert_eq!(own.tick(t(1)), 2, "the owner's epochs stay exact");
    }

    #[test]
    fn forgetting_only_loses_order_and_travels_through_join() {
        let mut full = VectorClock::<1>::new();
        full.tick(t(2));
        let mut other = VectorClock::<1>::new();
        other.tick(t(1));
        other.tick(t(1));
        full.join(&other);
        assert!(full.overflowed());
        // t1's write really happened before, but the clock could not keep it: looks unordered,
        // and the clock says it may have forgotten it.
        assert!(!epoch(1, 2).happens_before(&full));
        assert!(full.may_have_forgotten(t(1)));

        let mut clean = VectorClock::<1>::new();
        clean.join(&full);
        assert!(clean.may_have_forgotten(t(1)), "joining carries the bound");
    }

    #[test]
    fn counter_saturation_counts_as_forgetting() {
        let mut clock = VectorClock::<1>::new();
        clock.raise(t(1), u32::MAX);
        assert_eq!(clock.tick(t(1)), u32::MAX);
        assert!(clock.may_have_forgotten(t(1)));
    }

    #[test]
    fn retired_threads_collapse_into_ranges_and_stay_known() {
        let mut parent = VectorClock::<4>::new();
        parent.tick(t(1));
        // Fewer under Miri, which is slow; the ranges still have to collapse.
        let children = if cfg!(miri) { 2..102 } else { 2..1002 };
        for child in children.clone() {
            let mut clock = VectorClock::<4>::new();
            clock.join(&parent);
            clock.tick(t(child));
            clock.tick(t(child));
            parent.join(&clock);
            // Each child's last access was its first event.
            parent.retire(|i| (i != t(1)).then_some(1));
        }
        assert_eq!(parent.len(), 1, "only the owner is explicit");
        assert_eq!(parent.ranges(), 1);
        assert!(!parent.overflowed());
        for child in children.clone() {
            assert!(epoch(child, 1).happens_before(&parent));
        }
        assert!(!epoch(children.end, 1).happens_before(&parent));
    }

    #[test]
    fn an_entry_short_of_the_last_access_is_not_retired() {
        let mut clock = VectorClock::<4>::new();
        clock.tick(t(1));
        clock.raise(t(2), 3);
        assert_eq!(clock.retire(|i| (i == t(2)).then_some(5)), 0);
        assert!(!epoch(2, 5).happens_before(&clock));
        assert_eq!(clock.retire(|i| (i == t(2)).then_some(0)), 1);
        assert_eq!(clock.len(), 1, "a thread without accesses needs no entry");
    }

    #[test]
    fn ranges_merge_when_they_touch() {
        let mut clock = VectorClock::<4>::new();
        clock.add_complete(5, 5);
        clock.add_complete(7, 7);
        assert_eq!(clock.ranges(), 2);
        clock.add_complete(6, 6);
        assert_eq!(clock.complete, [(5, 7)]);
        clock.add_complete(1, 3);
        clock.add_complete(4, 4);
        assert_eq!(clock.complete, [(1, 7)]);
    }
}
