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
fn the_backlog_counts_what_every_lane_holds_for_the_consumer() {
    let lanes = Lanes::new(8, 2);
    let (first, second) = (lanes.lease().unwrap(), lanes.lease().unwrap());
    let mut consumer = lanes.consumer().unwrap();
    assert_eq!(consumer.backlog(), 0);
    for i in 0..3 {
        first.push(custom(1, i), false).unwrap();
    }
    second.push(custom(2, 9), false).unwrap();
    assert_eq!(consumer.backlog(), 4);
    consumer.pop().unwrap();
    assert_eq!(consumer.backlog(), 3);
    assert_eq!(numbers(consumer.by_ref()).len(), 3);
    assert_eq!(consumer.backlog(), 0);
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
fn a_global_event_in_the_lane_being_read_waits_for_what_other_lanes_published_before_it() {
    let lanes = Lanes::new(16, 2);
    let (a, b) = (lanes.lease().unwrap(), lanes.lease().unwrap());
    let mut consumer = lanes.consumer().unwrap();
    a.push(custom(1, 0), false).unwrap();
    assert_eq!(numbers(consumer.pop().into_iter()), [0]);
    // Lane a was looked at before these; lane b's visit will hold its global event at its
    // head, the next ticket, while 1 and 2, published before it, wait in lane a.
    b.push(custom(2, 100), false).unwrap();
    a.push(custom(1, 1), false).unwrap();
    a.push(custom(1, 2), false).unwrap();
    b.push(send(2, 3), false).unwrap();
    assert_eq!(numbers(consumer), [100, 1, 2, 3]);
}

#[test]
fn a_loss_in_an_idle_lane_is_marked_before_a_later_global_event_elsewhere() {
    let lanes = Lanes::new(64, 2);
    let (a, b) = (lanes.lease().unwrap(), lanes.lease().unwrap());
    let mut consumer = lanes.consumer().unwrap();
    for n in 0..64 {
        a.push(custom(1, n), false).unwrap();
    }
    // Lane a's visit starts here, seeing no loss; the loss comes after, at position 64.
    assert_eq!(numbers(consumer.by_ref().take(1)), [0]);
    assert!(a.push(custom(1, 64), false).is_err());
    assert_eq!(
        numbers(consumer.by_ref().take(63)),
        (1..64).collect::<Vec<_>>()
    );
    // Lane a is read to the loss and idle. Lane b's visit holds the next ticket at its head.
    b.push(custom(2, 100), false).unwrap();
    b.push(send(2, 200), false).unwrap();
    assert_eq!(numbers(consumer.by_ref()), [100, 1_000_001, 200]);
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
fn losses_during_a_visit_are_marked_where_they_happened_on_the_next() {
    let lanes = Lanes::new(4, 1);
    let lease = lanes.lease().unwrap();
    let mut consumer = lanes.consumer().unwrap();
    for n in 0..4 {
        lease.push(custom(1, n), false).unwrap();
    }
    // The visit that starts here sees no loss, and reads up to position 4.
    assert_eq!(numbers(consumer.by_ref().take(2)), [0, 1]);
    lease.push(custom(1, 4), false).unwrap();
    lease.push(custom(1, 5), false).unwrap();
    assert!(lease.push(custom(1, 6), false).is_err());
    assert!(lease.push(custom(1, 7), false).is_err());
    assert_eq!(numbers(consumer.by_ref().take(2)), [2, 3]);
    lease.push(custom(1, 8), false).unwrap();
    assert_eq!(numbers(consumer.by_ref()), [4, 5, 1_000_002, 8]);
    assert_eq!(lanes.stats().dropped, 2);
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
