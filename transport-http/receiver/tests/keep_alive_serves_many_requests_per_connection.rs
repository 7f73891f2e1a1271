//! With `keep_alive` the receiver answers request after request on one connection, as an
//! HTTP/1.1 server does; by default it answers one and closes, so that scripted faults meet
//! each request of a test on a connection of its own. A bench that keeps connections for
//! minutes also turns `keep_bodies` off: requests are recorded without their bodies.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use raceway_test_receiver::{ReceiverConfig, TestReceiver};

const BODY: &str = r#"{"events":[]}"#;

/// Sends one POST on `stream` and reads its answer: the status and whether it said
/// `Connection: close`.
fn exchange(stream: &mut BufReader<TcpStream>) -> (u16, bool) {
    let request = format!(
        "POST /events HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    stream.get_mut().write_all(request.as_bytes()).unwrap();
    let mut status_line = String::new();
    stream.read_line(&mut status_line).unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let (mut length, mut close) = (0, false);
    loop {
        let mut line = String::new();
        stream.read_line(&mut line).unwrap();
        let line = line.trim_end().to_ascii_lowercase();
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("content-length:") {
            length = value.trim().parse().unwrap();
        }
        close |= line == "connection: close";
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).unwrap();
    (status, close)
}

fn connect(receiver: &TestReceiver) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(receiver.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    BufReader::new(stream)
}

#[test]
fn keep_alive_answers_every_request_on_one_connection() {
    let mut config = ReceiverConfig::default();
    config.keep_alive = true;
    let receiver = TestReceiver::with_config(config);
    let mut stream = connect(&receiver);
    for _ in 0..5 {
        assert_eq!(exchange(&mut stream), (200, false));
    }
}

#[test]
fn by_default_each_connection_carries_one_request() {
    let receiver = TestReceiver::start();
    let mut stream = connect(&receiver);
    assert_eq!(exchange(&mut stream), (200, true));
    let mut rest = Vec::new();
    // The receiver has closed its end: nothing more arrives.
    assert_eq!(stream.read_to_end(&mut rest).unwrap(), 0);
}

#[test]
fn bodies_are_recorded_unless_turned_off() {
    for keep_bodies in [true, false] {
        let mut config = ReceiverConfig::default();
        config.keep_alive = true;
        config.keep_bodies = keep_bodies;
        let receiver = TestReceiver::with_config(config);
        let mut stream = connect(&receiver);
        assert_eq!(exchange(&mut stream), (200, false));
        let requests = receiver.requests();
        let kept: &[u8] = if keep_bodies { BODY.as_bytes() } else { b"" };
        assert_eq!(requests[0].body, kept, "keep_bodies: {keep_bodies}");
    }
}
