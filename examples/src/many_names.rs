//! A service that names its state by data: one variable per account for a million accounts and
//! one lock per ledger for thousands of ledgers, far more names than the name table holds.
//!
//! Two threads run side by side, unordered. Each writes its own accounts (`a.{i}` and `b.{i}`:
//! distinct variables, no race however many there are), both write some `shared.{k}` (the
//! planted races) and both write some `guarded.{k}` under the lock `guarded.{k}.lock` (the
//! look-alikes: the same accesses, correctly ordered). The verdict must list exactly the planted
//! races: a merged name would invent a race between two accounts or hide one behind two locks
//! taken for one.

use std::sync::{Arc, Mutex};

use raceway::analysis::{Analysis, AnalyzerSink};
use raceway::config::MAX_LANE_CAPACITY;
use raceway::{Client, Config};

/// How big a run is.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    /// Distinct per-thread account variables, both threads together.
    pub names: usize,
    /// One planted race and one look-alike every `every` accounts.
    pub every: usize,
}

/// A quiet analyzing client whose per-thread buffers are big enough that a burst of millions of
/// events loses none (a loss would make verdicts uncertain, which is not what this measures).
pub fn client() -> (Client, Analysis) {
    let (sink, analysis) = AnalyzerSink::new();
    let config = Config::builder()
        .service_name("many-names")
        .lane_capacity(MAX_LANE_CAPACITY)
        .build()
        .expect("a valid configuration");
    let client = Client::new(config, sink.quiet()).expect("the drain thread starts");
    (client, analysis)
}

/// The variables the run planted races on.
pub fn run(client: &Client, scale: Scale) -> Vec<String> {
    // Real exclusion for the look-alikes: a small pool of locks, each tracked under the
    // per-ledger dynamic name both threads use for that ledger.
    let pool: Arc<Vec<Mutex<()>>> = Arc::new((0..64).map(|_| Mutex::new(())).collect());
    let half = scale.names / 2;
    let every = scale.every.max(1);
    let job = client.start_trace();
    job.run(|| {
        let worker = {
            let pool = Arc::clone(&pool);
            raceway::thread::spawn(move || side("b", half, every, &pool))
        };
        side("a", half, every, &pool);
        worker.join().expect("the worker does not panic");
    });
    (0..half)
        .step_by(every)
        .map(|k| format!("shared.{k}"))
        .collect()
}

/// One thread's share of the work.
fn side(prefix: &str, accounts: usize, every: usize, pool: &[Mutex<()>]) {
    for i in 0..accounts {
        raceway::track_write(format_args!("{prefix}.{i}"), 0, 1);
        if i % every == 0 {
            raceway::track_write(format_args!("shared.{i}"), 0, 1);
            let _real = pool[i / every % pool.len()].lock();
            raceway::track_lock_acquire(format_args!("guarded.{i}.lock"), raceway::LockKind::Mutex);
            raceway::track_write(format_args!("guarded.{i}"), 0, 1);
            raceway::track_lock_release(format_args!("guarded.{i}.lock"), raceway::LockKind::Mutex);
        }
    }
}
