//! The built-in analyzer as a sink: race reports with no server.
//!
//! [`AnalyzerSink`] feeds every event to [`raceway_analyze::Analyzer`] on the drain thread and,
//! at shutdown, prints the race report to standard error. It is the default destination when no
//! server is configured, so a service run locally shows its races at exit. [`Analysis`] reads
//! the report at any time, for tests and tools.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use raceway::analysis::AnalyzerSink;
//! use raceway::{Client, Config};
//!
//! let (sink, analysis) = AnalyzerSink::new();
//! let client = Client::new(Config::default(), sink.quiet())?;
//! let job = client.start_trace();
//! job.run(|| {
//!     let worker = raceway::thread::spawn(|| raceway::track_write("balance", 100, 80));
//!     raceway::track_write("balance", 100, 130); // not ordered with the worker's write
//!     worker.join().unwrap();
//! });
//! drop(job);
//! client.shutdown(Duration::from_secs(5));
//! let report = analysis.report();
//! assert_eq!(report.races.len(), 1, "{report}");
//! assert_eq!(report.races[0].variable, "balance");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::panic::Location;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use raceway_analyze::{Analyzer, Report};
use raceway_core::Event;

use crate::sink::{events_in, Sink, SinkStats, Undelivered};

type Shared = Arc<Mutex<Analyzer<&'static Location<'static>>>>;

/// Analyzes every event and prints the race report at shutdown (unless made [quiet](Self::quiet)).
#[derive(Debug)]
pub struct AnalyzerSink {
    analyzer: Shared,
    print_at_shutdown: bool,
    stats: SinkStats,
}

/// A handle on an [`AnalyzerSink`]'s analysis, usable from any thread.
#[derive(Clone, Debug)]
pub struct Analysis {
    analyzer: Shared,
}

impl AnalyzerSink {
    /// A sink and a handle on its analysis.
    pub fn new() -> (AnalyzerSink, Analysis) {
        let analyzer: Shared = Arc::default();
        let sink = AnalyzerSink {
            analyzer: Arc::clone(&analyzer),
            print_at_shutdown: true,
            stats: SinkStats::default(),
        };
        (sink, Analysis { analyzer })
    }

    /// The same sink, without the report on standard error at shutdown.
    pub fn quiet(mut self) -> Self {
        self.print_at_shutdown = false;
        self
    }
}

impl Analysis {
    /// The report so far (complete once the client has shut down).
    pub fn report(&self) -> Report {
        self.analyzer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .report()
    }
}

impl Sink for AnalyzerSink {
    fn send(&mut self, batch: &[Event], _deadline: Instant) {
        let mut analyzer = self.analyzer.lock().unwrap_or_else(PoisonError::into_inner);
        for event in batch {
            analyzer.observe(event);
        }
        self.stats.delivered += events_in(batch);
    }

    fn shutdown(&mut self, _deadline: Instant) -> Undelivered {
        if self.print_at_shutdown {
            let report = self
                .analyzer
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .report();
            eprintln!("\n{report}");
        }
        Undelivered::default()
    }

    fn stats(&self) -> SinkStats {
        self.stats
    }
}
