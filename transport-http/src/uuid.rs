//! Random (v4) and derived (v8) UUIDs, formatted without allocating.
//!
//! Event ids only need to be unique, not unpredictable, so a fast non-cryptographic generator
//! (wyrand) seeded once from the standard library's per-process random keys, the clock and the
//! process id is enough: a UUID costs a few nanoseconds instead of a system call.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

/// A UUID's 16 bytes, in the order its text shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Uuid(pub(crate) [u8; 16]);

/// The length of the hyphenated form.
pub(crate) const UUID_LEN: usize = 36;

impl Uuid {
    /// Sets the version nibble and the RFC 9562 variant bits.
    fn with_version(mut bytes: [u8; 16], version: u8) -> Self {
        bytes[6] = (bytes[6] & 0x0f) | (version << 4);
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Uuid(bytes)
    }

    /// A version 8 (custom) UUID holding `namespace` and `value`: equal inputs give equal ids.
    pub(crate) fn derived(namespace: u64, value: u64) -> Self {
        let mut bytes = [0; 16];
        bytes[..8].copy_from_slice(&namespace.to_be_bytes());
        bytes[8..].copy_from_slice(&value.to_be_bytes());
        // The version and variant bits overwrite 6 bits of the namespace and 2 of `value`'s top
        // byte; values (thread ids) are far below 2^62, so distinct values stay distinct.
        Self::with_version(bytes, 8)
    }

    /// The hyphenated lowercase form, `8-4-4-4-12`. Every byte goes to a fixed place through
    /// a table of digit pairs, with no branch: three ids are written per event.
    pub(crate) fn to_text(self) -> [u8; UUID_LEN] {
        /// Where each byte's two digits go.
        const PLACES: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
        let mut out = [b'-'; UUID_LEN];
        for (byte, at) in self.0.iter().zip(PLACES) {
            out[at..at + 2].copy_from_slice(&HEX_PAIRS[usize::from(*byte)]);
        }
        out
    }
}

/// Each byte's two lowercase hex digits.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut pairs = [[0; 2]; 256];
    let mut byte = 0;
    while byte < 256 {
        pairs[byte] = [HEX[byte >> 4], HEX[byte & 0x0f]];
        byte += 1;
    }
    pairs
};

/// wyrand: 64 bits of state, passes BigCrush and PractRand, one multiply per output.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator seeded from per-process random keys, the time and the process id, so two
    /// encoders (in one process or in two) never share a sequence.
    pub(crate) fn from_entropy() -> Self {
        let mut hasher = RandomState::new().build_hasher();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        hasher.write_u128(now);
        hasher.write_u32(std::process::id());
        Rng(hasher.finish())
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0xa076_1d64_78bd_642f);
        let product = u128::from(self.0) * u128::from(self.0 ^ 0xe703_7ed1_a0b4_28db);
        ((product >> 64) as u64) ^ (product as u64)
    }

    /// A random version 4 UUID.
    pub(crate) fn uuid_v4(&mut self) -> Uuid {
        let mut bytes = [0; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        Uuid::with_version(bytes, 4)
    }

    /// A uniformly distributed duration in `[0, max]` nanoseconds (for backoff jitter).
    pub(crate) fn below(&mut self, max: u64) -> u64 {
        if max == u64::MAX {
            return self.next_u64();
        }
        // The modulo bias is at most max/2^64: irrelevant for jitter.
        self.next_u64() % (max + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_text_has_version_and_variant() {
        let mut rng = Rng::from_entropy();
        for _ in 0..1000 {
            let text = rng.uuid_v4().to_text();
            let text = std::str::from_utf8(&text).unwrap();
            assert_eq!(text.len(), 36);
            assert_eq!(&text[14..15], "4");
            assert!(matches!(&text[19..20], "8" | "9" | "a" | "b"));
            assert_eq!(text.matches('-').count(), 4);
        }
    }

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        assert_eq!(Uuid::derived(7, 1), Uuid::derived(7, 1));
        assert_ne!(Uuid::derived(7, 1), Uuid::derived(7, 2));
        assert_ne!(Uuid::derived(7, 1), Uuid::derived(8, 1));
        let text = Uuid::derived(u64::MAX, 5).to_text();
        assert_eq!(text[14], b'8');
    }

    #[test]
    fn known_bytes_format() {
        let id = Uuid([
            0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80,
            0x31, 0x9c,
        ]);
        assert_eq!(&id.to_text(), b"0af76519-16cd-43dd-8448-eb211c80319c");
    }
}
