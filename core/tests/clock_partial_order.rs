//! Vector clocks built from random tick/join histories form a partial order, `join` is its
//! least upper bound, and overflow only ever under-estimates.

use proptest::prelude::*;
use raceway_core::clock::{Causality, Epoch, Incarnation, VectorClock};

const THREADS: usize = 6;

#[derive(Clone, Copy, Debug)]
enum Step {
    /// Thread `0` records an event.
    Tick(usize),
    /// Thread `0` synchronises with thread `1` (acquires what it released), then records.
    Sync(usize, usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..THREADS).prop_map(Step::Tick),
        (0..THREADS, 0..THREADS).prop_map(|(to, from)| Step::Sync(to, from)),
    ]
}

fn thread(index: usize) -> Incarnation {
    Incarnation(index as u64 + 1)
}

/// Runs `steps` with one clock per thread; returns every event's (epoch, clock).
fn replay<const N: usize>(steps: &[Step]) -> Vec<(Epoch, VectorClock<N>)> {
    let mut clocks: Vec<VectorClock<N>> = (0..THREADS).map(|_| VectorClock::new()).collect();
    let mut events = Vec::new();
    for &step in steps {
        let to = match step {
            Step::Tick(to) => to,
            Step::Sync(to, from) => {
                let released = clocks[from].clone();
                clocks[to].join(&released);
                to
            }
        };
        let tick = clocks[to].tick(thread(to));
        events.push((
            Epoch {
                incarnation: thread(to),
                tick,
            },
            clocks[to].clone(),
        ));
    }
    events
}

fn entries<const N: usize>(clock: &VectorClock<N>) -> Vec<(Incarnation, u32)> {
    clock.iter().collect()
}

fn at_most<const N: usize>(a: &VectorClock<N>, b: &VectorClock<N>) -> bool {
    matches!(a.compare(b), Causality::Before | Causality::Equal)
}

/// A history and three events picked from it.
fn history() -> impl Strategy<Value = (Vec<(Epoch, VectorClock<64>)>, usize, usize, usize)> {
    prop::collection::vec(step(), 1..60).prop_flat_map(|steps| {
        let events = replay::<64>(&steps);
        let n = events.len();
        (Just(events), 0..n, 0..n, 0..n)
    })
}

proptest! {
    #[test]
    fn compare_is_reflexive((events, a, _, _) in history()) {
        let a = &events[a].1;
        prop_assert_eq!(a.compare(a), Causality::Equal);
        prop_assert!(!a.happens_before(a));
    }

    #[test]
    fn happens_before_is_antisymmetric((events, a, b, _) in history()) {
        let (a, b) = (&events[a].1, &events[b].1);
        if a.happens_before(b) {
            prop_assert!(!b.happens_before(a));
        }
    }

    #[test]
    fn happens_before_is_transitive((events, a, b, c) in history()) {
        // Only a later event can be after an earlier one: sorting makes the premise likely.
        let mut picks = [a, b, c];
        picks.sort_unstable();
        let [a, b, c] = picks.map(|index| &events[index].1);
        if a.happens_before(b) && b.happens_before(c) {
            prop_assert!(a.happens_before(c));
        }
    }

    #[test]
    fn compare_agrees_with_itself_swapped((events, a, b, _) in history()) {
        let (a, b) = (&events[a].1, &events[b].1);
        let swapped = match a.compare(b) {
            Causality::Before => Causality::After,
            Causality::After => Causality::Before,
            same => same,
        };
        prop_assert_eq!(b.compare(a), swapped);
        prop_assert_eq!(a.compare(b) == Causality::Equal, entries(a) == entries(b));
        prop_assert_eq!(a.happens_before(b), a.compare(b) == Causality::Before);
    }

    #[test]
    fn join_is_the_least_upper_bound((events, a, b, c) in history()) {
        let (a, b, c) = (&events[a].1, &events[b].1, &events[c].1);
        let mut joined = a.clone();
        joined.join(b);
        prop_assert!(at_most(a, &joined) && at_most(b, &joined));
        for (thread, counter) in joined.iter() {
            prop_assert_eq!(counter, a.get(thread).max(b.get(thread)));
        }
        if at_most(a, c) && at_most(b, c) {
            prop_assert!(at_most(&joined, c));
        }
    }

    #[test]
    fn an_events_epoch_decides_like_its_clock((events, a, b, _) in history()) {
        let ((epoch, clock_a), (_, clock_b)) = (&events[a], &events[b]);
        prop_assert_eq!(epoch.happens_before(clock_b), at_most(clock_a, clock_b));
    }

    #[test]
    fn overflow_only_under_estimates(steps in prop::collection::vec(step(), 1..60)) {
        let exact = replay::<64>(&steps);
        let small = replay::<2>(&steps);
        for ((exact_epoch, exact), (small_epoch, small)) in exact.iter().zip(&small) {
            // Epochs stay exact, so an overflowed clock never orders a pair that is not ordered.
            prop_assert_eq!(exact_epoch, small_epoch);
            for (thread, counter) in small.iter() {
                prop_assert!(counter <= exact.get(thread));
            }
            if !small.overflowed() {
                prop_assert_eq!(entries(small), entries(exact));
            }
        }
    }
}
