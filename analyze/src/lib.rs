//! `raceway-analyze`: finds data races in a Raceway event stream, with no server.
//!
//! Feed an [`Analyzer`] the events in the order they left the ring (the std client's drain, a
//! capture file, the UART decoder), then ask for a [`Report`]: text for people, JSON for tools.
//!
//! A data race is two accesses ([`Kind::StateChange`](raceway_core::Kind::StateChange)) to the
//! same variable (a [`Name`](raceway_core::Name): one identity per full text) from different logical threads, at least one a
//! write, not both atomic, that happens-before does not order (locks, spawn/join, send/receive,
//! HTTP spans: see [`raceway_core::causality`]) and that no common lock protects. The analysis
//! is linear in the number of events and keeps bounded state per variable:
//! [`analyzer`] explains how, and what it gives up.
//!
//! * [`analyzer`] — the detector.
//! * [`report`] — the report, its text and its JSON shape.
//! * [`timeline`] — what each race's threads did around it, and the edges between them.
//! * [`html`] — the report as one self-contained HTML page that draws each race.
//! * [`merge`] — several services' recordings analyzed as one stream.
//!
//! # Examples
//!
//! ```
//! use raceway_analyze::{Analyzer, Severity};
//! use raceway_core::{Access, Event, Kind, LockKind, ThreadId, Value};
//!
//! let (a, b) = (ThreadId::from_raw(1), ThreadId::from_raw(2));
//! let balance = |access, new| Kind::StateChange {
//!     variable: "balance".into(),
//!     access,
//!     old: Value::None,
//!     new: Value::I64(new),
//! };
//! let (lock, lock_kind) = ("accounts".into(), LockKind::Mutex);
//!
//! let mut analyzer = Analyzer::new();
//! // A reads and writes under the lock; B writes without it: B's write races with both.
//! analyzer.observe(&Event::new(1, a, Kind::LockAcquire { lock, lock_kind }));
//! analyzer.observe(&Event::new(2, a, balance(Access::Read, 100)));
//! analyzer.observe(&Event::new(3, a, balance(Access::Write, 50)));
//! analyzer.observe(&Event::new(4, a, Kind::LockRelease { lock, lock_kind }));
//! analyzer.observe(&Event::new(5, b, balance(Access::Write, 80)));
//!
//! let report = analyzer.report();
//! assert_eq!(report.races.len(), 1, "{report}");
//! assert_eq!(report.races[0].severity, Severity::Critical);
//! assert_eq!(report.races[0].later.thread, b);
//! ```
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

pub mod analyzer;
pub mod html;
mod lockset;
pub mod merge;
pub mod report;
pub mod timeline;

pub use analyzer::Analyzer;
pub use report::{Race, RaceAccess, Report, Severity, Summary};

/// Tables looked up on every event: names and thread ids are not attacker-chosen in a way that
/// makes SipHash worth its cost here.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
