//! Every tracking call, free function or context method, records the expected core event in the
//! current context's logical thread, at the caller's source line.

mod common;

use std::time::Duration;

use raceway::raceway_core::event::FenceOrdering;
use raceway::{Access, Direction, Event, Kind, LockKind, Value};

fn only(events: &[Event], line: u32) -> Event {
    let here: Vec<_> = events
        .iter()
        .filter(|e| e.location.line() == line && e.location.file().ends_with(file!()))
        .collect();
    assert_eq!(here.len(), 1, "one event at line {line}: {here:?}");
    *here[0]
}

#[test]
fn free_functions_record_into_the_current_context() {
    let (client, captured) = common::client();
    let ctx = client.start_trace();
    let thread = ctx.thread_id();
    let entered = ctx.enter();

    let mut expected: Vec<(u32, Kind)> = Vec::new();
    let state = |access, old, new| Kind::StateChange {
        variable: "accounts.alice.balance".into(),
        access,
        old,
        new,
    };
    let line = line!() + 1;
    raceway::track_state_change("accounts.alice.balance", Access::Write, 1, 2);
    expected.push((line, state(Access::Write, Value::I64(1), Value::I64(2))));
    let line = line!() + 1;
    raceway::track_read("accounts.alice.balance", 7u64);
    expected.push((line, state(Access::Read, Value::None, Value::U64(7))));
    let line = line!() + 1;
    raceway::track_write("accounts.alice.balance", 1.5, 2.5);
    expected.push((line, state(Access::Write, Value::F64(1.5), Value::F64(2.5))));
    let line = line!() + 1;
    raceway::track_atomic_read("accounts.alice.balance", true);
    expected.push((
        line,
        state(Access::AtomicRead, Value::None, Value::Bool(true)),
    ));
    let line = line!() + 1;
    raceway::track_atomic_write("accounts.alice.balance", 0, 1);
    expected.push((
        line,
        state(Access::AtomicWrite, Value::I64(0), Value::I64(1)),
    ));
    let line = line!() + 1;
    raceway::track_atomic_rmw("accounts.alice.balance", 1, 2);
    expected.push((line, state(Access::AtomicRmw, Value::I64(1), Value::I64(2))));
    let line = line!() + 1;
    raceway::track_function_call("transfer", 3);
    expected.push((
        line,
        Kind::FunctionCall {
            function: "transfer",
            args: Value::I64(3),
        },
    ));
    let line = line!() + 1;
    raceway::track_function_return("transfer", Duration::from_nanos(42), Some(1u8));
    expected.push((
        line,
        Kind::FunctionReturn {
            function: "transfer",
            duration_ns: 42,
            value: Value::U64(1),
        },
    ));
    let line = line!() + 1;
    raceway::track_lock_acquire("accounts", LockKind::Mutex);
    expected.push((
        line,
        Kind::LockAcquire {
            lock: "accounts".into(),
            lock_kind: LockKind::Mutex,
        },
    ));
    let line = line!() + 1;
    raceway::track_lock_release("accounts", LockKind::RwRead);
    expected.push((
        line,
        Kind::LockRelease {
            lock: "accounts".into(),
            lock_kind: LockKind::RwRead,
        },
    ));
    let line = line!() + 1;
    raceway::track_error("io::Error", "disk");
    expected.push((
        line,
        Kind::Error {
            error_type: "io::Error",
            message: raceway::text("disk"),
            stack: Value::None,
        },
    ));
    let line = line!() + 1;
    raceway::track_custom("cache.miss", Value::None);
    expected.push((
        line,
        Kind::Custom {
            name: "cache.miss",
            data: Value::None,
        },
    ));
    let line = line!() + 1;
    raceway::track_db_result(3);
    expected.push((line, Kind::DatabaseResult { rows_affected: 3 }));
    let line = line!() + 1;
    raceway::track_fence(FenceOrdering::SeqCst);
    expected.push((
        line,
        Kind::MemoryFence {
            ordering: FenceOrdering::SeqCst,
        },
    ));
    let line = line!() + 1;
    raceway::track_send("jobs", 9);
    expected.push((
        line,
        Kind::Send {
            message: raceway::message_key("jobs", 9),
        },
    ));
    let line = line!() + 1;
    raceway::track_receive("jobs", 9);
    expected.push((
        line,
        Kind::Receive {
            message: raceway::message_key("jobs", 9),
        },
    ));
    let span = u64::from_be_bytes(ctx.span_id().to_bytes());
    let line = line!() + 1;
    raceway::track_http_request(Direction::Inbound, "get", "/transfer");
    expected.push((
        line,
        Kind::HttpRequest {
            method: "GET",
            url: raceway::text("/transfer"),
            direction: Direction::Inbound,
            span,
        },
    ));
    let line = line!() + 1;
    raceway::track_http_response(Direction::Inbound, 201, Duration::from_nanos(5));
    expected.push((
        line,
        Kind::HttpResponse {
            status: 201,
            duration_ns: 5,
            direction: Direction::Inbound,
            span,
        },
    ));
    let line = line!() + 1;
    ctx.track_write(format_args!("accounts.{}.balance", "alice"), 1, 2);
    expected.push((line, state(Access::Write, Value::I64(1), Value::I64(2))));
    let line = line!() + 1;
    ctx.track_custom(String::from("dynamic.name"), 1);
    expected.push((
        line,
        Kind::Custom {
            name: "dynamic.name",
            data: Value::I64(1),
        },
    ));
    drop(entered);

    let events = common::drained(&client, &captured);
    for (line, kind) in expected {
        let event = only(&events, line);
        assert_eq!(event.kind, kind, "line {line}");
        assert_eq!(event.thread, thread, "line {line}");
    }
}

#[test]
fn errors_with_stacks_and_error_values_are_recorded() {
    let (client, captured) = common::client();
    let ctx = client.start_trace();
    let _entered = ctx.enter();
    let stack_line = line!() + 1;
    raceway::track_error_with_stack("Panic", "boom", "main.rs:1\nlib.rs:2");
    let value_line = line!() + 1;
    raceway::track_error_value(&std::io::Error::other("no space"));
    let events = common::drained(&client, &captured);
    let at = |line| -> Vec<Kind> {
        events
            .iter()
            .filter(|e| e.location.line() == line)
            .map(|e| e.kind)
            .collect()
    };
    // One event: the stack travels inside the error, interned whole.
    match at(stack_line)[..] {
        [Kind::Error {
            error_type: "Panic",
            message,
            stack: Value::Str(stack),
        }] => {
            assert_eq!(message, raceway::text("boom"));
            assert_eq!(stack.as_str(), "main.rs:1\nlib.rs:2");
        }
        ref other => panic!("expected one error with its stack, got {other:?}"),
    }
    assert_eq!(
        at(value_line),
        [Kind::Error {
            error_type: "std::io::error::Error",
            message: raceway::text("no space"),
            stack: Value::None,
        }]
    );
}

#[test]
fn function_guards_record_call_and_return_with_duration() {
    let (client, captured) = common::client();
    let ctx = client.start_trace();
    let _entered = ctx.enter();
    let line = line!() + 1;
    let value = raceway::track_function("settle", || {
        std::thread::sleep(Duration::from_millis(2));
        42
    });
    assert_eq!(value, 42);
    let guard_line = line!() + 1;
    let mut guard = raceway::start_function("audit");
    guard.set_return_value(true);
    drop(guard);

    let events = common::drained(&client, &captured);
    let at = |line| -> Vec<Kind> {
        events
            .iter()
            .filter(|e| e.location.line() == line)
            .map(|e| e.kind)
            .collect()
    };
    let settle = at(line);
    assert_eq!(
        settle[0],
        Kind::FunctionCall {
            function: "settle",
            args: Value::None
        }
    );
    match settle[1] {
        Kind::FunctionReturn {
            function: "settle",
            duration_ns,
            ..
        } => assert!(duration_ns >= 2_000_000, "{duration_ns}"),
        other => panic!("expected a return, got {other:?}"),
    }
    assert!(matches!(
        at(guard_line)[1],
        Kind::FunctionReturn {
            function: "audit",
            value: Value::Bool(true),
            ..
        }
    ));
}
