//! A 206 answer's "Ingested N events, M errors" is counted: N sent, M dropped by the server.

mod common;

use common::{batch_of, fast_client, in_secs};
use raceway_test_receiver::{Answer, TestReceiver};

#[test]
fn partial_ingestion_is_counted_as_server_dropped() {
    let receiver = TestReceiver::start();
    receiver.script(Answer::Partial { keep: 5 });
    let client = fast_client(&receiver.url());
    let (_, batch) = batch_of(20);

    let report = client.deliver(batch, in_secs(10));
    assert_eq!((report.sent, report.server_dropped), (5, 15));
    assert_eq!(
        report.retries, 0,
        "a 206 is not resent: that would duplicate events"
    );
    assert!(report.error.is_none());
    let stats = client.stats();
    assert_eq!(
        (stats.sent, stats.server_dropped, stats.requests),
        (5, 15, 1)
    );
    assert_eq!(receiver.events().len(), 5);
}
