//! A spawned child joined after a hundred thousand other contexts ended still hands its writes
//! to the joiner. (Only the last 1 024 ended threads used to be kept: the late join joined
//! nothing, and the parent's next write was a false race, neither flagged nor counted.)

use raceway_analyze::Analyzer;
use raceway_core::{Event, Kind, ThreadId};

mod common;
use common::write;

#[test]
fn a_join_long_after_the_child_ended_still_orders() {
    let (parent, child) = (ThreadId::from_raw(1), ThreadId::from_raw(2));
    let mut analyzer = Analyzer::new();
    let mut record = |thread: ThreadId, kind| analyzer.observe(&Event::new(0, thread, kind));
    record(parent, Kind::Spawn { child });
    record(child, write("report.total"));
    record(child, Kind::ThreadEnd);
    for request in 0..100_000 {
        let request = ThreadId::from_raw(10 + request);
        record(request, write("request.private"));
        record(request, Kind::ThreadEnd);
    }
    record(parent, Kind::Join { child });
    record(parent, write("report.total"));

    let report = analyzer.report();
    assert!(
        report
            .races
            .iter()
            .all(|race| race.variable != "report.total"),
        "{report}"
    );
    assert_eq!(report.summary.lost_edges, 0);
}
