//! Losing any one frame — a header, a definition or an event — costs at most the events of the
//! rest of its epoch: with the default settings, at most 256 frames' worth. (Epochs used to be
//! 1 024 frames long: one lost definition cost up to 997 events of a 3 000-event stream.) No
//! event ever comes out wrong.

mod common;

use raceway_core::event::{Access, Event, Kind, LockKind, ThreadId, Value};
use raceway_transport_uart::FrameEncoderConfig;

/// The loss window the documentation promises for [`FrameEncoderConfig::DEFAULT`].
const WINDOW: usize = 256;

/// 1 200 events (several epochs) on two threads over 10 variables and a lock, from several source lines.
fn events() -> Vec<Event> {
    let names: Vec<&'static str> = (0..10)
        .map(|i| common::leak(format!("accounts.user{i}.balance")))
        .collect();
    (0..1200u64)
        .map(|i| {
            let thread = ThreadId::from_raw(1 + (i % 2) as u32);
            let variable = names[(i as usize * 7) % names.len()];
            let change = |access| Kind::StateChange {
                variable: variable.into(),
                access,
                old: Value::U64(i),
                new: Value::U64(i + 1),
            };
            let lock = "accounts.lock";
            match i % 4 {
                0 => Event::new(
                    i,
                    thread,
                    Kind::LockAcquire {
                        lock: lock.into(),
                        lock_kind: LockKind::Mutex,
                    },
                ),
                1 => Event::new(i, thread, change(Access::Read)),
                2 => Event::new(i, thread, change(Access::Write)),
                _ => Event::new(
                    i,
                    thread,
                    Kind::LockRelease {
                        lock: lock.into(),
                        lock_kind: LockKind::Mutex,
                    },
                ),
            }
        })
        .collect()
}

#[test]
fn any_single_lost_frame_costs_at_most_one_window() {
    assert_eq!(FrameEncoderConfig::DEFAULT.resync_every as usize, WINDOW);
    let events = events();
    let want: Vec<_> = events.iter().map(common::on_host).collect();
    let (bytes, frames) = common::encode::<32>(&events, FrameEncoderConfig::DEFAULT);
    let mut worst = 0;
    for lost in &frames {
        let mut damaged = bytes[..lost.start].to_vec();
        damaged.extend_from_slice(&bytes[lost.end..]);
        let decoded = common::decode(&damaged);
        // What comes out is the stream in order with some events missing, never a wrong one.
        let mut rest = want.iter();
        for event in &decoded.events {
            assert!(
                rest.any(|w| w == event),
                "frame at {lost:?} lost: a wrong or reordered event {event:?}"
            );
        }
        let missing = want.len() - decoded.events.len();
        assert!(
            missing <= WINDOW,
            "frame at {lost:?} lost: {missing} events missing"
        );
        worst = worst.max(missing);
    }
    println!("worst single-frame loss: {worst} of {} events", want.len());
}
