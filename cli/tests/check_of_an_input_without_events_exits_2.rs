//! An input that yields no events at all is not a clean bill: `raceway check` says there was
//! nothing to check and exits 2, whether the input is 1 MiB of zero bytes (UART padding, or a
//! line that never carried data) or a capture with a header and nothing after it.

mod common;

use std::time::Duration;

use common::{capture, file_with, raceway};

fn check(name: &str, bytes: &[u8]) -> common::Run {
    let path = file_with(name, bytes);
    raceway(
        &["check", path.to_str().unwrap()],
        None,
        Duration::from_secs(60),
    )
}

#[test]
fn a_mebibyte_of_zero_bytes_exits_2() {
    let run = check("zeros.bin", &vec![0u8; 1 << 20]);
    assert_eq!(run.status, 2, "{run:?}");
    assert!(
        run.stderr.contains("no events in 1048576 bytes"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stdout.contains("no data races found"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_empty_capture_exits_2() {
    let run = check("empty.rwcap", &capture(&[]));
    assert_eq!(run.status, 2, "{run:?}");
    assert!(
        run.stderr.contains("no events in 9 bytes"),
        "{}",
        run.stderr
    );
}
