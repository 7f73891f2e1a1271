//! Arbitrary bytes, and valid streams with arbitrary edits, never make the decoder panic or
//! buffer more than one frame.

mod common;

use proptest::prelude::*;
use raceway_core::event::{Event, Kind, ThreadId};
use raceway_transport_uart::decoder::Decoder;
use raceway_transport_uart::frame::MAX_FRAME_LEN;
use raceway_transport_uart::FrameEncoderConfig;

fn valid() -> Vec<u8> {
    let events: Vec<Event> = (0..50)
        .map(|i| {
            Event::new(
                i,
                ThreadId::from_raw(1),
                Kind::Custom {
                    name: "n",
                    data: i.into(),
                },
            )
        })
        .collect();
    common::encode::<8>(&events, FrameEncoderConfig::DEFAULT).0
}

proptest! {
    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..4096), chunk in 1usize..300) {
        let decoded = common::decode_chunked(&bytes, &[chunk]);
        prop_assert_eq!(decoded.stats.bytes, bytes.len() as u64);
        // Every skipped region lies inside the input and none overlap.
        let mut end = 0;
        for skip in &decoded.skipped {
            prop_assert!(skip.offset >= end);
            end = skip.offset + skip.len;
            prop_assert!(end <= bytes.len() as u64);
        }
    }

    #[test]
    fn edited_valid_streams(edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..40)) {
        let mut bytes = valid();
        for (at, byte, op) in edits {
            if bytes.is_empty() { break; }
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => { bytes.remove(i); }
                _ => bytes.insert(i, byte),
            }
        }
        let decoded = common::decode(&bytes);
        prop_assert!(decoded.events.len() <= 50);
    }
}

#[test]
fn a_long_run_without_delimiter_is_skipped_not_buffered() {
    let mut decoder = Decoder::new();
    let junk = vec![0x55u8; 10 * MAX_FRAME_LEN];
    assert_eq!(decoder.decode(&junk).count(), 0);
    let items: Vec<_> = decoder.decode(&[0]).collect();
    assert_eq!(items.len(), 1);
    assert_eq!(decoder.stats().skipped_bytes, junk.len() as u64 + 1);
}
