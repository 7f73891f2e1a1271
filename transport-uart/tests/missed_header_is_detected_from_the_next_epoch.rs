//! When a header frame is lost, the decoder notices the new epoch from the next frame's
//! checksum, forgets the old definitions and decodes on.

mod common;

use raceway_core::event::{Event, Kind, ThreadId};
use raceway_transport_uart::frame::{self, Frame};
use raceway_transport_uart::FrameEncoderConfig;

#[test]
fn lost_header_is_noticed_and_old_names_are_not_used() {
    let events: Vec<Event> = (0..30)
        .map(|i| {
            Event::new(
                i,
                ThreadId::from_raw(1),
                Kind::Custom {
                    // The second epoch defines a different name first, under id 2 (the id
                    // "old" had): resolving it against the old table would rename it.
                    name: if i < 10 { "old" } else { "new" },
                    data: i.into(),
                },
            )
        })
        .collect();
    let config = FrameEncoderConfig {
        resync_every: 10,
        clock_hz: 0,
    };
    let (bytes, frames) = common::encode::<32>(&events, config);
    let headers: Vec<_> = frames
        .iter()
        .filter(|r| {
            let mut stuffed = bytes[r.start..r.end - 1].to_vec();
            Frame::decode_header(frame::unstuff(&mut stuffed).unwrap()).is_ok()
        })
        .cloned()
        .collect();
    assert!(headers.len() >= 3);
    // Remove the second header.
    let lost = &headers[1];
    let mut damaged = bytes[..lost.start].to_vec();
    damaged.extend_from_slice(&bytes[lost.end..]);

    let decoded = common::decode(&damaged);
    assert_eq!(decoded.stats.headers_missed, 1);
    let want: Vec<_> = events.iter().map(common::on_host).collect();
    assert_eq!(decoded.events, want);
    assert!(decoded.skipped.is_empty());
}
