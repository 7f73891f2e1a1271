//! Every event's `causality_vector` is its thread's clock in a happens-before replay of the same
//! stream, entry for entry, however threads interleave, hand locks over, spawn, join and end
//! (the encoder writes the entries a run's events share once and copies them).

mod common;

use common::{encode_all, encoder, event, wire_events};
use raceway_core::causality::HappensBefore;
use raceway_core::event::{Access, Event, Kind, LockKind, Site, ThreadId, Value};
use serde_json::{json, Value as Json};

/// A stream of 12 threads taking turns at random: accesses, three locks, spawns and joins of
/// short-lived children, and ends (the thread's next event starts a new run).
fn stream() -> Vec<Event<Site>> {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut below = |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let locks = ["a", "b", "c"];
    let mut events = Vec::new();
    for _ in 0..10_000 {
        let thread = 1 + below(12) as u32;
        let lock = locks[below(3) as usize].into();
        let child = ThreadId::from_raw(100 + below(4) as u32);
        let kind = match below(12) {
            0..=4 => Kind::StateChange {
                variable: ["x", "y"][below(2) as usize].into(),
                access: [Access::Read, Access::Write][below(2) as usize],
                old: Value::None,
                new: Value::None,
            },
            5 | 6 => Kind::LockAcquire {
                lock,
                lock_kind: LockKind::Mutex,
            },
            7 | 8 => Kind::LockRelease {
                lock,
                lock_kind: LockKind::Mutex,
            },
            9 => Kind::Spawn { child },
            10 => Kind::Join { child },
            _ => Kind::ThreadEnd,
        };
        events.push(event(thread, kind));
        if let Kind::Spawn { child } = kind {
            // The child writes and ends at once.
            let write = Kind::StateChange {
                variable: "result".into(),
                access: Access::Write,
                old: Value::None,
                new: Value::None,
            };
            events.push(event(child.to_raw(), write));
            events.push(event(child.to_raw(), Kind::ThreadEnd));
        }
    }
    events
}

#[test]
fn causality_vectors_are_the_replays_clocks_event_after_event() {
    let events = stream();
    let mut replay: HappensBefore = HappensBefore::for_wire();
    let expected: Vec<(&Event<Site>, Json)> = events
        .iter()
        .filter_map(|event| {
            replay.observe(event);
            // An end only shapes the events around it: it is not sent.
            if let Kind::ThreadEnd = event.kind {
                return None;
            }
            let entries = replay.clock(event.thread).map_or_else(Vec::new, |clock| {
                clock
                    .iter()
                    .map(|(run, counter)| json!([format!("bank#host-1#t{}", run.0), counter]))
                    .collect()
            });
            Some((event, Json::Array(entries)))
        })
        .collect();
    let wire = wire_events(&encode_all(&mut encoder(), &events));
    assert_eq!(wire.len(), expected.len());
    let longest = expected
        .iter()
        .map(|(_, v)| v.as_array().map_or(0, Vec::len))
        .max();
    assert!(longest > Some(8), "clocks of many entries: {longest:?}");
    for (i, (wire, (event, expected))) in wire.iter().zip(&expected).enumerate() {
        assert_eq!(
            &wire["causality_vector"], expected,
            "wire event {i}: {event:?}"
        );
    }
}
