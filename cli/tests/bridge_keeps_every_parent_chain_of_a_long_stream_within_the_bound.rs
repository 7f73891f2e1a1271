//! `raceway bridge --server URL` on a long UART stream — a firmware main loop recording 20 000
//! events, an interrupt handler it starts, a bus lock handed between them — never sends the
//! server a `parent_id` chain deeper than `MAX_PARENT_DEPTH` (the server aborts on chains of a
//! few thousand), and every event still has a parent the server received first, or is a root
//! where a full chain restarted; the handler's events all stay ordered after its spawn.

mod common;

use std::time::Duration;

use raceway_core::{Access, Event, Kind, LockKind, ThreadId, Value};
use raceway_test_receiver::{ReceiverConfig, TestReceiver};
use raceway_transport_http::MAX_PARENT_DEPTH;

use common::{bridge_to_server, file_with, raw_stream};

const LOOP_EVENTS: u64 = 20_000;
const HANDLER_EVENTS: u64 = 2_500;

/// The device's events, in the order its ring would hand them out.
fn firmware_stream() -> Vec<Event> {
    let main = ThreadId::from_raw(1);
    let handler = ThreadId::from_raw(2);
    let mut time = 1_795_709_498_000_000_000;
    let mut events = Vec::new();
    let mut push = |thread: ThreadId, kind: Kind| {
        time += 1_000;
        events.push(Event::new(time, thread, kind));
    };
    let sample = |n: u64| Kind::StateChange {
        variable: "sensor.sample".into(),
        access: Access::Write,
        old: Value::U64(n),
        new: Value::U64(n + 1),
    };
    let bus = |acquire: bool| {
        let (lock, lock_kind) = ("spi.bus", LockKind::Mutex);
        if acquire {
            Kind::LockAcquire {
                lock: lock.into(),
                lock_kind,
            }
        } else {
            Kind::LockRelease {
                lock: lock.into(),
                lock_kind,
            }
        }
    };
    let frame = Kind::StateChange {
        variable: "spi.frame".into(),
        access: Access::Write,
        old: Value::None,
        new: Value::U64(7),
    };
    for n in 0..LOOP_EVENTS / 2 {
        push(main, sample(n));
    }
    push(main, bus(true));
    push(main, frame);
    push(main, bus(false));
    push(main, Kind::Spawn { child: handler });
    push(handler, bus(true));
    push(handler, frame);
    push(handler, bus(false));
    for n in 0..HANDLER_EVENTS {
        push(
            handler,
            Kind::StateChange {
                variable: "handler.tick".into(),
                access: Access::Read,
                old: Value::None,
                new: Value::U64(n),
            },
        );
    }
    push(handler, Kind::ThreadEnd);
    push(main, Kind::Join { child: handler });
    for n in LOOP_EVENTS / 2..LOOP_EVENTS {
        push(main, sample(n));
    }
    events
}

#[test]
fn a_long_bridged_stream_stays_within_the_bound_and_parented() {
    let mut config = ReceiverConfig::default();
    config.max_parent_depth = Some(MAX_PARENT_DEPTH);
    let receiver = TestReceiver::with_config(config);
    let stream = firmware_stream();
    let path = file_with("long-stream.bin", &raw_stream(&stream));

    let run = bridge_to_server(&path, &receiver.url(), Duration::from_secs(300));

    assert_eq!(run.status, 0, "{run:?}");
    let requests = receiver.requests();
    assert!(
        requests.iter().all(|r| r.status == Some(200)),
        "every batch accepted: {:?}",
        requests
            .iter()
            .find(|r| r.status != Some(200))
            .map(|r| (r.status, r.body.len()))
    );
    let events = receiver.events();
    let wire_events = stream.iter().filter(|e| e.kind != Kind::ThreadEnd).count();
    assert_eq!(events.len(), wire_events, "{run:?}");

    let chains = receiver.parent_chains();
    assert!(chains.deepest <= MAX_PARENT_DEPTH, "{chains:?}");
    assert!(chains.deepest > MAX_PARENT_DEPTH / 2, "{chains:?}");
    assert!(chains.orphans.is_empty(), "{chains:?}");
    assert!(
        chains
            .restarts_after
            .iter()
            .all(|&depth| depth >= MAX_PARENT_DEPTH - 1),
        "roots only where a full chain restarted: {chains:?}"
    );

    let spawn = events
        .iter()
        .find(|e| e["kind"].get("AsyncSpawn").is_some())
        .and_then(|e| e["id"].as_str())
        .expect("the spawn was sent");
    let handler_events: Vec<&str> = events
        .iter()
        .filter(|e| {
            e["kind"]["StateChange"]["variable"] == "handler.tick"
                || (e["kind"].get("LockAcquire").is_some()
                    && e["metadata"]["thread_id"]
                        .as_str()
                        .is_some_and(|t| t.ends_with("#t2")))
        })
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert_eq!(handler_events.len() as u64, HANDLER_EVENTS + 1);
    for id in handler_events {
        assert!(
            receiver.is_ancestor(spawn, id),
            "{id} is not after the spawn"
        );
    }
}
