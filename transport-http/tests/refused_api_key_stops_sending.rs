//! A 401 stops the client with one clear error naming the API key, and no retry storm.

mod common;

use std::time::Duration;

use common::{batch_of, capture_log, in_secs};
use raceway_test_receiver::{ReceiverConfig, TestReceiver};
use raceway_transport_http::{ApiKey, DeliveryError, HttpClient, HttpClientConfig};

#[test]
fn refused_api_key_stops_sending() {
    capture_log::install();
    let mut receiver_config = ReceiverConfig::default();
    receiver_config.api_key = Some("right-key".into());
    let receiver = TestReceiver::with_config(receiver_config);

    let mut config = HttpClientConfig::new(receiver.url());
    config.api_key = Some(ApiKey::new("wrong-key").unwrap());
    config.initial_backoff = Duration::from_millis(10);
    let client = HttpClient::new(config).unwrap();

    for _ in 0..3 {
        let (_, batch) = batch_of(10);
        let report = client.deliver(batch, in_secs(10));
        assert_eq!(report.error, Some(DeliveryError::Unauthorized));
        assert_eq!(report.dropped, 10);
    }
    assert!(client.is_stopped());
    assert_eq!(receiver.requests().len(), 1, "one request, then silence");
    let stats = client.stats();
    assert_eq!((stats.dropped, stats.retries, stats.sent), (30, 0, 0));

    let errors: Vec<String> = capture_log::lines()
        .into_iter()
        .filter(|line| line.starts_with("ERROR") && line.contains("raceway"))
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("API key") && errors[0].contains("RACEWAY_API_KEY"));
    assert!(DeliveryError::Unauthorized.to_string().contains("API key"));
}
