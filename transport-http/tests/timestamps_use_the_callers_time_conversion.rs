//! Event times go through the configured conversion and come out as `YYYY-MM-DDTHH:MM:SS.fffffffffZ`.

mod common;

use std::sync::Arc;

use common::{custom, event, wire_events};
use raceway_core::event::Kind;
use raceway_transport_http::{JsonEncoder, JsonEncoderConfig};

#[test]
fn timestamps_use_the_callers_time_conversion() {
    let mut config = JsonEncoderConfig::new("bank", "host-1");
    // Device ticks of 1 µs since a boot at 2024-02-29T23:59:59Z.
    let boot = 1_709_251_199_000_000_000u64;
    config.time_to_unix_nanos = Arc::new(move |ticks| boot + ticks * 1000);
    let mut encoder = JsonEncoder::new(config);

    let mut first = event(1, custom("a", 0));
    first.time = 1_000_000 + 7; // one second and 7 µs after boot
    let mut marker = event(0, Kind::Dropped { count: 3 });
    marker.time = 0; // markers have no time of their own
    let mut batches: Vec<_> = [first, marker]
        .iter()
        .filter_map(|e| encoder.encode(e).batch)
        .collect();
    batches.extend(encoder.flush());
    let wire = wire_events(&batches);
    assert_eq!(wire[0]["timestamp"], "2024-03-01T00:00:00.000007000Z");
    assert_eq!(
        wire[1]["timestamp"], wire[0]["timestamp"],
        "a loss marker takes the latest event's time"
    );
    for event in &wire {
        let text = event["timestamp"].as_str().unwrap();
        assert_eq!(text.len(), 30);
        assert!(text.ends_with('Z'));
    }
}
