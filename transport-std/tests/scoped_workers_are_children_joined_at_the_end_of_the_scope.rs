//! `raceway::thread::scope` runs every worker in a child context and records the joins when
//! the scope ends, so what the workers wrote happens before what follows the scope, while two
//! workers writing the same variable still race.

mod analyzed;

use analyzed::{racing, Analyzed};
use raceway::Kind;

#[test]
fn workers_are_ordered_before_the_scopes_end_but_not_with_each_other() {
    let run = Analyzed::new();
    let request = run.client.start_trace();
    let mut rows = [0u64; 3];
    let joined_by_hand = request.run(|| {
        let by_hand = raceway::thread::scope(|s| {
            for row in rows.iter_mut() {
                s.spawn(move || {
                    raceway::track_write("report.total", 0, 1); // every worker: a race
                    *row = 1;
                });
            }
            let by_hand = s.spawn(|| raceway::Context::current().unwrap().thread_id());
            by_hand.join().unwrap()
        });
        raceway::track_write("report.total", 1, 3); // after every join: ordered
        by_hand
    });
    assert_eq!(rows, [1, 1, 1]);

    let (events, report) = run.finish();
    assert_eq!(racing(&report), ["report.total"], "{report}");
    // The three workers' writes race with each other, never with the parent's.
    for race in &report.races {
        assert_ne!(race.earlier.thread, request.thread_id());
        assert_ne!(race.later.thread, request.thread_id());
    }
    let parent: Vec<Kind> = events
        .iter()
        .filter(|e| e.thread == request.thread_id())
        .map(|e| e.kind)
        .collect();
    let spawned: Vec<_> = parent
        .iter()
        .filter_map(|k| match k {
            Kind::Spawn { child } => Some(*child),
            _ => None,
        })
        .collect();
    let joined: Vec<_> = parent
        .iter()
        .filter_map(|k| match k {
            Kind::Join { child } => Some(*child),
            _ => None,
        })
        .collect();
    assert_eq!(spawned.len(), 4);
    // One join per worker: the one joined by hand is not joined again at the end.
    let mut sorted = joined.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 4, "{joined:?}");
    assert_eq!(joined.len(), 4, "{joined:?}");
    assert!(joined.contains(&joined_by_hand));
}
