//! `raceway bridge --input - --check` decodes standard input as it arrives and prints the race
//! report at the end of the input.

mod common;

use std::time::Duration;

use common::{bank, raceway, raw_stream, site, BALANCE};

#[test]
fn stdin_is_analyzed_and_the_race_reported_at_the_end() {
    let recording = bank(false);

    let run = raceway(
        &["bridge", "--input", "-", "--check"],
        Some(raw_stream(&recording.events)),
        Duration::from_secs(30),
    );

    assert_eq!(run.status, 1, "{run:?}");
    assert!(
        run.stdout.contains(&format!("race on `{BALANCE}`")),
        "{}",
        run.stdout
    );
    for line in recording.write_lines {
        assert!(
            run.stdout.contains(&site(line)),
            "line {line} missing:\n{}",
            run.stdout
        );
    }
    let events = recording.events.len();
    assert!(
        run.stderr
            .contains(&format!("{events} events, 0 bytes skipped in 0 regions")),
        "{}",
        run.stderr
    );
}

#[test]
fn stdin_without_a_race_exits_0() {
    let run = raceway(
        &["bridge", "--input", "-", "--check", "--json"],
        Some(raw_stream(&bank(true).events)),
        Duration::from_secs(30),
    );
    assert_eq!(run.status, 0, "{run:?}");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("stdout is JSON");
    assert_eq!(json["races"].as_array().map(Vec::len), Some(0));
}
