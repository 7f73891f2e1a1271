//! Definitions beyond the decoder's id limit or its text budget are refused and counted;
//! memory does not grow without bound.

use raceway_transport_uart::decoder::{Decoder, Item, Limits, SkipReason};
use raceway_transport_uart::frame::{Frame, Header, MAGIC, MAX_FRAME_LEN, VERSION};

fn wire(frame: Frame<'_>) -> Vec<u8> {
    let mut buf = [0u8; MAX_FRAME_LEN];
    frame.encode(0, &mut buf).unwrap().to_vec()
}

fn header() -> Vec<u8> {
    wire(Frame::Header(Header {
        magic: MAGIC,
        version: VERSION,
        epoch: 0,
        ids: 100,
        clock_hz: 0,
    }))
}

fn reasons(decoder: &mut Decoder, bytes: &[u8]) -> Vec<SkipReason> {
    decoder
        .decode(bytes)
        .filter_map(|item| match item {
            Item::Skipped(skip) => Some(skip.reason),
            _ => None,
        })
        .collect()
}

#[test]
fn ids_over_the_limit_are_refused() {
    let mut decoder = Decoder::with_limits(Limits {
        max_ids: 10,
        ..Limits::DEFAULT
    });
    let mut bytes = header();
    bytes.extend(wire(Frame::Symbol { id: 9, text: "ok" }));
    bytes.extend(wire(Frame::Symbol {
        id: 10,
        text: "too far",
    }));
    bytes.extend(wire(Frame::Symbol {
        id: u16::MAX,
        text: "far too far",
    }));
    assert_eq!(
        reasons(&mut decoder, &bytes),
        [SkipReason::Refused, SkipReason::Refused]
    );
    assert_eq!(decoder.stats().refused, 2);
}

#[test]
fn text_beyond_the_budget_is_refused() {
    let mut decoder = Decoder::new();
    let mut bytes = header();
    // More distinct strings than a decoder keeps (8192), redefining the same ids.
    let total = 9000;
    for i in 0..total {
        let text = format!("name-{i}");
        bytes.extend(wire(Frame::Symbol {
            id: (i % 50) as u16,
            text: &text,
        }));
    }
    let refused = reasons(&mut decoder, &bytes);
    assert!(!refused.is_empty() && refused.len() < total);
    assert!(refused.iter().all(|r| *r == SkipReason::Refused));
    assert_eq!(decoder.stats().refused as usize, refused.len());
    // Text seen before is still accepted: it is already kept.
    let again = wire(Frame::Symbol {
        id: 0,
        text: "name-0",
    });
    assert!(reasons(&mut decoder, &again).is_empty());
}
