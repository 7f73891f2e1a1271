//! The API key is sent only as `Authorization: Bearer`, and never shows in logs or Debug output.

mod common;

use common::{batch_of, capture_log, in_secs};
use raceway_test_receiver::{Answer, ReceiverConfig, TestReceiver};
use raceway_transport_http::{ApiKey, HttpClient, HttpClientConfig};

const KEY: &str = "rk_live_8f1d2c3b4a5e6f70";

#[test]
fn api_key_travels_only_in_the_authorization_header() {
    capture_log::install();
    let mut receiver_config = ReceiverConfig::default();
    receiver_config.api_key = Some(KEY.into());
    let receiver = TestReceiver::with_config(receiver_config);
    receiver.script(Answer::status(500)); // so that retry logging runs too
    receiver.script(Answer::status(422));

    let mut config = HttpClientConfig::new(receiver.url());
    config.api_key = Some(ApiKey::new(KEY).unwrap());
    config.initial_backoff = std::time::Duration::from_millis(10);
    let client = HttpClient::new(config.clone()).unwrap();
    for _ in 0..3 {
        let (_, batch) = batch_of(5);
        client.deliver(batch, in_secs(10));
    }
    assert_eq!(receiver.events().len(), 10, "the right key is accepted");

    let requests = receiver.requests();
    assert_eq!(requests.len(), 4);
    for request in &requests {
        assert_eq!(
            request.header("authorization"),
            Some(&*format!("Bearer {KEY}"))
        );
        for (name, value) in &request.headers {
            assert!(name == "authorization" || !value.contains(KEY), "{name}");
        }
        assert!(!request.path.contains(KEY));
        assert!(!String::from_utf8_lossy(&request.body).contains(KEY));
    }

    for text in [
        format!("{client:?}"),
        format!("{config:?}"),
        format!("{:?}", config.api_key),
    ] {
        assert!(!text.contains(KEY), "{text}");
    }
    let lines = capture_log::lines();
    assert!(!lines.is_empty(), "logging was captured");
    for line in lines {
        assert!(!line.contains(KEY), "{line}");
    }
}
