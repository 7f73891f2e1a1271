//! The labeled scenario suite: small concurrent programs whose races are known, run on real
//! threads through a real `Recorder` (interleavings forced by uninstrumented std
//! synchronisation, so they are repeatable), plus a few hand-built streams for edge cases.
//!
//! A race is identified by its variable and the pair of access types. The analyzer must find
//! every expected race, with the expected certainty, and nothing else; the test prints a table
//! with precision and recall and fails on any wrong scenario.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc;
use std::sync::{Barrier, Mutex, RwLock};
use std::thread;

use common::Program;
use raceway_analyze::{Analyzer, Report};
use raceway_core::symbol::Interner;
use raceway_core::{Access, Event, Kind, LockKind, ThreadId, Value};

use Access::{AtomicRead as AR, AtomicRmw as RMW, AtomicWrite as AW, Read as R, Write as W};

/// A race the analyzer must report: variable, the two access types (either order), and
/// whether it must be marked uncertain.
type Expected = (&'static str, Access, Access, bool);

struct Answer {
    events: Vec<Event>,
    races: Vec<Expected>,
    /// Text the report must contain (a caveat the scenario provokes).
    warning: Option<&'static str>,
}

fn race(variable: &'static str, a: Access, b: Access) -> Expected {
    (variable, a, b, false)
}

fn uncertain_race(variable: &'static str, a: Access, b: Access) -> Expected {
    (variable, a, b, true)
}

fn answer(program: Program, races: &[Expected]) -> Answer {
    Answer {
        events: program.events(),
        races: races.to_vec(),
        warning: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Races on unprotected state.

fn lost_update() -> Answer {
    let p = Program::new();
    let main = p.thread();
    let both_read = Barrier::new(2);
    thread::scope(|s| {
        let tellers: Vec<_> = [30, -20]
            .into_iter()
            .map(|amount| {
                let (p, both_read) = (&p, &both_read);
                p.spawn(s, main, move |t| {
                    p.read(t, "balance", 100);
                    both_read.wait();
                    p.write(t, "balance", 100, 100 + amount);
                })
            })
            .collect();
        for teller in tellers {
            p.join(main, teller);
        }
    });
    p.read(main, "balance", 130);
    answer(p, &[race("balance", R, W), race("balance", W, W)])
}

fn check_then_act_without_a_lock() -> Answer {
    let p = Program::new();
    let main = p.thread();
    let both_checked = Barrier::new(2);
    thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|i| {
                let (p, both_checked) = (&p, &both_checked);
                p.spawn(s, main, move |t| {
                    p.read(t, "cache.entry", 0); // empty: fill it
                    both_checked.wait();
                    p.write(t, "cache.entry", 0, i);
                    p.write(t, "cache.len", 0, 1);
                })
            })
            .collect();
        for worker in workers {
            p.join(main, worker);
        }
    });
    answer(
        p,
        &[
            race("cache.entry", R, W),
            race("cache.entry", W, W),
            race("cache.len", W, W),
        ],
    )
}

/// Each step is locked, so there is no data race; the check-then-act is an atomicity
/// violation, which is out of scope for a data race detector.
fn check_then_act_with_a_lock_per_step() -> Answer {
    let p = Program::new();
    let main = p.thread();
    let cache = Mutex::new(());
    let both_checked = Barrier::new(2);
    thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|i| {
                let (p, cache, both_checked) = (&p, &cache, &both_checked);
                p.spawn(s, main, move |t| {
                    {
                        let _held = p.lock(t, "cache", cache);
                        p.read(t, "cache.entry", 0);
                    }
                    both_checked.wait();
                    let _held = p.lock(t, "cache", cache);
                    p.write(t, "cache.entry", 0, i);
                })
            })
            .collect();
        for worker in workers {
            p.join(main, worker);
        }
    });
    answer(p, &[])
}

fn double_checked_init_without_atomics() -> Answer {
    let p = Program::new();
    let main = p.thread();
    let init = Mutex::new(());
    let (done, wait_done) = mpsc::channel();
    thread::scope(|s| {
        let (p, init) = (&p, &init);
        let initializer = p.spawn(s, main, move |t| {
            p.read(t, "config.ready", 0);
            let _held = p.lock(t, "config.init", init);
            p.read(t, "config.ready", 0);
            p.write(t, "config.value", 0, 42);
            p.write(t, "config.ready", 0, 1);
            drop(_held);
            done.send(()).unwrap();
        });
        let user = p.spawn(s, main, move |t| {
            wait_done.recv().unwrap();
            // The fast path: ready is set, so no lock, and nothing orders the reads.
            p.read(t, "config.ready", 1);
            p.read(t, "config.value", 42);
        });
        p.join(main, initializer);
        p.join(main, user);
    });
    answer(p, &[race("config.ready", W, R), race("config.value", W, R)])
}

fn read_and_write_under_different_locks() -> Answer {
    let p = Program::new();
    let main = p.thread();
    let (a, b) = (Mutex::new(()), Mutex::new(()));
    thread::scope(|s| {
        let (p, a, b) = (&p, &a, &b);
        let writer = p.spawn(s, main, move |t| {
            let _held = p.lock(t, "lock.a", a);
            p.write(t, "shared", 0, 1);
        });
        let reader = p.spawn(s, main, move |t| {
            let _held = p.lock(t, "lock.b", b);
            p.read(t, "shared", 1);
        });
        p.join(main, writer);
        p.join(main, reader);
    });
    answer(p, &[race("shared", R, W)])
}

fn one_writer_forgets_the_lock() -> Answer {
    let p = Program::new();
    let main = p.thread();
    let m = Mutex::new(());
    let first_done = Barrier::new(2);
    thread::scope(|s| {
        let (p, m, first_done) = (&p, &m, &first_done);
        let careful = p.spawn(s, main, move |t| {
            {
                let _held = p.lock(t, "counter.lock", m);
                p.write(t, "counter", 0, 1);
            }
            first_done.wait();
        });
        let careless = p.spawn(s, main, move |t| {
            first_done.wait();
            p.write(t, "counter", 1, 2);
        });
        p.join(main, careful);
        p.join(main, careless);
    });
    answer(p, &[race("counter", W, W)])
}

fn result_read_without_a_recorded_join() -> Answer {
    let p = Program::new();
    let main = p.thread();
    let (done, wait_done) = mpsc::channel();
    thread::scope(|s| {
        let p = &p;
        let worker = p.spawn(s, main, move |t| {
            p.write(t, "job.result", 0, 7);
            done.send(()).unwrap();
        });
        // An uninstrumented wait orders nothing the analyzer can see.
        wait_done.recv().unwrap();
        p.read(main, "job.result", 7);
        p.join(main, worker);
    });
    answer(p, &[race("job.result", W, R)])
}

fn sender_touches_the_message_after_sending() -> Answer {
    let p = Program::new();
    let main = p.thread();
    let (tx, rx) = mpsc::channel();
    let (ack, wait_ack) = mpsc::channel();
    thread::scope(|s| {
        let p = &p;
        let producer = p.spawn(s, main, move |t| {
            p.write(t, "message.body", 0, 1);
            p.record(t, Kind::Send { message: 1 });
            tx.send(1).unwrap();
            wait_ack.recv().unwrap();
            p.write(t, "message.body", 1, 2); // the message is no longer ours
        });
        let consumer = p.spawn(s, main, move |t| {
            let message = rx.recv().unwrap();
            p.record(t, Kind::Receive { message });
            p.read(t, "message.body", 1);
            ack.send(()).unwrap();
        });
        p.join(main, producer);
        p.join(main, consumer);
    });
    answer(p, &[race("message.body", R, W)])
}

fn write_under_a_shared_rwlock_hold() -> Answer {
    let p = Program::new();
    let main = p.thread();
    let stats = RwLock::new(AtomicI64::new(0));
    let both_hold = Barrier::new(2);
    thread::scope(|s| {
        let (p, stats, both_hold) = (&p, &stats, &both_hold);
        let writer = p.spawn(s, main, move |t| {
            let held = p.read_lock(t, "stats", stats);
            held.store(1, Ordering::Relaxed); // interior mutability under a read guard
            p.write(t, "stats.hits", 0, 1);
            both_hold.wait();
        });
        let reader = p.spawn(s, main, move |t| {
            let _held = p.read_lock(t, "stats", stats);
            both_hold.wait();
            p.read(t, "stats.hits", 1);
        });
        p.join(main, writer);
        p.join(main, reader);
    });
    answer(p, &[race("stats.hits", W, R)])
}

fn atomic_and_plain_writes() -> Answer {
    let p = Program::new();
    let main = p.thread();
    thread::scope(|s| {
        let p = &p;
        let atomic = p.spawn(s, main, move |t| {
            p.access(t, "flag", RMW, Value::I64(0), Value::I64(1));
        });
        let plain = p.spawn(s, main, move |t| p.write(t, "flag", 1, 0));
        p.join(main, atomic);
        p.join(main, plain);
    });
    answer(p, &[race("flag", RMW, W)])
}

fn atomic_store_and_plain_load() -> Answer {
    let p = Program::new();
    let main = p.thread();
    thread::scope(|s| {
        let p = &p;
        let store = p.spawn(s, main, move |t| {
            p.access(t, "ready", AW, Value::None, Value::Bool(true));
        });
        let load = p.spawn(s, main, move |t| p.read(t, "ready", 1));
        p.join(main, store);
        p.join(main, load);
    });
    answer(p, &[race("ready", AW, R)])
}

fn unordered_calls_across_services() -> Answer {
    let p = Program::new();
    let (client_main, server_main) = (p.thread(), p.thread());
    let (request, incoming) = mpsc::channel();
    thread::scope(|s| {
        let p = &p;
        let client = p.spawn(s, client_main, move |t| {
            p.write(t, "order.42.status", 0, 1);
            // No propagation headers: span 0, so no edge.
            p.record(
                t,
                http_request(Value::None, raceway_core::event::Direction::Outbound, 0),
            );
            request.send(()).unwrap();
        });
        let server = p.spawn(s, server_main, move |t| {
            incoming.recv().unwrap();
            p.record(
                t,
                http_request(Value::None, raceway_core::event::Direction::Inbound, 0),
            );
            p.write(t, "order.42.status", 1, 2);
        });
        p.join(client_main, client);
        p.join(server_main, server);
    });
    answer(p, &[race("order.42.status", W, W)])
}

fn many_threads() -> Answer {
    static NAMES: Interner<64, 1024> = Interner::new();
    let p = Program::new();
    let main = p.thread();
    p.write(main, "config", 0, 1);
    let all_started = Barrier::new(16);
    thread::scope(|s| {
        let workers: Vec<_> = (0..16)
            .map(|i| {
                let (p, all_started) = (&p, &all_started);
                let slot = NAMES.intern_fmt(format_args!("slot.{i}")).unwrap().as_str();
                p.spawn(s, main, move |t| {
                    p.read(t, "config", 1);
                    all_started.wait();
                    for n in 0..20 {
                        p.write(t, slot, n, n + 1);
                    }
                    p.write(t, "stats.total", 0, i);
                })
            })
            .collect();
        for worker in workers {
            p.join(main, worker);
        }
    });
    p.write(main, "config", 1, 2);
    let mut answer = answer(p, &[race("stats.total", W, W)]);
    // 16 concurrent readers of `config` overflow its read set of 8.
    answer.warning = Some("reads were forgotten");
    answer
}

fn names_compare_by_content() -> Answer {
    static NAMES: Interner<16, 256> = Interner::new();
    let p = Program::new();
    let main = p.thread();
    let dynamic = NAMES
        .intern_fmt(format_args!("user.{}.name", 42))
        .unwrap()
        .as_str();
    thread::scope(|s| {
        let p = &p;
        let a = p.spawn(s, main, move |t| p.write(t, "user.42.name", 0, 1));
        let b = p.spawn(s, main, move |t| p.write(t, dynamic, 0, 2));
        p.join(main, a);
        p.join(main, b);
    });
    answer(p, &[race("user.42.name", W, W)])
}

// ---------------------------------------------------------------------------------------------
// Ordered or protected: nothing to report.

fn transfers_under_a_tracked_mutex() -> Answer {
    let p = Program::new();
    let main = p.thread();
    let accounts = Mutex::new((100i64, 100i64));
    thread::scope(|s| {
        let tellers: Vec<_> = [10, -10]
            .into_iter()
            .map(|amount| {
                let (p, accounts) = (&p, &accounts);
                p.spawn(s, main, move |t| {
                    for _ in 0..50 {
                        let mut held = p.lock(t, "accounts", accounts);
                        let (alice, bob) = *held;
                        p.read(t, "alice.balance", alice);
                        p.read(t, "bob.balance", bob);
                        *held = (alice - amount, bob + amount);
                        p.write(t, "alice.balance", alice, alice - amount);
                        p.write(t, "bob.balance", bob, bob + amount);
                    }
                })
            })
            .collect();
        for teller in tellers {
            p.join(main, teller);
        }
    });
    p.read(main, "alice.balance", 100);
    answer(p, &[])
}

fn counter_under_a_mutex_on_eight_threads() -> Answer {
    let p = Program::new();
    let main = p.thread();
    let counter = Mutex::new(0i64);
    thread::scope(|s| {
        let workers: Vec<_> = (0..8)
            .map(|_| {
                let (p, counter) = (&p, &counter);
                p.spawn(s, main, move |t| {
                    for _ in 0..100 {
                        let mut held = p.lock(t, "counter", counter);
                        p.read(t, "counter", *held);
                        p.write(t, "counter", *held, *held + 1);
                        *held += 1;
                    }
                })
            })
            .collect();
        for worker in workers {
            p.join(main, worker);
        }
    });
    answer(p, &[])
}

fn publication_through_spawn_and_join() -> Answer {
    const PARTIALS: [&str; 3] = ["partial.0", "partial.1", "partial.2"];
    let p = Program::new();
    let main = p.thread();
    p.write(main, "input", 0, 10);
    thread::scope(|s| {
        let workers: Vec<_> = PARTIALS
            .into_iter()
            .map(|partial| {
                let p = &p;
                p.spawn(s, main, move |t| {
                    p.read(t, "input", 10);
                    p.write(t, partial, 0, 5);
                })
            })
            .collect();
        for worker in workers {
            p.join(main, worker);
        }
    });
    for partial in PARTIALS {
        p.read(main, partial, 5);
    }
    p.write(main, "input", 10, 0);
    answer(p, &[])
}

fn threads_one_after_another() -> Answer {
    let p = Program::new();
    let main = p.thread();
    for round in 0..3 {
        thread::scope(|s| {
            let p = &p;
            let worker = p.spawn(s, main, move |t| p.write(t, "x", round, round + 1));
            p.join(main, worker);
        });
    }
    answer(p, &[])
}

fn hand_off_through_a_channel() -> Answer {
    let p = Program::new();
    let main = p.thread();
    let (to_consumer, from_producer) = mpsc::channel();
    let (to_producer, from_consumer) = mpsc::channel();
    thread::scope(|s| {
        let p = &p;
        let producer = p.spawn(s, main, move |t| {
            for round in 0..5 {
                p.write(t, "buffer", round, round + 1);
                p.record(
                    t,
                    Kind::Send {
                        message: 2 * round as u64,
                    },
                );
                to_consumer.send(2 * round as u64).unwrap();
                let ack = from_consumer.recv().unwrap();
                p.record(t, Kind::Receive { message: ack });
                p.read(t, "buffer", 0);
            }
        });
        let consumer = p.spawn(s, main, move |t| {
            for message in from_producer.iter() {
                p.record(t, Kind::Receive { message });
                p.read(t, "buffer", 1);
                p.write(t, "buffer", 1, 0);
                p.record(
                    t,
                    Kind::Send {
                        message: message + 1,
                    },
                );
                to_producer.send(message + 1).unwrap();
            }
        });
        p.join(main, producer);
        p.join(main, consumer);
    });
    answer(p, &[])
}

fn rwlock_readers_with_a_writer() -> Answer {
    let p = Program::new();
    let main = p.thread();
    let config = RwLock::new(0i64);
    thread::scope(|s| {
        let (p, config) = (&p, &config);
        let mut threads: Vec<_> = (0..4)
            .map(|_| {
                p.spawn(s, main, move |t| {
                    for _ in 0..20 {
                        let held = p.read_lock(t, "config", config);
                        p.read(t, "config.value", *held);
                    }
                })
            })
            .collect();
        threads.push(p.spawn(s, main, move |t| {
            for _ in 0..5 {
                let mut held = p.write_lock(t, "config", config);
                p.write(t, "config.value", *held, *held + 1);
                *held += 1;
            }
        }));
        for thread in threads {
            p.join(main, thread);
        }
    });
    answer(p, &[])
}

fn atomic_counter() -> Answer {
    let p = Program::new();
    let main = p.thread();
    let hits = AtomicI64::new(0);
    thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let (p, hits) = (&p, &hits);
                p.spawn(s, main, move |t| {
                    for _ in 0..50 {
                        let old = hits.fetch_add(1, Ordering::Relaxed);
                        p.access(t, "hits", RMW, Value::I64(old), Value::I64(old + 1));
                        p.access(t, "hits", AR, Value::None, Value::I64(old + 1));
                    }
                })
            })
            .collect();
        for worker in workers {
            p.join(main, worker);
        }
    });
    // After the joins a plain read is ordered after every atomic one.
    p.read(main, "hits", 200);
    answer(p, &[])
}

fn atomic_and_plain_reads() -> Answer {
    let p = Program::new();
    let main = p.thread();
    thread::scope(|s| {
        let p = &p;
        let atomic = p.spawn(s, main, move |t| {
            p.access(t, "limit", AR, Value::None, Value::I64(5))
        });
        let plain = p.spawn(s, main, move |t| p.read(t, "limit", 5));
        p.join(main, atomic);
        p.join(main, plain);
    });
    answer(p, &[])
}

fn ordered_calls_across_services() -> Answer {
    use raceway_core::event::Direction::{Inbound, Outbound};
    let p = Program::new();
    let (client_main, server_main) = (p.thread(), p.thread());
    let (request, incoming) = mpsc::channel();
    let (response, outgoing) = mpsc::channel();
    thread::scope(|s| {
        let p = &p;
        let client = p.spawn(s, client_main, move |t| {
            p.write(t, "order.7.status", 0, 1);
            p.record(t, http_request(Value::None, Outbound, 7));
            request.send(()).unwrap();
            outgoing.recv().unwrap();
            p.record(t, http_response(Outbound, 7));
            p.read(t, "order.7.status", 2);
        });
        let server = p.spawn(s, server_main, move |t| {
            incoming.recv().unwrap();
            p.record(t, http_request(Value::None, Inbound, 7));
            p.read(t, "order.7.status", 1);
            p.write(t, "order.7.status", 1, 2);
            p.record(t, http_response(Inbound, 7));
            response.send(()).unwrap();
        });
        p.join(client_main, client);
        p.join(server_main, server);
    });
    answer(p, &[])
}

fn single_thread_never_races() -> Answer {
    let p = Program::new();
    let main = p.thread();
    for i in 0..100 {
        p.read(main, "x", i);
        p.write(main, "x", i, i + 1);
        p.access(main, "x", RMW, Value::I64(i + 1), Value::I64(i + 2));
    }
    answer(p, &[])
}

// ---------------------------------------------------------------------------------------------
// Uncertainty.

fn dropped_events() -> Answer {
    // Room for 16 events: the filler below overflows it.
    let p = Program::with_ring(16);
    let (a, b) = (p.thread(), p.thread());
    p.write(a, "before.drop", 0, 1);
    p.write(b, "before.drop", 0, 2);
    p.write(a, "after.drop", 0, 1);
    for n in 0..40 {
        p.record(
            a,
            Kind::Custom {
                name: "filler",
                data: Value::U64(n),
            },
        );
    }
    p.drain();
    p.write(b, "after.drop", 0, 2);
    Answer {
        events: p.events(),
        races: vec![
            race("before.drop", W, W),
            uncertain_race("after.drop", W, W),
        ],
        warning: Some("events were dropped"),
    }
}

/// 41 threads linked through one lock overflow the 32-entry clocks: the first thread's entry is
/// evicted, so its unlocked write looks concurrent with the last thread's locked write. Really
/// ordered, so reported only as uncertain.
fn clock_overflow_reports_an_uncertain_race() -> Answer {
    Answer {
        events: lock_chain(false),
        races: vec![uncertain_race("x", W, W)],
        warning: Some("overflowed"),
    }
}

/// The same chain with both writes under the lock: the lockset still proves them protected.
fn clock_overflow_under_a_common_lock() -> Answer {
    Answer {
        events: lock_chain(true),
        races: vec![],
        warning: Some("overflowed"),
    }
}

fn lock_chain(first_write_locked: bool) -> Vec<Event> {
    let (lock, lock_kind) = ("chain".into(), LockKind::Mutex);
    let mut events = Vec::new();
    let mut record =
        |thread: u32, kind| events.push(Event::new(0, ThreadId::from_raw(thread), kind));
    let write = Kind::StateChange {
        variable: "x".into(),
        access: W,
        old: Value::None,
        new: Value::None,
    };
    if !first_write_locked {
        record(1, write);
    }
    record(1, Kind::LockAcquire { lock, lock_kind });
    if first_write_locked {
        record(1, write);
    }
    record(1, Kind::LockRelease { lock, lock_kind });
    // More live (never ended) threads in one chain than a clock has entries
    // (`DEFAULT_CAPACITY`): the oldest, the first thread, is forgotten.
    for thread in 2..=400 {
        for _ in 0..3 {
            record(
                thread,
                Kind::Custom {
                    name: "work",
                    data: Value::None,
                },
            );
        }
        record(thread, Kind::LockAcquire { lock, lock_kind });
        record(thread, Kind::LockRelease { lock, lock_kind });
    }
    record(401, Kind::LockAcquire { lock, lock_kind });
    record(401, write);
    record(401, Kind::LockRelease { lock, lock_kind });
    events
}

fn http_request(url: Value, direction: raceway_core::event::Direction, span: u64) -> Kind {
    Kind::HttpRequest {
        method: "POST",
        url,
        direction,
        span,
    }
}

fn http_response(direction: raceway_core::event::Direction, span: u64) -> Kind {
    Kind::HttpResponse {
        status: 200,
        duration_ns: 0,
        direction,
        span,
    }
}

// ---------------------------------------------------------------------------------------------

/// A scenario program: runs, and returns what it recorded with its known answer.
type Scenario = fn() -> Answer;

type Key = (String, [&'static str; 2], bool);

fn key(variable: &str, a: Access, b: Access, uncertain: bool) -> Key {
    let mut pair = [a.as_str(), b.as_str()];
    pair.sort_unstable();
    (variable.to_owned(), pair, uncertain)
}

fn found(report: &Report) -> BTreeSet<Key> {
    report
        .races
        .iter()
        .map(|r| key(&r.variable, r.earlier.access, r.later.access, r.uncertain))
        .collect()
}

#[test]
fn labeled_scenarios_have_known_answers() {
    let scenarios: &[(&str, Scenario)] = &[
        ("lost update", lost_update),
        (
            "check-then-act without a lock",
            check_then_act_without_a_lock,
        ),
        (
            "check-then-act, a lock per step",
            check_then_act_with_a_lock_per_step,
        ),
        (
            "double-checked init without atomics",
            double_checked_init_without_atomics,
        ),
        (
            "read and write under different locks",
            read_and_write_under_different_locks,
        ),
        ("one writer forgets the lock", one_writer_forgets_the_lock),
        (
            "result read without a recorded join",
            result_read_without_a_recorded_join,
        ),
        (
            "sender touches message after send",
            sender_touches_the_message_after_sending,
        ),
        (
            "write under a shared RwLock hold",
            write_under_a_shared_rwlock_hold,
        ),
        ("atomic and plain writes", atomic_and_plain_writes),
        ("atomic store, plain load", atomic_store_and_plain_load),
        (
            "unordered calls across services",
            unordered_calls_across_services,
        ),
        ("many threads", many_threads),
        ("names compare by content", names_compare_by_content),
        (
            "transfers under a tracked mutex",
            transfers_under_a_tracked_mutex,
        ),
        (
            "counter under a mutex, 8 threads",
            counter_under_a_mutex_on_eight_threads,
        ),
        (
            "publication through spawn and join",
            publication_through_spawn_and_join,
        ),
        ("threads one after another", threads_one_after_another),
        ("hand-off through a channel", hand_off_through_a_channel),
        ("RwLock readers with a writer", rwlock_readers_with_a_writer),
        ("atomic counter", atomic_counter),
        ("atomic and plain reads", atomic_and_plain_reads),
        (
            "ordered calls across services",
            ordered_calls_across_services,
        ),
        ("single thread never races", single_thread_never_races),
        ("dropped events", dropped_events),
        (
            "clock overflow: uncertain race",
            clock_overflow_reports_an_uncertain_race,
        ),
        (
            "clock overflow under a common lock",
            clock_overflow_under_a_common_lock,
        ),
    ];

    let (mut expected_total, mut found_total, mut correct_total) = (0, 0, 0);
    let mut failures = Vec::new();
    println!(
        "{:<40} {:>8} {:>6} {:>7} {:>6}  ok",
        "scenario", "expected", "found", "missed", "extra"
    );
    for (name, scenario) in scenarios {
        let answer = scenario();
        let report = Analyzer::analyze(&answer.events);
        let expected: BTreeSet<Key> = answer
            .races
            .iter()
            .map(|&(variable, a, b, uncertain)| key(variable, a, b, uncertain))
            .collect();
        let found = found(&report);
        let missed: Vec<_> = expected.difference(&found).collect();
        let extra: Vec<_> = found.difference(&expected).collect();
        let text = report.to_string();
        let warning_ok = answer.warning.is_none_or(|warning| text.contains(warning));
        // Every access the report names was recorded by this file.
        let located = report.races.iter().all(|race| {
            [&race.earlier, &race.later]
                .iter()
                .all(|access| access.file.ends_with(file!()) || file!().ends_with(&access.file))
        });
        let ok = missed.is_empty() && extra.is_empty() && warning_ok && located;
        println!(
            "{:<40} {:>8} {:>6} {:>7} {:>6}  {}",
            name,
            expected.len(),
            found.len(),
            missed.len(),
            extra.len(),
            if ok { "yes" } else { "NO" }
        );
        expected_total += expected.len();
        found_total += found.len();
        correct_total += expected.intersection(&found).count();
        if !ok {
            failures.push(format!(
                "{name}: missed {missed:?}, extra {extra:?}, warning ok: {warning_ok}, \
                 located: {located}\n{text}"
            ));
        }
    }
    let ratio = |n: usize, d: usize| if d == 0 { 1.0 } else { n as f64 / d as f64 };
    println!(
        "{} scenarios; precision {:.3} ({correct_total}/{found_total}), recall {:.3} \
         ({correct_total}/{expected_total})",
        scenarios.len(),
        ratio(correct_total, found_total),
        ratio(correct_total, expected_total),
    );
    assert!(scenarios.len() >= 20);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
