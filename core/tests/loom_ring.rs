//! Loom model of the ring: two producers and the consumer, every interleaving up to a bound.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p raceway-core --test loom_ring --release`.
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use raceway_core::event::{Event, Kind, ThreadId};
use raceway_core::ring::Ring;

fn model(test: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(test);
}

fn send(thread: u32, message: u64) -> Event {
    Event::new(0, ThreadId::from_raw(thread), Kind::Send { message })
}

/// Pushes `per_producer` events from each of two threads while the consumer reads, then drains
/// the rest. Returns the messages seen and the sum of the loss markers.
fn run(capacity: usize, per_producer: u64) -> (Vec<u64>, u64, usize) {
    let ring = Arc::new(Ring::with_capacity(capacity));
    let producers: Vec<_> = (0..2u32)
        .map(|t| {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                for i in 0..per_producer {
                    let _ = ring.push(send(t + 1, u64::from(t) * 100 + i));
                }
            })
        })
        .collect();
    let mut seen = Vec::new();
    let mut lost = 0u64;
    let mut take = |event: Event| match event.kind {
        Kind::Send { message } => seen.push(message),
        Kind::Dropped { count } => lost += u64::from(count),
        other => panic!("unexpected {other:?}"),
    };
    {
        let mut consumer = ring.consumer().unwrap();
        if let Some(event) = consumer.pop() {
            take(event);
        }
    }
    for producer in producers {
        producer.join().unwrap();
    }
    ring.consumer().unwrap().for_each(&mut take);
    (seen, lost, ring.dropped())
}

#[test]
fn nothing_lost_or_duplicated_while_capacity_suffices() {
    model(|| {
        let (mut seen, lost, dropped) = run(4, 2);
        assert_eq!((lost, dropped), (0, 0));
        // Each producer's events stay in its program order.
        let first: Vec<u64> = seen.iter().copied().filter(|m| *m < 100).collect();
        let second: Vec<u64> = seen.iter().copied().filter(|m| *m >= 100).collect();
        assert_eq!(first, [0, 1]);
        assert_eq!(second, [100, 101]);
        seen.sort_unstable();
        assert_eq!(seen, [0, 1, 100, 101]);
    });
}

#[test]
fn drops_are_counted_exactly_when_capacity_does_not_suffice() {
    model(|| {
        let (mut seen, lost, dropped) = run(2, 2);
        assert_eq!(lost as usize, dropped, "every loss is marked in the stream");
        assert_eq!(
            seen.len() + dropped,
            4,
            "every event is either delivered or counted"
        );
        let before = seen.len();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), before, "no event is delivered twice");
    });
}
