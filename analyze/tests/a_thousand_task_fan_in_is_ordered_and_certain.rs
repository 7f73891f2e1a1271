//! A `join_all` over a thousand tasks is ordinary code: every task's write is ordered before the
//! parent's reads after the join, and nothing is uncertain. (With 32-entry clocks the parent's
//! clock overflowed after 32 tasks and 33+ false races were reported.)

use raceway_analyze::Analyzer;
use raceway_core::{Access, Event, Kind, ThreadId};

mod common;
use common::access;

#[test]
fn a_thousand_task_fan_in_is_ordered_and_certain() {
    const TASKS: u32 = 1000;
    let parent = ThreadId::from_raw(1);
    let slots: Vec<&'static str> = (0..TASKS)
        .map(|i| &*Box::leak(format!("results.{i}").into_boxed_str()))
        .collect();
    let mut analyzer = Analyzer::new();
    let mut record = |thread: ThreadId, kind| analyzer.observe(&Event::new(0, thread, kind));

    record(parent, access("config", Access::Write));
    let children: Vec<ThreadId> = (0..TASKS).map(|i| ThreadId::from_raw(i + 2)).collect();
    for &child in &children {
        record(parent, Kind::Spawn { child });
    }
    // The tasks interleave: each reads the config and writes its own slot and a shared counter
    // under no lock but one at a time through the parent (the slot is its own).
    for round in 0..2 {
        for (i, &child) in children.iter().enumerate() {
            if round == 0 {
                record(child, access("config", Access::Read));
            } else {
                record(child, access(slots[i], Access::Write));
                record(child, Kind::ThreadEnd);
            }
        }
    }
    for &child in &children {
        record(parent, Kind::Join { child });
    }
    for &slot in &slots {
        record(parent, access(slot, Access::Read));
    }
    record(parent, access("config", Access::Write));

    let report = analyzer.report();
    assert!(report.races.is_empty(), "{report}");
    assert!(!report.summary.clock_overflow, "{report}");
    assert_eq!(report.summary.uncertain_events, 0);
}
