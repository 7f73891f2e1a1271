//! Parent chains, spawn roots, trace binding and inherited clocks, as the server needs them.

mod common;

use common::{custom, encode_valid, event};
use raceway_core::event::{InlineStr, Kind, ThreadId, Value};
use raceway_core::symbol::Interner;
use raceway_core::trace_context::{SpanId, TraceId};
use serde_json::json;

const TRACE: &str = "0af76519-16cd-43dd-8448-eb211c80319c";

fn trace_start(upstream: Value) -> Kind {
    Kind::TraceStart {
        trace_id: TraceId::parse_uuid(TRACE).unwrap(),
        span_id: SpanId::parse_hex16("b7ad6b7169203331").unwrap(),
        upstream,
    }
}

#[test]
fn each_thread_is_a_chain_and_a_spawned_thread_starts_at_its_spawn() {
    let child = ThreadId::from_raw(2);
    let wire = encode_valid(&[
        event(1, custom("a", 0)),        // 0
        event(3, custom("other", 0)),    // 1: unrelated thread
        event(1, Kind::Spawn { child }), // 2
        event(2, custom("child", 0)),    // 3
        event(1, custom("b", 0)),        // 4
        event(2, custom("child", 1)),    // 5
        event(2, Kind::ThreadEnd),       // (no event)
        event(1, Kind::Join { child }),  // 6
    ]);
    let id = |i: usize| wire[i]["id"].clone();
    assert_eq!(wire[0]["parent_id"], json!(null));
    assert_eq!(wire[1]["parent_id"], json!(null));
    assert_eq!(wire[2]["parent_id"], id(0));
    assert_eq!(
        wire[3]["parent_id"],
        id(2),
        "the child's first event hangs off the spawn"
    );
    assert_eq!(wire[4]["parent_id"], id(2));
    assert_eq!(wire[5]["parent_id"], id(3));
    assert_eq!(
        wire[6]["parent_id"],
        id(5),
        "the join hangs from the child's last event"
    );

    // Unbound threads share the encoder's default trace.
    for event in &wire {
        assert_eq!(event["trace_id"], wire[0]["trace_id"]);
    }
    let ids: std::collections::HashSet<String> = wire
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), wire.len(), "ids are unique");

    // Threads are named by their runs, numbered as they start: thread 3 is the second run,
    // the child the third.
    assert_eq!(wire[1]["metadata"]["thread_id"], "bank#host-1#t2");
    assert_eq!(wire[3]["metadata"]["thread_id"], "bank#host-1#t3");
    // Happens-before: the child starts from the spawn's clock. After the join the joiner's own
    // entry stands for the child's whole run (the replay keeps no entry for joined runs; the
    // server orders the two threads by the join's parent link, checked above).
    assert_eq!(
        wire[3]["causality_vector"],
        json!([["bank#host-1#t1", 2], ["bank#host-1#t3", 1]])
    );
    assert_eq!(wire[6]["causality_vector"], json!([["bank#host-1#t1", 4]]));
}

#[test]
fn trace_start_binds_and_children_inherit_the_trace() {
    static NAMES: Interner<8, 256> = Interner::new();
    let upstream = Value::U64(0x00f0_67aa_0ba9_02b7);
    let child = ThreadId::from_raw(2);
    let wire = encode_valid(&[
        event(1, custom("before", 0)), // 0: default trace
        event(1, trace_start(upstream)),
        event(
            1,
            Kind::RemoteClock {
                component: NAMES.intern("checkout#web-1").unwrap(),
                counter: 4,
            },
        ),
        event(1, custom("first", 0)),    // 1
        event(1, Kind::Spawn { child }), // 2
        event(2, custom("child", 0)),    // 3
    ]);
    assert_ne!(wire[0]["trace_id"], TRACE);
    assert_eq!(wire[1]["trace_id"], TRACE);
    assert_eq!(
        wire[1]["parent_id"],
        json!(null),
        "a new trace starts a new chain"
    );
    assert_eq!(
        wire[1]["metadata"]["distributed_span_id"],
        "b7ad6b7169203331"
    );
    assert_eq!(wire[1]["metadata"]["upstream_span_id"], "00f067aa0ba902b7");
    assert!(
        wire[2]["metadata"].get("upstream_span_id").is_none(),
        "only the first event of the hop carries the upstream span"
    );
    assert_eq!(
        wire[2]["metadata"]["distributed_span_id"],
        "b7ad6b7169203331"
    );
    assert_eq!(
        wire[1]["causality_vector"],
        json!([["bank#host-1#t1", 4], ["checkout#web-1", 4]])
    );

    assert_eq!(wire[3]["trace_id"], TRACE, "the child inherits the trace");
    assert_eq!(
        wire[3]["metadata"]["distributed_span_id"],
        "b7ad6b7169203331"
    );
    assert!(wire[3]["metadata"].get("upstream_span_id").is_none());
    assert_eq!(wire[3]["parent_id"], wire[2]["id"]);
    let vector = wire[3]["causality_vector"].as_array().unwrap();
    assert!(
        vector.contains(&json!(["checkout#web-1", 4])),
        "remote entries are inherited"
    );
}

#[test]
fn thread_end_frees_the_threads_state() {
    let mut encoder = common::encoder();
    for thread in 1..=100 {
        let _ = encoder.encode(&event(thread, custom("work", 0)));
    }
    assert_eq!(encoder.live_threads(), 100);
    for thread in 1..=100 {
        let _ = encoder.encode(&event(thread, Kind::ThreadEnd));
    }
    assert_eq!(encoder.live_threads(), 0);
    let stats = encoder.stats();
    assert_eq!(stats.consumed, 200);
    assert_eq!(
        stats.metadata + stats.encoded + stats.oversized,
        stats.consumed
    );
}

#[test]
fn a_foreign_upstream_span_is_written_as_its_text_once() {
    static NAMES: Interner<8, 256> = Interner::new();
    let foreign = Value::Str(NAMES.intern("parent-span-1111").unwrap());
    let wire = encode_valid(&[
        event(1, trace_start(foreign)),
        event(1, custom("first", 0)),  // 0
        event(1, custom("second", 0)), // 1
        event(2, trace_start(Value::Text(InlineStr::truncate("span-7")))),
        event(2, custom("first", 0)), // 2
        event(3, trace_start(Value::None)),
        event(3, custom("first", 0)), // 3
        event(4, trace_start(Value::U64(0))),
        event(4, custom("first", 0)), // 4
    ]);
    assert_eq!(wire[0]["metadata"]["upstream_span_id"], "parent-span-1111");
    assert!(wire[1]["metadata"].get("upstream_span_id").is_none());
    assert_eq!(wire[2]["metadata"]["upstream_span_id"], "span-7");
    assert!(wire[3]["metadata"].get("upstream_span_id").is_none());
    assert!(
        wire[4]["metadata"].get("upstream_span_id").is_none(),
        "the all-zero span is no span"
    );
}
