//! `raceway check` on a capture where a recorded mutex guards every update: no race, exit 0.

mod common;

use std::time::Duration;

use common::{bank, capture, file_with, raceway};

#[test]
fn guarded_updates_exit_0_with_no_races() {
    let recording = bank(true);
    let path = file_with("guarded.rwcap", &capture(&recording.events));

    let run = raceway(
        &["check", path.to_str().unwrap()],
        None,
        Duration::from_secs(30),
    );

    assert_eq!(run.status, 0, "{run:?}");
    let events = recording.events.len();
    assert!(
        run.stdout
            .starts_with(&format!("no data races found ({events} events, 3 threads")),
        "{}",
        run.stdout
    );
}
