//! Shared pieces of the benchmarks in `benches/`.

/// The time source the benchmarks record with: the CPU's time-stamp counter on x86_64 (what a
/// std service uses), nanoseconds from `Instant` elsewhere.
pub fn fast_now() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        raceway::time::tsc_ticks()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        use std::sync::OnceLock;
        use std::time::Instant;
        static START: OnceLock<Instant> = OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }
}
