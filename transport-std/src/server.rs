//! The Raceway server sink: events encoded to the server's JSON and posted in batches.
//!
//! [`ServerSink`] runs [`raceway_transport_http`]'s stream encoder and delivery client on the
//! drain thread: ids, parent chains, vector clocks and timestamps are made here, never on the
//! record path. Retries with backoff, `Retry-After`, 413 splitting, the 401 stop and the 2 MiB
//! body limit are the delivery client's; this sink maps its results onto the client's
//! [`Stats`](crate::Stats).
//!
//! # Examples
//!
//! ```no_run
//! use raceway::server::ServerSink;
//! use raceway::{Client, Config};
//!
//! let config = Config::builder()
//!     .server_url("http://localhost:8080")
//!     .service_name("checkout")
//!     .build()?;
//! let sink = ServerSink::new(&config)?;
//! let client = Client::new(config, sink)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::time::Instant;

use raceway_core::{Event, Kind};
use raceway_transport_http::{
    BatchLimits, Client as HttpClient, ClientConfig, ConfigError as HttpConfigError, Encoder,
    EncoderConfig, MAX_BODY_BYTES,
};

use crate::config::Config;
use crate::sink::{Incomplete, Sink, SinkStats, Undelivered};

/// Delivers events to the Raceway server configured in [`Config::server_url`].
pub struct ServerSink {
    encoder: Encoder,
    http: HttpClient,
    /// Loss markers in the batch the encoder is filling: they become wire events of their own
    /// (`raceway.dropped`) but are not recorded events, so they are kept out of the counts.
    markers_pending: usize,
    stats: SinkStats,
}

impl fmt::Debug for ServerSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSink")
            .field("endpoint", &self.http.endpoint())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl ServerSink {
    /// A sink for `config`'s server, service, instance, environment, tags, API key and batch
    /// size. Fails if the URL cannot be used (e.g. `https://` without the `tls` feature).
    pub fn new(config: &Config) -> Result<Self, HttpConfigError> {
        let mut encoding = EncoderConfig::new(config.service_name(), config.instance_id());
        encoding.environment = config.environment().to_owned();
        encoding.tags = config.tags().clone();
        encoding.limits = BatchLimits {
            max_events: config.batch_size(),
            max_bytes: MAX_BODY_BYTES,
        };
        let mut delivery = ClientConfig::new(config.server_url().as_str());
        if let Some(key) = config.api_key() {
            delivery.api_key = Some(raceway_transport_http::ApiKey::new(key.expose())?);
        }
        if let Some(path) = config.tls_root_certificates() {
            let pem = std::fs::read(path).map_err(|e| {
                HttpConfigError::RootCertificates(format!("{}: {e}", path.display()))
            })?;
            delivery.root_certificates_pem = Some(pem);
        }
        Ok(ServerSink {
            encoder: Encoder::new(encoding),
            http: HttpClient::new(delivery)?,
            markers_pending: 0,
            stats: SinkStats::default(),
        })
    }

    /// Encodes `event`; posts the batch it completes, if any. Returns the events given up on.
    fn take(&mut self, event: &Event, deadline: Instant) -> u64 {
        let before = self.encoder.stats();
        let completed = self.encoder.encode(event);
        let after = self.encoder.stats();
        // A completed batch never holds the event that completed it.
        let given_up = match completed {
            Some(batch) => self.deliver(batch, deadline),
            None => 0,
        };
        if let Kind::Dropped { .. } = event.kind {
            self.markers_pending += 1;
        } else if after.metadata > before.metadata {
            // Trace bindings, remote clocks and thread ends only shape the events around them.
            self.stats.delivered += 1;
        } else if after.oversized > before.oversized {
            self.stats.failed += 1;
        }
        given_up
    }

    /// Posts one batch within `deadline`; counts what arrived and returns what did not.
    fn deliver(&mut self, batch: raceway_transport_http::Batch, deadline: Instant) -> u64 {
        let markers = std::mem::take(&mut self.markers_pending);
        let events = batch.len() - markers;
        let report = self.http.deliver(batch, deadline);
        self.stats.retried += u64::from(report.retries);
        // Count the markers among the first wire events to arrive: at worst this credits a
        // marker's delivery to an event, never an event twice.
        let delivered = report.sent - report.sent.min(markers);
        self.stats.delivered += delivered as u64;
        (events - delivered) as u64
    }

    fn pending(&self) -> u64 {
        (self.encoder.pending_events() - self.markers_pending) as u64
    }
}

impl Sink for ServerSink {
    fn send(&mut self, batch: &[Event], deadline: Instant) {
        for event in batch {
            let given_up = self.take(event, deadline);
            self.stats.failed += given_up;
        }
    }

    fn flush(&mut self, deadline: Instant) -> Result<(), Incomplete> {
        if let Some(batch) = self.encoder.flush() {
            let given_up = self.deliver(batch, deadline);
            self.stats.failed += given_up;
        }
        match self.pending() {
            0 => Ok(()),
            pending => Err(Incomplete { pending }),
        }
    }

    fn shutdown(&mut self, deadline: Instant) -> Undelivered {
        let events = match self.encoder.flush() {
            Some(batch) => self.deliver(batch, deadline),
            None => 0,
        };
        Undelivered { events }
    }

    fn stats(&self) -> SinkStats {
        self.stats
    }
}
