//! Lock clocks shed finished holders whose every access was made under the lock: the lock's
//! own hand-over count stands for them. An access such a holder made must still be ordered
//! before everything that took the lock after it, also where the later access holds no lock.

use raceway_analyze::Analyzer;
use raceway_core::{Event, Kind, LockKind, Name, ThreadId};

mod common;
use common::write;

#[test]
fn a_holder_shed_from_a_lock_clock_stays_ordered() {
    const LOCKS: u32 = 200;
    const ROUNDS: u32 = 50;
    let lock_kind = LockKind::Mutex;
    let lock_name = |k: u32| Name::forgotten(u64::from(k));
    let mut analyzer = Analyzer::new();
    let mut record = |thread: u32, kind| {
        analyzer.observe(&Event::new(0, ThreadId::from_raw(thread), kind));
    };
    let (bystander, later) = (1, 2);
    record(bystander, write("bystander.started"));

    for request in 0..LOCKS * ROUNDS {
        let (thread, lock) = (10 + request, lock_name(request % LOCKS));
        record(thread, Kind::LockAcquire { lock, lock_kind });
        record(
            thread,
            write(Name::forgotten(u64::from(1_000 + request % LOCKS))),
        );
        if request == 0 {
            record(thread, write("x"));
        }
        record(thread, Kind::LockRelease { lock, lock_kind });
        record(thread, Kind::ThreadEnd);
    }

    // Takes lock 0 long after the first holder, lets it go, then writes `x` holding nothing:
    // ordered after the first holder's write.
    record(
        later,
        Kind::LockAcquire {
            lock: lock_name(0),
            lock_kind,
        },
    );
    record(
        later,
        Kind::LockRelease {
            lock: lock_name(0),
            lock_kind,
        },
    );
    record(later, write("x"));
    // A thread that no lock orders writes `x` too: the one race.
    record(bystander, write("x"));

    let report = analyzer.report();
    assert_eq!(report.races.len(), 1, "{report}");
    let race = &report.races[0];
    assert_eq!(race.variable, "x");
    assert_eq!(
        (race.earlier.thread, race.later.thread),
        (ThreadId::from_raw(later), ThreadId::from_raw(bystander)),
        "{report}"
    );
    assert!(!race.uncertain, "nothing was lost: {report}");
}
