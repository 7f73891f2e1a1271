//! `raceway bridge --save FILE` writes a capture that `raceway check` analyzes to the same
//! result, whether the input was a raw stream or already a capture.

mod common;

use std::time::Duration;

use common::{bank, capture, file_with, raceway, raw_stream, scratch};

#[test]
fn saved_captures_check_like_the_original() {
    let recording = bank(false);
    let raw = file_with("save-input.bin", &raw_stream(&recording.events));
    let from_capture = file_with("save-input.rwcap", &capture(&recording.events));

    for (input, name) in [
        (raw, "saved-from-raw.rwcap"),
        (from_capture, "saved-from-capture.rwcap"),
    ] {
        let saved = scratch(name);
        let run = raceway(
            &[
                "bridge",
                "-i",
                input.to_str().unwrap(),
                "--save",
                saved.to_str().unwrap(),
            ],
            None,
            Duration::from_secs(30),
        );
        assert_eq!(run.status, 0, "{run:?}");
        let saved_bytes = std::fs::read(&saved).unwrap();
        assert!(
            saved_bytes == capture(&recording.events),
            "the header, then the stream verbatim"
        );

        let check = raceway(
            &["check", "--json", saved.to_str().unwrap()],
            None,
            Duration::from_secs(30),
        );
        assert_eq!(check.status, 1, "{check:?}");
        let json: serde_json::Value = serde_json::from_str(&check.stdout).unwrap();
        assert_eq!(json["files"][0]["format"], "capture");
        assert_eq!(json["files"][0]["damaged"]["regions"], 0);
        assert_eq!(
            json["files"][0]["report"]["summary"]["events"],
            recording.events.len()
        );
    }
}
