//! The record hot path, side by side with what a user would otherwise pick, in one run.
//!
//! * `record/state_change` — one StateChange on the host record path (a leased lane of
//!   [`Lanes`], as the std client records) that a consumer thread keeps drained.
//! * `floor/state_change` — the physical limit as this bench defines it: a timestamp and one
//!   event stored into memory the recording thread owns (a single-producer ring of 128-byte
//!   slots, as many as a lane has, its tail published after every event) while a consumer
//!   thread drains it the same way, reading each whole event as any consumer that uses it
//!   must. No full-lane accounting, tickets or leases: what is left when those are taken away.
//!   Run beside `record/state_change`, so the ratio is of one run.
//! * `record/state_change_2_producers` — the same from two threads at once (aggregate).
//! * `ring/state_change`, `ring/state_change_2_producers` — the same through the MPSC
//!   [`Ring`], the record path on firmware, where interrupt handlers share one queue.
//! * `baseline/tracing_layer` — `tracing::info!` with the same fields into a minimal
//!   collecting `tracing_subscriber::Layer`.
//! * `baseline/crossbeam_2_producers` — crossbeam's `ArrayQueue` of the same event type under
//!   the same two-producer contention.
//! * `merge/requests_2_lanes`, `merge/requests_64_lanes`, `merge/requests_256_lanes` — the
//!   consumer alone, taking request-shaped runs (12 plain events and 4 that take a ticket)
//!   that two lanes hold, while that many lanes are in use (the others' threads recorded once
//!   and are idle, as a service's thread pool is between requests). The std client leases up
//!   to 256 lanes; the merge looks at every lane in use for each event that takes a ticket.
//!
//! Run: `cargo bench -p raceway-benches --bench record`.

use std::cell::UnsafeCell;
use std::hint::black_box;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use crossbeam_queue::ArrayQueue;
use raceway_benches::fast_now;
use raceway_core::event::{Access, Event, Kind, ThreadId, Value};
use raceway_core::lanes::{Lanes, Lease};
use raceway_core::recorder::{Recorder, Stats};
use raceway_core::ring::{Ring, Slot};

/// Ring slots, shared by every producer.
const CAPACITY: usize = 1 << 16;
/// Lane slots per producer, as the std client's default.
const LANE_CAPACITY: usize = 1 << 14;

type HeapRecorder = Recorder<Box<[Slot]>>;

fn state_change(i: u64) -> Kind {
    Kind::StateChange {
        variable: "accounts.alice.balance".into(),
        access: Access::Write,
        old: Value::U64(i),
        new: Value::U64(i + 1),
    }
}

/// Runs `drain` on a thread until the returned guard is dropped: the steady state in which a
/// real drain keeps the ring from filling.
struct Drainer {
    stop: Arc<AtomicBool>,
    handle: Option<thread::JoinHandle<u64>>,
}

impl Drainer {
    fn start(mut drain: impl FnMut() -> u64 + Send + 'static) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = thread::spawn(move || {
            let mut total = 0;
            while !flag.load(Ordering::Relaxed) {
                let n = drain();
                total += n;
                if n == 0 {
                    // Like the real drain: poll, empty the ring in one batch, sleep again.
                    thread::sleep(Duration::from_micros(10));
                }
            }
            total + drain()
        });
        Drainer {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for Drainer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

fn recorder_with_drainer() -> (Arc<HeapRecorder>, Drainer) {
    let recorder: HeapRecorder = Recorder::new(Ring::with_capacity(CAPACITY), fast_now);
    let recorder = Arc::new(recorder);
    let drained = Arc::clone(&recorder);
    let drainer = Drainer::start(move || {
        let Some(consumer) = drained.consumer() else {
            return 0;
        };
        consumer.fold(0, |n, e| {
            black_box(e.time);
            n + 1
        })
    });
    (recorder, drainer)
}

/// Times `per_thread` operations on each of two threads started together; each thread first
/// sets up its own state with `init` (a lane lease), outside the timing.
fn two_producers<S>(
    per_thread: u64,
    op: impl Fn(&S, u32, u64) + Send + Sync + 'static,
    init: impl Fn() -> S + Send + Sync + 'static,
) -> Duration {
    let (op, init) = (Arc::new(op), Arc::new(init));
    let barrier = Arc::new(Barrier::new(3));
    let workers: Vec<_> = (0..2u32)
        .map(|t| {
            let (op, init, barrier) = (Arc::clone(&op), Arc::clone(&init), Arc::clone(&barrier));
            thread::spawn(move || {
                let state = init();
                barrier.wait();
                for i in 0..per_thread {
                    op(&state, t, i);
                }
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    workers.into_iter().for_each(|w| w.join().unwrap());
    start.elapsed()
}

/// Lanes as the std client sizes them, with a consumer thread keeping them drained.
fn lanes_with_drainer() -> (Arc<Lanes>, Drainer) {
    let lanes = Arc::new(Lanes::new(LANE_CAPACITY, 256));
    let drained = Arc::clone(&lanes);
    let drainer = Drainer::start(move || {
        let Some(consumer) = drained.consumer() else {
            return 0;
        };
        consumer.fold(0, |n, e| {
            black_box(e.time);
            n + 1
        })
    });
    (lanes, drainer)
}

/// The floor's queue: one producer, one consumer, nothing else.
struct Floor {
    slots: Box<[FloorSlot]>,
    /// Events published, on a line of its own.
    tail: Padded<AtomicUsize>,
    /// Events taken, on a line of its own.
    head: Padded<AtomicUsize>,
}

#[repr(align(128))]
struct FloorSlot(UnsafeCell<MaybeUninit<Event>>);

#[repr(align(128))]
struct Padded<T>(T);

// SAFETY: a slot is written by the one producer before it publishes the tail (Release) and read
// by the one consumer after loading the tail (Acquire); the producer reuses it only after
// loading the consumer's head (Acquire), which the consumer stores (Release) after reading.
unsafe impl Sync for Floor {}

impl Floor {
    fn new(capacity: usize) -> Self {
        Floor {
            slots: (0..capacity)
                .map(|_| FloorSlot(UnsafeCell::new(MaybeUninit::uninit())))
                .collect(),
            tail: Padded(AtomicUsize::new(0)),
            head: Padded(AtomicUsize::new(0)),
        }
    }

    /// Stores `event` at `*tail` unless the ring is full. Only one thread may call this, with
    /// the same `tail` and `head_seen` every time.
    #[inline]
    fn push(&self, tail: &mut usize, head_seen: &mut usize, event: Event) -> bool {
        let capacity = self.slots.len();
        if *tail - *head_seen >= capacity {
            *head_seen = self.head.0.load(Ordering::Acquire);
            if *tail - *head_seen >= capacity {
                return false;
            }
        }
        let slot = &self.slots[*tail & (capacity - 1)];
        // SAFETY: the consumer is done with this slot (head is past it) and reads it only after
        // the tail below is published.
        unsafe { (*slot.0.get()).write(event) };
        *tail += 1;
        self.tail.0.store(*tail, Ordering::Release);
        true
    }

    /// Takes everything published; the one consumer only.
    fn drain(&self) -> u64 {
        let head = self.head.0.load(Ordering::Relaxed);
        let tail = self.tail.0.load(Ordering::Acquire);
        for position in head..tail {
            let slot = &self.slots[position & (self.slots.len() - 1)];
            // SAFETY: published (Acquire above) and not handed back until the store below.
            // The whole event is read, as any consumer that uses it must.
            black_box(unsafe { (*slot.0.get()).assume_init_read() });
        }
        self.head.0.store(tail, Ordering::Release);
        (tail - head) as u64
    }
}

fn floor(c: &mut Criterion) {
    let mut group = c.benchmark_group("floor");
    group.throughput(Throughput::Elements(1));
    let queue = Arc::new(Floor::new(LANE_CAPACITY));
    let drained = Arc::clone(&queue);
    let drainer = Drainer::start(move || drained.drain());
    let (mut tail, mut head_seen, mut dropped) = (0, 0, 0u64);
    let thread = ThreadId::from_raw(1);
    group.bench_function("state_change", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            let event = Event::new(fast_now(), thread, state_change(black_box(i)));
            if !queue.push(&mut tail, &mut head_seen, event) {
                dropped += 1;
            }
        })
    });
    drop(drainer);
    report_drops(
        "floor/state_change",
        Stats {
            recorded: tail as u64 + dropped,
            dropped,
            ..Stats::default()
        },
    );
    group.finish();
}

fn record(c: &mut Criterion) {
    let mut group = c.benchmark_group("record");
    group.throughput(Throughput::Elements(1));
    {
        let (lanes, drainer) = lanes_with_drainer();
        let lease = Lease::new(Arc::clone(&lanes)).expect("a free lane");
        let thread = ThreadId::from_raw(1);
        group.bench_function("state_change", |b| {
            let mut i = 0u64;
            b.iter(|| {
                i += 1;
                let event = Event::new(fast_now(), thread, state_change(black_box(i)));
                let _ = lease.push(event, false);
            })
        });
        drop(lease);
        drop(drainer);
        report_drops("record/state_change", lanes.stats());
    }
    group.throughput(Throughput::Elements(2));
    {
        let (lanes, drainer) = lanes_with_drainer();
        let producer = Arc::clone(&lanes);
        group.bench_function("state_change_2_producers", |b| {
            let producer = Arc::clone(&producer);
            b.iter_custom(move |iters| {
                let producer = Arc::clone(&producer);
                two_producers(
                    iters,
                    move |lease: &Lease<Arc<Lanes>>, t, i| {
                        let event =
                            Event::new(fast_now(), ThreadId::from_raw(t + 1), state_change(i));
                        let _ = lease.push(event, false);
                    },
                    move || Lease::new(Arc::clone(&producer)).expect("a free lane"),
                )
            })
        });
        drop(drainer);
        report_drops("record/state_change_2_producers", lanes.stats());
    }
    group.finish();
}

fn ring(c: &mut Criterion) {
    let mut group = c.benchmark_group("ring");
    group.throughput(Throughput::Elements(1));
    {
        let (recorder, drainer) = recorder_with_drainer();
        let thread = recorder.new_thread();
        group.bench_function("state_change", |b| {
            let mut i = 0u64;
            b.iter(|| {
                i += 1;
                recorder.record(thread, state_change(black_box(i)));
            })
        });
        drop(drainer);
        report_drops("ring/state_change", recorder.stats());
    }
    group.throughput(Throughput::Elements(2));
    {
        let (recorder, drainer) = recorder_with_drainer();
        let producer = Arc::clone(&recorder);
        group.bench_function("state_change_2_producers", |b| {
            let producer = Arc::clone(&producer);
            b.iter_custom(move |iters| {
                let producer = Arc::clone(&producer);
                two_producers(
                    iters,
                    move |_: &(), t, i| producer.record(ThreadId::from_raw(t + 1), state_change(i)),
                    || (),
                )
            })
        });
        drop(drainer);
        report_drops("ring/state_change_2_producers", recorder.stats());
    }
    group.finish();
}

/// A minimal collecting layer: visits the event's fields into a record and keeps it.
mod collecting {
    use std::fmt;
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::{Event, Subscriber};
    use tracing_subscriber::layer::Context;
    use tracing_subscriber::Layer;

    /// What the layer keeps of each event; the metadata (names, callsite) is `'static` already.
    pub struct Record {
        pub metadata: &'static tracing::Metadata<'static>,
        pub old: u64,
        pub new: u64,
    }

    impl Visit for Record {
        fn record_u64(&mut self, field: &Field, value: u64) {
            match field.name() {
                "old" => self.old = value,
                "new" => self.new = value,
                _ => {}
            }
        }
        fn record_str(&mut self, _: &Field, _: &str) {}
        fn record_debug(&mut self, _: &Field, _: &dyn fmt::Debug) {}
    }

    pub struct CollectingLayer(pub Arc<Mutex<Vec<Record>>>);

    impl<S: Subscriber> Layer<S> for CollectingLayer {
        fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
            let mut record = Record {
                metadata: event.metadata(),
                old: 0,
                new: 0,
            };
            event.record(&mut record);
            self.0.lock().unwrap().push(record);
        }
    }
}

fn baselines(c: &mut Criterion) {
    use tracing_subscriber::layer::SubscriberExt;

    let mut group = c.benchmark_group("baseline");
    group.throughput(Throughput::Elements(1));
    {
        let records: Arc<Mutex<Vec<collecting::Record>>> =
            Arc::new(Mutex::new(Vec::with_capacity(CAPACITY)));
        let drained = Arc::clone(&records);
        let drainer = Drainer::start(move || {
            let mut taken = std::mem::take(&mut *drained.lock().unwrap());
            let n = taken.len() as u64;
            black_box(
                taken
                    .iter()
                    .map(|r| r.metadata.line().unwrap_or(0) as u64 + r.old + r.new)
                    .sum::<u64>(),
            );
            taken.clear();
            *drained.lock().unwrap() = taken;
            n
        });
        let subscriber =
            tracing_subscriber::registry().with(collecting::CollectingLayer(Arc::clone(&records)));
        tracing::subscriber::with_default(subscriber, || {
            group.bench_function("tracing_layer", |b| {
                let mut i = 0u64;
                b.iter(|| {
                    i += 1;
                    let old = black_box(i);
                    tracing::info!(
                        variable = "accounts.alice.balance",
                        access = "Write",
                        old,
                        new = old + 1
                    );
                })
            });
        });
        drop(drainer);
    }
    group.throughput(Throughput::Elements(2));
    {
        let queue: Arc<ArrayQueue<Event>> = Arc::new(ArrayQueue::new(CAPACITY));
        let drained = Arc::clone(&queue);
        let drainer = Drainer::start(move || {
            let mut n = 0;
            while let Some(e) = drained.pop() {
                black_box(e.time);
                n += 1;
            }
            n
        });
        let drops = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let attempts = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (producer, dropped, tried) = (
            Arc::clone(&queue),
            Arc::clone(&drops),
            Arc::clone(&attempts),
        );
        group.bench_function("crossbeam_2_producers", |b| {
            let (producer, dropped) = (Arc::clone(&producer), Arc::clone(&dropped));
            let tried = Arc::clone(&tried);
            b.iter_custom(move |iters| {
                tried.fetch_add(2 * iters, Ordering::Relaxed);
                let (producer, dropped) = (Arc::clone(&producer), Arc::clone(&dropped));
                two_producers(
                    iters,
                    move |_: &(), t, i| {
                        let event =
                            Event::new(fast_now(), ThreadId::from_raw(t + 1), state_change(i));
                        if producer.push(event).is_err() {
                            dropped.fetch_add(1, Ordering::Relaxed);
                        }
                    },
                    || (),
                )
            })
        });
        drop(drainer);
        report_drops(
            "baseline/crossbeam_2_producers",
            Stats {
                recorded: attempts.load(Ordering::Relaxed),
                dropped: drops.load(Ordering::Relaxed),
                ..Stats::default()
            },
        );
    }
    group.finish();
}

/// A benchmark whose queue overflowed measured the "drop" path too: say how much, so that
/// throughput can be compared as events delivered as well as events offered.
fn report_drops(id: &str, stats: Stats) {
    let Stats {
        recorded, dropped, ..
    } = stats;
    let percent = dropped as f64 * 100.0 / recorded.max(1) as f64;
    eprintln!("{id}: {dropped} of {recorded} events dropped during the run ({percent:.1} %)");
}

/// Runs of one request, as a service records them: 4 of the 16 events take a ticket.
const REQUEST: [bool; 16] = [
    true, false, false, false, true, false, false, false, false, false, false, false, true, false,
    true, false,
];
/// Requests the busy lanes hold per iteration.
const MERGED_REQUESTS: usize = 256;

fn merge(c: &mut Criterion) {
    let mut group = c.benchmark_group("merge");
    group.throughput(Throughput::Elements(
        (MERGED_REQUESTS * REQUEST.len()) as u64,
    ));
    for in_use in [2, 64, 256] {
        let lanes = Lanes::new(LANE_CAPACITY, 256);
        let leases: Vec<Lease<&Lanes>> = (0..in_use)
            .map(|_| lanes.lease().expect("a free lane"))
            .collect();
        let mut consumer = lanes.consumer().expect("the only consumer");
        for (t, lease) in leases.iter().enumerate() {
            let _ = lease.push(
                Event::new(0, ThreadId::from_raw(t as u32 + 1), state_change(0)),
                false,
            );
        }
        while consumer.pop().is_some() {}
        group.bench_function(format!("requests_{in_use}_lanes"), |b| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                for _ in 0..iters {
                    for request in 0..MERGED_REQUESTS {
                        let lease = &leases[request % 2];
                        let thread = ThreadId::from_raw(request as u32 % 2 + 1);
                        for (i, &ticket) in REQUEST.iter().enumerate() {
                            let kind = if ticket {
                                Kind::Send { message: i as u64 }
                            } else {
                                state_change(i as u64)
                            };
                            let _ = lease.push(Event::new(0, thread, kind), false);
                        }
                    }
                    let start = Instant::now();
                    let mut taken = 0;
                    while let Some(event) = consumer.pop() {
                        black_box(event.time);
                        taken += 1;
                    }
                    elapsed += start.elapsed();
                    assert_eq!(taken, MERGED_REQUESTS * REQUEST.len());
                }
                elapsed
            })
        });
    }
    group.finish();
}

criterion_group!(benches, floor, record, ring, baselines, merge);
criterion_main!(benches);
