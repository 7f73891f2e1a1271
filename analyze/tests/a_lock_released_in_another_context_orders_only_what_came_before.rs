//! A guard can move to another logical thread and be dropped there (an owned tokio guard sent to
//! a spawned task): the release then orders what the acquiring context did before it handed the
//! guard on, not what it did afterwards. The acquiring context's later accesses must not pass
//! for "made under the lock".

use raceway_analyze::Analyzer;
use raceway_core::{Event, Kind, LockKind, ThreadId};

mod common;
use common::write;

#[test]
fn a_lock_released_in_another_context_orders_only_what_came_before() {
    let (lock, lock_kind) = ("orders".into(), LockKind::Mutex);
    let mut analyzer = Analyzer::new();
    let mut record = |thread: u32, kind| {
        analyzer.observe(&Event::new(0, ThreadId::from_raw(thread), kind));
    };
    // Enough requests in turn that the lock's clock counts its hand-overs.
    for request in 100..120 {
        record(request, Kind::LockAcquire { lock, lock_kind });
        record(request, write("orders.count"));
        record(request, Kind::LockRelease { lock, lock_kind });
        record(request, Kind::ThreadEnd);
    }

    let (owner, heir, next) = (1, 2, 3);
    record(owner, Kind::LockAcquire { lock, lock_kind });
    record(owner, write("orders.count"));
    // The guard goes to a spawned task, which drops it.
    record(
        owner,
        Kind::Spawn {
            child: ThreadId::from_raw(heir),
        },
    );
    record(owner, write("orders.audit")); // after the hand-off: not under the lock any more
    record(heir, Kind::LockRelease { lock, lock_kind });
    record(heir, Kind::ThreadEnd);
    record(owner, Kind::ThreadEnd);

    record(next, Kind::LockAcquire { lock, lock_kind });
    record(next, write("orders.count"));
    record(next, Kind::LockRelease { lock, lock_kind });
    record(next, write("orders.audit"));

    let report = analyzer.report();
    assert_eq!(report.races.len(), 1, "{report}");
    assert_eq!(report.races[0].variable, "orders.audit", "{report}");
    assert!(!report.races[0].uncertain, "{report}");
}
