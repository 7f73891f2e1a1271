//! With the tracked mutex, A's write under the lock happens before B's write under the same lock
//! in the drained stream; without the lock the same two writes are concurrent.

mod common;

use std::sync::mpsc;

use raceway::raceway_core::causality::HappensBefore;
use raceway::raceway_core::clock::Epoch;
use raceway::sync::{Mutex, RwLock};
use raceway::{Event, Kind, ThreadId};

/// Replays the stream; returns the epoch of each thread's write to `variable` and the final
/// clocks' verdict "A's write happens before B's".
fn a_before_b(events: &[Event], a: ThreadId, b: ThreadId, variable: &str) -> bool {
    let mut hb = HappensBefore::<32>::new();
    let mut a_write: Option<Epoch> = None;
    let mut ordered = None;
    for event in events {
        let observed = hb.observe(event);
        assert!(!observed.uncertain);
        if event.kind.variable().is_some_and(|v| v == variable) {
            if event.thread == a {
                a_write = observed.epoch;
            } else if event.thread == b {
                let write = a_write.expect("A writes first");
                ordered = Some(hb.happens_before(write, hb.clock(b).unwrap()));
            }
        }
    }
    ordered.expect("B writes")
}

/// Runs A then B (ordered by an unrecorded channel), each writing `variable` inside `critical`.
fn run(
    critical: impl Fn(&'static str) + Send + Sync + Copy + 'static,
    variable: &'static str,
) -> bool {
    let (client, captured) = common::client();
    let root = client.start_trace();
    let (a_ctx, b_ctx) = (root.child(), root.child());
    let (a, b) = (a_ctx.thread_id(), b_ctx.thread_id());
    let (done_tx, done_rx) = mpsc::channel();
    let ta = std::thread::spawn(move || {
        a_ctx.run(|| critical(variable));
        done_tx.send(()).unwrap();
    });
    let tb = std::thread::spawn(move || {
        done_rx.recv().unwrap();
        b_ctx.run(|| critical(variable));
    });
    ta.join().unwrap();
    tb.join().unwrap();
    drop(root);
    a_before_b(&common::drained(&client, &captured), a, b, variable)
}

static BALANCE: Mutex<i64> = Mutex::named("balance-lock", 0);
static SHARED: RwLock<i64> = RwLock::new(0);

#[test]
fn mutex_orders_writes() {
    assert!(run(
        |variable| {
            let mut balance = BALANCE.lock().unwrap();
            raceway::track_write(variable, *balance, *balance + 1);
            *balance += 1;
        },
        "balance.locked"
    ));
}

#[test]
fn closure_helpers_order_writes() {
    assert!(run(
        |variable| BALANCE.with_lock(|b| {
            raceway::track_write(variable, *b, *b + 1);
            *b += 1;
        }),
        "balance.with_lock"
    ));
    assert!(run(
        |variable| SHARED.with_write(|v| {
            raceway::track_write(variable, *v, *v + 1);
            *v += 1;
        }),
        "shared.with_write"
    ));
}

#[test]
fn without_the_lock_the_writes_are_concurrent() {
    assert!(!run(
        |variable| raceway::track_write(variable, 0, 1),
        "balance.unlocked"
    ));
}

#[test]
fn readers_do_not_order_each_other() {
    assert!(!run(
        |variable| SHARED.with_read(|v| raceway::track_write(variable, *v, *v)),
        "shared.with_read"
    ));
}

#[test]
fn derived_names_are_unique_per_lock() {
    let locks: Vec<Mutex<()>> = (0..2).map(|_| Mutex::new(())).collect();
    assert_ne!(locks[0].name(), locks[1].name());
    assert!(
        locks[0].name().to_string().starts_with("mutex#"),
        "{}",
        locks[0].name()
    );
    assert!(locks[0].name().to_string().contains(file!()));
    assert_eq!(locks[0].name(), locks[0].name());
    let _ = Kind::ThreadEnd;
}
