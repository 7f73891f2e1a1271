//! The timeline of a race shows the lock hand-overs that do order the two threads, the spawns
//! that started them, both racing accesses, and says which ordering is missing.

use raceway_analyze::timeline::EdgeKind;
use raceway_analyze::{html, Analyzer};
use raceway_core::{Access, Event, Kind, LockKind, ThreadId, Value};

#[test]
fn a_race_timeline_draws_each_lock_hand_over_between_its_threads() {
    let (main, a, b) = (
        ThreadId::from_raw(1),
        ThreadId::from_raw(2),
        ThreadId::from_raw(3),
    );
    let (lock, lock_kind) = ("m".into(), LockKind::Mutex);
    let acquire = Kind::LockAcquire { lock, lock_kind };
    let release = Kind::LockRelease { lock, lock_kind };
    let write = |new| Kind::StateChange {
        variable: "x".into(),
        access: Access::Write,
        old: Value::I64(0),
        new: Value::I64(new),
    };
    let first_line = line!() + 13;
    let events = [
        Event::new(0, main, Kind::Spawn { child: a }),
        Event::new(0, main, Kind::Spawn { child: b }),
        Event::new(0, a, acquire),
        Event::new(0, a, release),
        Event::new(0, b, acquire), // hand-over 1: a → b
        Event::new(0, b, release),
        Event::new(0, a, acquire), // hand-over 2: b → a
        Event::new(0, a, release),
        Event::new(0, b, acquire), // hand-over 3: a → b
        Event::new(0, b, release),
        Event::new(0, a, acquire),  // hand-over 4: b → a
        Event::new(0, a, write(1)), // under m
        Event::new(0, a, release),
        Event::new(0, b, write(2)), // without m: races with a's write
    ];
    let report = Analyzer::analyze(&events);
    assert_eq!(report.races.len(), 1, "{report}");
    let timeline = &report.races[0].timeline;

    let lanes: Vec<_> = timeline.lanes.iter().map(|lane| lane.thread).collect();
    assert_eq!(lanes, [a, b, main]);
    let count = |kind| timeline.edges.iter().filter(|e| e.kind == kind).count();
    assert_eq!(count(EdgeKind::Lock), 4, "{timeline:#?}");
    assert_eq!(count(EdgeKind::Spawn), 2, "{timeline:#?}");
    assert_eq!(timeline.edges.len(), 6, "{timeline:#?}");
    for edge in &timeline.edges {
        let (from, to) = (&timeline.steps[edge.from], &timeline.steps[edge.to]);
        assert!(from.event < to.event, "an edge goes forward: {edge:?}");
        assert_ne!(from.lane, to.lane, "an edge joins two lanes: {edge:?}");
    }
    let accesses: Vec<_> = timeline
        .steps
        .iter()
        .filter(|s| s.access.is_some())
        .map(|s| (timeline.lanes[s.lane].thread, s.line))
        .collect();
    assert_eq!(accesses, [(a, first_line), (b, first_line + 2)]);
    assert_eq!(timeline.held, ["m"]);
    assert_eq!(timeline.left_out, 0);

    let page = html::render(&report, "hand-overs");
    let file = file!().rsplit('/').next().unwrap();
    let missing = format!(
        "nothing orders t2&#39;s write at {file}:{first_line} before t3&#39;s write at \
         {file}:{}: hold `m` across both",
        first_line + 2
    );
    assert!(page.contains(&missing), "{page}");
    assert_eq!(page.matches("class=\"edge lock\"").count(), 4);
}
