//! The built-in analyzer as a sink: race reports with no server.
//!
//! [`AnalyzerSink`] feeds every event to [`raceway_analyze::Analyzer`] on the drain thread and,
//! at shutdown, prints the race report to standard error (and, when asked, writes it as an
//! HTML page: [`AnalyzerSink::html_report`], `RACEWAY_REPORT`). It is the default destination when no
//! server is configured, so a service run locally shows its races at exit. [`Analysis`] reads
//! the report at any time, for tests and tools. It analyzes events with any source location:
//! [`AnalyzerSink::for_locations`] makes one for the [`Site`](raceway_core::event::Site)s that
//! `raceway bridge` decodes from a device.
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
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use raceway_analyze::{Analyzer, Report};
use raceway_core::event::SourceLocation;
use raceway_core::Event;

use crate::sink::{events_in, Sink, SinkStats, Undelivered};

type Shared<L> = Arc<Mutex<Analyzer<L>>>;

/// Analyzes every event and prints the race report at shutdown (unless made [quiet](Self::quiet)).
#[derive(Debug)]
pub struct AnalyzerSink<L: SourceLocation = &'static Location<'static>> {
    analyzer: Shared<L>,
    print_at_shutdown: bool,
    /// Where to write the HTML report at shutdown, and its title.
    html: Option<(PathBuf, String)>,
    stats: SinkStats,
}

/// A handle on an [`AnalyzerSink`]'s analysis, usable from any thread.
#[derive(Clone, Debug)]
pub struct Analysis<L: SourceLocation = &'static Location<'static>> {
    analyzer: Shared<L>,
}

impl AnalyzerSink {
    /// A sink for the client's events and a handle on its analysis.
    pub fn new() -> (AnalyzerSink, Analysis) {
        Self::for_locations()
    }
}

impl<L: SourceLocation> AnalyzerSink<L> {
    /// [`new`](AnalyzerSink::new) for events located by `L` (e.g. decoded
    /// [`Site`](raceway_core::event::Site)s).
    pub fn for_locations() -> (Self, Analysis<L>) {
        let analyzer: Shared<L> = Arc::default();
        let sink = AnalyzerSink {
            analyzer: Arc::clone(&analyzer),
            print_at_shutdown: true,
            html: None,
            stats: SinkStats::default(),
        };
        (sink, Analysis { analyzer })
    }

    /// The same sink, also writing the report as an HTML page titled `title` to `path` at
    /// shutdown ([`raceway_analyze::html`]).
    pub fn html_report(mut self, path: impl Into<PathBuf>, title: impl Into<String>) -> Self {
        self.html = Some((path.into(), title.into()));
        self
    }

    /// The same sink, without the report on standard error at shutdown.
    pub fn quiet(mut self) -> Self {
        self.print_at_shutdown = false;
        self
    }
}

impl<L: SourceLocation> Analysis<L> {
    /// The report so far (complete once the client has shut down).
    pub fn report(&self) -> Report {
        self.analyzer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .report()
    }
}

impl<L: SourceLocation + Send> Sink<L> for AnalyzerSink<L> {
    fn send(&mut self, batch: &[Event<L>], _deadline: Instant) {
        let mut analyzer = self.analyzer.lock().unwrap_or_else(PoisonError::into_inner);
        for event in batch {
            analyzer.observe(event);
        }
        self.stats.delivered += events_in(batch);
    }

    fn shutdown(&mut self, _deadline: Instant) -> Undelivered {
        if !self.print_at_shutdown && self.html.is_none() {
            return Undelivered::default();
        }
        let report = self
            .analyzer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .report();
        if self.print_at_shutdown {
            eprintln!("\n{report}");
        }
        if let Some((path, title)) = &self.html {
            match raceway_analyze::html::write(&report, title, path) {
                Ok(()) if self.print_at_shutdown => {
                    eprintln!("raceway: HTML race report written to {}", path.display())
                }
                Ok(()) => {}
                Err(error) => log::error!(
                    target: "raceway",
                    "raceway: writing the HTML race report {} failed: {error}",
                    path.display()
                ),
            }
        }
        Undelivered::default()
    }

    fn stats(&self) -> SinkStats {
        self.stats
    }
}
