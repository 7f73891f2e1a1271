//! Feeding the decoder one byte at a time, or in any other chunks, finds the same items.

mod common;

use proptest::prelude::*;
use raceway_core::event::{Access, Event, Kind, ThreadId, Value};
use raceway_transport_uart::FrameEncoderConfig;

fn stream() -> Vec<u8> {
    let events: Vec<Event> = (0..200u64)
        .map(|i| {
            let kind = if i % 3 == 0 {
                Kind::StateChange {
                    variable: ["a", "b", "c"][i as usize % 3].into(),
                    access: Access::Write,
                    old: Value::U64(i),
                    new: Value::U64(i + 1),
                }
            } else {
                Kind::Send { message: i }
            };
            Event::new(i, ThreadId::from_raw(1 + i as u32 % 2), kind)
        })
        .collect();
    // Short epochs, so that damage to a definition costs a few events, not the rest.
    let config = FrameEncoderConfig {
        resync_every: 32,
        ..FrameEncoderConfig::DEFAULT
    };
    let (mut bytes, _) = common::encode::<32>(&events, config);
    // Some damage, so that skipped regions are compared too.
    bytes[100] ^= 0x10;
    bytes.drain(700..730);
    bytes.truncate(bytes.len() - 3);
    bytes
}

proptest! {
    #[test]
    fn any_chunking_gives_the_same_items(sizes in prop::collection::vec(1usize..64, 1..20)) {
        let bytes = stream();
        let whole = common::decode(&bytes);
        let chunked = common::decode_chunked(&bytes, &sizes);
        prop_assert_eq!(&chunked.events, &whole.events);
        prop_assert_eq!(&chunked.skipped, &whole.skipped);
        prop_assert_eq!(chunked.stats, whole.stats);
    }
}

#[test]
fn byte_at_a_time_matches_whole() {
    let bytes = stream();
    let whole = common::decode(&bytes);
    let single = common::decode_chunked(&bytes, &[1]);
    assert_eq!(single.events, whole.events);
    assert_eq!(single.skipped, whole.skipped);
    assert!(whole.events.len() > 150);
    // The flipped bit, the cut range (and the events that needed what they held) and the
    // truncated end are all reported.
    assert!(whole.skipped.len() >= 3, "{:?}", whole.skipped);
    let last = whole.skipped.last().map(|skip| skip.reason);
    assert_eq!(
        last,
        Some(raceway_transport_uart::decoder::SkipReason::Truncated)
    );
}
