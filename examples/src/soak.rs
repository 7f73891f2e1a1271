//! Weeks of a service in minutes: millions of request contexts on many worker threads, a large
//! working set of dynamic variable and lock names, fan-ins of many tasks, joins long after their
//! child ended, hostile propagation headers, calls to a service that is not instrumented (whose
//! edges nobody receives, so the replay forgets them by the million), and planted races beside
//! planted look-alikes that are correctly ordered. The verdict must be exactly the planted
//! races, none uncertain, with memory that stops growing once the working set is warm.
//!
//! `cargo run --release --example soak` runs the full size; the tests run [`Params::small`].
//!
//! Every access the workload makes is ordered by something Raceway sees, except the planted
//! races:
//!
//! * `data.{k}` (a pool of [`Params::names`] names) is written under the tracked mutex
//!   `locks[k % locks]`, one of [`Params::locks`] mutexes with generated names;
//! * a fan-in's children read what their parent wrote before spawning them and write their own
//!   slot, which the parent reads after joining them all; the parent writes its result under
//!   the worker's fan-in lock, which orders it after the previous fan-in;
//! * a late join: a child writes `late.{w}.{round}` and ends, the worker runs
//!   [`Params::late_join_after`] other contexts, then the parent joins it and writes the same
//!   variable;
//! * look-alikes: two contexts of different workers write `planted.ordered.{k}`, both under the
//!   lock `planted.lock.{k}`;
//! * races: two contexts of different workers write `planted.race.{k}` with nothing between them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use base64::Engine;
use raceway::sync::Mutex;
use raceway::{Client, Context};
use raceway_analyze::Report;

/// The size of a soak run.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// Request contexts in all.
    pub contexts: u64,
    /// Worker threads running them.
    pub workers: u64,
    /// Distinct dynamic variable names (`data.{k}`).
    pub names: u64,
    /// Distinct tracked mutexes with generated names.
    pub locks: u64,
    /// Tasks in each fan-in.
    pub fan_in: u64,
    /// One context in this many is a fan-in.
    pub fan_in_every: u64,
    /// Contexts a worker runs between a child's end and its parent's join.
    pub late_join_after: u64,
    /// One context in this many arrives with a hostile `raceway-clock` header.
    pub hostile_every: u64,
    /// Calls each context makes to a service that is not instrumented.
    pub calls: u64,
    /// Planted races, and as many planted look-alikes.
    pub planted: u64,
}

impl Params {
    /// The size the issue asks for: weeks of a service.
    pub fn full() -> Self {
        Params {
            contexts: 10_000_000,
            workers: 8,
            names: 1_000_000,
            locks: 100_000,
            fan_in: 1_000,
            fan_in_every: 50_000,
            late_join_after: 100_000,
            hostile_every: 100,
            calls: 1,
            planted: 64,
        }
    }

    /// A size for tests: every feature of the workload, in a second or two.
    pub fn small() -> Self {
        Params {
            contexts: 40_000,
            workers: 4,
            names: 20_000,
            locks: 10_000,
            fan_in: 300,
            fan_in_every: 5_000,
            late_join_after: 3_000,
            hostile_every: 50,
            // Enough that the replay forgets unanswered calls altogether before the end.
            calls: 2,
            planted: 8,
        }
    }
}

/// What a soak run produced.
#[derive(Debug)]
pub struct Outcome {
    /// How long the workload ran.
    pub elapsed: Duration,
    /// Resident memory samples: (contexts done, bytes).
    pub memory: Vec<(u64, u64)>,
}

/// The report, judged against what was planted.
#[derive(Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Planted races the report names.
    pub planted_found: u64,
    /// Planted races in all.
    pub planted: u64,
    /// Races the report names that were not planted.
    pub false_races: u64,
    /// Races marked uncertain.
    pub uncertain: u64,
}

/// Judges `report` against the races `params` planted. A name whose text the full name table
/// forgot is reported by its hash (`#` and 16 hex digits), so both spellings count.
pub fn verdict(report: &Report, params: &Params) -> Verdict {
    let planted: Vec<[String; 2]> = (0..params.planted)
        .map(|k| {
            let name = format!("planted.race.{k}");
            let hashed = format!("#{:016x}", raceway_core::name::hash(&name));
            [name, hashed]
        })
        .collect();
    let is = |race: &raceway_analyze::Race, k: usize| planted[k].contains(&race.variable);
    let planted_found = (0..planted.len())
        .filter(|&k| report.races.iter().any(|race| is(race, k)))
        .count() as u64;
    Verdict {
        planted_found,
        planted: params.planted,
        false_races: report
            .races
            .iter()
            .filter(|race| !(0..planted.len()).any(|k| is(race, k)))
            .count() as u64,
        uncertain: report.races.iter().filter(|race| race.uncertain).count() as u64,
    }
}

/// The resident set size of this process (Linux; 0 elsewhere).
pub fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// Runs the workload against `client`, sampling memory as it goes.
pub fn run(client: &Client, params: Params) -> Outcome {
    let started = Instant::now();
    let locks: Arc<Vec<Mutex<u64>>> = Arc::new((0..params.locks).map(|_| Mutex::new(0)).collect());
    let fan_locks: Arc<Vec<Mutex<u64>>> =
        Arc::new((0..params.workers).map(|_| Mutex::new(0)).collect());
    let planted_locks: Arc<Vec<Mutex<()>>> = Arc::new(
        (0..params.planted)
            .map(|k| Mutex::with_name(raceway::intern(&format!("planted.lock.{k}")), ()))
            .collect(),
    );
    let done = Arc::new(AtomicU64::new(0));
    // The planted pairs happen at the same moment in every worker, so no other edge orders them.
    let plant = Arc::new(Barrier::new(params.workers as usize));
    let memory = std::thread::scope(|scope| {
        for worker in 0..params.workers {
            let (locks, fan_locks, planted_locks) = (&locks, &fan_locks, &planted_locks);
            let (done, plant) = (&done, &plant);
            scope.spawn(move || {
                Worker {
                    client,
                    params,
                    worker,
                    locks,
                    fan_locks,
                    planted_locks,
                    done,
                    plant,
                }
                .run()
            });
        }
        let mut memory = Vec::new();
        loop {
            let contexts = done.load(Ordering::Relaxed);
            memory.push((contexts, resident_bytes()));
            if contexts >= params.contexts {
                break memory;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    Outcome {
        elapsed: started.elapsed(),
        memory,
    }
}

/// A call to a service that is not instrumented: no one receives the request's edge, and the
/// answer comes without Raceway's headers.
fn call_uninstrumented(ctx: &Context) {
    let mut headers = Vec::new();
    ctx.outbound("POST", "http://payments.internal/charge", &mut headers)
        .finish(200);
}

struct Worker<'a> {
    client: &'a Client,
    params: Params,
    worker: u64,
    locks: &'a [Mutex<u64>],
    fan_locks: &'a [Mutex<u64>],
    planted_locks: &'a [Mutex<()>],
    done: &'a AtomicU64,
    plant: &'a Barrier,
}

impl Worker<'_> {
    fn run(self) {
        let p = self.params;
        let w = self.worker;
        let mine = p.contexts / p.workers;
        let plant_every = (mine / (p.planted + 1)).max(1);
        let mut late: Option<(Context, raceway::thread::JoinHandle<()>, raceway::Name, u64)> = None;
        let mut late_round = 0;
        for i in 0..mine {
            let global = i * p.workers + w;
            let ctx = if global.is_multiple_of(p.hostile_every) {
                self.hostile_request(global)
            } else {
                self.client.start_trace()
            };
            ctx.run(|| self.request(global));
            for _ in 0..p.calls {
                call_uninstrumented(&ctx);
            }
            let fanned_in = i % p.fan_in_every == p.fan_in_every / 2;
            if fanned_in {
                self.fan_in(&ctx);
            }
            drop(ctx);

            match &late {
                None => {
                    // A child thread that writes and ends now; its parent joins it much later.
                    let parent = self.client.start_trace();
                    let variable = raceway::intern(&format!("late.{w}.{late_round}"));
                    let child = parent.run(|| {
                        raceway::thread::spawn(move || raceway::track_write(variable, 0, 1))
                    });
                    late = Some((parent, child, variable, i));
                }
                Some((_, _, _, since)) if i - since >= p.late_join_after => {
                    if let Some((parent, child, variable, _)) = late.take() {
                        parent.run(|| {
                            child.join().expect("the child does not panic");
                            raceway::track_write(variable, 1, 2);
                        });
                        late_round += 1;
                    }
                }
                Some(_) => {}
            }

            if i % plant_every == plant_every - 1 {
                let k = i / plant_every;
                if k < p.planted {
                    self.plant(k);
                }
            }
            // Keep the drain in step, so nothing is dropped for want of room: a thread's buffer
            // holds 16 Ki events, a context records about six and a fan-in several thousand.
            if fanned_in || i % 500 == 499 {
                let _ = self.client.flush(Duration::from_secs(60));
            }
            self.done.fetch_add(1, Ordering::Relaxed);
        }
        if let Some((parent, child, _, _)) = late {
            parent.run(|| child.join().expect("the child does not panic"));
        }
    }

    /// One ordinary request: reads and writes a name of the pool under its lock.
    fn request(&self, global: u64) {
        let p = self.params;
        let k = global.wrapping_mul(0x9e37_79b9) % p.names;
        let mut guard = self.locks[(k % p.locks) as usize].lock().unwrap();
        raceway::track_read(format_args!("data.{k}"), *guard);
        raceway::track_write(format_args!("data.{k}"), *guard, *guard + 1);
        *guard += 1;
    }

    /// A request that fans out to `fan_in` tasks and joins them all.
    fn fan_in(&self, parent: &Context) {
        let p = self.params;
        let w = self.worker;
        parent.run(|| {
            let _guard = self.fan_locks[w as usize].lock().unwrap();
            raceway::track_write(format_args!("fan.{w}.input"), 0, 1);
        });
        let children: Vec<Context> = (0..p.fan_in).map(|_| parent.child()).collect();
        for (j, child) in children.iter().enumerate() {
            child.run(|| {
                raceway::track_read(format_args!("fan.{w}.input"), 1);
                raceway::track_write(format_args!("fan.{w}.slot.{j}"), 0, 1);
            });
        }
        for child in children {
            parent.join(child);
        }
        parent.run(|| {
            for j in 0..p.fan_in {
                raceway::track_read(format_args!("fan.{w}.slot.{j}"), 1);
            }
            let _guard = self.fan_locks[w as usize].lock().unwrap();
            raceway::track_write(format_args!("fan.{w}.result"), 0, 1);
        });
    }

    /// Workers 0 and 1 each write the k-th planted race and the k-th look-alike, at the same
    /// moment; the others only wait with them.
    fn plant(&self, k: u64) {
        self.plant.wait();
        if self.worker < 2 {
            let ctx = self.client.start_trace();
            // Its answer finds no edge: once calls are forgotten, the context's clock may lack
            // what they carried, yet the race with the other worker's context stays certain.
            call_uninstrumented(&ctx);
            ctx.run(|| {
                raceway::track_write(format_args!("planted.race.{k}"), 0, self.worker);
                let _guard = self.planted_locks[k as usize].lock().unwrap();
                raceway::track_write(format_args!("planted.ordered.{k}"), 0, self.worker);
            });
        }
        self.plant.wait();
    }

    /// A request whose `raceway-clock` header carries clock components never seen before.
    fn hostile_request(&self, global: u64) -> Context {
        let payload = format!(
            r#"{{"trace_id":"0af76519-16cd-43dd-8448-eb211c80319c","span_id":"b7ad6b7169203331","parent_span_id":"p{global}","service":"evil","instance":"i{global}","clock":[["evil#{global}-a",1],["evil#{global}-b",2],["evil#{global}-{}",3]]}}"#,
            "x".repeat(64)
        );
        let header = format!(
            "v1;{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload)
        );
        let headers = [("raceway-clock", header)];
        self.client
            .inbound_request(&headers[..], "POST", &format!("/orders/{global}"))
    }
}
