//! A device that restarts starts its stream again at epoch 0. If the new header and a new
//! definition are both lost, the decoder must not resolve the new stream's ids against the
//! names from before the restart: a definition that contradicts what it knows tells it its
//! table is stale.

mod common;

use raceway_core::event::{Event, Kind, ThreadId};
use raceway_transport_uart::frame::{self, Frame};
use raceway_transport_uart::FrameEncoderConfig;

fn before(i: u64) -> Event {
    Event::new(
        i,
        ThreadId::from_raw(1),
        Kind::Custom {
            name: "before.restart",
            data: i.into(),
        },
    )
}

fn after(i: u64) -> Event {
    Event::new(
        i,
        ThreadId::from_raw(1),
        Kind::Custom {
            name: "after.restart",
            data: i.into(),
        },
    )
}

#[test]
fn names_from_before_a_restart_are_not_used_after_it() {
    let first: Vec<Event> = (0..5).map(before).collect();
    let second: Vec<Event> = (100..105).map(after).collect();
    let (old, _) = common::encode::<32>(&first, FrameEncoderConfig::DEFAULT);
    let (new, frames) = common::encode::<32>(&second, FrameEncoderConfig::DEFAULT);

    // Lose the restarted stream's header and its definition of the name.
    let lost = |range: &std::ops::Range<usize>| {
        let mut stuffed = new[range.start..range.end - 1].to_vec();
        let payload = frame::unstuff(&mut stuffed).unwrap();
        Frame::decode_header(payload).is_ok()
            || matches!(
                Frame::decode(payload, 0),
                Ok(Frame::Symbol {
                    text: "after.restart",
                    ..
                })
            )
    };
    let mut stream = old.clone();
    for range in frames.iter().filter(|range| !lost(range)) {
        stream.extend_from_slice(&new[range.clone()]);
    }

    let decoded = common::decode(&stream);
    let want: Vec<_> = first.iter().chain(&second).map(common::on_host).collect();
    for event in &decoded.events {
        assert!(want.contains(event), "a misnamed event: {event:?}");
    }
    assert_eq!(decoded.events.len(), first.len(), "{:?}", decoded.events);
}
