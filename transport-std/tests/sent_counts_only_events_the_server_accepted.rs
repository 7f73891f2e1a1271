//! `Stats::sent` counts the events the Raceway server accepted: trace starts, remote clocks and
//! thread ends never go on the wire and are counted as `state_only`, and nothing counts as
//! sent when the server refuses every request.

mod common;

use std::time::Duration;

use common::server::{assert_identity, receiver_with_key};
use raceway::{Client, Config};
use raceway_test_receiver::TestReceiver;

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
    assert_identity(&stats);
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
    assert_identity(&stats);
}
