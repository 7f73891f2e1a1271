//! A join is drawn as an edge from the child's last event to the join, also now that the
//! joiner's clock keeps no entry for the child (the join stands for the child's whole run).

use raceway_analyze::timeline::EdgeKind;
use raceway_analyze::Analyzer;
use raceway_core::{Access, Event, Kind, ThreadId, Value};

#[test]
fn a_race_timeline_draws_the_join_that_orders_a_joined_child() {
    let (parent, joined, loose) = (
        ThreadId::from_raw(1),
        ThreadId::from_raw(2),
        ThreadId::from_raw(3),
    );
    let write = |new| Kind::StateChange {
        variable: "x".into(),
        access: Access::Write,
        old: Value::I64(0),
        new: Value::I64(new),
    };
    let events = [
        Event::new(0, parent, Kind::Spawn { child: joined }),
        Event::new(0, parent, Kind::Spawn { child: loose }),
        Event::new(0, joined, write(1)),
        Event::new(0, joined, Kind::ThreadEnd),
        Event::new(0, parent, Kind::Join { child: joined }),
        Event::new(0, parent, write(2)), // ordered after `joined`'s write by the join
        Event::new(0, loose, write(3)),  // ordered with nothing: races with the parent's
    ];
    let report = Analyzer::analyze(&events);
    assert_eq!(report.races.len(), 1, "{report}");
    let timeline = &report.races[0].timeline;
    let joins: Vec<_> = timeline
        .edges
        .iter()
        .filter(|edge| edge.kind == EdgeKind::Join)
        .map(|edge| {
            let (from, to) = (&timeline.steps[edge.from], &timeline.steps[edge.to]);
            (
                timeline.lanes[from.lane].thread,
                timeline.lanes[to.lane].thread,
            )
        })
        .collect();
    assert_eq!(joins, [(joined, parent)], "{timeline:#?}");
}
