//! `Stats::sent` counts the events the Raceway server accepted: trace starts, remote clocks and
//! thread ends never go on the wire and are counted as `state_only`, and nothing counts as
//! sent when the server refuses every request.

use std::time::Duration;

use raceway::{Client, Config};
use raceway_transport_http::testing::{ReceiverConfig, TestReceiver};

fn client_for(receiver: &TestReceiver, api_key: &str) -> Client {
    let config = Config::builder()
        .server_url(receiver.url())
        .api_key(api_key)
        .flush_interval(Duration::from_millis(20))
        .on_delivery_problem(|_| {})
        .build()
        .unwrap();
    Client::from_config(config).unwrap()
}

fn record(client: &Client) {
    let ctx = client.start_trace();
    ctx.run(|| {
        let worker = raceway::thread::spawn(|| raceway::track_write("total", 0, 1));
        raceway::track_read("total", 0);
        worker.join().unwrap();
    });
}

fn receiver_with_key(key: &str) -> TestReceiver {
    let mut config = ReceiverConfig::default();
    config.api_key = Some(key.to_owned());
    TestReceiver::with_config(config)
}

#[test]
fn sent_is_what_the_server_stored() {
    let receiver = receiver_with_key("right");
    let client = client_for(&receiver, "right");
    record(&client);
    let report = client.shutdown(Duration::from_secs(10));
    let stats = report.stats;
    assert_eq!(report.undelivered, 0, "{stats:?}");
    assert_eq!(stats.sent, receiver.events().len() as u64, "{stats:?}");
    // Two trace starts (the context and the spawned thread) and two thread ends at least.
    assert!(stats.state_only >= 4, "{stats:?}");
    assert_eq!(stats.recorded, stats.sent + stats.state_only);
}

#[test]
fn nothing_is_sent_when_every_request_is_refused() {
    let receiver = receiver_with_key("right");
    let client = client_for(&receiver, "wrong");
    record(&client);
    let report = client.shutdown(Duration::from_secs(10));
    let stats = report.stats;
    assert!(receiver.events().is_empty());
    assert!(!receiver.requests().is_empty(), "the client did try");
    assert_eq!(stats.sent, 0, "{stats:?}");
    assert_eq!(
        report.undelivered,
        stats.recorded - stats.state_only,
        "{stats:?}"
    );
    assert_eq!(
        stats.recorded,
        stats.sent
            + stats.state_only
            + stats.dropped_in_ring
            + stats.dropped_in_delivery
            + stats.in_flight
    );
}
