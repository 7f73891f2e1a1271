//! Race analysis throughput on a synthetic service trace, next to the happens-before replay it
//! is built on (the part no analysis can skip).
//!
//! * `analyze/throughput` — [`Analyzer::observe`] over the whole trace, then the report.
//! * `analyze/happens_before_only` — [`HappensBefore::observe`] over the same trace.
//! * `analyze/requests` — [`Analyzer::observe`] over what a service records: 100 000 requests,
//!   each its own short-lived logical thread (an inbound HTTP request, a lock, five reads and
//!   five writes under it, the response, the end), 15 events each. What dominates here is
//!   per-request setup and retirement, not long-lived threads.
//! * `analyze/joins` — [`Analyzer::observe`] over a fan-out and join of three million tasks, so
//!   that the table of joined runs changes generation three times (see
//!   [`MAX_JOINED_RUNS`]). The run then prints the longest single `observe`: the stall the
//!   drain thread meets while the lanes fill.
//!
//! The trace: 1 M events from 16 logical threads over 1 000 variables. A third of the steps
//! are critical sections (one of 16 mutexes guarding its share of 496 variables, one to four
//! accesses each); the rest are accesses to thread-private state, reads of read-mostly shared
//! configuration (with the odd unsynchronised write: real races), atomic counters, and function
//! calls. About 70 % of the accesses are reads.
//!
//! Run: `cargo bench -p raceway-benches --bench analyze -- --warm-up-time 1 --measurement-time 5`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use raceway_analyze::Analyzer;
use raceway_core::causality::{HappensBefore, MAX_JOINED_RUNS};
use raceway_core::event::Direction;
use raceway_core::event::{Event, Site};
use raceway_core::{Access, Kind, LockKind, ThreadId, Value};

const EVENTS: usize = 1_000_000;
const THREADS: u64 = 16;
const LOCKS: u64 = 16;
/// Variables 0..496 are guarded (by lock `index % 16`), then 30 private ones per thread, then
/// 16 read-mostly shared ones and 8 atomic counters: 1 000 in all.
const GUARDED: u64 = 496;
const PRIVATE_PER_THREAD: u64 = 30;
const SHARED: u64 = 16;
const ATOMIC: u64 = 8;
const VARIABLES: u64 = GUARDED + THREADS * PRIVATE_PER_THREAD + SHARED + ATOMIC;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) % n
    }
}

fn trace() -> Vec<Event<Site>> {
    assert_eq!(VARIABLES, 1000);
    let names: Vec<&'static str> = (0..VARIABLES)
        .map(|i| &*format!("service.state.{i}").leak())
        .collect();
    let locks: Vec<&'static str> = (0..LOCKS)
        .map(|i| &*format!("service.lock.{i}").leak())
        .collect();
    let site = |line: u64| Site {
        file: "src/service.rs",
        line: line as u32,
        column: 9,
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut events = Vec::with_capacity(EVENTS + 8);
    let push = |events: &mut Vec<Event<Site>>, thread: u64, line: u64, kind| {
        events.push(Event {
            time: 0,
            location: site(line),
            thread: ThreadId::from_raw(thread as u32 + 1),
            kind,
        })
    };
    let access = |rng: &mut Rng, variable: u64, write_percent: u64| {
        let write = rng.below(100) < write_percent;
        Kind::StateChange {
            variable: names[variable as usize].into(),
            access: if write { Access::Write } else { Access::Read },
            old: Value::I64(1),
            new: Value::I64(2),
        }
    };
    while events.len() < EVENTS {
        let thread = rng.below(THREADS);
        let step = rng.below(100);
        if step < 33 {
            let lock = rng.below(LOCKS);
            let (lock_name, lock_kind) = (locks[lock as usize], LockKind::Mutex);
            push(
                &mut events,
                thread,
                10,
                Kind::LockAcquire {
                    lock: lock_name.into(),
                    lock_kind,
                },
            );
            for _ in 0..=rng.below(4) {
                let variable = lock + LOCKS * rng.below(GUARDED / LOCKS);
                let kind = access(&mut rng, variable, 35);
                push(&mut events, thread, 11 + variable % 8, kind);
            }
            push(
                &mut events,
                thread,
                20,
                Kind::LockRelease {
                    lock: lock_name.into(),
                    lock_kind,
                },
            );
        } else if step < 73 {
            let variable = GUARDED + thread * PRIVATE_PER_THREAD + rng.below(PRIVATE_PER_THREAD);
            let kind = access(&mut rng, variable, 40);
            push(&mut events, thread, 30, kind);
        } else if step < 88 {
            let variable = GUARDED + THREADS * PRIVATE_PER_THREAD + rng.below(SHARED);
            // Read-mostly: a rare unsynchronised write is a real race.
            let kind = access(&mut rng, variable, 1);
            push(&mut events, thread, 40, kind);
        } else if step < 95 {
            let variable = VARIABLES - ATOMIC + rng.below(ATOMIC);
            let kind = Kind::StateChange {
                variable: names[variable as usize].into(),
                access: Access::AtomicRmw,
                old: Value::U64(1),
                new: Value::U64(2),
            };
            push(&mut events, thread, 50, kind);
        } else {
            let kind = Kind::FunctionCall {
                function: "handle_request",
                args: Value::None,
            };
            push(&mut events, thread, 60, kind);
        }
    }
    events.truncate(EVENTS);
    events
}

/// [`REQUESTS`] requests as `service/raceway_analyzer` records them, ids reused as a runtime
/// reuses its task ids.
fn requests() -> Vec<Event<Site>> {
    const NAMES: [&str; 5] = [
        "accounts.a",
        "accounts.b",
        "accounts.c",
        "accounts.d",
        "accounts.e",
    ];
    let site = |line| Site {
        file: "src/handler.rs",
        line,
        column: 5,
    };
    let mut events = Vec::with_capacity(REQUESTS as usize * 15);
    for request in 0..REQUESTS {
        let thread = ThreadId::from_raw(1_000 + (request % 50_000) as u32);
        let mut push = |line, kind| {
            let time = events.len() as u64;
            events.push(Event::new(time, thread, kind).with_location(site(line)));
        };
        let span = request + 1;
        let lock = || "accounts".into();
        push(
            10,
            Kind::HttpRequest {
                method: "GET",
                url: Value::None,
                direction: Direction::Inbound,
                span,
            },
        );
        push(
            11,
            Kind::LockAcquire {
                lock: lock(),
                lock_kind: LockKind::Mutex,
            },
        );
        for (i, name) in NAMES.iter().enumerate() {
            let value = Value::U64(i as u64);
            push(
                12,
                Kind::StateChange {
                    variable: (*name).into(),
                    access: Access::Read,
                    old: Value::None,
                    new: value,
                },
            );
            push(
                13,
                Kind::StateChange {
                    variable: (*name).into(),
                    access: Access::Write,
                    old: value,
                    new: Value::U64(i as u64 + 1),
                },
            );
        }
        push(
            14,
            Kind::LockRelease {
                lock: lock(),
                lock_kind: LockKind::Mutex,
            },
        );
        push(
            15,
            Kind::HttpResponse {
                status: 200,
                duration_ns: 1_000,
                direction: Direction::Inbound,
                span,
            },
        );
        push(16, Kind::ThreadEnd);
    }
    events
}

/// Tasks in `analyze/joins`: three changes of the joined runs' generation.
const JOINS: u32 = 3 * (MAX_JOINED_RUNS / 2) as u32;

/// Hands `observe` the events of `analyze/joins`, made as they are needed (kept, they would
/// take a gigabyte): a parent spawns a task, the task writes its result and ends, the parent
/// joins it and reads the result. Task ids are reused as a runtime reuses them.
fn joins(mut observe: impl FnMut(&Event<Site>)) {
    let site = Site {
        file: "src/fan_out.rs",
        line: 1,
        column: 1,
    };
    let parent = ThreadId::from_raw(1);
    let result = |access| Kind::StateChange {
        variable: "result".into(),
        access,
        old: Value::None,
        new: Value::None,
    };
    for task in 0..JOINS {
        let child = ThreadId::from_raw(1_000 + task % 50_000);
        for (thread, kind) in [
            (parent, Kind::Spawn { child }),
            (child, result(Access::Write)),
            (child, Kind::ThreadEnd),
            (parent, Kind::Join { child }),
            (parent, result(Access::Read)),
        ] {
            observe(&Event::new(u64::from(task), thread, kind).with_location(site));
        }
    }
}

/// Requests in `analyze/requests`.
const REQUESTS: u64 = 100_000;

fn analyze(c: &mut Criterion) {
    let events = trace();
    let mut group = c.benchmark_group("analyze");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.sample_size(10);
    group.bench_function("throughput", |b| {
        b.iter(|| {
            let mut analyzer = Analyzer::new();
            for event in &events {
                analyzer.observe(event);
            }
            black_box(analyzer.report().races.len())
        })
    });
    group.bench_function("happens_before_only", |b| {
        b.iter(|| {
            let mut hb = HappensBefore::<32>::new();
            for event in &events {
                black_box(hb.observe(event));
            }
        })
    });
    let requests = requests();
    group.throughput(Throughput::Elements(requests.len() as u64));
    group.bench_function("requests", |b| {
        b.iter(|| {
            let mut analyzer = Analyzer::new();
            for event in &requests {
                analyzer.observe(event);
            }
            black_box(analyzer.report().races.len())
        })
    });
    group.throughput(Throughput::Elements(5 * u64::from(JOINS)));
    group.bench_function("joins", |b| {
        b.iter(|| {
            let mut analyzer = Analyzer::new();
            joins(|event| analyzer.observe(event));
            black_box(analyzer.report().races.len())
        })
    });
    group.finish();

    let (mut analyzer, mut longest) = (Analyzer::new(), Duration::ZERO);
    joins(|event| {
        let start = Instant::now();
        analyzer.observe(event);
        longest = longest.max(start.elapsed());
    });
    let report = analyzer.report();
    println!(
        "joins: longest observe {longest:.1?}; {} races, {} uncertain events",
        report.races.len(),
        report.summary.uncertain_events
    );

    let report = Analyzer::analyze(&events);
    println!(
        "trace: {} events, {} threads, {} variables, {} distinct races",
        report.summary.events,
        report.summary.threads,
        report.summary.variables,
        report.races.len()
    );
}

criterion_group!(benches, analyze);
criterion_main!(benches);
