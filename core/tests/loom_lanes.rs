//! Loom model of the lanes: two producers and the consumer, every interleaving up to a bound.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p raceway-core --test loom_lanes --release`.
#![cfg(loom)]

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;
use raceway_core::event::{Event, Kind, ThreadId, Value};
use raceway_core::lanes::{Lanes, Lease};

/// Explores every interleaving with up to `preemptions` preemptions.
fn model(preemptions: usize, test: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemptions);
    builder.check(test);
}

fn plain(thread: u32, n: u64) -> Event {
    let data = Value::U64(n);
    Event::new(
        0,
        ThreadId::from_raw(thread),
        Kind::Custom { name: "n", data },
    )
}

fn global(thread: u32, message: u64) -> Event {
    Event::new(0, ThreadId::from_raw(thread), Kind::Send { message })
}

/// Numbers in stream order, and the sum of the loss markers.
#[derive(Default)]
struct Seen {
    numbers: Vec<u64>,
    lost: u64,
}

impl Seen {
    fn take(&mut self, event: Event) {
        match event.kind {
            Kind::Custom {
                data: Value::U64(n),
                ..
            } => self.numbers.push(n),
            Kind::Send { message } => self.numbers.push(message),
            Kind::Dropped { count } => self.lost += u64::from(count),
            other => panic!("unexpected {other:?}"),
        }
    }

    fn at(&self, n: u64) -> Option<usize> {
        self.numbers.iter().position(|&m| m == n)
    }
}

/// Runs `producers` on their own threads while the consumer takes up to two events, then
/// drains the rest once they are done.
fn run(lanes: Arc<Lanes>, producers: Vec<Box<dyn FnOnce() + Send>>) -> Seen {
    let handles: Vec<_> = producers.into_iter().map(thread::spawn).collect();
    let mut seen = Seen::default();
    {
        let mut consumer = lanes.consumer().unwrap();
        for _ in 0..2 {
            if let Some(event) = consumer.pop() {
                seen.take(event);
            }
        }
    }
    for handle in handles {
        handle.join().unwrap();
    }
    lanes.consumer().unwrap().for_each(|e| seen.take(e));
    seen
}

#[test]
fn what_happened_before_a_global_event_in_another_lane_comes_out_before_it() {
    // Three preemptions: the consumer must be caught between reading which lanes are in use and
    // finding the global event, while the other lane is leased and published.
    model(3, || {
        let lanes = Arc::new(Lanes::new(4, 2));
        let published = Arc::new(AtomicBool::new(false));
        let (a_lanes, a_flag) = (Arc::clone(&lanes), Arc::clone(&published));
        let (b_lanes, b_flag) = (Arc::clone(&lanes), Arc::clone(&published));
        let seen = run(
            lanes,
            vec![
                Box::new(move || {
                    let lease = Lease::new(a_lanes).unwrap();
                    lease.push(plain(1, 1), false).unwrap();
                    a_flag.store(true, Ordering::Release);
                }),
                Box::new(move || {
                    let lease = Lease::new(b_lanes).unwrap();
                    // 2 if this thread saw 1's publication: then 1 happened before it.
                    let n = if b_flag.load(Ordering::Acquire) { 2 } else { 3 };
                    lease.push(global(2, n), false).unwrap();
                }),
            ],
        );
        if let Some(two) = seen.at(2) {
            assert!(seen.at(1).unwrap() < two, "{:?}", seen.numbers);
        }
        assert_eq!(seen.numbers.len(), 2);
        assert_eq!(seen.lost, 0);
    });
}

#[test]
fn nothing_lost_or_reordered_while_capacity_suffices() {
    model(2, || {
        // Room for both producers' events in one lane: the second may lease the first's lane
        // after it is released, before the consumer has taken anything.
        let lanes = Arc::new(Lanes::new(8, 2));
        let producers = (0..2u32)
            .map(|t| {
                let lanes = Arc::clone(&lanes);
                Box::new(move || {
                    let lease = Lease::new(lanes).unwrap();
                    let base = u64::from(t) * 100;
                    lease.push(plain(t + 1, base), false).unwrap();
                    lease.push(global(t + 1, base + 1), false).unwrap();
                    lease.push(plain(t + 1, base + 2), false).unwrap();
                }) as Box<dyn FnOnce() + Send>
            })
            .collect();
        let seen = run(Arc::clone(&lanes), producers);
        let mine = |t: u64| -> Vec<u64> {
            let range = t * 100..t * 100 + 100;
            seen.numbers
                .iter()
                .copied()
                .filter(|n| range.contains(n))
                .collect()
        };
        assert_eq!(mine(0), [0, 1, 2]);
        assert_eq!(mine(1), [100, 101, 102]);
        assert_eq!(seen.lost, 0);
        let stats = lanes.stats();
        assert_eq!((stats.recorded, stats.drained, stats.in_flight), (6, 6, 0));
    });
}

#[test]
fn threads_sharing_lane_zero_lose_nothing() {
    model(2, || {
        // No leases at all: both producers go through the shared lane's lock.
        let lanes = Arc::new(Lanes::new(4, 0));
        let producers = (0..2u32)
            .map(|t| {
                let lanes = Arc::clone(&lanes);
                Box::new(move || {
                    assert!(lanes.lease().is_none());
                    let base = u64::from(t) * 100;
                    lanes.push_shared(plain(t + 1, base), false).unwrap();
                    lanes.push_shared(global(t + 1, base + 1), false).unwrap();
                }) as Box<dyn FnOnce() + Send>
            })
            .collect();
        let mut seen = run(lanes, producers);
        assert!(seen.at(0) < seen.at(1) && seen.at(100) < seen.at(101));
        seen.numbers.sort_unstable();
        assert_eq!(seen.numbers, [0, 1, 100, 101]);
    });
}

#[test]
fn drops_are_counted_exactly_when_capacity_does_not_suffice() {
    model(2, || {
        let lanes = Arc::new(Lanes::new(2, 2));
        let producers = (0..2u32)
            .map(|t| {
                let lanes = Arc::clone(&lanes);
                Box::new(move || {
                    let lease = Lease::new(lanes).unwrap();
                    for i in 0..3 {
                        let _ = lease.push(plain(t + 1, u64::from(t) * 100 + i), false);
                    }
                }) as Box<dyn FnOnce() + Send>
            })
            .collect();
        let seen = run(Arc::clone(&lanes), producers);
        let stats = lanes.stats();
        assert_eq!(
            seen.lost, stats.dropped,
            "every loss is marked in the stream"
        );
        assert_eq!(seen.numbers.len() as u64 + stats.dropped, 6);
        assert_eq!(stats.recorded, 6);
        assert_eq!(stats.drained, seen.numbers.len() as u64);
    });
}
