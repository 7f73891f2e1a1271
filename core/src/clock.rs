//! Compact vector clocks: a fixed number of `(thread, counter)` entries inline, no heap.
//!
//! A [`VectorClock`] maps each logical thread to how many of its events are known to have
//! happened before. Threads it has never heard of count as 0, so only the non-zero entries are
//! stored, sorted by thread id in an inline array of capacity `N` (default
//! [`DEFAULT_CAPACITY`]). An [`Epoch`] is one thread's counter at one event — FastTrack's
//! observation that an event is usually compared against a clock, so it needs only its own
//! component.
//!
//! # Overflow
//!
//! When an entry must be added to a full clock, the entry with the smallest counter is evicted
//! (never the entry of the thread being ticked, and never the entry of the clock's *owner* — the
//! thread that last ticked it) and the clock's sticky [`overflowed`](VectorClock::overflowed)
//! flag is set; [`join`](VectorClock::join) carries the flag into the result.
//!
//! An evicted entry reads as 0 afterwards, so every component of an overflowed clock is at most
//! its true value. Since the owner's own entry is never evicted, the epochs a thread hands out
//! stay exact. An under-estimated clock can only make an ordered pair of events look concurrent
//! (a possible false race), never make a concurrent pair look ordered: overflow never hides a
//! race. Analysis must still report anything that touches an overflowed clock as *uncertain*,
//! because the reported race may be one that eviction invented. The one other way the flag gets
//! set is a counter saturating at `u32::MAX` (four billion events on one thread); a saturated
//! counter can hide a race, which is one more reason to treat flagged results as uncertain.
//!
//! # Examples
//!
//! ```
//! use raceway_core::clock::{Causality, Epoch, VectorClock};
//! use raceway_core::ThreadId;
//!
//! let (a, b) = (ThreadId::from_raw(1), ThreadId::from_raw(2));
//! let mut clock_a = VectorClock::<4>::new();
//! let mut clock_b = VectorClock::<4>::new();
//!
//! let write = Epoch { thread: a, tick: clock_a.tick(a) }; // A writes
//! clock_b.tick(b); // B does something concurrently
//! assert_eq!(clock_a.compare(&clock_b), Causality::Concurrent);
//! assert!(!write.happens_before(&clock_b));
//!
//! clock_b.join(&clock_a); // A releases a lock that B then acquires
//! clock_b.tick(b);
//! assert!(clock_a.happens_before(&clock_b));
//! assert!(write.happens_before(&clock_b));
//! ```

use core::fmt;

use crate::event::ThreadId;

/// How many threads a clock tracks before it overflows, unless a capacity is chosen.
///
/// 32 entries of 8 bytes make a clock 272 bytes on 64-bit targets, so one clock per lock and
/// per live thread stays affordable. What matters is how many threads are causally *connected* (through
/// locks, spawns, joins and messages), not how many exist: a service that runs thousands of
/// independent requests still fits when each request talks to a few others.
pub const DEFAULT_CAPACITY: usize = 32;

/// How two clocks (or the events they belong to) are ordered by happens-before.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Causality {
    /// Both clocks have exactly the same entries.
    Equal,
    /// The left clock happens before the right one.
    Before,
    /// The right clock happens before the left one.
    After,
    /// Neither happens before the other.
    Concurrent,
}

/// One thread's counter at one event: enough to ask whether the event happens before a clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Epoch {
    /// The thread that recorded the event.
    pub thread: ThreadId,
    /// The thread's own counter at that event (its first event is 1).
    pub tick: u32,
}

impl Epoch {
    /// Whether the event with this epoch happens before (or is) the point `clock` describes.
    pub fn happens_before<const N: usize>(&self, clock: &VectorClock<N>) -> bool {
        self.tick <= clock.get(self.thread)
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.thread, self.tick)
    }
}

/// A vector clock of at most `N` threads with `u32` counters, stored inline (see the
/// [module docs](self) for what happens beyond `N`).
#[derive(Clone)]
pub struct VectorClock<const N: usize = DEFAULT_CAPACITY> {
    /// Non-zero entries, sorted by thread id.
    entries: heapless::Vec<(ThreadId, u32), N>,
    /// The thread that last ticked this clock: its entry is never evicted, so its epochs stay
    /// exact. [`ThreadId::NONE`] until the first tick.
    owner: ThreadId,
    overflowed: bool,
}

impl<const N: usize> VectorClock<N> {
    const CAPACITY_IS_NOT_ZERO: () = assert!(N > 0, "a vector clock needs room for one thread");

    /// The clock that has seen nothing.
    pub const fn new() -> Self {
        let () = Self::CAPACITY_IS_NOT_ZERO;
        VectorClock {
            entries: heapless::Vec::new(),
            owner: ThreadId::NONE,
            overflowed: false,
        }
    }

    /// The counter of `thread` (0 if the clock has no entry for it).
    pub fn get(&self, thread: ThreadId) -> u32 {
        self.position(thread)
            .map_or(0, |index| self.entries[index].1)
    }

    /// Counts one more event of `thread`, which becomes the clock's owner; returns the new
    /// counter, i.e. the event's [`Epoch::tick`].
    pub fn tick(&mut self, thread: ThreadId) -> u32 {
        self.owner = thread;
        match self.position(thread) {
            Ok(index) => {
                let counter = &mut self.entries[index].1;
                if *counter == u32::MAX {
                    self.overflowed = true;
                }
                *counter = counter.saturating_add(1);
                *counter
            }
            Err(index) => {
                let mut index = index;
                if self.entries.is_full() {
                    // `thread` has no entry yet and the new owner is `thread`, so any entry
                    // may go: the smallest is the likeliest to be stale.
                    let victim = self.smallest(ThreadId::NONE).unwrap_or(0);
                    self.entries.remove(victim);
                    self.overflowed = true;
                    if victim < index {
                        index -= 1;
                    }
                }
                // Cannot fail: there was room or one entry was just removed.
                let _ = self.entries.insert(index, (thread, 1));
                1
            }
        }
    }

    /// Pointwise maximum: afterwards `self` has seen everything `other` has.
    pub fn join(&mut self, other: &Self) {
        self.overflowed |= other.overflowed;
        for &(thread, counter) in &other.entries {
            self.raise(thread, counter);
        }
    }

    /// How `self` and `other` are ordered.
    pub fn compare(&self, other: &Self) -> Causality {
        let (mut less, mut greater) = (false, false);
        let (mut left, mut right) = (
            self.entries.iter().peekable(),
            other.entries.iter().peekable(),
        );
        loop {
            match (left.peek(), right.peek()) {
                (None, None) => break,
                (Some(_), None) => {
                    greater = true;
                    break;
                }
                (None, Some(_)) => {
                    less = true;
                    break;
                }
                (Some(&&(lt, lc)), Some(&&(rt, rc))) => {
                    if lt < rt {
                        greater = true;
                        left.next();
                    } else if rt < lt {
                        less = true;
                        right.next();
                    } else {
                        less |= lc < rc;
                        greater |= lc > rc;
                        left.next();
                        right.next();
                    }
                }
            }
            if less && greater {
                break;
            }
        }
        match (less, greater) {
            (false, false) => Causality::Equal,
            (true, false) => Causality::Before,
            (false, true) => Causality::After,
            (true, true) => Causality::Concurrent,
        }
    }

    /// Whether `self` strictly happens before `other`.
    pub fn happens_before(&self, other: &Self) -> bool {
        self.compare(other) == Causality::Before
    }

    /// The non-zero entries, in thread id order.
    pub fn iter(&self) -> impl Iterator<Item = (ThreadId, u32)> + '_ {
        self.entries.iter().copied()
    }

    /// How many threads have a non-zero entry.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the clock has seen nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether an entry was ever evicted from this clock or from one joined into it (sticky):
    /// anything decided with it is uncertain.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    fn position(&self, thread: ThreadId) -> Result<usize, usize> {
        self.entries.binary_search_by_key(&thread, |&(t, _)| t)
    }

    /// The index of the entry with the smallest counter, other than `keep`'s.
    fn smallest(&self, keep: ThreadId) -> Option<usize> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, &(thread, _))| thread != keep)
            .min_by_key(|(_, &(_, counter))| counter)
            .map(|(index, _)| index)
    }

    /// Raises `thread`'s entry to at least `counter`, evicting the smallest entry if full.
    fn raise(&mut self, thread: ThreadId, counter: u32) {
        let index = match self.position(thread) {
            Ok(index) => {
                let entry = &mut self.entries[index].1;
                *entry = (*entry).max(counter);
                return;
            }
            Err(index) => index,
        };
        let mut index = index;
        if self.entries.is_full() {
            self.overflowed = true;
            match self.smallest(self.owner) {
                // Keep the larger counters; on a tie drop the newcomer and shift nothing.
                Some(victim) if self.entries[victim].1 < counter => {
                    self.entries.remove(victim);
                    if victim < index {
                        index -= 1;
                    }
                }
                _ => return,
            }
        }
        // Cannot fail: there was room or one entry was just removed.
        let _ = self.entries.insert(index, (thread, counter));
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
        if self.overflowed {
            f.write_str(" (overflowed)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(raw: u32) -> ThreadId {
        ThreadId::from_raw(raw)
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
        assert_eq!(
            clock.iter().collect::<heapless::Vec<_, 4>>(),
            [(t(2), 1), (t(5), 2)]
        );
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
    fn independent_ticks_are_concurrent() {
        let mut a = VectorClock::<4>::new();
        let mut b = VectorClock::<4>::new();
        a.tick(t(1));
        b.tick(t(2));
        assert_eq!(a.compare(&b), Causality::Concurrent);
        assert!(!Epoch {
            thread: t(1),
            tick: 1
        }
        .happens_before(&b));
        assert!(Epoch {
            thread: t(1),
            tick: 1
        }
        .happens_before(&a));
    }

    #[test]
    fn tick_on_a_full_clock_evicts_the_smallest_other_entry() {
        let mut clock = VectorClock::<2>::new();
        clock.tick(t(1));
        clock.tick(t(1));
        clock.tick(t(2));
        assert!(!clock.overflowed());
        assert_eq!(clock.tick(t(3)), 1);
        assert!(clock.overflowed());
        assert_eq!(
            clock.iter().collect::<heapless::Vec<_, 2>>(),
            [(t(1), 2), (t(3), 1)]
        );
    }

    #[test]
    fn join_into_a_full_clock_never_evicts_the_owner() {
        let mut own = VectorClock::<2>::new();
        own.tick(t(1));
        let mut other = VectorClock::<2>::new();
        other.tick(t(2));
        other.tick(t(2));
        other.tick(t(3));
        other.tick(t(3));
        own.join(&other);
        assert!(own.overflowed());
        // t1's counter (1) is the smallest, but t1 owns the clock.
        assert_eq!(own.get(t(1)), 1);
        assert_eq!(own.len(), 2);
        assert_eq!(own.tick(t(1)), 2, "the owner's epochs stay exact");
    }

    #[test]
    fn overflow_only_loses_order_and_is_sticky_through_join() {
        let mut full = VectorClock::<1>::new();
        full.tick(t(1));
        let mut other = VectorClock::<1>::new();
        other.tick(t(2));
        other.tick(t(2));
        full.join(&other);
        assert!(full.overflowed());
        // t2's write really happened before, but the clock could not keep it: looks unordered.
        assert!(!Epoch {
            thread: t(2),
            tick: 2
        }
        .happens_before(&full));

        let mut clean = VectorClock::<1>::new();
        clean.join(&full);
        assert!(
            clean.overflowed(),
            "joining an overflowed clock carries the flag"
        );
    }

    #[test]
    fn counter_saturation_sets_the_flag() {
        let mut clock = VectorClock::<1>::new();
        clock.join(&{
            let mut c = VectorClock::<1>::new();
            c.tick(t(1));
            c.raise(t(1), u32::MAX);
            c
        });
        assert_eq!(clock.tick(t(1)), u32::MAX);
        assert!(clock.overflowed());
    }
}
