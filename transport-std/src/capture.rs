//! Capture files: every event written to disk for `raceway check` (or a later upload).
//!
//! The format is `raceway-transport-uart`'s: a file header and then the same self-delimiting,
//! checksummed frames a device sends over a serial line, so one decoder reads both and a damaged
//! file still yields every intact part.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use raceway::capture::CaptureSink;
//! use raceway::{Client, Config};
//!
//! let path = std::env::temp_dir().join(format!("raceway-doc-{}.rwcap", std::process::id()));
//! let client = Client::new(Config::default(), CaptureSink::create(&path)?)?;
//! client.start_trace().track_write("balance", 100, 80);
//! client.shutdown(Duration::from_secs(5));
//! let (events, skipped) = raceway_transport_uart::capture::read_all(std::fs::File::open(&path)?)?;
//! assert!(events.iter().any(|e| e.kind.variable().is_some_and(|v| v == "balance")));
//! assert!(skipped.is_empty());
//! # std::fs::remove_file(&path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::time::Instant;

use raceway_core::Event;
use raceway_transport_uart::capture::CaptureWriter;

use crate::sink::{events_in, Incomplete, Sink, SinkStats, Undelivered};

/// Writes every event to a capture file.
#[derive(Debug)]
pub struct CaptureSink {
    path: PathBuf,
    writer: Option<CaptureWriter<BufWriter<File>>>,
    stats: SinkStats,
}

impl CaptureSink {
    /// Creates (or truncates) the file at `path` and writes the capture header.
    pub fn create(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_owned();
        let file = File::create(&path)?;
        Ok(CaptureSink {
            writer: Some(CaptureWriter::new(BufWriter::new(file))?),
            path,
            stats: SinkStats::default(),
        })
    }

    /// Gives up on the file after a write error: one message, then every later event counts as
    /// failed rather than being retried against a full or broken disk.
    fn fail(&mut self, error: &io::Error) {
        log::error!(
            target: "raceway",
            "raceway: writing the capture file {} failed ({error}); no more events are written to it",
            self.path.display()
        );
        self.writer = None;
    }
}

impl Sink for CaptureSink {
    fn send(&mut self, batch: &[Event], _deadline: Instant) {
        let events = events_in(batch);
        let Some(writer) = &mut self.writer else {
            self.stats.failed += events;
            return;
        };
        match batch.iter().try_for_each(|event| writer.write(event)) {
            Ok(()) => self.stats.delivered += events,
            Err(error) => {
                self.stats.failed += events;
                self.fail(&error);
            }
        }
    }

    fn flush(&mut self, _deadline: Instant) -> Result<(), Incomplete> {
        if let Some(Err(error)) = self.writer.as_mut().map(CaptureWriter::flush) {
            self.fail(&error);
        }
        Ok(())
    }

    fn shutdown(&mut self, deadline: Instant) -> Undelivered {
        let _ = self.flush(deadline);
        if let Some(Err(error)) = self.writer.take().map(CaptureWriter::into_inner) {
            log::error!(target: "raceway", "raceway: closing {} failed: {error}", self.path.display());
        }
        Undelivered::default()
    }

    fn stats(&self) -> SinkStats {
        self.stats
    }
}
