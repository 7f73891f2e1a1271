//! Once its names are defined, a typical state change (small integers, a coarse tick) costs at
//! most 16 bytes on the wire.

use raceway_core::event::{Access, Event, Kind, ThreadId, Value};
use raceway_transport_uart::{FrameEncoder, FrameEncoderConfig};

fn frame_sizes(event: &Event, encoder: &mut FrameEncoder<32>) -> Vec<usize> {
    let mut sizes = Vec::new();
    encoder
        .encode(event, &mut |frame: &[u8]| -> Result<(), ()> {
            sizes.push(frame.len());
            Ok(())
        })
        .unwrap();
    sizes
}

fn state_change(time: u64, old: i64, new: i64) -> Event {
    Event::new(
        time,
        ThreadId::from_raw(2),
        Kind::StateChange {
            variable: "racy_counter".into(),
            access: Access::Write,
            old: Value::I64(old),
            new: Value::I64(new),
        },
    )
}

#[test]
fn typical_state_change_is_at_most_16_bytes() {
    let mut encoder: FrameEncoder<32> = FrameEncoder::new(FrameEncoderConfig::DEFAULT);
    // The first one defines the location, its file and the name.
    let first = frame_sizes(&state_change(1, 0, 1), &mut encoder);
    assert_eq!(
        first.len(),
        5,
        "header, file, location, name, event: {first:?}"
    );
    for (time, old, new, most) in [
        (5u64, 1i64, 2i64, 14usize), // tick < 128
        (1_000, 40, 41, 15),         // tick < 16384
        (2_000_000, 1000, 1001, 18), // tick < 2^21, values < 8192 (2-byte varints)
    ] {
        let sizes = frame_sizes(&state_change(time, old, new), &mut encoder);
        assert_eq!(sizes.len(), 1, "no definitions once defined");
        eprintln!(
            "StateChange time={time} old={old} new={new}: {} bytes",
            sizes[0]
        );
        assert!(sizes[0] <= most, "{} bytes > {most}", sizes[0]);
    }
    let typical = frame_sizes(&state_change(1_000, 40, 41), &mut encoder)[0];
    assert!(typical <= 16);
}
