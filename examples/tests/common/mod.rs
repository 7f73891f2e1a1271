//! Shared by the example tests that check what a Raceway server would receive.

use std::time::Duration;

use raceway::{Client, Config};
use raceway_test_receiver::TestReceiver;

/// A client sending to `receiver` as `service`, flushing often.
pub fn client_for(receiver: &TestReceiver, service: &str) -> Client {
    let config = Config::builder()
        .server_url(receiver.url())
        .service_name(service)
        .flush_interval(Duration::from_millis(20))
        .build()
        .expect("valid config");
    Client::from_config(config).expect("client starts")
}
