//! On a busy service the tasks of one fan-in start between other requests, so their runs are not
//! numbered one after another and cannot be kept as one range of finished runs. A fan-in of
//! 1 000 such tasks used to overflow the joiner's clock: the parent's reads of the children's
//! results were reported as races, marked uncertain. The join now stands for each child's whole
//! run, so the parent's clock stays small and the verdicts certain.

use raceway_analyze::Analyzer;
use raceway_core::{Access, Event, Kind, Name, ThreadId};

mod common;
use common::access;

#[test]
fn a_fan_in_interleaved_with_other_requests_stays_certain() {
    const TASKS: u32 = 1_000;
    let mut analyzer = Analyzer::new();
    let mut record = |thread: u32, kind| {
        analyzer.observe(&Event::new(0, ThreadId::from_raw(thread), kind));
    };
    let parent = 1;
    let child = |j: u32| 10 + 2 * j;
    let request = |j: u32| 11 + 2 * j;
    let slot = |j: u32| Name::forgotten(u64::from(j));

    record(parent, access("input", Access::Write));
    for j in 0..TASKS {
        record(
            parent,
            Kind::Spawn {
                child: ThreadId::from_raw(child(j)),
            },
        );
    }
    for j in 0..TASKS {
        // Another request starts and ends between any two tasks of the fan-in.
        record(request(j), access("requests.seen", Access::AtomicWrite));
        record(request(j), Kind::ThreadEnd);
        record(child(j), access("input", Access::Read));
        record(child(j), access(slot(j), Access::Write));
        record(child(j), Kind::ThreadEnd);
    }
    for j in 0..TASKS {
        record(
            parent,
            Kind::Join {
                child: ThreadId::from_raw(child(j)),
            },
        );
    }
    for j in 0..TASKS {
        record(parent, access(slot(j), Access::Read));
    }
    record(parent, access("input", Access::Write));
    // A real race after all that: a request writes what the parent wrote, with no edge.
    record(5, access("input", Access::Write));

    let report = analyzer.report();
    assert_eq!(report.races.len(), 1, "{report}");
    assert_eq!(report.races[0].variable, "input");
    assert!(!report.races[0].uncertain, "{report}");
    assert!(!report.summary.clock_overflow, "{report}");
}
