//! Helpers for tests against the loopback receiver: keys, steady recording, what arrived.
#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, Instant};

use raceway::{Client, ShutdownReport, Stats};
use raceway_test_receiver::{ReceiverConfig, TestReceiver};
use serde_json::Value;

/// The URL of a loopback port that was free a moment ago and has no listener now: every
/// connection to it is refused.
pub fn dead_server_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port();
    format!("http://127.0.0.1:{port}")
}

/// A receiver that requires `key`.
pub fn receiver_with_key(key: &str) -> TestReceiver {
    let mut config = ReceiverConfig::default();
    config.api_key = Some(key.to_owned());
    TestReceiver::with_config(config)
}

/// Checks `recorded == sent + state_only + dropped_in_lanes + dropped_in_delivery + in_flight`.
pub fn assert_identity(stats: &Stats) {
    assert_eq!(
        stats.recorded,
        stats.sent
            + stats.state_only
            + stats.dropped_in_lanes
            + stats.dropped_in_delivery
            + stats.in_flight,
        "{stats:?}"
    );
}

/// Events per 10 ms tick: 2 000 a second.
pub const PER_TICK: u64 = 20;
pub const TICK: Duration = Duration::from_millis(10);

/// Records 2 000 writes a second for `duration` on one context, shuts the client down, and
/// returns the writes recorded and the report.
pub fn record_at_2000_per_second(client: Client, duration: Duration) -> (u64, ShutdownReport) {
    let started = Instant::now();
    let ctx = client.start_trace();
    let ticks = (duration.as_millis() / TICK.as_millis()) as u32;
    let mut writes = 0u64;
    ctx.run(|| {
        for tick in 0..ticks {
            for _ in 0..PER_TICK {
                raceway::track_write("counter", writes, writes + 1);
                writes += 1;
            }
            let next = started + TICK * (tick + 1);
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
    });
    drop(ctx);
    let report = client.shutdown(Duration::from_secs(60));
    (writes, report)
}

/// Writes the receiver accepted.
pub fn writes_received(receiver: &TestReceiver) -> u64 {
    receiver
        .events()
        .iter()
        .filter(|e| e["kind"].get("StateChange").is_some())
        .count() as u64
}

/// The counts of the `raceway.dropped` markers the receiver accepted.
pub fn marker_counts(receiver: &TestReceiver) -> Vec<u64> {
    receiver
        .events()
        .iter()
        .filter(|e| e["kind"]["Custom"]["name"] == "raceway.dropped")
        .map(|e| e["kind"]["Custom"]["data"]["count"].as_u64().unwrap_or(0))
        .collect()
}

/// Whether any event of `events` is a loss marker.
pub fn has_marker(events: &[Value]) -> bool {
    events
        .iter()
        .any(|e| e["kind"]["Custom"]["name"] == "raceway.dropped")
}
