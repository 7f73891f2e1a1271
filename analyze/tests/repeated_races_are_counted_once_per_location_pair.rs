use raceway_analyze::Analyzer;
use raceway_core::{Access, Event, Kind, ThreadId, Value};

fn write(thread: u32) -> Event {
    Event::new(
        0,
        ThreadId::from_raw(thread),
        Kind::StateChange {
            variable: "hits".into(),
            access: Access::Write,
            old: Value::None,
            new: Value::None,
        },
    )
}

#[test]
fn repeated_races_are_counted_once_per_location_pair() {
    // Eight unsynchronised threads writing from one line: one race, seen seven times.
    let events: Vec<Event> = (1..=8).map(write).collect();
    let report = Analyzer::analyze(&events);
    assert_eq!(report.races.len(), 1, "{report}");
    assert_eq!(report.races[0].count, 7);
    assert!(report.to_string().contains("(7 times)"));
}
