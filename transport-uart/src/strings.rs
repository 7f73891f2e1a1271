//! Decoded text becomes `'static` here, within a fixed budget for the whole process.
//!
//! Decoded events carry `&'static str` names and [`Symbol`] values, like recorded ones, so the
//! text from definition frames has to live forever. It goes into one process-wide
//! [`Interner`] from the core: equal strings are stored once however many decoders or epochs
//! define them, and once the table is full further new strings are refused (the decoder
//! reports and counts them) instead of growing memory without bound.

use raceway_core::symbol::{InternError, Interner};
use raceway_core::Symbol;

/// Distinct strings the process keeps at most.
pub(crate) const MAX_STRINGS: usize = 8192;
/// Bytes of decoded text the process keeps at most.
pub(crate) const MAX_TEXT_BYTES: usize = 512 * 1024;

static STRINGS: Interner<MAX_STRINGS, MAX_TEXT_BYTES> = Interner::new();

/// `text` as a `'static` symbol, or `Err` when the budget is spent.
pub(crate) fn intern(text: &str) -> Result<Symbol, InternError> {
    STRINGS.intern(text)
}
