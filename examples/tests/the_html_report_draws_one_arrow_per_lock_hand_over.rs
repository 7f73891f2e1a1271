//! Rendered in a real browser, a race's timeline draws one arrow per lock hand-over between
//! the two threads (release → acquire, in that direction), and names the lock to hold.

mod browser;

use raceway_analyze::{html, Analyzer};
use raceway_core::{Access, Event, Kind, LockKind, ThreadId, Value};

#[test]
fn the_html_report_draws_one_arrow_per_lock_hand_over() {
    let Some(chromium) = browser::chromium() else {
        return;
    };
    let (a, b) = (ThreadId::from_raw(1), ThreadId::from_raw(2));
    let (lock, lock_kind) = ("accounts.bob".into(), LockKind::Mutex);
    let acquire = Kind::LockAcquire { lock, lock_kind };
    let release = Kind::LockRelease { lock, lock_kind };
    let balance = |access, new| Kind::StateChange {
        variable: "accounts.bob.balance".into(),
        access,
        old: Value::I64(100),
        new: Value::I64(new),
    };
    let mut events = Vec::new();
    // Three hand-overs: a → b, b → a, a → b.
    for thread in [a, b, a, b] {
        events.push(Event::new(0, thread, acquire));
        events.push(Event::new(0, thread, release));
    }
    events.push(Event::new(0, a, balance(Access::Write, 110))); // after a's last release
    events.push(Event::new(0, b, acquire));
    events.push(Event::new(0, b, balance(Access::Read, 100))); // under the lock, yet unordered
    events.push(Event::new(0, b, release));
    let report = Analyzer::analyze(&events);
    assert_eq!(report.races.len(), 1, "{report}");

    let dir = browser::scratch("hand-over-report");
    let page = dir.join("report.html");
    html::write(&report, "hand-overs", &page).unwrap();
    let dom = browser::dom(&chromium, &page);

    let arrows = browser::tags(&dom, "<path class=\"edge lock\"");
    assert_eq!(arrows.len(), 3, "{dom}");
    let event =
        |tag: &str, name| -> u64 { browser::attribute(tag, name).unwrap().parse().unwrap() };
    // Release and acquire alternate: events 1 → 2, 3 → 4, 5 → 6 (0 is the first acquire).
    let ends: Vec<(u64, u64)> = arrows
        .iter()
        .map(|tag| (event(tag, "data-from"), event(tag, "data-to")))
        .collect();
    assert_eq!(ends, [(1, 2), (3, 4), (5, 6)]);
    assert_eq!(browser::tags(&dom, "<g class=\"access\"").len(), 2);
    assert!(dom.contains("hold `accounts.bob` across both"), "{dom}");
}
