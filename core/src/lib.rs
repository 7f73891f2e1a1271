//! `raceway-core`: the part of Raceway that runs inside the instrumented program.
//!
//! It records fixed-size [`event::Event`]s into a bounded lock-free [`ring::Ring`] at a cost of
//! nanoseconds, with no allocation, no lock and no system call, from threads and interrupt
//! handlers alike. Everything expensive (ids, timestamps, vector clocks, encoding) happens in the
//! single consumer that drains the ring.
//!
//! * [`event`] — the event model.
//! * [`symbol`] — interning dynamic names into a bounded table.
//! * [`ring`] — the multi-producer single-consumer ring with drop accounting.
//! * [`recorder`] — ties ring, time source and logical threads together: the record path.
//! * [`lanes`] — a queue per recording thread, merged in happens-before order: the record path
//!   on hosts, where two threads must not slow each other down (needs `alloc`).
//! * [`clock`] — compact vector clocks.
//! * [`causality`] — rebuilds happens-before from the event stream (needs `alloc`).
//! * [`generations`] — maps bounded by what is in use, for names made up at run time (needs
//!   `alloc`).
//! * [`trace_context`] — W3C trace ids, span ids, `traceparent` and `tracestate`.
//!
//! # Portability
//!
//! `no_std` and allocation-free by default apart from the `alloc`/`std` features. On targets
//! without compare-and-swap (`thumbv6m-none-eabi`) the atomics come from `portable-atomic`
//! with its `critical-section` feature: the firmware must link a `critical-section`
//! implementation (on single-core Cortex-M, `cortex-m`'s `critical-section-single-core`).
#![no_std]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "alloc")]
pub mod causality;
#[cfg(feature = "alloc")]
pub mod clock;
pub mod event;
#[cfg(feature = "alloc")]
pub mod generations;
#[cfg(feature = "alloc")]
pub mod lanes;
pub mod name;
pub mod recorder;
pub mod ring;
pub mod symbol;
mod sync;
pub mod trace_context;

pub use event::{Access, Event, Kind, LockKind, ThreadId, Value};
pub use name::Name;
pub use recorder::Recorder;
pub use symbol::Symbol;
