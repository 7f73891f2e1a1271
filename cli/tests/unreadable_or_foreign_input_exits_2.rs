//! Inputs that cannot be checked at all are exit status 2 with a message that says why, for
//! `check` and `bridge` alike.

mod common;

use std::time::Duration;

use common::{file_with, raceway, scratch};

#[test]
fn a_missing_file_is_exit_2_and_named() {
    let missing = scratch("does-not-exist.rwcap");
    let run = raceway(
        &["check", missing.to_str().unwrap()],
        None,
        Duration::from_secs(30),
    );
    assert_eq!(run.status, 2, "{run:?}");
    assert!(
        run.stderr.contains("does-not-exist.rwcap: cannot open"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_text_file_is_not_a_raceway_stream() {
    let text = file_with("notes.txt", "not a capture\nat all\n".repeat(40).as_bytes());
    let run = raceway(
        &["check", text.to_str().unwrap()],
        None,
        Duration::from_secs(30),
    );
    assert_eq!(run.status, 2, "{run:?}");
    assert!(
        run.stderr.contains("not a Raceway capture or UART stream"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_capture_of_another_version_is_refused_at_byte_0() {
    let run = raceway(
        &[
            "check",
            file_with("v9.rwcap", b"RWAYCAP\x09\x00\x01\x02\x00")
                .to_str()
                .unwrap(),
        ],
        None,
        Duration::from_secs(30),
    );
    assert_eq!(run.status, 2, "{run:?}");
    assert!(
        run.stderr.contains("capture version 9 is not supported"),
        "{}",
        run.stderr
    );
}

#[test]
fn usage_errors_are_exit_2() {
    let run = raceway(&["check"], None, Duration::from_secs(30));
    assert_eq!(run.status, 2, "{run:?}");
    assert!(run.stderr.contains("raceway help check"), "{}", run.stderr);
}

#[test]
fn bridging_a_text_file_says_it_is_not_a_raceway_stream() {
    let text = file_with(
        "bridge-notes.txt",
        "wrong baud rate\n".repeat(40).as_bytes(),
    );
    let run = raceway(
        &["bridge", "-i", text.to_str().unwrap(), "--check"],
        None,
        Duration::from_secs(30),
    );
    assert_eq!(run.status, 2, "{run:?}");
    assert!(
        run.stderr.contains("no Raceway frames in 640 bytes"),
        "{}",
        run.stderr
    );
}

#[test]
fn bridging_a_missing_input_is_exit_2_and_named() {
    let missing = scratch("no-such-device");
    let run = raceway(
        &["bridge", "-i", missing.to_str().unwrap(), "--check"],
        None,
        Duration::from_secs(30),
    );
    assert_eq!(run.status, 2, "{run:?}");
    assert!(
        run.stderr.contains("cannot open the input"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("no-such-device"), "{}", run.stderr);
}
