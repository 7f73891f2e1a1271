//! A service that names a variable per account, session or request sees millions of names in its
//! life. The analyzer keeps the variables in use and forgets the others, so its memory follows
//! the working set; a race in the working set is still found, and the report says that races
//! with forgotten accesses cannot be found, counting the accesses to recently forgotten ones.

use raceway_analyze::Analyzer;
use raceway_core::{Event, Kind, LockKind, Name, ThreadId};

mod common;
use common::write;

#[test]
fn variables_nobody_uses_are_forgotten_and_the_report_says_when_it_matters() {
    const KEPT: usize = 1 << 12;
    const REQUESTS: u32 = 50_000;
    let (hot, hot_lock) = (Name::from("hot"), Name::from("hot.lock"));
    let (early, recent) = (Name::from("early"), Name::from("recent"));
    let lock_kind = LockKind::Mutex;
    let mut analyzer = Analyzer::new().with_max_variables(KEPT);
    let mut record = |thread: u32, kind| {
        analyzer.observe(&Event::new(0, ThreadId::from_raw(thread), kind));
    };

    record(1, write(early));
    record(1, Kind::ThreadEnd);
    for request in 10..10 + REQUESTS {
        // A name of its own, never used again, and the hot variable under its lock.
        record(request, write(Name::forgotten(u64::from(request))));
        record(
            request,
            Kind::LockAcquire {
                lock: hot_lock,
                lock_kind,
            },
        );
        record(request, write(hot));
        record(
            request,
            Kind::LockRelease {
                lock: hot_lock,
                lock_kind,
            },
        );
        record(request, Kind::ThreadEnd);
        if request == 10 + REQUESTS - 6_000 {
            // Forgotten by the end (6 000 newer names), but recently.
            record(4, write(recent));
            record(4, Kind::ThreadEnd);
        }
    }
    // A request that forgets the lock races with the last one that held it.
    record(2, write(hot));
    // Requests write `early` and `recent` again: they race with writes the analyzer forgot.
    record(3, write(early));
    record(3, write(recent));

    let report = analyzer.report();
    assert_eq!(report.races.len(), 1, "{report}");
    assert_eq!(report.races[0].variable, "hot");
    assert!(!report.races[0].uncertain, "{report}");
    let summary = &report.summary;
    assert!(
        summary.forgotten_variables >= u64::from(REQUESTS) - KEPT as u64,
        "{summary:?}"
    );
    // `recent` is known to be forgotten; `early` was forgotten too long ago to be told apart
    // from a new name, which the caveat covers. A few in ten thousand new names look forgotten.
    assert!(
        (1..=u64::from(REQUESTS) / 1_000).contains(&summary.forgotten_accesses),
        "{summary:?}"
    );
    assert!(
        report
            .caveats()
            .iter()
            .any(|caveat| caveat.contains("forgotten to bound memory")),
        "{:?}",
        report.caveats()
    );
}
