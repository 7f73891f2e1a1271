//! A lock that every request takes used to add one clock entry per request, so after ~32
//! requests every race in the process was marked uncertain. Ten thousand requests in turn under
//! one lock stay ordered, and a real race between two later requests is reported as certain.

use raceway_analyze::Analyzer;
use raceway_core::{Event, Kind, LockKind, ThreadId};

mod common;
use common::write;

#[test]
fn a_lock_every_request_takes_keeps_verdicts_certain() {
    const REQUESTS: u32 = 10_000;
    let (lock, lock_kind) = ("sessions", LockKind::Mutex);
    let mut analyzer = Analyzer::new();
    let mut record = |thread: u32, kind| {
        analyzer.observe(&Event::new(0, ThreadId::from_raw(thread), kind));
    };
    for request in 1..=REQUESTS {
        record(
            request,
            Kind::LockAcquire {
                lock: lock.into(),
                lock_kind,
            },
        );
        record(request, write("sessions.count"));
        record(
            request,
            Kind::LockRelease {
                lock: lock.into(),
                lock_kind,
            },
        );
        // More work after the release, on the request's own state: the lock's clock never
        // learns all of a request, so its entries cannot simply be retired.
        let own = Box::leak(format!("request.{request}.scratch").into_boxed_str());
        record(request, write(&*own));
        record(request, Kind::ThreadEnd);
    }
    let (a, b) = (REQUESTS + 1, REQUESTS + 2);
    record(
        a,
        Kind::LockAcquire {
            lock: lock.into(),
            lock_kind,
        },
    );
    record(a, write("sessions.count"));
    record(
        a,
        Kind::LockRelease {
            lock: lock.into(),
            lock_kind,
        },
    );
    record(b, write("cache.hot")); // two requests race on the cache
    record(a, write("cache.hot"));

    let report = analyzer.report();
    assert_eq!(report.races.len(), 1, "{report}");
    assert_eq!(report.races[0].variable, "cache.hot");
    assert!(!report.races[0].uncertain, "nothing was lost: {report}");
}
