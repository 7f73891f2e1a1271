//! Dynamic names and string values: interned once into one process-wide, bounded table.
//!
//! Events hold names as `&'static str` and strings as [`Value`]s, so nothing on the record path
//! allocates. A string literal is already `'static` and costs nothing. A name built at run time
//! goes through [`IntoName`]: `String`s and `format_args!(…)` are interned into the
//! process-global table the first time and found again afterwards (formatting happens on the
//! stack, so `format_args!` never allocates). Short string values (up to 14 bytes) stay inline in
//! the event; longer ones are interned by [`text`].
//!
//! # When the table is full
//!
//! The table holds [`MAX_NAMES`] strings in [`NAME_BYTES`] bytes and never evicts, so do not
//! intern unbounded values (request ids, user input). Once it is full a name becomes
//! [`OVERFLOW_NAME`] and a value is cut to its first 14 bytes inline; each fallback is counted in
//! [`Stats::names_overflowed`](crate::Stats::names_overflowed).
//!
//! # Examples
//!
//! ```
//! use raceway::names::{intern, text, IntoName};
//! use raceway_core::Value;
//!
//! let id = 42;
//! let name = format_args!("accounts.{id}.balance").into_name();
//! assert_eq!(name, "accounts.42.balance");
//! assert_eq!(intern("accounts.42.balance"), name);
//!
//! assert!(matches!(text("short"), Value::Text(_)));
//! assert!(matches!(text("a string longer than fourteen bytes"), Value::Str(_)));
//! ```

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use raceway_core::event::InlineStr;
use raceway_core::symbol::{Interner, Symbol};
use raceway_core::Value;

/// How many distinct dynamic strings the process-wide table holds.
pub const MAX_NAMES: usize = 8192;
/// How many bytes of text the process-wide table holds.
pub const NAME_BYTES: usize = 512 * 1024;
/// Longest text interned; longer text is cut (at a character boundary) first.
pub const MAX_INTERNED_LEN: usize = 1024;
/// The name recorded in place of a dynamic name once the table is full.
pub const OVERFLOW_NAME: &str = "<raceway: name table full>";

static NAMES: Interner<MAX_NAMES, NAME_BYTES> = Interner::new();
static OVERFLOWED: AtomicU64 = AtomicU64::new(0);

/// Fallbacks taken so far because the table was full (process-wide).
pub(crate) fn overflowed() -> u64 {
    OVERFLOWED.load(Ordering::Relaxed)
}

fn cut(text: &str, max: usize) -> &str {
    let mut len = text.len().min(max);
    while !text.is_char_boundary(len) {
        len -= 1;
    }
    &text[..len]
}

/// `text` interned (cut to [`MAX_INTERNED_LEN`]), or `None`, counted, when the table is full.
pub(crate) fn symbol(text: &str) -> Option<Symbol> {
    match NAMES.intern(cut(text, MAX_INTERNED_LEN)) {
        Ok(symbol) => Some(symbol),
        Err(_) => {
            if OVERFLOWED.fetch_add(1, Ordering::Relaxed) == 0 {
                log::warn!(
                    target: "raceway",
                    "the name table is full ({MAX_NAMES} names, {NAME_BYTES} bytes): dynamic names \
                     are now recorded as {OVERFLOW_NAME:?}; avoid interning unbounded values"
                );
            }
            None
        }
    }
}

/// `text` as a `'static` name: interned on first use, found again afterwards
/// ([`OVERFLOW_NAME`] once the table is full).
pub fn intern(text: &str) -> &'static str {
    symbol(text).map_or(OVERFLOW_NAME, Symbol::as_str)
}

/// `text` as an event [`Value`]: inline when it fits in 14 bytes, interned otherwise, and cut to
/// 14 bytes inline once the table is full.
pub fn text(text: &str) -> Value {
    if text.len() <= InlineStr::CAPACITY {
        return Value::Text(InlineStr::truncate(text));
    }
    symbol(text).map_or_else(|| Value::Text(InlineStr::truncate(text)), Value::Str)
}

/// Anything that names a variable, function, lock or event.
///
/// `&'static str` passes through for free; `String`, `&String`, [`Symbol`] and
/// `format_args!(…)` are interned. A borrowed non-`'static` `&str` goes through [`intern`].
pub trait IntoName {
    /// The `'static` name.
    fn into_name(self) -> &'static str;
}

impl IntoName for &'static str {
    #[inline]
    fn into_name(self) -> &'static str {
        self
    }
}

impl IntoName for String {
    fn into_name(self) -> &'static str {
        intern(&self)
    }
}

impl IntoName for &String {
    fn into_name(self) -> &'static str {
        intern(self)
    }
}

impl IntoName for Symbol {
    fn into_name(self) -> &'static str {
        self.as_str()
    }
}

impl IntoName for fmt::Arguments<'_> {
    fn into_name(self) -> &'static str {
        if let Some(literal) = self.as_str() {
            return literal;
        }
        let mut buffer = StackText::default();
        // Formatting stops at the buffer's end: a cut name is still a useful name.
        let _ = fmt::write(&mut buffer, self);
        intern(buffer.as_str())
    }
}

/// A fixed buffer that formatting writes into, cutting at a character boundary when full.
struct StackText {
    len: usize,
    bytes: [u8; 256],
}

impl Default for StackText {
    fn default() -> Self {
        StackText {
            len: 0,
            bytes: [0; 256],
        }
    }
}

impl StackText {
    fn as_str(&self) -> &str {
        // Only whole `&str`s cut at character boundaries are copied in.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.bytes.len() - self.len;
        let part = cut(s, room);
        self.bytes[self.len..self.len + part.len()].copy_from_slice(part.as_bytes());
        self.len += part.len();
        if part.len() < s.len() {
            Err(fmt::Error)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatted_names_are_cut_not_lost() {
        let long = "x".repeat(400);
        let name = format_args!("{long}").into_name();
        assert_eq!(name.len(), 256);
    }

    #[test]
    fn cutting_respects_characters() {
        assert_eq!(cut("aé", 2), "a");
        assert_eq!(cut("abc", 10), "abc");
    }

    #[test]
    fn literal_format_args_are_not_interned() {
        let name = format_args!("plain").into_name();
        assert_eq!(name, "plain");
    }
}
