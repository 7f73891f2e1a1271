//! Every core kind becomes a schema-valid server event with the fields the mapping promises.

mod common;

use common::{encode_valid, event};
use raceway_core::event::{
    Access, Direction, FenceOrdering, InlineStr, Kind, LockKind, ThreadId, Value,
};
use serde_json::json;

#[test]
fn every_kind_encodes_to_a_schema_valid_event() {
    let text = |s: &str| Value::Text(InlineStr::truncate(s));
    let kinds = [
        Kind::StateChange {
            variable: "accounts.alice.balance".into(),
            access: Access::AtomicRmw,
            old: Value::I64(100),
            new: Value::F64(f64::NAN),
        },
        Kind::FunctionCall {
            function: "bank::transfer",
            args: Value::U64(50),
        },
        Kind::FunctionReturn {
            function: "bank::transfer",
            duration_ns: 1_500_000,
            value: Value::Bool(true),
        },
        Kind::Spawn {
            child: ThreadId::from_raw(2),
        },
        Kind::Join {
            child: ThreadId::from_raw(2),
        },
        Kind::LockAcquire {
            lock: "accounts".into(),
            lock_kind: LockKind::RwWrite,
        },
        Kind::LockRelease {
            lock: "accounts".into(),
            lock_kind: LockKind::RwWrite,
        },
        Kind::MemoryFence {
            ordering: FenceOrdering::AcqRel,
        },
        Kind::HttpRequest {
            method: "POST",
            url: text("/transfer"),
            direction: Direction::Outbound,
            span: 0xb7ad_6b71_6920_3331,
        },
        Kind::HttpResponse {
            status: 201,
            duration_ns: 2_600_000,
            direction: Direction::Inbound,
            span: 0,
        },
        Kind::DatabaseQuery {
            database: "ledger",
            query: text("SELECT 1"),
            duration_ns: 3_000_000,
        },
        Kind::DatabaseResult { rows_affected: 7 },
        Kind::Error {
            error_type: "InsufficientFunds",
            message: Value::I64(-3),
            stack: Value::None,
        },
        Kind::Custom {
            name: "audit",
            data: Value::None,
        },
        Kind::Send { message: 9 },
        Kind::Receive { message: 9 },
        Kind::Dropped { count: 12 },
    ];
    let events: Vec<_> = kinds.iter().map(|&kind| event(1, kind)).collect();
    let wire = encode_valid(&events);
    assert_eq!(wire.len(), kinds.len(), "one wire event per kind");
    let payload = |i: usize, name: &str| wire[i]["kind"][name].clone();

    assert_eq!(
        payload(0, "StateChange"),
        json!({"variable": "accounts.alice.balance", "old_value": 100, "new_value": "NaN",
               "location": "src/bank.rs:42", "access_type": "AtomicRMW"})
    );
    assert_eq!(
        payload(1, "FunctionCall"),
        json!({"function_name": "transfer", "module": "bank", "args": 50,
               "file": "src/bank.rs", "line": 42})
    );
    assert_eq!(payload(2, "Custom")["name"], "FunctionReturn");
    assert_eq!(
        payload(2, "Custom")["data"],
        json!({"function_name": "transfer", "module": "bank", "duration_ns": 1_500_000,
               "return_value": true, "file": "src/bank.rs", "line": 42})
    );
    assert_eq!(wire[2]["metadata"]["duration_ns"], 1_500_000);

    let task_id = payload(3, "AsyncSpawn")["task_id"].clone();
    assert_eq!(payload(3, "AsyncSpawn")["spawned_by"], "bank#host-1#t1");
    assert_eq!(
        payload(4, "AsyncAwait")["future_id"],
        task_id,
        "join names the spawned task"
    );
    assert_eq!(payload(4, "AsyncAwait")["awaited_at"], "src/bank.rs:42");

    assert_eq!(
        payload(5, "LockAcquire"),
        json!({"lock_id": "accounts", "lock_type": "RwLockWrite", "location": "src/bank.rs:42"})
    );
    assert_eq!(wire[5]["lock_set"], json!(["accounts"]));
    assert_eq!(
        wire[6]["lock_set"],
        json!(["accounts"]),
        "held until really released"
    );
    assert_eq!(payload(6, "LockRelease")["lock_type"], "RwLockWrite");
    assert_eq!(wire[7]["lock_set"], json!([]));
    assert_eq!(
        payload(7, "MemoryFence"),
        json!({"ordering": "AcqRel", "location": "src/bank.rs:42"})
    );
    assert_eq!(
        payload(8, "HttpRequest"),
        json!({"method": "POST", "url": "/transfer", "headers": {},
               "direction": "Outbound", "span_id": "b7ad6b7169203331"})
    );
    assert_eq!(
        payload(9, "HttpResponse"),
        json!({"status": 201, "headers": {}, "duration_ms": 2, "direction": "Inbound"})
    );
    assert_eq!(wire[9]["metadata"]["duration_ns"], 2_600_000);
    assert_eq!(
        payload(10, "DatabaseQuery"),
        json!({"query": "SELECT 1", "database": "ledger", "duration_ms": 3})
    );
    assert_eq!(payload(11, "DatabaseResult"), json!({"rows_affected": 7}));
    assert_eq!(
        payload(12, "Error"),
        json!({"error_type": "InsufficientFunds", "message": "-3",
               "stack_trace": ["src/bank.rs:42"]})
    );
    assert_eq!(
        payload(13, "Custom"),
        json!({"name": "audit", "data": null})
    );
    assert_eq!(
        payload(14, "Custom"),
        json!({"name": "Send", "data": {"message": 9}})
    );
    assert_eq!(
        payload(15, "Custom"),
        json!({"name": "Receive", "data": {"message": 9}})
    );
    assert_eq!(
        payload(16, "Custom"),
        json!({"name": "raceway.dropped", "data": {"count": 12}})
    );

    for (i, event) in wire.iter().enumerate().take(16) {
        let metadata = &event["metadata"];
        assert_eq!(metadata["thread_id"], "bank#host-1#t1", "event {i}");
        assert_eq!(metadata["service_name"], "bank");
        assert_eq!(metadata["instance_id"], "host-1");
        assert_eq!(metadata["environment"], "development");
        assert_eq!(metadata["process_id"], std::process::id());
        assert_eq!(metadata["tags"], json!({"sdk_language": "rust"}));
        assert!(metadata.get("upstream_span_id").is_none());
        // Own component only (the thread never synchronised with another).
        assert_eq!(
            event["causality_vector"],
            json!([["bank#host-1#t1", i + 1]])
        );
        assert_eq!(event["timestamp"], "2026-11-26T16:11:38.000000000Z");
    }
}

#[test]
fn metadata_only_kinds_produce_no_event() {
    use raceway_core::trace_context::{SpanId, TraceId};
    let wire = encode_valid(&[
        event(
            1,
            Kind::TraceStart {
                trace_id: TraceId::from(7u128),
                span_id: SpanId::from(9u64),
                upstream: Value::None,
            },
        ),
        event(1, Kind::ThreadEnd),
    ]);
    assert!(wire.is_empty());
}

#[test]
fn an_errors_stack_becomes_its_stack_trace_lines() {
    use raceway_core::symbol::Interner;
    static NAMES: Interner<8, 1024> = Interner::new();
    let stack = |text: &str| Value::Str(NAMES.intern(text).unwrap());
    let error = |stack| Kind::Error {
        error_type: "io::Error",
        message: Value::Text(InlineStr::truncate("disk full")),
        stack,
    };
    let wire = encode_valid(&[
        event(
            1,
            error(stack("app::save\r\n  at src/app.rs:10\n\napp::main\n")),
        ),
        event(1, error(Value::Text(InlineStr::truncate("one::frame")))),
        // Blank stacks and non-text values fall back to the event's location.
        event(1, error(stack(" \n\n"))),
        event(1, error(Value::U64(3))),
    ]);
    let trace = |i: usize| wire[i]["kind"]["Error"]["stack_trace"].clone();
    assert_eq!(
        trace(0),
        json!(["app::save", "  at src/app.rs:10", "app::main"])
    );
    assert_eq!(trace(1), json!(["one::frame"]));
    assert_eq!(trace(2), json!(["src/bank.rs:42"]));
    assert_eq!(trace(3), json!(["src/bank.rs:42"]));
}
