use raceway_analyze::analyzer::MAX_READERS;
use raceway_analyze::Analyzer;
use raceway_core::{Access, Event, Kind, ThreadId, Value};

fn access(thread: u32, access: Access) -> Event {
    Event::new(
        0,
        ThreadId::from_raw(thread),
        Kind::StateChange {
            variable: "config".into(),
            access,
            old: Value::None,
            new: Value::None,
        },
    )
}

#[test]
fn concurrent_readers_beyond_the_cap_are_counted() {
    let readers = MAX_READERS as u32 + 2;
    let mut events: Vec<Event> = (1..=readers).map(|t| access(t, Access::Read)).collect();
    // A writer racing with every reader: the two oldest were forgotten, the rest are found.
    events.push(access(100, Access::Write));
    let report = Analyzer::analyze(&events);

    assert_eq!(report.summary.capped_reads, 2);
    assert_eq!(report.races.len(), 1, "one pair of source lines");
    assert_eq!(report.races[0].count, u64::from(readers) - 2);
    assert!(
        report.to_string().contains("2 reads were forgotten"),
        "{report}"
    );
}
