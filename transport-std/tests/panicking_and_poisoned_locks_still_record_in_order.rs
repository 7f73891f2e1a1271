//! A guard dropped by a panic records its release before the lock is really released, and taking
//! the poisoned lock afterwards still records the acquire, after the lock is really held.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use raceway::sync::{Mutex, RwLock};
use raceway::{Kind, LockKind};

#[test]
fn release_is_recorded_before_unlock_even_when_unwinding() {
    let (client, captured) = common::client();
    let ctx = client.start_trace();
    let lock = Arc::new(Mutex::named("poison-me", 0));

    let panicker = ctx.child();
    let thread = panicker.thread_id();
    let held = Arc::clone(&lock);
    let outcome = std::thread::spawn(move || {
        panicker.run(|| {
            catch_unwind(AssertUnwindSafe(|| {
                let _guard = held.lock().unwrap();
                panic!("while holding the lock");
            }))
        })
    })
    .join()
    .unwrap();
    assert!(outcome.is_err());
    assert!(lock.is_poisoned());

    // The release event is in the stream before anyone else could take the lock: take it now
    // (poisoned) and check the order the ring saw.
    let _entered = ctx.enter();
    let guard = lock.lock();
    assert!(guard.is_err(), "std poisoning is preserved");
    drop(guard);

    let events = common::drained(&client, &captured);
    let positions: Vec<(usize, Kind)> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e.kind, Kind::LockAcquire { .. } | Kind::LockRelease { .. }))
        .map(|(i, e)| (i, e.kind))
        .collect();
    let lock_kind = LockKind::Mutex;
    let kinds: Vec<Kind> = positions.iter().map(|(_, k)| *k).collect();
    assert_eq!(
        kinds,
        [
            Kind::LockAcquire {
                lock: "poison-me".into(),
                lock_kind
            },
            Kind::LockRelease {
                lock: "poison-me".into(),
                lock_kind
            },
            Kind::LockAcquire {
                lock: "poison-me".into(),
                lock_kind
            },
            Kind::LockRelease {
                lock: "poison-me".into(),
                lock_kind
            },
        ]
    );
    let first_release = events[positions[1].0];
    assert_eq!(
        first_release.thread, thread,
        "released by the panicking thread"
    );
    assert_eq!(events[positions[2].0].thread, ctx.thread_id());
}

#[test]
fn a_waiter_records_its_acquire_only_once_it_holds_the_lock() {
    let (client, captured) = common::client();
    let ctx = client.start_trace();
    let lock = Arc::new(RwLock::named("order", 0));
    let holder = ctx.child();
    let waiter = ctx.child();
    let waiter_thread = waiter.thread_id();

    let write = holder.run(|| lock.write().unwrap());
    let waiting = {
        let lock = Arc::clone(&lock);
        std::thread::spawn(move || waiter.run(|| *lock.read().unwrap()))
    };
    std::thread::sleep(std::time::Duration::from_millis(50));
    let so_far = common::drained(&client, &captured);
    assert!(
        !so_far
            .iter()
            .any(|e| e.thread == waiter_thread && matches!(e.kind, Kind::LockAcquire { .. })),
        "a blocked waiter recorded an acquire"
    );
    holder.run(|| drop(write));
    assert_eq!(waiting.join().unwrap(), 0);

    let events = common::drained(&client, &captured);
    let lock_events: Vec<Kind> = events
        .iter()
        .filter(|e| matches!(e.kind, Kind::LockAcquire { .. } | Kind::LockRelease { .. }))
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        lock_events,
        [
            Kind::LockRelease {
                lock: "order".into(),
                lock_kind: LockKind::RwWrite
            },
            Kind::LockAcquire {
                lock: "order".into(),
                lock_kind: LockKind::RwRead
            },
            Kind::LockRelease {
                lock: "order".into(),
                lock_kind: LockKind::RwRead
            },
        ]
    );
}
