//! A 413 splits the batch in halves and sends them again until each fits, first half first.

mod common;

use common::{batch_of, fast_client, in_secs};
use raceway_test_receiver::{Answer, ReceiverConfig, TestReceiver};

#[test]
fn oversized_batches_are_split_and_resent() {
    let (_, batch) = batch_of(64);
    let body_len = batch.body_len();
    let mut config = ReceiverConfig::default();
    // Only bodies of at most ~1/5 of the batch pass: two rounds of splitting are needed.
    config.max_body_bytes = body_len / 5;
    let receiver = TestReceiver::with_config(config);
    receiver.script(Answer::status(413)); // and a scripted one first, for good measure
    let client = fast_client(&receiver.url());

    let report = client.deliver(batch.clone(), in_secs(10));
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.sent, 64);
    let requests = receiver.requests();
    assert!(requests.iter().filter(|r| r.status == Some(413)).count() >= 3);
    assert!(requests
        .iter()
        .all(|r| r.status != Some(200) || r.body.len() <= body_len / 5));

    // Every event arrived once, in the original order.
    let sent: Vec<serde_json::Value> = batch
        .events()
        .map(|e| serde_json::from_slice(e).unwrap())
        .collect();
    assert_eq!(receiver.events(), sent);
}

#[test]
fn a_single_event_over_the_limit_is_rejected_not_resent() {
    let (_, batch) = batch_of(1);
    let mut config = ReceiverConfig::default();
    config.max_body_bytes = 10;
    let receiver = TestReceiver::with_config(config);
    let client = fast_client(&receiver.url());
    let report = client.deliver(batch, in_secs(10));
    assert_eq!(report.rejected, 1);
    assert_eq!(receiver.requests().len(), 1);
}
