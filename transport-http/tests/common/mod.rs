//! Shared helpers of the integration tests.
#![allow(dead_code, unreachable_pub)]

use raceway_core::event::{Event, Kind, Site, ThreadId, Value};
use raceway_test_receiver::validate_body;
use raceway_transport_http::{Batch, BatchLimits, JsonEncoder, JsonEncoderConfig};
use serde_json::Value as Json;

/// 2026-11-26T16:11:38Z in Unix nanoseconds.
pub const T0: u64 = 1_795_709_498_000_000_000;

pub fn site(line: u32) -> Site {
    Site {
        file: "src/bank.rs",
        line,
        column: 1,
    }
}

pub fn event(thread: u32, kind: Kind) -> Event<Site> {
    Event {
        time: T0,
        location: site(42),
        thread: ThreadId::from_raw(thread),
        kind,
    }
}

pub fn custom(name: &'static str, data: i64) -> Kind {
    Kind::Custom {
        name,
        data: Value::I64(data),
    }
}

pub fn encoder() -> JsonEncoder {
    JsonEncoder::new(JsonEncoderConfig::new("bank", "host-1"))
}

pub fn encoder_with(limits: BatchLimits) -> JsonEncoder {
    let mut config = JsonEncoderConfig::new("bank", "host-1");
    config.limits = limits;
    JsonEncoder::new(config)
}

/// Encodes `events` and returns every batch, the last one flushed.
pub fn encode_all(encoder: &mut JsonEncoder, events: &[Event<Site>]) -> Vec<Batch> {
    let mut batches: Vec<Batch> = events
        .iter()
        .filter_map(|e| encoder.encode(e).batch)
        .collect();
    batches.extend(encoder.flush());
    batches
}

/// The events of valid batches, asserting each body passes the wire schema.
pub fn wire_events(batches: &[Batch]) -> Vec<Json> {
    let mut all = Vec::new();
    for batch in batches {
        match validate_body(batch.body()) {
            Ok(events) => all.extend(events),
            Err(verdict) => panic!(
                "invalid body: {verdict}\n{}",
                String::from_utf8_lossy(batch.body())
            ),
        }
    }
    all
}

/// Encodes and validates in one go.
pub fn encode_valid(events: &[Event<Site>]) -> Vec<Json> {
    wire_events(&encode_all(&mut encoder(), events))
}

/// `n` small Custom events from one thread.
pub fn batch_of(n: usize) -> (JsonEncoder, Batch) {
    let mut encoder = encoder_with(BatchLimits {
        max_events: n,
        max_bytes: raceway_transport_http::MAX_BODY_BYTES,
    });
    for i in 0..n {
        assert!(encoder
            .encode(&event(1, custom("work", i as i64)))
            .batch
            .is_none());
    }
    let batch = encoder.flush().expect("events pending");
    assert_eq!(batch.len(), n);
    (encoder, batch)
}

/// Installs a logger that keeps every record (all levels, all crates) for inspection.
pub mod capture_log {
    use std::sync::{Mutex, OnceLock};

    struct Capture(Mutex<Vec<String>>);

    impl log::Log for Capture {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, record: &log::Record<'_>) {
            let line = format!("{} {} {}", record.level(), record.target(), record.args());
            self.0.lock().unwrap().push(line);
        }
        fn flush(&self) {}
    }

    static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();

    pub fn install() {
        CAPTURE.get_or_init(|| {
            let capture: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
            log::set_logger(capture).expect("no other logger");
            log::set_max_level(log::LevelFilter::Trace);
            capture
        });
    }

    pub fn lines() -> Vec<String> {
        CAPTURE
            .get()
            .map(|c| c.0.lock().unwrap().clone())
            .unwrap_or_default()
    }
}

/// A client for `url` with short backoffs, so retry tests run in about a second.
pub fn fast_client(url: &str) -> raceway_transport_http::HttpClient {
    let mut config = raceway_transport_http::HttpClientConfig::new(url);
    config.initial_backoff = std::time::Duration::from_millis(20);
    config.max_backoff = std::time::Duration::from_millis(200);
    config.request_timeout = std::time::Duration::from_secs(5);
    raceway_transport_http::HttpClient::new(config).expect("valid config")
}

pub fn in_secs(seconds: u64) -> std::time::Instant {
    std::time::Instant::now() + std::time::Duration::from_secs(seconds)
}
