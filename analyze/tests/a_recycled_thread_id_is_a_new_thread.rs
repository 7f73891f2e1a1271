//! After 2³² contexts the std client hands out ids again (only ids whose `ThreadEnd` is in the
//! stream). The run after the end is a new thread: its accesses race with the old run's. (Ids used
//! to wrap with their counters restarting, so the new run's accesses looked ordered after the
//! old run's: hidden races.)

use raceway_analyze::Analyzer;
use raceway_core::{Access, Event, Kind, ThreadId, Value};

#[test]
fn a_recycled_thread_id_is_a_new_thread() {
    let reused = ThreadId::from_raw(7);
    let write = Kind::StateChange {
        variable: "cache.entry".into(),
        access: Access::Write,
        old: Value::None,
        new: Value::I64(1),
    };
    let mut analyzer = Analyzer::new();
    let mut record = |kind| analyzer.observe(&Event::new(0, reused, kind));
    record(write);
    record(Kind::ThreadEnd);
    record(write); // another request, given the same id

    let report = analyzer.report();
    assert_eq!(report.races.len(), 1, "{report}");
    assert!(!report.races[0].uncertain);
    assert_eq!(report.summary.threads, 2);
}
