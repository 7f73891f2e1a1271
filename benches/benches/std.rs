//! The std face's record path, side by side with the core's, in one run.
//!
//! * `record/std_state_change` — `raceway::track_write` with a literal name and integer values
//!   into the current context, through the full std API (thread-local context and lane lookup,
//!   the TSC time source), while the client's drain thread delivers to a sink that discards.
//! * `baseline/core_state_change` — the same event pushed straight into a leased lane of the
//!   same capacity kept drained by a thread, as `record/state_change` in `--bench record`.
//! * `time/ticks` and `time/instant_now` — the std time source against `Instant::now`.
//!
//! Run: `cargo bench -p raceway-benches --bench std` (and `--bench record` for the core's own
//! figure).

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use raceway::sink::CallbackSink;
use raceway::{Client, Config, Event};
use raceway_core::event::{Access, Kind, ThreadId, Value};
use raceway_core::lanes::Lanes;

/// Events per recording thread, the std client's default.
const CAPACITY: usize = raceway::config::DEFAULT_LANE_CAPACITY;

fn std_record(c: &mut Criterion) {
    let mut group = c.benchmark_group("record");
    group.throughput(Throughput::Elements(1));
    let config = Config::builder()
        .lane_capacity(CAPACITY)
        .build()
        .expect("valid config");
    let sink = CallbackSink::new(|batch: &[Event]| {
        black_box(batch.len());
    });
    let client = Client::new(config, sink).expect("drain thread");
    let ctx = client.start_trace();
    let entered = ctx.enter();
    group.bench_function("std_state_change", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            raceway::track_write("accounts.alice.balance", black_box(i), i + 1);
        })
    });
    drop(entered);
    drop(ctx);
    let report = client.shutdown(Duration::from_secs(10));
    eprintln!(
        "record/std_state_change: {} events dropped in the ring during the run",
        report.stats.dropped_in_lanes
    );
    group.finish();
}

fn core_baseline(c: &mut Criterion) {
    let mut group = c.benchmark_group("baseline");
    group.throughput(Throughput::Elements(1));
    let lanes = Arc::new(Lanes::new(CAPACITY, 256));
    let stop = Arc::new(AtomicBool::new(false));
    let drainer = {
        let (lanes, stop) = (Arc::clone(&lanes), Arc::clone(&stop));
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let n = lanes.consumer().map_or(0, |consumer| {
                    consumer.fold(0, |n, e| {
                        black_box(e.time);
                        n + 1
                    })
                });
                if n == 0 {
                    thread::sleep(Duration::from_micros(10));
                }
            }
        })
    };
    let now = raceway::time::tick_fn();
    let lease = lanes.lease().expect("a free lane");
    let thread = ThreadId::from_raw(1);
    group.bench_function("core_state_change", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            let kind = Kind::StateChange {
                variable: "accounts.alice.balance".into(),
                access: Access::Write,
                old: Value::U64(black_box(i)),
                new: Value::U64(i + 1),
            };
            let _ = lease.push(Event::new(now(), thread, kind), false);
        })
    });
    drop(lease);
    stop.store(true, Ordering::Relaxed);
    let _ = drainer.join();
    eprintln!(
        "baseline/core_state_change: {} events dropped during the run",
        lanes.stats().dropped
    );
    group.finish();
}

fn time_sources(c: &mut Criterion) {
    let mut group = c.benchmark_group("time");
    group.bench_function("ticks", |b| {
        let ticks = raceway::time::tick_fn();
        b.iter(|| black_box(ticks()))
    });
    group.bench_function("instant_now", |b| b.iter(|| black_box(Instant::now())));
    group.finish();
    eprintln!("time: tick source {:?}", raceway::time::tick_source());
}

criterion_group!(benches, std_record, core_baseline, time_sources);
criterion_main!(benches);
