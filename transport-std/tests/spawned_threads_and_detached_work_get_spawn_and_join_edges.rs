//! A thread spawned through `raceway::thread::spawn` is a child logical thread (spawn edge, its
//! own TraceStart in the same trace, ThreadEnd before the join); joining records the join edge,
//! so the child's write happens before the parent's next event. Detached work keeps the trace and
//! the spawn edge, and nobody joins it.

mod common;

use raceway::raceway_core::causality::HappensBefore;
use raceway::{Context, Event, Kind, ThreadId};

fn thread_of(events: &[Event], variable: &str) -> ThreadId {
    events
        .iter()
        .find(|e| e.kind.variable().is_some_and(|v| v == variable))
        .map(|e| e.thread)
        .expect("the write is recorded")
}

#[test]
fn spawn_and_join_are_edges() {
    let (client, captured) = common::client();
    let parent = client.start_trace();
    let entered = parent.enter();
    let handle = raceway::thread::spawn(|| raceway::track_write("report.rows", 0, 10));
    handle.join().unwrap();
    raceway::track_read("report.rows", 10);
    drop(entered);

    let events = common::drained(&client, &captured);
    let child = thread_of(&events, "report.rows");
    assert_ne!(child, parent.thread_id());
    let parent_kinds = common::kinds_of(&events, parent.thread_id());
    assert!(parent_kinds.contains(&Kind::Spawn { child }));
    let spawn = events
        .iter()
        .find(|e| e.kind == Kind::Spawn { child })
        .expect("the spawn is recorded");
    assert_eq!(
        spawn.location.file(),
        file!(),
        "the spawn is located at its caller"
    );
    assert!(parent_kinds.contains(&Kind::Join { child }));
    let child_kinds = common::kinds_of(&events, child);
    assert!(
        matches!(child_kinds[0], Kind::TraceStart { trace_id, .. } if trace_id == parent.trace_id())
    );
    assert_eq!(child_kinds.last(), Some(&Kind::ThreadEnd));

    // Replaying: the child's write happens before the parent's read after the join.
    let mut hb = HappensBefore::<32>::new();
    let mut write = None;
    let mut ordered = None;
    for event in &events {
        let observed = hb.observe(event);
        match event.kind {
            Kind::StateChange { .. } if event.thread == child => write = observed.epoch,
            Kind::StateChange { .. } if event.thread == parent.thread_id() => {
                ordered = Some(hb.happens_before(write.unwrap(), hb.clock(event.thread).unwrap()))
            }
            _ => {}
        }
    }
    assert_eq!(ordered, Some(true));
}

#[test]
fn detached_work_keeps_the_trace() {
    let (client, captured) = common::client();
    let request = client.start_trace();
    let background = request.detach();
    let background_thread = background.thread_id();
    drop(request); // the request ends; the background work goes on
    std::thread::spawn(move || background.run(|| raceway::track_write("email.sent", false, true)))
        .join()
        .unwrap();

    let events = common::drained(&client, &captured);
    assert_eq!(thread_of(&events, "email.sent"), background_thread);
    let spawns: Vec<&Event> = events
        .iter()
        .filter(|e| {
            e.kind
                == Kind::Spawn {
                    child: background_thread,
                }
        })
        .collect();
    assert_eq!(spawns.len(), 1);
    let request_thread = spawns[0].thread;
    let trace_of = |thread| {
        events.iter().find_map(|e| match e.kind {
            Kind::TraceStart { trace_id, .. } if e.thread == thread => Some(trace_id),
            _ => None,
        })
    };
    assert_eq!(trace_of(background_thread), trace_of(request_thread));
    assert!(!events.iter().any(|e| e.kind
        == Kind::Join {
            child: background_thread
        }));
    assert!(Context::current().is_none());
}

#[test]
fn each_context_starts_with_trace_start_and_ends_with_thread_end() {
    let (client, captured) = common::client();
    let ctx = client.start_trace();
    let thread = ctx.thread_id();
    let clone = ctx.clone();
    drop(ctx);
    assert!(common::drained(&client, &captured)
        .iter()
        .all(|e| e.kind != Kind::ThreadEnd));
    drop(clone);
    let kinds = common::kinds_of(&common::drained(&client, &captured), thread);
    assert_eq!(kinds, [Kind::ThreadEnd]);
}
