//! After flipped bits and deleted ranges (1 MiB of stream in all), every intact frame whose
//! header and definitions are intact is still decoded, no event comes out wrong, and nothing
//! panics.

mod common;

use std::collections::HashMap;
use std::ops::Range;

use proptest::prelude::RngExt;
use proptest::test_runner::{RngAlgorithm, TestRng};
use raceway_core::event::{Access, Event, Kind, LockKind, ThreadId, Value};
use raceway_transport_uart::frame::{self, Frame};
use raceway_transport_uart::FrameEncoderConfig;

/// The part of the stream one frame occupies, and what it needs to be decoded.
struct FrameInfo {
    range: Range<usize>,
    /// Frames (indices) that must arrive intact for this one to decode: the epoch's header,
    /// the definitions of the ids it uses.
    needs: Vec<usize>,
    /// For an event frame, its time (unique per event).
    time: Option<u64>,
}

fn kind(i: u64, rng: &mut TestRng, names: &[&'static str]) -> Kind {
    let name = names[rng.random_range(0..names.len())];
    match i % 5 {
        0 | 1 => Kind::StateChange {
            variable: name.into(),
            access: if i % 2 == 0 {
                Access::Read
            } else {
                Access::Write
            },
            old: Value::U64(i),
            new: Value::I64(-(i as i64)),
        },
        2 => Kind::LockAcquire {
            lock: name.into(),
            lock_kind: LockKind::CriticalSection,
        },
        3 => Kind::LockRelease {
            lock: name.into(),
            lock_kind: LockKind::Mutex,
        },
        _ => Kind::Send { message: i },
    }
}

fn event(i: u64, rng: &mut TestRng, names: &[&'static str]) -> Event {
    let thread = ThreadId::from_raw(1 + (i % 3) as u32);
    let kind = kind(i, rng, names);
    // Several source locations.
    match i % 4 {
        0 => Event::new(i, thread, kind),
        1 => Event::new(i, thread, kind),
        2 => Event::new(i, thread, kind),
        _ => Event::new(i, thread, kind),
    }
}

/// The ids a frame refers to.
fn references(frame: &Frame<'_>) -> Vec<u16> {
    match *frame {
        Frame::Location { file, .. } => vec![file],
        Frame::StateChange { at, variable, .. } => vec![at.location, variable],
        Frame::LockAcquire { at, lock, .. } | Frame::LockRelease { at, lock, .. } => {
            vec![at.location, lock]
        }
        Frame::Send { at, .. } => vec![at.location],
        _ => vec![],
    }
}

/// Builds a stream of about `target` bytes and describes its frames.
fn stream(target: usize, rng: &mut TestRng) -> (Vec<u8>, Vec<FrameInfo>, Vec<Event>) {
    let names: Vec<&'static str> = (0..40)
        .map(|i| common::leak(format!("shared.variable.{i}")))
        .collect();
    let config = FrameEncoderConfig {
        resync_every: 100,
        clock_hz: 0,
    };
    // A table of 16 makes epochs change because it fills up, as well as every 100 frames.
    let mut count = target / 48;
    loop {
        let mut local = rng.clone();
        let events: Vec<Event> = (1..=count as u64)
            .map(|i| event(i, &mut local, &names))
            .collect();
        let (bytes, ranges) = common::encode::<16>(&events, config);
        if bytes.len() >= target {
            *rng = local;
            return classify(bytes, ranges, events);
        }
        count += (target - bytes.len()) / 40 + 16;
    }
}

fn classify(
    bytes: Vec<u8>,
    ranges: Vec<Range<usize>>,
    events: Vec<Event>,
) -> (Vec<u8>, Vec<FrameInfo>, Vec<Event>) {
    // Classify every frame the way a reader that saw everything would.
    let mut epoch = 0u8;
    let mut header = 0usize;
    let mut defined: HashMap<u16, usize> = HashMap::new();
    let mut infos = Vec::new();
    for (index, range) in ranges.into_iter().enumerate() {
        let mut stuffed = bytes[range.start..range.end - 1].to_vec();
        let payload = frame::unstuff(&mut stuffed).expect("valid stream");
        if let Ok(h) = Frame::decode_header(payload) {
            epoch = h.epoch;
            header = index;
            defined.clear();
            infos.push(FrameInfo {
                range,
                needs: vec![],
                time: None,
            });
            continue;
        }
        let frame = Frame::decode(payload, epoch).expect("valid stream");
        let mut needs = vec![header];
        needs.extend(references(&frame).iter().map(|id| defined[id]));
        let time = match frame {
            Frame::Symbol { id, .. } | Frame::Location { id, .. } => {
                defined.insert(id, index);
                None
            }
            Frame::StateChange { at, .. }
            | Frame::LockAcquire { at, .. }
            | Frame::LockRelease { at, .. }
            | Frame::Send { at, .. } => Some(at.time),
            other => panic!("unexpected frame {other:?}"),
        };
        infos.push(FrameInfo { range, needs, time });
    }
    // A location's needs include its file symbol; an event needs those transitively.
    for index in 0..infos.len() {
        let mut all = infos[index].needs.clone();
        for need in infos[index].needs.clone() {
            all.extend(infos[need].needs.iter().copied());
        }
        infos[index].needs = all;
    }
    (bytes, infos, events)
}

/// Flips bits and deletes ranges; returns the damaged stream and which original bytes were
/// touched.
fn damage(bytes: &[u8], rng: &mut TestRng) -> (Vec<u8>, Vec<bool>) {
    let mut touched = vec![false; bytes.len()];
    let mut deleted = vec![false; bytes.len()];
    let mut out = bytes.to_vec();
    let operations = bytes.len() / 1500;
    for _ in 0..operations {
        let at = rng.random_range(0..bytes.len());
        if rng.random_bool(0.5) {
            let bit = rng.random_range(0..8);
            out[at] ^= 1 << bit;
            touched[at] = true;
        } else {
            let end = (at + rng.random_range(1..64)).min(bytes.len());
            for i in at..end {
                deleted[i] = true;
                touched[i] = true;
            }
        }
    }
    let damaged = out
        .into_iter()
        .zip(&deleted)
        .filter(|(_, gone)| !**gone)
        .map(|(b, _)| b)
        .collect();
    (damaged, touched)
}

fn intact(info: &FrameInfo, touched: &[bool]) -> bool {
    // The delimiter before the frame must be there too, or it merges with its predecessor.
    let start = info.range.start.saturating_sub(1);
    !touched[start..info.range.end].iter().any(|t| *t)
}

fn check(seed: u8, size: usize) {
    let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]);
    let (bytes, frames, events) = stream(size, &mut rng);
    let (damaged, touched) = damage(&bytes, &mut rng);

    let chunk_sizes: Vec<usize> = (0..64).map(|_| rng.random_range(1..4096)).collect();
    let decoded = common::decode_chunked(&damaged, &chunk_sizes);

    let by_time: HashMap<u64, &Event> = events.iter().map(|e| (e.time, e)).collect();
    for event in &decoded.events {
        let original = by_time
            .get(&event.time)
            .unwrap_or_else(|| panic!("seed {seed}: invented event {event:?}"));
        assert_eq!(
            *event,
            common::on_host(original),
            "seed {seed}: wrong event"
        );
    }
    let decoded_times: std::collections::HashSet<u64> =
        decoded.events.iter().map(|e| e.time).collect();
    let mut required = 0;
    for info in &frames {
        let Some(time) = info.time else { continue };
        let needed =
            intact(info, &touched) && info.needs.iter().all(|n| intact(&frames[*n], &touched));
        if needed {
            required += 1;
            assert!(
                decoded_times.contains(&time),
                "seed {seed}: intact event frame at {:?} (time {time}) was not decoded",
                info.range
            );
        }
    }
    let stats = decoded.stats;
    assert!(
        required > events.len() / 2,
        "seed {seed}: too much damage to test anything"
    );
    assert!(stats.skipped_frames > 0 && stats.skipped_bytes > 0);
    assert_eq!(stats.bytes, damaged.len() as u64);
    eprintln!(
        "seed {seed}: {} bytes, {} events, {} required, {} decoded, {} regions skipped ({} bytes), {} unknown refs, {} headers missed",
        damaged.len(),
        events.len(),
        required,
        decoded.events.len(),
        stats.skipped_frames,
        stats.skipped_bytes,
        stats.unknown_references,
        stats.headers_missed,
    );
}

#[test]
fn intact_frames_survive_a_mebibyte_of_damage() {
    // Four streams of 256 KiB with different damage: 1 MiB in all.
    for seed in 1..=4 {
        check(seed, 256 * 1024);
    }
}
