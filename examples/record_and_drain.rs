//! Records a few events from two threads with the core alone, then drains and prints them.
//!
//! `cargo run --example record_and_drain`

use std::sync::Arc;
use std::time::Instant;

use raceway_core::causality::HappensBefore;
use raceway_core::event::{Access, Kind, LockKind, Value};
use raceway_core::recorder::Recorder;
use raceway_core::ring::Ring;

fn main() {
    fn now() -> u64 {
        static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }
    let recorder = Arc::new(Recorder::new(Ring::with_capacity(1024), now));
    let main = recorder.new_thread();
    let worker = recorder.new_thread();
    recorder.record(main, Kind::Spawn { child: worker });
    let handle = {
        let recorder = Arc::clone(&recorder);
        std::thread::spawn(move || {
            let lock = ("balance_lock", LockKind::Mutex);
            recorder.record(
                worker,
                Kind::LockAcquire {
                    lock: lock.0.into(),
                    lock_kind: lock.1,
                },
            );
            recorder.record(
                worker,
                Kind::StateChange {
                    variable: "balance".into(),
                    access: Access::Write,
                    old: Value::I64(100),
                    new: Value::I64(50),
                },
            );
            recorder.record(
                worker,
                Kind::LockRelease {
                    lock: lock.0.into(),
                    lock_kind: lock.1,
                },
            );
        })
    };
    handle.join().unwrap();
    recorder.record(main, Kind::Join { child: worker });
    recorder.record(
        main,
        Kind::StateChange {
            variable: "balance".into(),
            access: Access::Read,
            old: Value::None,
            new: Value::I64(50),
        },
    );

    let mut hb = HappensBefore::<8>::new();
    for event in recorder.consumer().expect("the only consumer") {
        let observed = hb.observe(&event);
        let clock: Vec<String> = hb
            .clock(event.thread)
            .into_iter()
            .flat_map(|c| c.iter())
            .map(|(t, n)| format!("{t}:{n}"))
            .collect();
        println!(
            "{:>8}ns {} {}:{} {:?} clock=[{}]{}",
            event.time,
            event.thread,
            event.location.file(),
            event.location.line(),
            event.kind,
            clock.join(" "),
            if observed.uncertain {
                " (uncertain)"
            } else {
                ""
            }
        );
    }
    println!("{:?}", recorder.stats());
}
