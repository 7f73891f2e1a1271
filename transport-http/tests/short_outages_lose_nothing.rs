//! A few seconds of 500s and cut connections lose nothing when retries suffice.

mod common;

use std::time::{Duration, Instant};

use common::{custom, encoder_with, event, in_secs};
use raceway_test_receiver::{Answer, TestReceiver};
use raceway_transport_http::{BatchLimits, HttpClient, HttpClientConfig, MAX_BODY_BYTES};

#[test]
fn short_outages_lose_nothing() {
    let receiver = TestReceiver::start();
    let mut config = HttpClientConfig::new(receiver.url());
    config.initial_backoff = Duration::from_millis(50);
    config.max_backoff = Duration::from_millis(400);
    config.max_attempts = 100;
    config.max_retry_time = Duration::from_secs(20);
    let client = HttpClient::new(config).unwrap();

    let mut encoder = encoder_with(BatchLimits {
        max_events: 25,
        max_bytes: MAX_BODY_BYTES,
    });
    let mut batches = Vec::new();
    for i in 0..200 {
        batches.extend(
            encoder
                .encode(&event(1 + i % 3, custom("work", i64::from(i))))
                .batch,
        );
    }
    batches.extend(encoder.flush());

    let started = Instant::now();
    receiver.script_for(Duration::from_millis(1200), Answer::status(500));
    let mut reports = Vec::new();
    for (i, batch) in batches.into_iter().enumerate() {
        if i == 3 {
            receiver.script_for(Duration::from_millis(1200), Answer::Cut);
        }
        if i == 6 {
            receiver.script_for(Duration::from_millis(800), Answer::status(503));
        }
        reports.push(client.deliver(batch, in_secs(20)));
    }
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "the outage lasted"
    );
    for report in &reports {
        assert!(report.is_complete(), "{report:?}");
    }
    let stats = client.stats();
    assert_eq!(stats.sent, 200);
    assert_eq!(stats.dropped, 0);
    assert!(stats.retries >= 3, "{stats:?}");
    assert!(receiver.wait_for_events(200, Duration::from_secs(1)));
    assert_eq!(
        receiver.events().len(),
        200,
        "nothing lost, nothing duplicated"
    );
    let requests = receiver.requests();
    assert!(
        requests.iter().any(|r| r.status.is_none()),
        "connections were cut"
    );
    assert!(requests.iter().any(|r| r.status == Some(500)));
}
