//! Decoding one stream does not spend another's text budget: three streams of 3 000 distinct
//! names each decode completely with three decoders in one process (together they hold more
//! strings than one decoder may keep), as `raceway check a b c` decodes three files.

mod common;

use raceway_core::event::{Event, Kind, ThreadId};
use raceway_transport_uart::decoder::Limits;
use raceway_transport_uart::FrameEncoderConfig;

#[test]
fn three_streams_of_3000_names_each_decode_completely() {
    let names_per_stream = 3000;
    assert!(3 * names_per_stream > Limits::DEFAULT.max_strings);
    for stream in 0..3 {
        let events: Vec<Event> = (0..names_per_stream)
            .map(|i| {
                let name = common::leak(format!("stream{stream}.variable{i}"));
                Event::new(
                    i as u64,
                    ThreadId::from_raw(1),
                    Kind::Custom {
                        name,
                        data: 0u64.into(),
                    },
                )
            })
            .collect();
        let (bytes, _) = common::encode::<256>(&events, FrameEncoderConfig::DEFAULT);
        let decoded = common::decode(&bytes);
        assert_eq!(decoded.stats.refused, 0, "stream {stream}");
        assert!(
            decoded.skipped.is_empty(),
            "stream {stream}: {:?}",
            decoded.skipped[0]
        );
        let want: Vec<_> = events.iter().map(common::on_host).collect();
        assert_eq!(decoded.events, want, "stream {stream}");
    }
}
