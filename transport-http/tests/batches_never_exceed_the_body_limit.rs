//! Batches split by bytes and by count, stay under 2 MiB, and keep parents ahead of children.

mod common;

use common::{encode_all, encoder_with, event, wire_events};
use raceway_core::event::{Access, Kind, LockKind, ThreadId, Value};
use raceway_core::symbol::Interner;
use raceway_core::trace_context::{SpanId, TraceId};
use raceway_transport_http::encode::{MAX_EVENT_BYTES, MAX_LOCK_SET, MAX_REMOTE_ENTRIES};
use raceway_transport_http::{BatchLimits, JsonEncoder, JsonEncoderConfig, MAX_BODY_BYTES};

/// The largest strings the encoder ever writes, made of the character that escapes longest.
fn huge(len: usize) -> &'static str {
    Box::leak("\u{1}".repeat(len).into_boxed_str())
}

#[test]
fn the_worst_case_event_fits_in_a_request() {
    static NAMES: Interner<64, { 256 * 1024 }> = Interner::new();
    let mut config = JsonEncoderConfig::new(huge(100_000), huge(100_000));
    config.environment = huge(100_000).to_owned();
    for i in 0..200 {
        config
            .tags
            .insert(format!("{i}{}", huge(1000)), huge(10_000).to_owned());
    }
    config.limits = BatchLimits {
        max_events: 1,
        max_bytes: MAX_BODY_BYTES,
    };
    let mut encoder = JsonEncoder::new(config);
    let big = huge(1 << 20);
    let thread = |raw| ThreadId::from_raw(raw);
    let mut events = vec![event(
        1,
        Kind::TraceStart {
            trace_id: TraceId::from(1u128),
            span_id: SpanId::from(1u64),
            upstream: Value::Str(NAMES.intern(huge(30_000)).unwrap()),
        },
    )];
    // A full clock: 40 threads that each hand a lock to thread 1.
    for other in 2..42 {
        events.push(event(
            other,
            Kind::LockAcquire {
                lock: "l".into(),
                lock_kind: LockKind::Mutex,
            },
        ));
        events.push(event(
            other,
            Kind::LockRelease {
                lock: "l".into(),
                lock_kind: LockKind::Mutex,
            },
        ));
        events.push(event(
            1,
            Kind::LockAcquire {
                lock: "l".into(),
                lock_kind: LockKind::Mutex,
            },
        ));
    }
    for i in 0..(MAX_REMOTE_ENTRIES + 8) {
        let component = NAMES.intern(&format!("{i}{}", huge(1000))).unwrap();
        events.push(event(
            1,
            Kind::RemoteClock {
                component,
                counter: u64::MAX,
            },
        ));
    }
    for i in 0..(MAX_LOCK_SET + 8) {
        let lock: &'static str = Box::leak(format!("{i}{}", huge(5000)).into_boxed_str());
        events.push(event(
            1,
            Kind::LockAcquire {
                lock: lock.into(),
                lock_kind: LockKind::Mutex,
            },
        ));
    }
    let text = Value::Str(NAMES.intern(huge(30_000)).unwrap());
    let mut worst = event(
        thread(1).to_raw(),
        Kind::StateChange {
            variable: big.into(),
            access: Access::Write,
            old: text,
            new: text,
        },
    );
    worst.location.file = big;
    events.push(worst);
    // The longest stack trace: as many one-character lines as fit, each escaping longest.
    let stack = Value::Str(NAMES.intern(&"\u{1}\n".repeat(30_000)).unwrap());
    let mut error = event(
        thread(1).to_raw(),
        Kind::Error {
            error_type: big,
            message: text,
            stack,
        },
    );
    error.location.file = big;
    events.push(error);

    let batches = encode_all(&mut encoder, &events);
    let largest = batches.iter().map(|b| b.body_len()).max().unwrap();
    assert!(largest <= MAX_EVENT_BYTES, "{largest} bytes");
    assert!(
        largest > 100_000,
        "the case is really large: {largest} bytes"
    );
    assert_eq!(encoder.stats().oversized, 0);
    wire_events(&batches[batches.len() - 2..]);
}

#[test]
fn batches_split_by_bytes_and_count_and_keep_parents_first() {
    let filler = Value::Str({
        static NAMES: Interner<4, 4096> = Interner::new();
        NAMES.intern(&"x".repeat(3000)).unwrap()
    });
    let mut events = Vec::new();
    for i in 0..2000u32 {
        let thread = 1 + i % 7;
        events.push(event(
            thread,
            Kind::Custom {
                name: "blob",
                data: filler,
            },
        ));
        if i % 100 == 0 {
            events.push(event(
                thread,
                Kind::Spawn {
                    child: ThreadId::from_raw(100 + i),
                },
            ));
            events.push(event(
                100 + i,
                Kind::Custom {
                    name: "child",
                    data: Value::None,
                },
            ));
        }
    }
    // Bytes: ~3 KB events, 2 MiB bodies, no count limit in reach.
    let mut encoder = encoder_with(BatchLimits {
        max_events: 100_000,
        max_bytes: MAX_BODY_BYTES,
    });
    let batches = encode_all(&mut encoder, &events);
    assert!(batches.len() >= 3, "{} batches", batches.len());
    for batch in &batches {
        assert!(batch.body_len() <= MAX_BODY_BYTES);
        assert!(batch.body_len() > MAX_BODY_BYTES - 8 * 1024 || batch == batches.last().unwrap());
    }
    let wire = wire_events(&batches);
    assert_eq!(wire.len(), events.len());
    let mut seen = std::collections::HashSet::new();
    for event in &wire {
        if let Some(parent) = event["parent_id"].as_str() {
            assert!(seen.contains(parent), "a parent is sent before its child");
        }
        seen.insert(event["id"].as_str().unwrap().to_owned());
    }

    // Count: 100 per batch.
    let mut encoder = encoder_with(BatchLimits {
        max_events: 100,
        max_bytes: MAX_BODY_BYTES,
    });
    let batches = encode_all(&mut encoder, &events[..1000]);
    assert!(batches.iter().all(|b| b.len() <= 100));
    assert_eq!(batches.iter().map(|b| b.len()).sum::<usize>(), 1000);
    assert_eq!(encoder.stats().batches, batches.len() as u64);
}

#[test]
fn an_event_too_large_for_any_request_is_dropped_and_the_batch_around_it_stays_whole() {
    let text = |len| {
        let interner = Box::leak(Box::new(Interner::<1, 65_536>::new()));
        Value::Str(interner.intern(huge(len)).unwrap())
    };
    let blob = |thread, data| event(thread, Kind::Custom { name: "blob", data });
    // Events of about 1 KB into bodies of 8 KiB; the third one alone would take 36 KB.
    let mut events: Vec<_> = (0..5).map(|i| blob(1 + i % 2, text(100))).collect();
    events.insert(2, blob(1, text(6_000)));
    events.insert(3, blob(2, text(100)));
    let mut encoder = encoder_with(BatchLimits {
        max_events: 100,
        max_bytes: 8 * 1024,
    });
    let batches = encode_all(&mut encoder, &events);
    assert_eq!(encoder.stats().oversized, 1);
    assert!(batches.iter().all(|batch| batch.body_len() <= 8 * 1024));
    let wire = wire_events(&batches);
    assert_eq!(wire.len(), events.len() - 1);
    let sizes: Vec<usize> = batches.iter().map(|batch| batch.len()).collect();
    assert_eq!(sizes, [6], "the events on either side share one batch");
}
