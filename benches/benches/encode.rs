//! The drain's encoding step: core events to the Raceway server's JSON, on one thread.
//!
//! * `drain/encode_json` — [`Encoder::encode`] over a realistic stream (four logical threads
//!   taking turns on a lock, state changes with old and new values, function calls), batches
//!   of 100 handed out and dropped. Counts include ids, timestamps, vector clocks (the
//!   happens-before replay), lock sets and batching.
//! * `baseline/serde_json_value` — what a quick implementation would do: build a
//!   `serde_json::Value` per event with `json!` (UUID and timestamp formatted with `format!`)
//!   and serialise it; no clocks, no batching.
//!
//! Run: `cargo bench -p raceway-benches --bench encode`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use raceway_core::event::{Access, Event, Kind, LockKind, ThreadId, Value};
use raceway_transport_http::{Encoder, EncoderConfig};

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
        let mut encoder = Encoder::new(EncoderConfig::new("bank", "host-4242"));
        b.iter(|| {
            for event in &events {
                if let Some(batch) = encoder.encode(event) {
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
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
