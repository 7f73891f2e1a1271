//! `raceway bridge --input FILE --server URL` forwards every decoded event to the server, in
//! batches the server's ingest contract accepts.

mod common;

use std::time::Duration;

use raceway_test_receiver::TestReceiver;

use common::{bank, file_with, raceway, raw_stream, BALANCE};

#[test]
fn every_event_arrives_schema_valid() {
    let receiver = TestReceiver::start();
    let recording = bank(false);
    let path = file_with("forward.bin", &raw_stream(&recording.events));

    let run = raceway(
        &[
            "bridge",
            "--input",
            path.to_str().unwrap(),
            "--server",
            &receiver.url(),
            "--service-name",
            "bank-firmware",
        ],
        None,
        Duration::from_secs(60),
    );

    assert_eq!(run.status, 0, "{run:?}");
    let events = receiver.events();
    assert_eq!(events.len(), recording.events.len(), "{run:?}");
    // The receiver judges every body against the wire schema: only 2xx answers were given.
    let requests = receiver.requests();
    assert!(!requests.is_empty());
    assert!(
        requests
            .iter()
            .all(|r| r.status.is_some_and(|s| (200..300).contains(&s))),
        "{requests:?}"
    );
    assert!(events
        .iter()
        .all(|e| e["metadata"]["service_name"] == "bank-firmware"));
    let writes = events
        .iter()
        .filter(|e| e["kind"]["StateChange"]["variable"] == BALANCE)
        .count();
    assert_eq!(
        writes, 6,
        "the initial write, two reads and two writes of the threads, the final read"
    );
    assert!(
        run.stderr.contains(&format!(
            "{} events sent to {}, 0 not delivered",
            events.len(),
            receiver.url()
        )),
        "{}",
        run.stderr
    );
}
