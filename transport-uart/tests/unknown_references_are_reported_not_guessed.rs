//! A decoder that attaches mid-stream skips what it cannot check or resolve, reports it, and
//! decodes everything from the next header on.

mod common;

use raceway_core::event::{Event, Kind, ThreadId};
use raceway_transport_uart::decoder::SkipReason;
use raceway_transport_uart::FrameEncoderConfig;

#[test]
fn attaching_mid_stream_skips_until_the_next_header() {
    let events: Vec<Event> = (0..100)
        .map(|i| {
            Event::new(
                i,
                ThreadId::from_raw(1),
                Kind::Custom {
                    name: ["a", "b"][i as usize % 2],
                    data: i.into(),
                },
            )
        })
        .collect();
    let config = FrameEncoderConfig {
        resync_every: 40,
        clock_hz: 0,
    };
    let (bytes, frames) = common::encode::<32>(&events, config);
    // Attach in the middle of the 10th frame.
    let start = frames[10].start + 2;
    let decoded = common::decode(&bytes[start..]);
    assert!(!decoded.skipped.is_empty());
    assert!(decoded
        .skipped
        .iter()
        .all(|s| s.reason == SkipReason::BeforeHeader));
    assert!(decoded.headers >= 1);
    // Everything after the first header seen decodes, with the right names.
    let first = decoded.events.first().unwrap().time as usize;
    let want: Vec<_> = events[first..].iter().map(common::on_host).collect();
    assert_eq!(decoded.events, want);
}

#[test]
fn a_lost_definition_makes_its_users_unknown_not_renamed() {
    let events: Vec<Event> = (0..6)
        .map(|i| {
            Event::new(
                i,
                ThreadId::from_raw(1),
                Kind::Custom {
                    name: ["first", "second"][(i >= 3) as usize],
                    data: i.into(),
                },
            )
        })
        .collect();
    let (bytes, frames) = common::encode::<32>(&events, FrameEncoderConfig::DEFAULT);
    // Frames: header, file, location, "first", e0, e1, e2, "second", e3, e4, e5.
    let second = &frames[7];
    let mut damaged = bytes[..second.start].to_vec();
    damaged.extend_from_slice(&bytes[second.end..]);
    let decoded = common::decode(&damaged);
    let times: Vec<u64> = decoded.events.iter().map(|e| e.time).collect();
    assert_eq!(times, [0, 1, 2]);
    assert_eq!(decoded.stats.unknown_references, 3);
    assert!(decoded
        .skipped
        .iter()
        .all(|s| s.reason == SkipReason::UnknownReference && s.len > 0));
}
