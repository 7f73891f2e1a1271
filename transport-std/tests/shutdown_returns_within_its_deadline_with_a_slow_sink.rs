//! `shutdown` returns within its timeout even when the sink blocks far longer, and reports what
//! it could not deliver; a stuck sink makes `flush` time out the same way.

mod common;

use std::time::{Duration, Instant};

use raceway::sink::{Sink, SinkStats};
use raceway::{Client, Config, Event, FlushError};

#[derive(Debug, Default)]
struct Stuck {
    stats: SinkStats,
}

impl Sink for Stuck {
    fn send(&mut self, batch: &[Event], _deadline: Instant) {
        // Ignores its deadline on purpose: the client must not rely on sinks behaving.
        std::thread::sleep(Duration::from_secs(3));
        self.stats.delivered += batch.len() as u64;
    }

    fn stats(&self) -> SinkStats {
        self.stats
    }
}

#[test]
fn shutdown_and_flush_honour_their_timeouts() {
    let config = Config::builder()
        .batch_size(1)
        .flush_interval(Duration::from_millis(1))
        .build()
        .unwrap();
    let client = Client::new(config, Stuck::default()).unwrap();
    let ctx = client.start_trace();
    for i in 0..10 {
        ctx.track_write("x", i, i + 1);
    }

    let start = Instant::now();
    let flushed = client.flush(Duration::from_millis(200));
    assert!(matches!(flushed, Err(FlushError::TimedOut { in_flight }) if in_flight > 0));
    assert!(
        start.elapsed() < Duration::from_millis(1000),
        "{:?}",
        start.elapsed()
    );

    let start = Instant::now();
    let report = client.shutdown(Duration::from_millis(300));
    let took = start.elapsed();
    assert!(took < Duration::from_millis(1000), "shutdown took {took:?}");
    assert!(report.timed_out);
    assert!(report.undelivered >= 10, "{report:?}");
    assert_eq!(
        client.shutdown(Duration::ZERO),
        report,
        "later calls return the first report"
    );
    assert_eq!(
        client.flush(Duration::from_secs(1)),
        Err(FlushError::Closed)
    );
}

#[test]
fn dropping_the_client_flushes_with_the_default_timeout() {
    let (sink, captured) = raceway::sink::MemorySink::new(100);
    let client = Client::new(
        Config::builder()
            .flush_interval(Duration::from_secs(3600))
            .build()
            .unwrap(),
        sink,
    )
    .unwrap();
    let ctx = client.start_trace();
    ctx.track_write("x", 0, 1);
    drop(ctx);
    assert!(
        captured.events().is_empty(),
        "a one-hour interval holds the batch back"
    );
    drop(client);
    assert_eq!(captured.events().len(), 3);
}
