//! A definition damaged so that a CRC-16 still matches is refused: definitions carry a
//! CRC-32, and no later event is ever given a garbled name. (With a CRC-16, about one in 65 536
//! multi-byte bursts got through and renamed a variable for the rest of its epoch.)
//!
//! The damage is built, not searched for at random: three bytes of the name change so that the
//! CRC-16 over the frame (seeded with the epoch, as frames are sealed) stays the same, for the
//! CRC-16 this format used before (IBM-3740) and for the one its event frames use (X.25).

mod common;

use crc::{Algorithm, Crc, CRC_16_IBM_3740, CRC_16_IBM_SDLC};
use raceway_core::event::{Access, Event, Kind, ThreadId, Value};
use raceway_transport_uart::frame::{self, Frame};
use raceway_transport_uart::FrameEncoderConfig;

const NAME: &str = "accounts.alice.balance";

fn events() -> Vec<Event> {
    (0..20u64)
        .map(|i| {
            let kind = Kind::StateChange {
                variable: NAME.into(),
                access: Access::Write,
                old: Value::U64(i),
                new: Value::U64(i + 1),
            };
            Event::new(i, ThreadId::from_raw(1), kind)
        })
        .collect()
}

/// `payload` with three bytes of its text at `at` changed so that `crc` over the epoch and
/// everything before `end` is unchanged and the text stays printable ASCII, if possible there.
fn collide(crc: &Crc<u16>, epoch: u8, payload: &[u8], at: usize, end: usize) -> Option<Vec<u8>> {
    let sum = |bytes: &[u8]| {
        let mut digest = crc.digest();
        digest.update(&[epoch]);
        digest.update(&bytes[..end]);
        digest.finalize()
    };
    let want = sum(payload);
    for first in 1..=255u8 {
        let mut damaged = payload.to_vec();
        damaged[at] ^= first;
        // A 16-bit window: exactly one value of the next two bytes restores the CRC-16.
        for x in 0..=u16::MAX {
            let [a, b] = x.to_le_bytes();
            damaged[at + 1] = payload[at + 1] ^ a;
            damaged[at + 2] = payload[at + 2] ^ b;
            if sum(&damaged) == want {
                let printable = damaged[at..at + 3].iter().all(|c| (0x20..0x7F).contains(c));
                if printable && damaged != payload {
                    return Some(damaged);
                }
                break;
            }
        }
    }
    None
}

fn check(algorithm: &'static Algorithm<u16>) {
    let crc = Crc::<u16>::new(algorithm);
    let config = FrameEncoderConfig {
        resync_every: 0,
        ..FrameEncoderConfig::DEFAULT
    };
    let events = events();
    let (bytes, frames) = common::encode::<32>(&events, config);
    // The definition of NAME, and where its text is in the unstuffed payload.
    let (range, payload) = frames
        .iter()
        .find_map(|range| {
            let mut stuffed = bytes[range.start..range.end - 1].to_vec();
            let payload = frame::unstuff(&mut stuffed).ok()?.to_vec();
            let is_name = matches!(Frame::decode(&payload, 0), Ok(Frame::Symbol { text, .. }) if text == NAME);
            is_name.then(|| (range.clone(), payload))
        })
        .expect("the stream defines the name");
    let start = payload
        .windows(NAME.len())
        .position(|w| w == NAME.as_bytes())
        .unwrap();
    let end = start + NAME.len();
    let damaged = (start..end - 3)
        .find_map(|at| collide(&crc, 0, &payload, at, end))
        .expect("a colliding burst exists within the name");

    let mut stream = bytes[..range.start].to_vec();
    let mut stuffed = [0u8; frame::MAX_FRAME_LEN];
    let len = cobs::encode(&damaged, &mut stuffed);
    stream.extend_from_slice(&stuffed[..len]);
    stream.push(0);
    stream.extend_from_slice(&bytes[range.end..]);
    let decoded = common::decode(&stream);

    let want: Vec<_> = events.iter().map(common::on_host).collect();
    for event in &decoded.events {
        assert!(want.contains(event), "a wrong event came out: {event:?}");
    }
    assert!(!decoded.skipped.is_empty(), "the damage went unnoticed");
}

#[test]
fn a_burst_that_the_old_crc16_misses_is_refused() {
    check(&CRC_16_IBM_3740);
}

#[test]
fn a_burst_that_the_event_crc16_misses_is_refused() {
    check(&CRC_16_IBM_SDLC);
}
