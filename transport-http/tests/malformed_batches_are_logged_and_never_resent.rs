//! A 422 (or 400/415) is an encoding bug: the server's message is logged and the batch is not resent.

mod common;

use common::{capture_log, fast_client, in_secs};
use raceway_test_receiver::TestReceiver;
use raceway_transport_http::{Batch, DeliveryError};

#[test]
fn malformed_batches_are_logged_and_never_resent() {
    capture_log::install();
    let receiver = TestReceiver::start();
    let client = fast_client(&receiver.url());
    // What a buggy encoder could produce: a trace id that is not a UUID.
    let bad = br#"{"id":"7f0c2a52-8a7a-4d3a-9a57-0d1c5b7e8f10","trace_id":"not-a-uuid","parent_id":null,"timestamp":"2026-11-26T16:11:38.000000000Z","kind":{"Custom":{"name":"x","data":null}},"metadata":{"thread_id":"t1","process_id":1,"service_name":"s","environment":"","tags":{}},"causality_vector":[],"lock_set":[]}"#;
    let report = client.deliver(Batch::from_events([&bad[..], &bad[..]]), in_secs(10));

    assert_eq!(report.rejected, 2);
    assert_eq!(report.retries, 0);
    match &report.error {
        Some(DeliveryError::Rejected {
            status: 422,
            message,
        }) => {
            assert!(message.contains("events[0].trace_id"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(receiver.requests().len(), 1, "never resent");
    assert!(receiver.events().is_empty(), "the whole batch is refused");
    assert!(capture_log::lines()
        .iter()
        .any(|l| l.starts_with("ERROR") && l.contains("events[0].trace_id")));
    assert_eq!(client.stats().rejected, 2);
}
