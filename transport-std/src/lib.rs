//! Raceway for std services: the one dependency a service adds to find race conditions and
//! trace requests across services.
//!
//! A [`Client`] owns the lock-free per-thread buffers every tracking call records into in
//! nanoseconds ([lanes](raceway_core::lanes)), and
//! a background drain thread that batches the events into a [`Sink`](sink::Sink) (the Raceway
//! server over HTTP, a capture file, the local analyzer, or your own). Code records into its
//! *current* [`Context`] — one trace, one logical thread — which the tower middleware
//! (`middleware`, feature `tower`), [`Client::inbound_request`] or
//! [`Client::start_trace`] provide, and which [threads](thread), [futures](future) and
//! [child contexts](Context::child) carry along.
//!
//! * [`config`] — [`Config`]: every option, from code or `RACEWAY_*` variables.
//! * [`track`] — the tracking calls (`track_write`, `track_function`, `track_error`, …).
//! * [`sync`] — tracked `Mutex` and `RwLock`.
//! * [`context`], [`thread`], [`future`] — carrying the context across threads and tasks;
//!   `task` — `spawn`/`spawn_blocking` for tokio (feature `tokio`).
//! * [`propagation`] — `traceparent`, `tracestate` and `raceway-clock` in and out.
//! * `middleware` — the tower layer `RacewayLayer` (feature `tower`); `outbound` — client
//!   middleware for reqwest (feature `reqwest`) and tower clients (feature `tower`).
//! * [`sink`] — where batches go: `server` (the Raceway server, feature `server`), `analysis`
//!   (the built-in race analyzer, feature `analyzer`), `capture` (a file for `raceway check`,
//!   feature `capture`), or your own. All three features are on by default.
//! * [`time`] — timestamps; [`names`] — dynamic names.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use raceway::sink::MemorySink;
//! use raceway::sync::Mutex;
//! use raceway::{Client, Config};
//!
//! static BALANCE: Mutex<i64> = Mutex::named("balance", 100);
//!
//! let (sink, captured) = MemorySink::new(10_000);
//! let client = Client::new(Config::from_env()?, sink)?;
//!
//! let job = client.start_trace();
//! job.run(|| {
//!     let workers: Vec<_> = (0..2)
//!         .map(|_| {
//!             raceway::thread::spawn(|| {
//!                 let mut balance = BALANCE.lock().unwrap();
//!                 raceway::track_write("balance", *balance, *balance - 10);
//!                 *balance -= 10;
//!             })
//!         })
//!         .collect();
//!     for worker in workers {
//!         worker.join().unwrap();
//!     }
//! });
//! drop(job);
//!
//! let report = client.shutdown(Duration::from_secs(5));
//! assert_eq!(report.undelivered, 0);
//! assert!(captured.events().len() > 10);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

#[cfg(feature = "analyzer")]
pub mod analysis;
#[cfg(feature = "capture")]
pub mod capture;
mod client;
pub mod config;
pub mod context;
mod drain;
pub mod future;
mod ids;
#[cfg(feature = "tower")]
pub mod middleware;
pub mod names;
#[cfg(any(feature = "tower", feature = "reqwest"))]
pub mod outbound;
pub mod propagation;
mod record;
#[cfg(feature = "server")]
pub mod server;
mod shared;
pub mod sink;
pub mod sync;
#[cfg(feature = "tokio")]
pub mod task;
pub mod thread;
pub mod time;
pub mod track;

pub use client::{Client, FlushError, ShutdownReport, StartError};
pub use config::{Config, ConfigBuilder, ConfigError};
pub use context::{Context, Entered};
pub use future::FutureExt;
pub use names::{intern, text, IntoName};
pub use shared::Stats;
pub use track::*;

/// The race report [`Analysis::report`](analysis::Analysis::report) returns, nameable without a
/// second dependency.
#[cfg(feature = "analyzer")]
pub use raceway_analyze::{Race, RaceAccess, Report, Severity, Summary};

/// The core crate: the event model that sinks and tests inspect.
pub use raceway_core;
pub use raceway_core::event::Direction;
pub use raceway_core::{Access, Event, Kind, LockKind, Name, ThreadId, Value};
