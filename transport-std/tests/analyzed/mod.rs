//! A client whose events go both to memory (to check what was recorded) and to the built-in
//! analyzer (to check what it orders and what it reports), for the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use raceway::analysis::{Analysis, AnalyzerSink};
use raceway::sink::{Captured, Fanout, MemorySink, Sink};
use raceway::{Client, Config, Event, Report};

pub struct Analyzed {
    pub client: Client,
    pub captured: Arc<Captured>,
    pub analysis: Analysis,
}

impl Analyzed {
    pub fn new() -> Self {
        let (memory, captured) = MemorySink::new(1_000_000);
        let (analyzer, analysis) = AnalyzerSink::new();
        let sinks: Vec<Box<dyn Sink>> = vec![Box::new(memory), Box::new(analyzer.quiet())];
        let config = Config::builder()
            .service_name("test-service")
            .instance_id("instance-1")
            .flush_interval(Duration::from_millis(10))
            .build()
            .expect("valid test config");
        let client = Client::new(config, Fanout::new(sinks)).expect("drain thread");
        Analyzed {
            client,
            captured,
            analysis,
        }
    }

    /// Flushes, then everything recorded so far and the analyzer's report on it.
    pub fn finish(&self) -> (Vec<Event>, Report) {
        self.client.flush(Duration::from_secs(10)).expect("flush");
        (self.captured.events(), self.analysis.report())
    }
}

/// The variables the report says race, sorted.
pub fn racing(report: &Report) -> Vec<String> {
    assert!(report.races.iter().all(|race| !race.uncertain), "{report}");
    let mut variables: Vec<String> = report.races.iter().map(|r| r.variable.clone()).collect();
    variables.sort();
    variables.dedup();
    variables
}
