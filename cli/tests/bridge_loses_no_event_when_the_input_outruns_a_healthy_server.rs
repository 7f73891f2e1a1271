//! A file is read far faster than any server takes events: the bridge waits for the server
//! sink whenever too many events are pending, so a long stream to a healthy server loses
//! nothing to a full retry buffer.

mod common;

use std::time::Duration;

use raceway_core::{Access, Event, Kind, ThreadId, Value};
use raceway_test_receiver::TestReceiver;

use common::{bridge_to_server, file_with, raw_stream};

/// Far more than the bridge's retry buffer holds (a few thousand events).
const EVENTS: u64 = 20_000;

#[test]
fn bridge_loses_no_event_when_the_input_outruns_a_healthy_server() {
    let thread = ThreadId::from_raw(1);
    let stream: Vec<Event> = (0..EVENTS)
        .map(|n| {
            let kind = Kind::StateChange {
                variable: "sensor.sample".into(),
                access: Access::Write,
                old: Value::U64(n),
                new: Value::U64(n + 1),
            };
            Event::new(1_795_709_498_000_000_000 + n * 1_000, thread, kind)
        })
        .collect();
    let receiver = TestReceiver::start();
    let path = file_with("outrun.bin", &raw_stream(&stream));

    let run = bridge_to_server(&path, &receiver.url(), Duration::from_secs(300));

    assert_eq!(run.status, 0, "{run:?}");
    assert_eq!(receiver.events().len() as u64, EVENTS, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "{EVENTS} events sent to {}, 0 not delivered",
            receiver.url()
        )),
        "{}",
        run.stderr
    );
}
