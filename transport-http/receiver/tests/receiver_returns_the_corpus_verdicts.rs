//! The test receiver answers the recorded corpus bodies with the real server's statuses.
//!
//! `transport-http/wire/corpus/` holds the request bodies exactly as they were sent to a real Raceway server;
//! its `index.json` gives each one's headers, the server's status and whether the schema can
//! decide it. The three bodies that are mostly one long run of `x` are stored without the run
//! (`x_run` says where it goes and how long it is) to keep the repository small.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use raceway_test_receiver::TestReceiver;
use serde_json::Value;

fn corpus_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../wire/corpus"))
}

/// The body of case `name` as it was sent.
fn body(name: &str, case: &Value) -> Vec<u8> {
    let mut body = std::fs::read(corpus_dir().join(format!("{name}.json"))).unwrap();
    if let Some(run) = case.get("x_run") {
        let at = run["at"].as_u64().unwrap() as usize;
        let len = run["len"].as_u64().unwrap() as usize;
        body.splice(at..at, std::iter::repeat_n(b'x', len));
    }
    body
}

/// Posts `body` with `headers` over a raw socket (so nothing is added or fixed on the way) and
/// returns the status.
fn post(receiver: &TestReceiver, headers: &serde_json::Map<String, Value>, body: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(receiver.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = format!(
        "POST /events HTTP/1.1\r\nhost: {}\r\ncontent-length: {}\r\nconnection: close\r\n",
        receiver.addr(),
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {}\r\n", value.as_str().unwrap()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer);
    answer.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn receiver_returns_the_corpus_verdicts() {
    let index: serde_json::Map<String, Value> =
        serde_json::from_slice(&std::fs::read(corpus_dir().join("index.json")).unwrap()).unwrap();
    assert_eq!(index.len(), 660, "every recorded case is in the corpus");
    let receiver = TestReceiver::start();

    let (mut decided, mut duplicates, mut mismatches, mut transport) = (0, 0, Vec::new(), 0);
    for (name, case) in &index {
        let expected = case["status"].as_u64().unwrap() as u16;
        let body = body(name, case);
        let headers = case["request_headers"].as_object().unwrap();
        let status = post(&receiver, headers, &body);

        let quirk = case["quirk"].as_bool().unwrap();
        let inexpressible = case["inexpressible"].as_str();
        let schema_decides = matches!(expected, 200 | 422)
            && !quirk
            && inexpressible.is_none_or(|why| why.starts_with("number spelling"));
        // Repeated struct fields: the schema cannot see them, the receiver checks them itself.
        let duplicate = inexpressible.is_some_and(|why| why.starts_with("duplicate keys"));
        if schema_decides || duplicate {
            decided += usize::from(schema_decides);
            duplicates += usize::from(duplicate);
            if status != expected {
                mismatches.push(format!("{name}: expected {expected}, got {status}"));
            }
        } else if matches!(expected, 413 | 415) {
            transport += 1;
            assert_eq!(status, expected, "{name}");
        } else if expected == 400 {
            // Serde calls some schema errors syntax errors (400); the receiver says 422. Both refuse.
            assert!(matches!(status, 400 | 422), "{name}: {status}");
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert_eq!(decided, 607, "the README's count of schema-decided bodies");
    assert_eq!(duplicates, 4);
    assert_eq!(transport, 3);
}
