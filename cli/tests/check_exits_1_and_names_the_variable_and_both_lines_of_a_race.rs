//! `raceway check` on a capture of a lost update: exit status 1, and the report names the
//! variable and the source lines of both writes.

mod common;

use std::time::Duration;

use common::{bank, capture, file_with, raceway, site, BALANCE};

#[test]
fn a_lost_update_exits_1_and_names_the_variable_and_both_writes() {
    let recording = bank(false);
    let path = file_with("lost-update.rwcap", &capture(&recording.events));

    let run = raceway(
        &["check", path.to_str().unwrap()],
        None,
        Duration::from_secs(30),
    );

    assert_eq!(run.status, 1, "{run:?}");
    assert!(
        run.stdout.contains(&format!("race on `{BALANCE}`")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("CRITICAL: write/write"),
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
    assert!(
        run.stderr.is_empty(),
        "an intact capture has nothing to complain about: {}",
        run.stderr
    );
}
