//! Time: a fast tick source for the record path and its conversion to wall-clock time in the
//! drain.
//!
//! The record path stamps each event with [`ticks`]: the CPU's time-stamp counter on x86_64 with
//! an invariant TSC (one `rdtsc`, 8.2 ns here), nanoseconds since start-up from
//! [`Instant`] elsewhere (17.7 ns). Nothing is converted there. The drain thread turns ticks
//! into Unix nanoseconds with a [`WallClock`], which anchors ticks to [`SystemTime`] and measures
//! the tick rate against [`Instant`] over an ever longer baseline, re-anchoring every
//! [`RECALIBRATE_EVERY`] so that wall-clock adjustments (NTP) are followed.
//!
//! Batches handed to a [`Sink`](crate::sink::Sink) already carry Unix nanoseconds in
//! [`Event::time`](raceway_core::Event::time); [`format_unix_nanos`] formats them as RFC 3339, the way
//! the Raceway server wants them.
//!
//! # Examples
//!
//! ```
//! use raceway::time::{format_unix_nanos, ticks, WallClock};
//!
//! let mut clock = WallClock::new();
//! let t = ticks();
//! let unix_nanos = clock.unix_nanos(t);
//! assert!(unix_nanos > 1_600_000_000_000_000_000);
//!
//! let stamp = format_unix_nanos(1_795_709_498_773_642_605);
//! assert_eq!(stamp.as_str(), "2026-11-26T16:11:38.773642605Z");
//! ```
//!
//! # Benchmarks
//!
//! `cargo bench -p raceway-benches --bench std` measures `time/ticks` against
//! `time/instant_now`; see the crate README for figures.

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How often a [`WallClock`] re-anchors to the system clock and refines its tick rate.
pub const RECALIBRATE_EVERY: Duration = Duration::from_secs(10);

/// What [`ticks`] counts on this machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TickSource {
    /// The x86_64 time-stamp counter (invariant: constant rate, never stops).
    Tsc,
    /// Nanoseconds since the first call, from [`Instant`].
    Instant,
}

fn start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// The tick source this process uses, chosen once.
pub fn tick_source() -> TickSource {
    static SOURCE: OnceLock<TickSource> = OnceLock::new();
    *SOURCE.get_or_init(|| {
        // Make sure the Instant epoch exists before anyone reads ticks from it.
        start();
        if invariant_tsc() {
            TickSource::Tsc
        } else {
            TickSource::Instant
        }
    })
}

#[cfg(target_arch = "x86_64")]
fn invariant_tsc() -> bool {
    use std::arch::x86_64::__cpuid;
    // SAFETY: `cpuid` exists on every x86_64 CPU; leaf 0x8000_0000 reports the highest extended
    // leaf, and leaf 0x8000_0007 is read only when it exists. (Newer compilers made `__cpuid`
    // safe; the block keeps the MSRV compiling.)
    #[allow(unused_unsafe)]
    unsafe {
        if __cpuid(0x8000_0000).eax < 0x8000_0007 {
            return false;
        }
        // EDX bit 8: the TSC runs at a constant rate in every power state.
        __cpuid(0x8000_0007).edx & (1 << 8) != 0
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn invariant_tsc() -> bool {
    false
}

/// The x86_64 time-stamp counter, read directly: what [`ticks`] reads when [`tick_source`] chose
/// it (the benchmarks read it too, without the check).
#[cfg(target_arch = "x86_64")]
#[inline]
pub fn tsc_ticks() -> u64 {
    // SAFETY: `rdtsc` has no preconditions on x86_64.
    unsafe { std::arch::x86_64::_rdtsc() }
}

fn instant_ticks() -> u64 {
    start().elapsed().as_nanos() as u64
}

/// The tick function for this process, for a [`Recorder`](raceway_core::Recorder): the record
/// path calls it through a function pointer with no branch on the source.
pub fn tick_fn() -> fn() -> u64 {
    match tick_source() {
        #[cfg(target_arch = "x86_64")]
        TickSource::Tsc => tsc_ticks,
        _ => instant_ticks,
    }
}

/// The record path's time stamp: TSC ticks or nanoseconds since start-up (see [`tick_source`]).
/// Convert with a [`WallClock`].
#[inline]
pub fn ticks() -> u64 {
    tick_fn()()
}

/// One reading of every clock at (nearly) the same moment.
#[derive(Clone, Copy, Debug)]
struct Sample {
    ticks: u64,
    instant: Instant,
    unix_nanos: u64,
}

impl Sample {
    fn now() -> Self {
        let before = ticks();
        let instant = Instant::now();
        let unix_nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let after = ticks();
        Sample {
            ticks: before + (after.wrapping_sub(before)) / 2,
            instant,
            unix_nanos,
        }
    }
}

/// Converts [`ticks`] to Unix nanoseconds; owned by the drain thread.
///
/// The rate (nanoseconds per tick, in 32.32 fixed point) is measured from the first sample to the
/// latest, so it gets more precise the longer the process runs. Timestamps may step when the
/// system clock is adjusted, as any wall-clock time does.
#[derive(Clone, Debug)]
pub struct WallClock {
    first: Sample,
    anchor: Sample,
    /// Nanoseconds per tick × 2³².
    rate_q32: u64,
}

impl Default for WallClock {
    fn default() -> Self {
        Self::new()
    }
}

impl WallClock {
    /// A calibrated clock. With the TSC this takes about a millisecond to measure a first rate.
    pub fn new() -> Self {
        let first = Sample::now();
        let mut clock = WallClock {
            first,
            anchor: first,
            rate_q32: 1 << 32,
        };
        if tick_source() == TickSource::Tsc {
            let deadline = first.instant + Duration::from_millis(1);
            while Instant::now() < deadline {
                std::hint::spin_loop();
            }
            clock.recalibrate();
        }
        clock
    }

    /// Re-anchors to the system clock and re-measures the tick rate since the first sample.
    pub fn recalibrate(&mut self) {
        let now = Sample::now();
        if tick_source() == TickSource::Tsc {
            let ticks = now.ticks.wrapping_sub(self.first.ticks);
            let nanos = now.instant.duration_since(self.first.instant).as_nanos();
            if ticks > 0 && nanos > 0 {
                let rate = (nanos << 32) / u128::from(ticks);
                self.rate_q32 = u64::try_from(rate).unwrap_or(u64::MAX).max(1);
            }
        }
        self.anchor = now;
    }

    /// Recalibrates if the last calibration is older than [`RECALIBRATE_EVERY`].
    pub fn maybe_recalibrate(&mut self) {
        if self.anchor.instant.elapsed() >= RECALIBRATE_EVERY {
            self.recalibrate();
        }
    }

    /// Nanoseconds per tick (1.0 when ticks are nanoseconds).
    pub fn nanos_per_tick(&self) -> f64 {
        self.rate_q32 as f64 / (1u64 << 32) as f64
    }

    /// The Unix time, in nanoseconds, of a value [`ticks`] returned.
    pub fn unix_nanos(&self, ticks: u64) -> u64 {
        let delta = i128::from(ticks) - i128::from(self.anchor.ticks);
        let nanos = (delta * i128::from(self.rate_q32)) >> 32;
        let unix = i128::from(self.anchor.unix_nanos) + nanos;
        u64::try_from(unix.max(0)).unwrap_or(u64::MAX)
    }

    /// The current Unix time in nanoseconds, on this clock's scale.
    pub fn now_unix_nanos(&self) -> u64 {
        self.unix_nanos(ticks())
    }
}

/// RFC 3339 formatting of the Unix nanoseconds found in a batch's [`Event::time`]
/// (`2026-11-26T16:11:38.773642605Z`): the HTTP transport's, the one spelling the server is sent.
///
/// [`Event::time`]: raceway_core::Event::time
pub use raceway_transport_http::timestamp::{format_unix_nanos, Timestamp};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_tracks_system_time() {
        let mut clock = WallClock::new();
        std::thread::sleep(Duration::from_millis(20));
        clock.recalibrate();
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i128;
        let ours = clock.unix_nanos(ticks()) as i128;
        assert!((ours - system).abs() < 5_000_000, "{ours} vs {system}");
    }

    #[test]
    fn later_ticks_are_later_times() {
        let clock = WallClock::new();
        let a = ticks();
        std::thread::sleep(Duration::from_millis(2));
        let b = ticks();
        let (ta, tb) = (clock.unix_nanos(a), clock.unix_nanos(b));
        assert!(tb > ta);
        assert!(tb - ta >= 1_000_000, "{}", tb - ta);
    }
}
