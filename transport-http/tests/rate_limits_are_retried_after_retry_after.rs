//! A 429 with `Retry-After` is retried after that many seconds, then succeeds.

mod common;

use std::time::Duration;

use common::{batch_of, fast_client, in_secs};
use raceway_test_receiver::{Answer, TestReceiver};

#[test]
fn rate_limits_are_retried_after_retry_after() {
    let receiver = TestReceiver::start();
    receiver.script(Answer::too_many_requests(Some(1)));
    let client = fast_client(&receiver.url());
    let (_, batch) = batch_of(10);

    let report = client.deliver(batch, in_secs(10));
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.retries, 1);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    let waited = requests[1].at - requests[0].at;
    assert!(
        waited >= Duration::from_millis(990),
        "waited only {waited:?}"
    );
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");
    assert_eq!(receiver.events().len(), 10);
}

#[test]
fn a_retry_after_beyond_the_deadline_drops_without_waiting() {
    let receiver = TestReceiver::start();
    receiver.script(Answer::too_many_requests(Some(60)));
    let client = fast_client(&receiver.url());
    let (_, batch) = batch_of(3);
    let started = std::time::Instant::now();
    let report = client.deliver(batch, in_secs(2));
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(report.dropped, 3);
    assert!(report.error.is_some());
}
