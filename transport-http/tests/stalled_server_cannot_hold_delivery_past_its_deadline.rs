//! Against a server that never answers, delivery returns by its deadline and says what it lost.

mod common;

use std::time::{Duration, Instant};

use common::batch_of;
use raceway_test_receiver::{Answer, TestReceiver};
use raceway_transport_http::{DeliveryError, HttpClient, HttpClientConfig};

#[test]
fn stalled_server_cannot_hold_delivery_past_its_deadline() {
    let receiver = TestReceiver::start();
    receiver.script_for(
        Duration::from_secs(30),
        Answer::Stall(Duration::from_secs(10)),
    );
    let mut config = HttpClientConfig::new(receiver.url());
    config.request_timeout = Duration::from_secs(10);
    let client = HttpClient::new(config).unwrap();
    let (_, batch) = batch_of(40);

    let started = Instant::now();
    let report = client.deliver(batch, started + Duration::from_millis(1500));
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1400), "{took:?}");
    assert!(
        took < Duration::from_millis(2500),
        "overran the deadline: {took:?}"
    );
    assert_eq!(report.dropped, 40);
    assert_eq!(report.undelivered(), 40);
    assert!(matches!(
        report.error,
        Some(DeliveryError::DeadlineExceeded | DeliveryError::Unavailable { .. })
    ));
    assert_eq!(client.stats().dropped, 40);
    assert!(receiver.events().is_empty());
}
