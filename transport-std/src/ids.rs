//! Random trace and span ids without a dependency: a per-thread xorshift generator seeded from
//! std's randomly keyed hasher, the clock and a global counter; and a span id as events carry it.
//!
//! Ids only need to be unique, not unpredictable; they are minted off the record path (when a
//! trace starts or an outbound call is made).

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use raceway_core::trace_context::{SpanId, TraceId};

fn seed() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u64(crate::time::ticks());
    hasher.write_usize(&hasher as *const _ as usize);
    // xorshift must not start at zero.
    hasher.finish() | 1
}

thread_local! {
    static STATE: Cell<u64> = const { Cell::new(0) };
}

/// 64 random bits (xorshift64*).
pub(crate) fn random_u64() -> u64 {
    STATE.with(|state| {
        let mut x = state.get();
        if x == 0 {
            x = seed();
        }
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    })
}

/// A fresh random span id (never the invalid all-zero one).
pub(crate) fn span_id() -> SpanId {
    loop {
        let id = SpanId::from(random_u64());
        if id.is_valid() {
            return id;
        }
    }
}

/// A fresh random trace id, shaped as a version-4 UUID.
pub(crate) fn trace_id() -> TraceId {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&random_u64().to_be_bytes());
    bytes[8..].copy_from_slice(&random_u64().to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    TraceId::from_bytes(bytes)
}

/// A span id as the number events carry.
pub(crate) fn span_number(span: SpanId) -> u64 {
    u64::from_be_bytes(span.to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_valid_and_distinct() {
        let a = trace_id();
        let b = trace_id();
        assert!(a.is_valid() && a != b);
        assert_eq!(a.to_string().as_bytes()[14], b'4');
        assert_ne!(span_id(), span_id());
    }
}
