//! After more distinct dynamic names than the name table holds, two different tracked mutexes
//! are still two locks: a counter incremented under one by a thread and under the other by
//! another (a real lost update) is reported, not hidden as if one lock guarded both.

mod common;

use std::sync::Arc;
use std::time::Duration;

use raceway::sync::Mutex;

const INCREMENTS: i64 = 20;

fn a_lock() -> Mutex<()> {
    Mutex::new(())
}

#[test]
fn two_dynamic_locks_stay_two_after_the_name_table_fills() {
    let (client, analysis) = common::analyzed_client();
    common::fill_name_table();
    let counter = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let job = client.start_trace();
    job.run(|| {
        let (mine, theirs) = (a_lock(), Arc::new(a_lock()));
        let increment = |lock: &Mutex<()>, counter: &std::sync::atomic::AtomicI64| {
            use std::sync::atomic::Ordering::Relaxed;
            for _ in 0..INCREMENTS {
                let _held = lock.lock().unwrap();
                let old = counter.load(Relaxed);
                raceway::track_read("counter", old);
                counter.store(old + 1, Relaxed);
                raceway::track_write("counter", old, old + 1);
            }
        };
        let worker = {
            let (theirs, counter) = (Arc::clone(&theirs), Arc::clone(&counter));
            raceway::thread::spawn(move || increment(&theirs, &counter))
        };
        increment(&mine, &counter);
        worker.join().unwrap();
    });
    drop(job);
    client.shutdown(Duration::from_secs(10));
    let report = analysis.report();
    assert!(
        report.races.iter().any(|race| race.variable == "counter"),
        "{report}"
    );
}
