//! A truncated or corrupted capture: every damaged region is reported with its byte offsets,
//! every intact frame is still analyzed, and the report says results may be affected.

mod common;

use std::time::Duration;

use common::{bank, capture, file_with, raceway, BALANCE};

/// Where the last frame starts: after the delimiter that ends the one before it.
fn last_frame_start(file: &[u8]) -> usize {
    file[..file.len() - 1]
        .iter()
        .rposition(|&b| b == 0)
        .expect("two frames")
        + 1
}

#[test]
fn a_truncated_capture_names_the_offset_and_the_race_is_still_found() {
    let file = capture(&bank(false).events);
    let start = last_frame_start(&file);
    let cut = file.len() - 2; // inside the last frame: the main thread's final read
    let path = file_with("truncated.rwcap", &file[..cut]);

    let run = raceway(
        &["check", path.to_str().unwrap()],
        None,
        Duration::from_secs(30),
    );

    assert_eq!(
        run.status, 1,
        "the race in the intact part is a finding: {run:?}"
    );
    assert!(
        run.stderr.contains(&format!(
            "truncated: the input ends inside a frame that starts at byte {start}, at byte {cut}"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains(&format!("race on `{BALANCE}`")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("warning: 1 event was dropped"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_corrupted_frame_names_its_bytes_and_the_rest_is_analyzed() {
    let recording = bank(true);
    let mut file = capture(&recording.events);
    let start = last_frame_start(&file);
    let end = file.len();
    // A different non-zero byte: the frame stays one frame, and its CRC catches the change.
    file[end - 3] = if file[end - 3] == 0x5a { 0xa5 } else { 0x5a };
    let path = file_with("corrupted.rwcap", &file);

    let run = raceway(
        &["check", path.to_str().unwrap()],
        None,
        Duration::from_secs(30),
    );

    assert_eq!(
        run.status, 2,
        "damage with no race is an input error: {run:?}"
    );
    assert!(
        run.stderr.contains(&format!(
            "damaged at bytes {start}..{end} ({} bytes): corrupted frame",
            end - start
        )),
        "{}",
        run.stderr
    );
    let analyzed = recording.events.len() - 1;
    assert!(
        run.stdout
            .starts_with(&format!("no data races found ({analyzed} events")),
        "every event but the corrupted one is analyzed: {}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(&format!("the first after event {analyzed}")),
        "{}",
        run.stdout
    );
}
