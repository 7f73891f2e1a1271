//! A 206 says the server's queue overflowed: the client waits before its next request, longer
//! with each 206 in a row, and goes back to full speed once the server takes a batch whole.
//! Seen in the receiver's request log as the spacing between requests.

mod common;

use std::time::Duration;

use common::{batch_of, in_secs};
use raceway_test_receiver::{Answer, TestReceiver};
use raceway_transport_http::{HttpClient, HttpClientConfig};

const BEFORE: usize = 6;
const PARTIAL: usize = 3;
const AFTER: usize = 6;

#[test]
fn partial_answers_slow_down_the_next_requests() {
    let receiver = TestReceiver::start();
    // Pauses from 100 ms up: far above the spacing of requests answered 200.
    let mut config = HttpClientConfig::new(receiver.url());
    config.initial_backoff = Duration::from_millis(200);
    let client = HttpClient::new(config).unwrap();
    let deliver = || {
        let (_, batch) = batch_of(5);
        client.deliver(batch, in_secs(30))
    };
    for _ in 0..BEFORE {
        assert!(deliver().is_complete());
    }
    for _ in 0..PARTIAL {
        receiver.script(Answer::Partial { keep: 2 });
    }
    for _ in 0..PARTIAL + AFTER {
        deliver();
    }

    let requests = receiver.requests();
    assert_eq!(requests.len(), BEFORE + PARTIAL + AFTER);
    let statuses: Vec<_> = requests.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == Some(206)).count(),
        PARTIAL
    );
    // The wait after each request, by the answer it got.
    let gaps: Vec<(Option<u16>, Duration)> = requests
        .windows(2)
        .map(|pair| (pair[0].status, pair[1].at - pair[0].at))
        .collect();
    let after_partial: Vec<Duration> = gaps
        .iter()
        .filter(|(status, _)| *status == Some(206))
        .map(|(_, gap)| *gap)
        .collect();
    let after_ok: Vec<Duration> = gaps
        .iter()
        .filter(|(status, _)| *status == Some(200))
        .map(|(_, gap)| *gap)
        .collect();
    let longest_ok = after_ok.iter().max().copied().unwrap_or_default();
    assert!(
        after_partial.iter().all(|gap| *gap > longest_ok),
        "every 206 is followed by a pause: {after_partial:?} after 206, {after_ok:?} after 200"
    );
    assert!(
        after_partial[PARTIAL - 1] > after_partial[0],
        "the pause grows with each 206 in a row: {after_partial:?}"
    );
    let stats = client.stats();
    assert_eq!(stats.server_dropped, 3 * PARTIAL as u64);
    assert_eq!(stats.retries, 0, "a 206 is paced, never resent");
}
