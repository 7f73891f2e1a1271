//! A million events and a thousand distinct races: each race's picture stays within its bounds
//! (steps, lanes), says how much it left out, and the whole HTML page stays a size a browser
//! opens (a fixed budget per race, whatever the length of the stream).

use raceway_analyze::timeline::{MAX_LANES, MAX_STEPS};
use raceway_analyze::{html, Analyzer};
use raceway_core::event::{Event, Site};
use raceway_core::{Access, Kind, LockKind, ThreadId, Value};

const EVENTS: u64 = 1_000_000;
const RACES: u64 = 1_000;

#[test]
fn a_thousand_races_over_a_million_events_draw_bounded_pictures() {
    let (a, b) = (ThreadId::from_raw(1), ThreadId::from_raw(2));
    let names: Vec<&'static str> = (0..RACES).map(|i| &*format!("shared.{i}").leak()).collect();
    let lock = "hub".into();
    let event = |thread, line, kind| Event {
        time: 0,
        location: Site {
            file: "src/hub.rs",
            line,
            column: 1,
        },
        thread,
        kind,
    };
    let mut analyzer = Analyzer::new();
    // Most of the stream: the two threads hand a lock back and forth.
    let hand_overs = (EVENTS - 2 * RACES) / 2;
    for i in 0..hand_overs {
        let thread = if i % 2 == 0 { a } else { b };
        let lock_kind = LockKind::Mutex;
        analyzer.observe(&event(thread, 10, Kind::LockAcquire { lock, lock_kind }));
        analyzer.observe(&event(thread, 11, Kind::LockRelease { lock, lock_kind }));
    }
    // Then each writes a thousand variables outside the lock, from a distinct line each.
    for thread in [a, b] {
        for (i, name) in names.iter().enumerate() {
            let kind = Kind::StateChange {
                variable: (*name).into(),
                access: Access::Write,
                old: Value::None,
                new: Value::U64(i as u64),
            };
            analyzer.observe(&event(thread, 100 + i as u32, kind));
        }
    }
    let report = analyzer.report();
    assert_eq!(report.summary.events, EVENTS);
    assert_eq!(report.races.len(), RACES as usize, "{}", report.races.len());

    for race in &report.races {
        let t = &race.timeline;
        assert!(t.steps.len() <= MAX_STEPS, "{}", t.steps.len());
        assert!(t.lanes.len() <= MAX_LANES);
        assert_eq!(t.steps.iter().filter(|s| s.access.is_some()).count(), 2);
        // The hand-overs drawn are the latest ones; the rest of the logged ones are counted.
        assert!(t.edges.len() > 4, "{t:#?}");
        assert!(t.left_out > 0, "{t:#?}");
    }
    let page = html::render(&report, "hub");
    let per_race = page.len() / RACES as usize;
    eprintln!("{} races: {} bytes of HTML", RACES, page.len());
    assert!(per_race < 32 * 1024, "{per_race} bytes per race");
    assert!(page.contains("more synchronising events on these threads are not drawn"));
}
