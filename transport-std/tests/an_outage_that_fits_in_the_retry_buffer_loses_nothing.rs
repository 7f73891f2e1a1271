//! The server answers 503 while a service records 2 000 events a second: the drain keeps
//! emptying the lanes into the retry buffer, the sender retries until the server is back, and
//! every event arrives, once.
//!
//! The case is a 10 s outage with the default 4 MiB buffer and 16 Ki-event lanes. The
//! loopback receiver validates every body against the wire schema, which in a debug build
//! takes about 0.5 ms an event, so delivering that backlog alone would take over 10 s: this
//! test scales the outage, the buffer and the lanes down by four together (2.5 s,
//! 1 MiB, 4 Ki events), which keeps the ratio of the outage to each of them.

mod common;

use std::time::Duration;

use common::server::{has_marker, record_at_2000_per_second, writes_received};
use raceway::config::{DEFAULT_LANE_CAPACITY, DEFAULT_RETRY_BUFFER_BYTES};
use raceway::{Client, Config};
use raceway_test_receiver::{Answer, TestReceiver};

const SCALE: u32 = 4;

#[test]
fn an_outage_that_fits_in_the_retry_buffer_loses_nothing() {
    let outage = Duration::from_secs(10) / SCALE;
    let receiver = TestReceiver::start();
    let config = Config::builder()
        .server_url(receiver.url())
        .service_name("outage")
        .flush_interval(Duration::from_millis(50))
        .retry_buffer_bytes(DEFAULT_RETRY_BUFFER_BYTES / SCALE as usize)
        .lane_capacity(DEFAULT_LANE_CAPACITY / SCALE as usize)
        .build()
        .unwrap();
    let client = Client::from_config(config).unwrap();

    receiver.script_for(outage, Answer::status(503));
    let (writes, report) = record_at_2000_per_second(client, outage + Duration::from_millis(500));
    let stats = report.stats;
    assert!(!report.timed_out, "{report:?}");
    assert!(
        writes > (DEFAULT_LANE_CAPACITY / SCALE as usize) as u64,
        "the outage outlasts the lanes"
    );
    assert_eq!(stats.dropped_in_lanes, 0, "{stats:?}");
    assert_eq!(stats.dropped_in_delivery, 0, "{stats:?}");
    assert_eq!(report.undelivered, 0, "{stats:?}");
    assert!(stats.retried > 0, "the outage was retried: {stats:?}");
    assert!(
        receiver.requests().iter().any(|r| r.status == Some(503)),
        "the server was down"
    );

    assert_eq!(
        writes_received(&receiver),
        writes,
        "every write arrived exactly once"
    );
    let events = receiver.events();
    assert_eq!(stats.sent, events.len() as u64, "sent counts what arrived");
    assert!(!has_marker(&events), "nothing was lost, so no loss marker");
}
