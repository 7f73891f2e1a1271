//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

pub mod server;

use std::sync::Arc;
use std::time::Duration;

use raceway::sink::{Captured, MemorySink};
use raceway::{Client, Config, Event, Kind, ThreadId};

/// A client delivering into memory, with a short flush interval.
pub fn client() -> (Client, Arc<Captured>) {
    client_with(
        Config::builder()
            .service_name("test-service")
            .instance_id("instance-1"),
    )
}

pub fn client_with(builder: raceway::ConfigBuilder) -> (Client, Arc<Captured>) {
    let (sink, captured) = MemorySink::new(1_000_000);
    let config = builder
        .flush_interval(Duration::from_millis(10))
        .build()
        .expect("valid test config");
    (Client::new(config, sink).expect("drain thread"), captured)
}

/// Flushes and takes everything delivered so far.
pub fn drained(client: &Client, captured: &Captured) -> Vec<Event> {
    client.flush(Duration::from_secs(10)).expect("flush");
    captured.take()
}

/// The kinds one logical thread recorded, in order.
pub fn kinds_of(events: &[Event], thread: ThreadId) -> Vec<Kind> {
    events
        .iter()
        .filter(|e| e.thread == thread)
        .map(|e| e.kind)
        .collect()
}

/// Fills the process-wide name table with more distinct dynamic names than it holds.
pub fn fill_name_table() {
    use raceway::names::{IntoName, MAX_NAMES};
    for i in 0..2 * MAX_NAMES {
        let _ = format_args!("filler.{i}").into_name();
    }
}

/// A client whose events go to the built-in analyzer.
pub fn analyzed_client() -> (Client, raceway::analysis::Analysis) {
    let (sink, analysis) = raceway::analysis::AnalyzerSink::new();
    let config = Config::builder()
        .service_name("test-service")
        .flush_interval(Duration::from_millis(10))
        .build()
        .expect("valid test config");
    (
        Client::new(config, sink.quiet()).expect("drain thread"),
        analysis,
    )
}
