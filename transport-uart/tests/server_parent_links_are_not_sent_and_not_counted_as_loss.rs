//! `RemoteParent` only links events in the Raceway server's parent graph; a UART stream or a
//! capture orders events by their clocks, so the encoder sends nothing for it — in particular
//! not the loss marker it sends for kinds it cannot encode, which would make the analysis of a
//! capture of any traced HTTP call "uncertain".

use raceway_core::event::{Event, Kind, ThreadId};
use raceway_transport_uart::{FrameEncoder, FrameEncoderConfig};

#[test]
fn a_remote_parent_produces_no_frame() {
    let mut encoder: FrameEncoder = FrameEncoder::new(FrameEncoderConfig::default());
    let mut frames = 0;
    let link = Kind::RemoteParent {
        event: [7; 16],
        depth: 100,
    };
    encoder
        .encode(&Event::new(1, ThreadId::from_raw(1), link), &mut |_| {
            frames += 1;
            Ok::<(), ()>(())
        })
        .unwrap();
    assert_eq!(frames, 0);
    let stats = encoder.stats();
    assert_eq!(stats.unencodable, 0, "{stats:?}");
}
