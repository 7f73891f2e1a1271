//! `raceway check --json` prints one JSON document with the analyzer's report per file.

mod common;

use std::time::Duration;

use common::{bank, capture, file_with, raceway, BALANCE};

#[test]
fn json_output_parses_and_lists_the_race_per_file() {
    let racy = file_with("json-racy.rwcap", &capture(&bank(false).events));
    let guarded = file_with("json-guarded.rwcap", &capture(&bank(true).events));

    let run = raceway(
        &[
            "check",
            "--json",
            racy.to_str().unwrap(),
            guarded.to_str().unwrap(),
        ],
        None,
        Duration::from_secs(30),
    );

    assert_eq!(run.status, 1, "a race in any file is exit 1: {run:?}");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("stdout is JSON");
    assert_eq!(json["version"], 1);
    let files = json["files"].as_array().expect("a files array");
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["format"], "capture");
    assert_eq!(files[0]["error"], serde_json::Value::Null);
    assert_eq!(files[0]["damaged"]["regions"], 0);
    let races = files[0]["report"]["races"]
        .as_array()
        .expect("a races array");
    assert!(races
        .iter()
        .any(|race| race["variable"] == BALANCE && race["severity"] == "CRITICAL"));
    assert_eq!(
        files[1]["report"]["races"].as_array().map(Vec::len),
        Some(0)
    );
    assert_eq!(files[1]["report"]["summary"]["threads"], 3);
}
