//! `raceway check -` reads standard input, and a raw UART stream (no capture header) is
//! recognised as such.

mod common;

use std::time::Duration;

use common::{bank, raceway, raw_stream, BALANCE};

#[test]
fn a_raw_stream_on_stdin_is_analyzed_like_a_capture() {
    let recording = bank(false);

    let run = raceway(
        &["check", "--json", "-"],
        Some(raw_stream(&recording.events)),
        Duration::from_secs(30),
    );

    assert_eq!(run.status, 1, "{run:?}");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("stdout is JSON");
    let file = &json["files"][0];
    assert_eq!(file["path"], "-");
    assert_eq!(file["format"], "raw");
    assert_eq!(file["report"]["summary"]["events"], recording.events.len());
    assert_eq!(file["report"]["races"][0]["variable"], BALANCE);
}
