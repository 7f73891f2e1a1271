//! A capture header whose version is right but whose ending `0x00` is not is reported as a
//! damaged header, not as "version 1 is not supported (this build reads version 1)".

mod common;

use std::time::Duration;

use common::{file_with, raceway};
use raceway_transport_uart::capture::{HEADER, VERSION};

#[test]
fn a_header_ending_in_1_is_a_damaged_header() {
    let mut bytes = HEADER.to_vec();
    bytes[HEADER.len() - 1] = 1;
    let path = file_with("bad-end.rwcap", &bytes);
    let run = raceway(
        &["check", path.to_str().unwrap()],
        None,
        Duration::from_secs(30),
    );
    assert_eq!(run.status, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("damaged capture header: byte 8 is 0x01, not the 0x00 that ends the header"),
        "{}",
        run.stderr
    );
    let version = format!("version {VERSION} is not supported");
    assert!(!run.stderr.contains(&version), "{}", run.stderr);
}
