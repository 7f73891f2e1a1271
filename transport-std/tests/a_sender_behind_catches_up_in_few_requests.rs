//! A service records a burst of 2 000 events while the server answers 503. The drain hands them
//! to the server sink in batches of 100; once the server is back, the sender posts what waits
//! together (up to the 2 MiB body limit), not one request per batch, and every event arrives
//! once.

mod common;

use std::time::{Duration, Instant};

use common::server::{assert_identity, writes_received};
use raceway::{Client, Config};
use raceway_test_receiver::{Answer, TestReceiver};

const BATCH: usize = 100;
const WRITES: u64 = 2_000;

#[test]
fn a_sender_behind_catches_up_in_few_requests() {
    let receiver = TestReceiver::start();
    let config = Config::builder()
        .server_url(receiver.url())
        .service_name("burst")
        .batch_size(BATCH)
        .flush_interval(Duration::from_millis(10))
        .build()
        .unwrap();
    let client = Client::from_config(config).unwrap();

    let outage = Duration::from_millis(400);
    let started = Instant::now();
    receiver.script_for(outage, Answer::status(503));
    let ctx = client.start_trace();
    ctx.run(|| {
        for write in 0..WRITES {
            raceway::track_write("counter", write, write + 1);
        }
    });
    drop(ctx);
    assert!(
        started.elapsed() < outage / 2,
        "the burst was recorded while the server was down"
    );
    std::thread::sleep(outage.saturating_sub(started.elapsed()));
    let report = client.shutdown(Duration::from_secs(60));
    let stats = report.stats;
    assert!(!report.timed_out, "{report:?}");
    assert_eq!(report.undelivered, 0, "{stats:?}");
    assert_eq!(stats.dropped_in_lanes + stats.dropped_in_delivery, 0);
    assert_identity(&stats);
    assert_eq!(
        writes_received(&receiver),
        WRITES,
        "every write arrived once"
    );

    let requests = receiver.requests();
    assert!(
        requests.iter().any(|r| r.status == Some(503)),
        "the server was down"
    );
    let accepted: Vec<usize> = requests
        .iter()
        .filter(|r| r.status == Some(200))
        .map(|r| r.body.len())
        .collect();
    // One request per drain batch would be at least WRITES / BATCH = 20. The one refused
    // during the outage is resent as it was; everything behind it goes in one more.
    assert!(
        accepted.len() <= 3,
        "{} accepted requests for {WRITES} events: {accepted:?} bytes",
        accepted.len()
    );
}
