//! With a tiny ring and a sink too slow to keep up, events are dropped in the ring, and at every
//! moment `recorded == sent + dropped_in_lanes + dropped_in_delivery + in_flight`; after shutdown
//! nothing is in flight and the loss markers account for every dropped event.

mod common;

use std::time::{Duration, Instant};

use raceway::sink::{events_in, Sink, SinkStats};
use raceway::{Client, Config, Event, Kind};

/// Delivers slowly, and refuses every fifth batch.
#[derive(Debug, Default)]
struct Sluggish {
    stats: SinkStats,
    batches: u64,
    markers: u64,
}

impl Sink for Sluggish {
    fn send(&mut self, batch: &[Event], _deadline: Instant) {
        std::thread::sleep(Duration::from_micros(300));
        self.batches += 1;
        for event in batch {
            if let Kind::Dropped { count } = event.kind {
                self.markers += u64::from(count);
            }
        }
        if self.batches % 5 == 0 {
            self.stats.failed += events_in(batch);
        } else {
            self.stats.delivered += events_in(batch);
        }
    }

    fn stats(&self) -> SinkStats {
        self.stats
    }
}

fn identity(stats: raceway::Stats) {
    assert_eq!(
        stats.recorded,
        stats.sent
            + stats.state_only
            + stats.dropped_in_lanes
            + stats.dropped_in_delivery
            + stats.in_flight,
        "{stats:?}"
    );
}

#[test]
fn the_identity_holds_throughout() {
    let config = Config::builder()
        .lane_capacity(64)
        .batch_size(16)
        .flush_interval(Duration::from_millis(1))
        .build()
        .unwrap();
    let client = Client::new(config, Sluggish::default()).unwrap();
    let watcher = {
        let client = client.clone();
        std::thread::spawn(move || {
            for _ in 0..2000 {
                identity(client.stats());
            }
        })
    };
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let ctx = client.start_trace();
            std::thread::spawn(move || {
                let _entered = ctx.enter();
                for i in 0..20_000u64 {
                    raceway::track_write("hot", i, i + 1);
                    if i % 200 == 0 {
                        // Bursts of 200 into a 64-slot ring: drops, with the drain in between.
                        std::thread::sleep(Duration::from_micros(500));
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    watcher.join().unwrap();

    let report = client.shutdown(Duration::from_secs(10));
    assert!(!report.timed_out);
    let stats = report.stats;
    identity(stats);
    assert_eq!(stats.in_flight, 0);
    assert!(
        stats.dropped_in_lanes > 0,
        "the tiny ring overflowed: {stats:?}"
    );
    assert!(
        stats.dropped_in_delivery > 0,
        "every fifth batch was refused: {stats:?}"
    );
    assert_eq!(
        report.undelivered,
        stats.dropped_in_lanes + stats.dropped_in_delivery
    );
}
