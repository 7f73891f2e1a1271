//! A serial line never ends: with `--idle-timeout`, the bridge stops once no byte arrived for
//! that long, and still prints its report.

mod common;

use std::time::Duration;

use common::{bank, raceway_with_open_stdin, raw_stream, BALANCE};

#[test]
fn a_quiet_input_that_stays_open_stops_after_the_idle_timeout() {
    let run = raceway_with_open_stdin(
        &["bridge", "--input", "-", "--check", "--idle-timeout", "0.5"],
        raw_stream(&bank(false).events),
        Duration::from_secs(20),
    );

    assert_eq!(run.status, 1, "{run:?}");
    assert!(run.took < Duration::from_secs(10), "took {:?}", run.took);
    assert!(
        run.stderr.contains("no input for 0.5 s: stopping"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains(&format!("race on `{BALANCE}`")),
        "{}",
        run.stdout
    );
}
