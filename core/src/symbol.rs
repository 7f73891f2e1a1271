//! Interning: dynamic strings become small `'static` handles, once.
//!
//! Literal names (`"accounts.balance"`) are already `&'static str` and cost nothing. A name built
//! at run time (`accounts.{id}.balance`) or a string value is interned into a bounded
//! [`Interner`]: the first use copies it into the interner's fixed byte arena, every later use
//! finds it again by hash without allocating. The returned [`Symbol`] is a thin pointer that
//! resolves to its `&'static str` with no lookup, so it fits in a 16-byte [`Value`](crate::Value).
//!
//! The table is lock-free (a slot is claimed with one compare-and-swap), so interrupt handlers
//! may intern too. Two threads interning the same new string at the very same moment may both
//! succeed with separate copies; their symbols still compare equal, since equality compares text.
//!
//! # When the table is full
//!
//! Once every slot or every arena byte is used, [`Interner::intern`] returns
//! [`InternError::Full`] and counts the failure ([`Interner::failures`]). Nothing is evicted, so
//! every symbol handed out stays valid forever; callers choose a fallback (the std client keeps a
//! variable's or lock's identity as a hashed [`Name`](crate::name::Name) and forgets its text).
//!
//! A lookup probes at most [`MAX_PROBES`] slots, so a full table answers as fast as a nearly
//! empty one instead of scanning every slot; a string whose probe window is taken is refused
//! even when slots are free elsewhere, which the caller handles like a full table.
//!
//! # Examples
//!
//! ```
//! use raceway_core::symbol::Interner;
//!
//! static NAMES: Interner<64, 1024> = Interner::new();
//! let a = NAMES.intern("accounts.42.balance").unwrap();
//! let b = NAMES.intern_fmt(format_args!("accounts.{}.balance", 42)).unwrap();
//! assert_eq!(a, b);
//! assert_eq!(a.as_str(), "accounts.42.balance");
//! ```

use core::fmt::{self, Write};
use core::hash::{Hash, Hasher};
use core::mem::MaybeUninit;

use crate::sync::{AtomicUsize, Ordering, UnsafeCell};

/// A slot of an [`Interner`]: one string's hash, state and text.
#[repr(C)]
pub struct Entry {
    /// `EMPTY`, or the string's hash with `WRITING`/`READY`/`DEAD` in the low two bits.
    state: AtomicUsize,
    /// Written once while WRITING. Zeroed rather than uninitialised before that: an empty table
    /// is then all zero bytes, so a `static` interner lives in `.bss`.
    text: UnsafeCell<MaybeUninit<&'static str>>,
}

const EMPTY: usize = 0;
const WRITING: usize = 1;
const READY: usize = 2;
const DEAD: usize = 3;
const STATE_BITS: usize = 3;

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry").finish_non_exhaustive()
    }
}

/// A handle to an interned string: one pointer wide, `Copy`, resolves without a lookup.
#[derive(Clone, Copy)]
pub struct Symbol(&'static Entry);

impl Symbol {
    /// The interned text.
    pub fn as_str(self) -> &'static str {
        // SAFETY: a `Symbol` exists only for an entry whose text was written before its state
        // became READY (Release), observed by the interning thread (Acquire); the text is never
        // written again. Passing the symbol to another thread carries that ordering with it.
        self.0.text.with(|text| unsafe { (*text).assume_init() })
    }
}

impl PartialEq for Symbol {
    fn eq(&self, other: &Self) -> bool {
        core::ptr::eq(self.0, other.0) || self.as_str() == other.as_str()
    }
}

impl Eq for Symbol {}

impl Hash for Symbol {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a string could not be interned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InternError {
    /// Every slot or every arena byte is in use: make the interner bigger or intern less (for
    /// example, do not intern unbounded values such as request ids).
    Full,
    /// A formatted string was longer than [`MAX_FORMATTED_LEN`] bytes.
    TooLong,
}

impl fmt::Display for InternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InternError::Full => "the symbol table is full",
            InternError::TooLong => "the formatted string is too long to intern",
        })
    }
}

/// The most slots one lookup probes before it gives up (a bound on the cost of a miss).
pub const MAX_PROBES: usize = 128;

/// The longest string [`Interner::intern_fmt`] formats (on the stack, before interning).
pub const MAX_FORMATTED_LEN: usize = 256;

/// A bounded, lock-free string table with `SLOTS` entries (a power of two) and `BYTES` bytes
/// of text. It must be `'static` (a `static`, or leaked once at start-up) because the symbols it
/// hands out are.
///
/// A new interner is all zero bytes (`repr(C)`, no padding when `BYTES` is a multiple of the
/// pointer size), so a `static` one lives in `.bss` rather than in the binary.
#[repr(C)]
pub struct Interner<const SLOTS: usize, const BYTES: usize> {
    used: AtomicUsize,
    failures: AtomicUsize,
    entries: [Entry; SLOTS],
    arena: UnsafeCell<[u8; BYTES]>,
}

// SAFETY: arena bytes are written only by the thread that reserved them (an atomic bump of
// `used`) and published through an entry's READY state before anyone reads them.
unsafe impl<const SLOTS: usize, const BYTES: usize> Sync for Interner<SLOTS, BYTES> {}
// SAFETY: the same argument; nothing in the interner is tied to a thread.
unsafe impl<const SLOTS: usize, const BYTES: usize> Send for Interner<SLOTS, BYTES> {}
// SAFETY: an entry's text is written once before READY is published and only read after.
unsafe impl Sync for Entry {}
// SAFETY: as above.
unsafe impl Send for Entry {}

impl<const SLOTS: usize, const BYTES: usize> fmt::Debug for Interner<SLOTS, BYTES> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interner")
            .field("slots", &SLOTS)
            .field("bytes_used", &self.used.load(Ordering::Relaxed))
            .field("failures", &self.failures())
            .finish()
    }
}

#[cfg(not(loom))]
impl<const SLOTS: usize, const BYTES: usize> Interner<SLOTS, BYTES> {
    /// An empty interner, usable in a `static`.
    pub const fn new() -> Self {
        assert!(SLOTS.is_power_of_two(), "SLOTS must be a power of two");
        Interner {
            entries: [const {
                Entry {
                    state: AtomicUsize::new(EMPTY),
                    text: UnsafeCell::new(MaybeUninit::zeroed()),
                }
            }; SLOTS],
            arena: UnsafeCell::new([0; BYTES]),
            used: AtomicUsize::new(0),
            failures: AtomicUsize::new(0),
        }
    }
}

#[cfg(not(loom))]
impl<const SLOTS: usize, const BYTES: usize> Default for Interner<SLOTS, BYTES> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const SLOTS: usize, const BYTES: usize> Interner<SLOTS, BYTES> {
    /// The symbol for `text`, copying it into the table on first use. Never allocates.
    pub fn intern(&'static self, text: &str) -> Result<Symbol, InternError> {
        let hash = fnv1a(text.as_bytes()) as usize & !STATE_BITS;
        let mask = SLOTS - 1;
        for probe in 0..SLOTS.min(MAX_PROBES) {
            let entry = &self.entries[hash.wrapping_add(probe) & mask];
            let mut state = entry.state.load(Ordering::Acquire);
            if state == EMPTY {
                if self.used.load(Ordering::Relaxed).saturating_add(text.len()) > BYTES {
                    // Not here and no room to add it: keep the slot for a shorter string.
                    break;
                }
                match entry.state.compare_exchange(
                    EMPTY,
                    hash | WRITING,
                    Ordering::Acquire,
                    Ordering::Acquire,
                ) {
                    Ok(_) => return self.fill(entry, hash, text),
                    Err(now) => state = now,
                }
            }
            if state == hash | READY && Symbol(entry).as_str() == text {
                return Ok(Symbol(entry));
            }
            // A different string, a dead slot, or the same string still being written by
            // someone we must not wait for (we may have interrupted them): keep probing.
        }
        self.failures.fetch_add(1, Ordering::Relaxed);
        Err(InternError::Full)
    }

    /// Interns formatted text without allocating: it is formatted on the stack first.
    pub fn intern_fmt(&'static self, args: fmt::Arguments<'_>) -> Result<Symbol, InternError> {
        let mut text = heapless::String::<MAX_FORMATTED_LEN>::new();
        if text.write_fmt(args).is_err() {
            self.failures.fetch_add(1, Ordering::Relaxed);
            return Err(InternError::TooLong);
        }
        self.intern(&text)
    }

    /// How many interning attempts failed because the table was full or the text too long.
    pub fn failures(&self) -> usize {
        self.failures.load(Ordering::Relaxed)
    }

    fn fill(
        &'static self,
        entry: &'static Entry,
        hash: usize,
        text: &str,
    ) -> Result<Symbol, InternError> {
        let reserved = self
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(text.len()).filter(|end| *end <= BYTES)
            });
        let Ok(start) = reserved else {
            entry.state.store(DEAD, Ordering::Release);
            self.failures.fetch_add(1, Ordering::Relaxed);
            return Err(InternError::Full);
        };
        let stored = self.arena.with_mut(|arena| {
            // SAFETY: `start..start + len` lies inside the arena (checked above) and was reserved
            // for this thread alone by the atomic bump, so nobody else reads or writes it until
            // the entry is published below; the arena is `'static` because `self` is.
            unsafe {
                let dst = (arena as *mut u8).add(start);
                core::ptr::copy_nonoverlapping(text.as_ptr(), dst, text.len());
                core::str::from_utf8_unchecked(core::slice::from_raw_parts(dst, text.len()))
            }
        });
        // SAFETY: this thread owns the entry while its state is WRITING.
        entry.text.with_mut(|slot| unsafe { (*slot).write(stored) });
        entry.state.store(hash | READY, Ordering::Release);
        Ok(Symbol(entry))
    }
}

/// FNV-1a: tiny, no tables, good enough for short names.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(all(test, not(loom)))]
mod tests {
    extern crate std;
    use std::format;

    use super::*;

    #[test]
    fn same_text_same_symbol() {
        static NAMES: Interner<16, 256> = Interner::new();
        let names = &NAMES;
        let a = names.intern("a.b").unwrap();
        let b = names.intern(&format!("a.{}", "b")).unwrap();
        assert!(core::ptr::eq(a.0, b.0));
        assert_ne!(a, names.intern("a.c").unwrap());
    }

    #[test]
    fn full_table_fails_and_counts() {
        static NAMES: Interner<4, 1024> = Interner::new();
        let names = &NAMES;
        for i in 0..4 {
            names.intern_fmt(format_args!("n{i}")).unwrap();
        }
        assert_eq!(names.intern("one more"), Err(InternError::Full));
        assert_eq!(names.intern("n2").unwrap().as_str(), "n2");
        assert_eq!(names.failures(), 1);
    }

    #[test]
    fn full_arena_fails_and_counts() {
        static NAMES: Interner<16, 8> = Interner::new();
        let names = &NAMES;
        names.intern("12345").unwrap();
        assert_eq!(names.intern("678910"), Err(InternError::Full));
        assert_eq!(names.intern("678").unwrap().as_str(), "678");
        assert_eq!(names.failures(), 1);
    }

    #[test]
    fn a_miss_probes_a_bounded_window() {
        static NAMES: Interner<{ 4 * MAX_PROBES }, 65536> = Interner::new();
        let names = &NAMES;
        let stored = (0..4 * MAX_PROBES)
            .filter(|i| names.intern_fmt(format_args!("n{i}")).is_ok())
            .count();
        // Some strings find their window taken before the table is full; each is refused once.
        assert_eq!(names.failures(), 4 * MAX_PROBES - stored);
        assert!(stored > 2 * MAX_PROBES);
        assert_eq!(names.intern("n0").map(Symbol::as_str), Ok("n0"));
    }

    #[test]
    fn too_long_formatted_text_fails() {
        static NAMES: Interner<16, 1024> = Interner::new();
        let names = &NAMES;
        let long = "x".repeat(MAX_FORMATTED_LEN + 1);
        assert_eq!(
            names.intern_fmt(format_args!("{long}")),
            Err(InternError::TooLong)
        );
        assert_eq!(names.intern(&long[..10]).unwrap().as_str(), "xxxxxxxxxx");
    }

    #[test]
    fn threads_agree_on_text() {
        static NAMES: Interner<256, 8192> = Interner::new();
        let names = &NAMES;
        let handles: std::vec::Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(move || {
                    (0..100)
                        .map(|i| names.intern_fmt(format_args!("v{i}")).unwrap())
                        .collect::<std::vec::Vec<_>>()
                })
            })
            .collect();
        let results: std::vec::Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        for symbols in &results[1..] {
            assert_eq!(symbols, &results[0]);
        }
    }
}
