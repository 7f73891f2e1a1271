//! With a retry buffer far smaller than the outage, the events that do not fit are dropped,
//! counted in `dropped_in_delivery`, and signalled to the server with `raceway.dropped` markers
//! once it is back; everything else arrives.

mod common;

use std::time::Duration;

use common::server::{marker_counts, record_at_2000_per_second, writes_received};
use raceway::{Client, Config};
use raceway_test_receiver::{Answer, TestReceiver};

/// Room for about 500 events.
const BUFFER_BYTES: usize = 500 * 88;

#[test]
fn an_outage_beyond_the_retry_buffer_loses_exactly_what_did_not_fit() {
    let receiver = TestReceiver::start();
    let config = Config::builder()
        .server_url(receiver.url())
        .service_name("outage")
        .flush_interval(Duration::from_millis(50))
        .retry_buffer_bytes(BUFFER_BYTES)
        .build()
        .unwrap();
    let client = Client::from_config(config).unwrap();

    let outage = Duration::from_millis(1500);
    receiver.script_for(outage, Answer::Cut);
    let (writes, report) = record_at_2000_per_second(client, outage + Duration::from_millis(500));
    let stats = report.stats;
    assert!(!report.timed_out, "{report:?}");
    assert_eq!(stats.in_flight, 0, "{stats:?}");
    assert_eq!(stats.dropped_in_lanes, 0, "the lanes kept up: {stats:?}");
    assert!(
        stats.dropped_in_delivery > 0,
        "3 000 events of outage cannot fit in 500: {stats:?}"
    );

    // Every event recorded arrived, or was state only (the trace start and thread end, unless
    // one of them was among the dropped), or was dropped for want of room.
    let received = writes_received(&receiver);
    assert!(received < writes);
    assert_eq!(
        received + stats.state_only + stats.dropped_in_delivery,
        stats.recorded,
        "what was not dropped arrived: {stats:?}"
    );
    let markers = marker_counts(&receiver);
    assert_eq!(
        markers.iter().sum::<u64>(),
        stats.dropped_in_delivery,
        "the markers tell the server every loss: {markers:?}"
    );
    assert_eq!(
        stats.sent, received,
        "sent counts the events that arrived, not the markers: {stats:?}"
    );
    assert_eq!(report.undelivered, stats.dropped_in_delivery);
}
