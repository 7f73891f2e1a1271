//! The drain's encoding step: core events to the Raceway server's JSON, on one thread.
//!
//! * `drain/encode_json` — [`JsonEncoder::encode`] over a realistic stream (four logical threads
//!   taking turns on a lock, state changes with old and new values, function calls), batches
//!   of 100 handed out and dropped. Counts include ids, timestamps, vector clocks (the
//!   happens-before replay), lock sets and batching.
//! * `baseline/serde_json_value` — what a quick implementation would do: build a
//!   `serde_json::Value` per event with `json!` (UUID and timestamp formatted with `format!`)
//!   and serialise it; no clocks, no batching.
//! * `baseline/serde_derive_to_writer` — what a careful user would write instead:
//!   `#[derive(Serialize)]` structs of the same shape, ids and timestamps written through
//!   `Display` (no intermediate strings), `serde_json::to_writer` into a reused buffer.
//!
//! Run: `cargo bench -p raceway-benches --bench encode`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use raceway_core::event::{Access, Event, Kind, LockKind, ThreadId, Value};
use raceway_transport_http::{JsonEncoder, JsonEncoderConfig};

const EVENTS: usize = 10_000;
const T0: u64 = 1_795_709_498_000_000_000;

fn stream() -> Vec<Event> {
    let mut events = Vec::with_capacity(EVENTS);
    let mut i = 0u64;
    while events.len() < EVENTS {
        let thread = ThreadId::from_raw(1 + (i % 4) as u32);
        let time = T0 + i * 1000;
        let lock = |acquire| {
            let (lock, lock_kind) = ("accounts".into(), LockKind::Mutex);
            if acquire {
                Kind::LockAcquire { lock, lock_kind }
            } else {
                Kind::LockRelease { lock, lock_kind }
            }
        };
        events.push(Event::new(time, thread, lock(true)));
        events.push(Event::new(
            time,
            thread,
            Kind::FunctionCall {
                function: "bank::transfer",
                args: Value::U64(i),
            },
        ));
        events.push(Event::new(
            time,
            thread,
            Kind::StateChange {
                variable: "accounts.alice.balance".into(),
                access: Access::Read,
                old: Value::None,
                new: Value::I64(1000 - i as i64),
            },
        ));
        events.push(Event::new(
            time,
            thread,
            Kind::StateChange {
                variable: "accounts.alice.balance".into(),
                access: Access::Write,
                old: Value::I64(1000 - i as i64),
                new: Value::I64(999 - i as i64),
            },
        ));
        events.push(Event::new(time, thread, lock(false)));
        i += 1;
    }
    events
}

fn bench(c: &mut Criterion) {
    let events = stream();
    let mut group = c.benchmark_group("drain");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("encode_json", |b| {
        let mut encoder = JsonEncoder::new(JsonEncoderConfig::new("bank", "host-4242"));
        b.iter(|| {
            for event in &events {
                if let Some(batch) = encoder.encode(event).batch {
                    black_box(batch.body_len());
                }
            }
            black_box(encoder.flush());
        });
    });
    group.finish();

    let mut group = c.benchmark_group("baseline");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("serde_json_value", |b| {
        let mut out = Vec::with_capacity(1 << 20);
        b.iter(|| {
            out.clear();
            for (n, event) in events.iter().enumerate() {
                let id = format!("{:08x}-0000-4000-8000-{:012x}", n, event.time);
                let seconds = event.time / 1_000_000_000;
                let timestamp = format!("{seconds}.{:09}Z", event.time % 1_000_000_000);
                let kind = match event.kind {
                    Kind::StateChange { variable, access, new, .. } => serde_json::json!({
                        "StateChange": {"variable": variable.to_string(), "new_value": format!("{new:?}"),
                                        "location": format!("{}:{}", event.location.file(), event.location.line()),
                                        "access_type": access.as_str()}}),
                    _ => serde_json::json!({"Custom": {"name": "other", "data": null}}),
                };
                let value = serde_json::json!({
                    "id": id, "trace_id": id, "parent_id": null, "timestamp": timestamp,
                    "kind": kind,
                    "metadata": {"thread_id": event.thread.to_string(), "process_id": 1,
                                 "service_name": "bank", "environment": "development",
                                 "tags": {"sdk_language": "rust"}, "instance_id": "host-4242"},
                    "causality_vector": [[event.thread.to_string(), n]],
                    "lock_set": [],
                });
                serde_json::to_writer(&mut out, &value).unwrap();
            }
            black_box(out.len());
        });
    });
    group.bench_function("serde_derive_to_writer", |b| {
        let mut out = Vec::with_capacity(1 << 20);
        b.iter(|| {
            out.clear();
            for (n, event) in events.iter().enumerate() {
                let wire = derived::WireEvent::new(n as u64, event);
                serde_json::to_writer(&mut out, &wire).unwrap();
            }
            black_box(out.len());
        });
    });
    group.finish();
}

/// The same JSON shape as `baseline/serde_json_value`, as derived structs that borrow from the
/// event and format ids, timestamps and locations straight into the output.
mod derived {
    use std::fmt;
    use std::panic::Location;

    use raceway_core::event::{Event, Kind, ThreadId, Value};
    use serde::{Serialize, Serializer};

    /// Serialises through `Display`, into the output with no `String` in between.
    struct Shown<T>(T);

    impl<T: fmt::Display> Serialize for Shown<T> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_str(&self.0)
        }
    }

    /// A UUID-shaped id from a sequence number and a time.
    struct Id(u64, u64);

    impl fmt::Display for Id {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(
                f,
                "{:08x}-0000-4000-8000-{:012x}",
                self.0,
                self.1 & 0xffff_ffff_ffff
            )
        }
    }

    /// RFC 3339 in UTC from Unix nanoseconds (days to civil date after H. Hinnant's algorithm).
    struct Timestamp(u64);

    impl fmt::Display for Timestamp {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let seconds = self.0 / 1_000_000_000;
            let (days, rest) = ((seconds / 86_400) as i64, seconds % 86_400);
            let z = days + 719_468;
            let era = z.div_euclid(146_097);
            let doe = z - era * 146_097;
            let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
            let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            let mp = (5 * doy + 2) / 153;
            let day = doy - (153 * mp + 2) / 5 + 1;
            let month = if mp < 10 { mp + 3 } else { mp - 9 };
            let year = yoe + era * 400 + i64::from(month <= 2);
            write!(
                f,
                "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
                rest / 3600,
                rest / 60 % 60,
                rest % 60,
                self.0 % 1_000_000_000
            )
        }
    }

    /// A source location as `file:line`.
    struct Line(&'static Location<'static>);

    impl fmt::Display for Line {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{}:{}", self.0.file(), self.0.line())
        }
    }

    /// A value as the wire's JSON scalar.
    struct Scalar(Value);

    impl Serialize for Scalar {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            match self.0 {
                Value::None => serializer.serialize_none(),
                Value::Bool(b) => serializer.serialize_bool(b),
                Value::I64(n) => serializer.serialize_i64(n),
                Value::U64(n) => serializer.serialize_u64(n),
                Value::F64(x) => serializer.serialize_f64(x),
                Value::Str(_) | Value::Text(_) => {
                    serializer.collect_str(&format_args!("{:?}", self.0))
                }
            }
        }
    }

    #[derive(Serialize)]
    enum WireKind {
        StateChange {
            variable: &'static str,
            old_value: Scalar,
            new_value: Scalar,
            location: Shown<Line>,
            access_type: &'static str,
        },
        Custom {
            name: &'static str,
            data: Option<()>,
        },
    }

    #[derive(Serialize)]
    struct Tags {
        sdk_language: &'static str,
    }

    #[derive(Serialize)]
    struct Metadata {
        thread_id: Shown<ThreadId>,
        process_id: u32,
        service_name: &'static str,
        environment: &'static str,
        tags: Tags,
        instance_id: &'static str,
    }

    /// One event in the wire's shape.
    #[derive(Serialize)]
    pub struct WireEvent {
        id: Shown<Id>,
        trace_id: Shown<Id>,
        parent_id: Option<Shown<Id>>,
        timestamp: Shown<Timestamp>,
        kind: WireKind,
        metadata: Metadata,
        causality_vector: [(Shown<ThreadId>, u64); 1],
        lock_set: [&'static str; 0],
    }

    impl WireEvent {
        pub fn new(n: u64, event: &Event) -> Self {
            let kind = match event.kind {
                Kind::StateChange {
                    variable,
                    access,
                    old,
                    new,
                } => WireKind::StateChange {
                    variable: variable.as_str().unwrap_or_default(),
                    old_value: Scalar(old),
                    new_value: Scalar(new),
                    location: Shown(Line(event.location)),
                    access_type: access.as_str(),
                },
                _ => WireKind::Custom {
                    name: "other",
                    data: None,
                },
            };
            WireEvent {
                id: Shown(Id(n, event.time)),
                trace_id: Shown(Id(n, event.time)),
                parent_id: None,
                timestamp: Shown(Timestamp(event.time)),
                kind,
                metadata: Metadata {
                    thread_id: Shown(event.thread),
                    process_id: 1,
                    service_name: "bank",
                    environment: "development",
                    tags: Tags {
                        sdk_language: "rust",
                    },
                    instance_id: "host-4242",
                },
                causality_vector: [(Shown(event.thread), n)],
                lock_set: [],
            }
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
