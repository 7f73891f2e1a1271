//! When a lock release is lost to a full buffer, the lock used to stay in its thread's lockset
//! for good, and the lockset veto then hid real races. After a loss marker the locksets start
//! again, so the race is reported (marked uncertain, since events were lost).

use raceway_analyze::Analyzer;
use raceway_core::{Event, Kind, LockKind, ThreadId};

mod common;
use common::write;

#[test]
fn a_lost_release_does_not_hide_later_races() {
    let (a, b) = (ThreadId::from_raw(1), ThreadId::from_raw(2));
    let (lock, lock_kind) = ("orders", LockKind::Mutex);
    let mut analyzer = Analyzer::new();
    let mut record = |thread: ThreadId, kind| analyzer.observe(&Event::new(0, thread, kind));
    record(
        a,
        Kind::LockAcquire {
            lock: lock.into(),
            lock_kind,
        },
    );
    record(a, write("orders.pending"));
    // A's release was lost here.
    analyzer.observe(&Event::dropped(1));
    let mut record = |thread: ThreadId, kind| analyzer.observe(&Event::new(0, thread, kind));
    record(a, write("orders.pending")); // no longer under the lock: races with B's write
    record(
        b,
        Kind::LockAcquire {
            lock: lock.into(),
            lock_kind,
        },
    );
    record(b, write("orders.pending"));
    record(
        b,
        Kind::LockRelease {
            lock: lock.into(),
            lock_kind,
        },
    );

    let report = analyzer.report();
    assert!(!report.races.is_empty(), "{report}");
    assert!(report.races.iter().all(|race| race.uncertain));
}
