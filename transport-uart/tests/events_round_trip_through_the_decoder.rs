//! Every kind of event comes out of the host decoder exactly as it went into the encoder.

mod common;

use proptest::prelude::*;
use raceway_core::event::{
    Access, Direction, Event, FenceOrdering, InlineStr, Kind, LockKind, ThreadId, Value,
};
use raceway_core::symbol::Interner;
use raceway_core::trace_context::{SpanId, TraceId};
use raceway_transport_uart::FrameEncoderConfig;

static VALUES: Interner<64, 4096> = Interner::new();

const NAMES: [&str; 6] = [
    "counter",
    "accounts.alice.balance",
    "irq-lock",
    "GET",
    "ünïcödé.name",
    "",
];

/// Interned values (the interner is bounded, so they come from a pool).
const POOL: [&str; 7] = [
    "pending",
    "svc#web-1",
    "a much longer interned string value",
    "x",
    "ß",
    // An error's stack, frames separated by newlines.
    "app::handler\napp::main\nstd::rt::lang_start",
    // A foreign upstream span (the Go SDK's conformance vector).
    "parent-span-1111",
];

fn name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&NAMES[..])
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::None),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::I64),
        any::<u64>().prop_map(Value::U64),
        (-1e300f64..1e300).prop_map(Value::F64),
        prop::sample::select(&POOL[..]).prop_map(|s| Value::Str(VALUES.intern(s).unwrap())),
        "\\PC{0,20}".prop_map(|s| Value::Text(InlineStr::truncate(&s))),
    ]
}

fn access() -> impl Strategy<Value = Access> {
    prop::sample::select(vec![
        Access::Read,
        Access::Write,
        Access::AtomicRead,
        Access::AtomicWrite,
        Access::AtomicRmw,
    ])
}

fn lock_kind() -> impl Strategy<Value = LockKind> {
    prop::sample::select(vec![
        LockKind::Mutex,
        LockKind::RwRead,
        LockKind::RwWrite,
        LockKind::CriticalSection,
    ])
}

fn direction() -> impl Strategy<Value = Direction> {
    prop::sample::select(vec![Direction::Outbound, Direction::Inbound])
}

fn thread() -> impl Strategy<Value = ThreadId> {
    any::<u32>().prop_map(ThreadId::from_raw)
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        (name(), access(), value(), value()).prop_map(|(variable, access, old, new)| {
            Kind::StateChange {
                variable: variable.into(),
                access,
                old,
                new,
            }
        }),
        (name(), value()).prop_map(|(function, args)| Kind::FunctionCall { function, args }),
        (name(), any::<u64>(), value()).prop_map(|(function, duration_ns, value)| {
            Kind::FunctionReturn {
                function,
                duration_ns,
                value,
            }
        }),
        thread().prop_map(|child| Kind::Spawn { child }),
        thread().prop_map(|child| Kind::Join { child }),
        (name(), lock_kind()).prop_map(|(lock, lock_kind)| Kind::LockAcquire {
            lock: lock.into(),
            lock_kind
        }),
        (name(), lock_kind()).prop_map(|(lock, lock_kind)| Kind::LockRelease {
            lock: lock.into(),
            lock_kind
        }),
        prop::sample::select(vec![
            FenceOrdering::Relaxed,
            FenceOrdering::Acquire,
            FenceOrdering::Release,
            FenceOrdering::AcqRel,
            FenceOrdering::SeqCst,
        ])
        .prop_map(|ordering| Kind::MemoryFence { ordering }),
        (name(), value(), direction(), any::<u64>()).prop_map(|(method, url, direction, span)| {
            Kind::HttpRequest {
                method,
                url,
                direction,
                span,
            }
        }),
        (any::<u16>(), any::<u64>(), direction(), any::<u64>()).prop_map(
            |(status, duration_ns, direction, span)| Kind::HttpResponse {
                status,
                duration_ns,
                direction,
                span,
            }
        ),
        (name(), value(), any::<u64>()).prop_map(|(database, query, duration_ns)| {
            Kind::DatabaseQuery {
                database,
                query,
                duration_ns,
            }
        }),
        any::<u64>().prop_map(|rows_affected| Kind::DatabaseResult { rows_affected }),
        (name(), value(), value()).prop_map(|(error_type, message, stack)| Kind::Error {
            error_type,
            message,
            stack,
        }),
        (name(), value()).prop_map(|(name, data)| Kind::Custom { name, data }),
        any::<u64>().prop_map(|message| Kind::Send { message }),
        any::<u64>().prop_map(|message| Kind::Receive { message }),
        (any::<[u8; 16]>(), any::<[u8; 8]>(), value()).prop_map(|(t, s, upstream)| {
            Kind::TraceStart {
                trace_id: TraceId::from_bytes(t),
                span_id: SpanId::from_bytes(s),
                upstream,
            }
        }),
        (prop::sample::select(&POOL[..]), any::<u64>()).prop_map(|(component, counter)| {
            Kind::RemoteClock {
                component: VALUES.intern(component).unwrap(),
                counter,
            }
        }),
        Just(Kind::ThreadEnd),
        (1u32..).prop_map(|count| Kind::Dropped { count }),
    ]
}

/// Events recorded at a few different source lines; loss markers as the ring makes them.
fn event(site: u8, time: u64, thread: ThreadId, kind: Kind) -> Event {
    match (kind, site % 3) {
        (Kind::Dropped { count }, _) => Event::dropped(count),
        (kind, 0) => Event::new(time, thread, kind),
        (kind, 1) => Event::new(time, thread, kind),
        (kind, _) => Event::new(time, thread, kind),
    }
}

fn events() -> impl Strategy<Value = Vec<Event>> {
    prop::collection::vec(
        (any::<u8>(), any::<u64>(), thread(), kind())
            .prop_map(|(site, time, thread, kind)| event(site, time, thread, kind)),
        1..60,
    )
}

proptest! {
    #[test]
    fn events_round_trip(events in events(), resync_every in 0u32..20) {
        let config = FrameEncoderConfig { resync_every, clock_hz: 1000 };
        // A small table forces epochs to change in the middle of the stream too.
        let (bytes, _) = common::encode::<8>(&events, config);
        let decoded = common::decode(&bytes);
        let want: Vec<_> = events.iter().map(common::on_host).collect();
        prop_assert_eq!(decoded.events, want);
        prop_assert!(decoded.skipped.is_empty(), "{:?}", decoded.skipped);
    }
}

#[test]
fn error_stacks_and_foreign_upstream_spans_are_defined_and_resolved() {
    let stack = VALUES.intern(POOL[5]).unwrap();
    let foreign = VALUES.intern(POOL[6]).unwrap();
    let thread = ThreadId::from_raw(3);
    let events = [
        Event::new(
            1,
            thread,
            Kind::TraceStart {
                trace_id: TraceId::from_bytes([7; 16]),
                span_id: SpanId::from(0xb7ad_6b71_6920_3331),
                upstream: Value::Str(foreign),
            },
        ),
        Event::new(
            2,
            thread,
            Kind::TraceStart {
                trace_id: TraceId::from_bytes([7; 16]),
                span_id: SpanId::from(0x5399_5c3f_42cd_8ad8),
                upstream: Value::U64(0xb7ad_6b71_6920_3331),
            },
        ),
        Event::new(
            3,
            thread,
            Kind::Error {
                error_type: "io::Error",
                message: Value::Str(VALUES.intern(POOL[2]).unwrap()),
                stack: Value::Str(stack),
            },
        ),
    ];
    // The smallest table: the error's location, file, type, message and stack all need ids.
    let (bytes, _) = common::encode::<8>(&events, FrameEncoderConfig::DEFAULT);
    let decoded = common::decode(&bytes);
    assert!(decoded.skipped.is_empty(), "{:?}", decoded.skipped);
    let want: Vec<_> = events.iter().map(common::on_host).collect();
    assert_eq!(decoded.events, want);
    match decoded.events[2].kind {
        Kind::Error {
            stack: Value::Str(stack),
            ..
        } => assert_eq!(stack.as_str().lines().count(), 3),
        ref other => panic!("expected the error with its stack, got {other:?}"),
    }
}
