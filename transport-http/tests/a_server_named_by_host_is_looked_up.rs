//! A server given by name is looked up (on ureq's resolver), one given by IP address is not,
//! and both receive what is delivered.

mod common;

use common::{batch_of, in_secs};
use raceway_test_receiver::TestReceiver;
use raceway_transport_http::{HttpClient, HttpClientConfig};

#[test]
fn a_server_named_by_host_is_looked_up() {
    let receiver = TestReceiver::start();
    let by_address = receiver.url();
    let by_name = by_address.replace("127.0.0.1", "localhost");
    assert_ne!(by_address, by_name, "the receiver listens on 127.0.0.1");
    for url in [by_address, by_name] {
        let client = HttpClient::new(HttpClientConfig::new(url.clone())).unwrap();
        let (_, batch) = batch_of(3);
        client.deliver(batch, in_secs(10));
        assert_eq!(client.stats().sent, 3, "{url}");
    }
    assert_eq!(receiver.events().len(), 6);
}
