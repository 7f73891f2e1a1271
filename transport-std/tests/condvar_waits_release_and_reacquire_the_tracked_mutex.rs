//! `raceway::sync::Condvar` waits on the tracked `Mutex`: a wait records the release before
//! the lock is let go and the acquire once it is held again, so the notifier's write under the
//! lock is ordered before the waiter's read after waking, with no hand calls.

mod analyzed;

use std::sync::Arc;
use std::time::Duration;

use analyzed::{racing, Analyzed};
use raceway::sync::{Condvar, Mutex};
use raceway::{Kind, LockKind};

#[test]
fn the_notifiers_write_happens_before_the_woken_waiters_read() {
    let run = Analyzed::new();
    let request = run.client.start_trace();
    let queue = Arc::new((Mutex::named("queue", Vec::<u32>::new()), Condvar::new()));
    let waiter_thread = request.run(|| {
        let consumer = raceway::thread::spawn({
            let queue = Arc::clone(&queue);
            move || {
                let (lock, ready) = &*queue;
                let mut items = lock.lock().unwrap();
                while items.is_empty() {
                    items = ready.wait(items).unwrap();
                }
                raceway::track_read("queue.head", items[0]);
                drop(items);
                // A timed wait that times out still re-acquires, and records it.
                let items = lock.lock().unwrap();
                let (items, timeout) = ready.wait_timeout(items, Duration::from_millis(1)).unwrap();
                assert!(timeout.timed_out());
                drop(items);
                raceway::Context::current().unwrap().thread_id()
            }
        });
        let producer = raceway::thread::spawn({
            let queue = Arc::clone(&queue);
            move || {
                let (lock, ready) = &*queue;
                let mut items = lock.lock().unwrap();
                raceway::track_write("queue.head", 0, 7);
                items.push(7);
                ready.notify_all();
            }
        });
        producer.join().unwrap();
        consumer.join().unwrap()
    });

    let (events, report) = run.finish();
    assert_eq!(racing(&report), Vec::<String>::new(), "{report}");
    // The waiter's own lock history: every wait is a release then an acquire, and its read
    // comes after an acquire, never while the lock was let go.
    let history: Vec<&str> = events
        .iter()
        .filter(|e| e.thread == waiter_thread)
        .filter_map(|e| match e.kind {
            Kind::LockAcquire {
                lock,
                lock_kind: LockKind::Mutex,
            } if lock == "queue" => Some("acquire"),
            Kind::LockRelease {
                lock,
                lock_kind: LockKind::Mutex,
            } if lock == "queue" => Some("release"),
            Kind::StateChange { variable, .. } if variable == "queue.head" => Some("read"),
            _ => None,
        })
        .collect();
    assert_eq!(history.first(), Some(&"acquire"));
    assert_eq!(history.last(), Some(&"release"));
    for pair in history.windows(2) {
        assert_ne!(pair[0], pair[1], "{history:?}");
    }
    let read = history.iter().position(|h| *h == "read").unwrap();
    assert_eq!(history[read - 1], "acquire");
    // The timed wait: acquire, release, acquire, release after the read's release.
    assert_eq!(
        history[read + 1..],
        ["release", "acquire", "release", "acquire", "release"]
    );
}
