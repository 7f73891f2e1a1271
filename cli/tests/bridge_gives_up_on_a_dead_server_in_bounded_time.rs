//! A server that is not there costs at most `--timeout` of retrying, then a clear message and
//! exit status 3; analysis with `--check` still finishes.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::{bank, file_with, raceway, raw_stream, BALANCE};

#[test]
fn a_dead_port_gives_up_after_the_timeout_with_a_clear_message() {
    // A loopback port that was free a moment ago and has no listener now.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = format!("http://127.0.0.1:{port}");
    let recording = bank(false);
    let events = recording.events.len();
    let path = file_with("dead-server.bin", &raw_stream(&recording.events));

    let run = raceway(
        &[
            "bridge",
            "-i",
            path.to_str().unwrap(),
            "--server",
            &server,
            "--timeout",
            "2",
            "--check",
        ],
        None,
        Duration::from_secs(20),
    );

    assert_eq!(
        run.status, 3,
        "delivery failure comes before the race: {run:?}"
    );
    assert!(run.took < Duration::from_secs(10), "took {:?}", run.took);
    assert!(
        run.stderr.contains(&format!(
            "cannot deliver to the Raceway server at {server}: "
        )),
        "{}",
        run.stderr
    );
    let lost = format!("0 events sent to {server}, {events} not delivered");
    assert!(run.stderr.contains(&lost), "{}", run.stderr);
    assert!(
        run.stdout.contains(&format!("race on `{BALANCE}`")),
        "{}",
        run.stdout
    );
}
