//! A stream of another format version is reported as such, not as corruption, and nothing of
//! it is decoded.

use raceway_transport_uart::decoder::{Decoder, Item, SkipReason};
use raceway_transport_uart::frame::{Frame, Header, MAGIC, MAX_FRAME_LEN, VERSION};

#[test]
fn future_version_is_reported() {
    let mut buf = [0u8; MAX_FRAME_LEN];
    let header = Frame::Header(Header {
        magic: MAGIC,
        version: VERSION + 1,
        epoch: 0,
        ids: 8,
        clock_hz: 0,
    });
    let mut bytes = header.encode(0, &mut buf).unwrap().to_vec();
    bytes.extend_from_slice(Frame::Dropped { count: 1 }.encode(0, &mut buf).unwrap());
    let mut decoder = Decoder::new();
    let items: Vec<Item> = decoder.decode(&bytes).collect();
    let reasons: Vec<_> = items
        .iter()
        .map(|item| match item {
            Item::Skipped(skip) => Some(skip.reason),
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons,
        [
            Some(SkipReason::UnsupportedVersion),
            Some(SkipReason::UnsupportedVersion)
        ]
    );
    assert_eq!(decoder.stream_info().map(|i| i.version), Some(VERSION + 1));
}
