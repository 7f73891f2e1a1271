//! Dynamic names and string values: interned once into bounded process-wide tables.
//!
//! Events hold variables and locks as [`Name`]s, other names as `&'static str` and strings as
//! [`Value`]s, so nothing on the record path allocates. A string literal is already `'static`
//! and costs nothing. A name built at run time goes through [`IntoName`]: `String`s and
//! `format_args!(…)` are interned into the name table the first time and found again afterwards
//! (formatting happens on the stack, so `format_args!` never allocates). Short string values (up
//! to 14 bytes) stay inline in the event; longer ones are interned by [`text`] into a separate
//! text table.
//!
//! Two tables, because they fill for different reasons: names come from the program's code
//! (variables, locks, functions), values come from data, including what other services send
//! (URLs, error messages, stacks, `raceway-clock` components, upstream span ids). Requests can
//! fill the text table, never the name table.
//!
//! # When the table is full
//!
//! The name table holds [`MAX_NAMES`] names in [`NAME_BYTES`] bytes and never evicts. Once it
//! is full a new variable or lock name keeps its identity, a 64-bit hash of its full text (see
//! [`Name`]), and loses only its text: it is shown as `#` and 16 hex digits, two different names
//! are still two variables or two locks, and the analyzer's report says how many names it showed
//! by hash. Other names (functions, custom events) become [`OVERFLOW_NAME`]. A full text table
//! cuts values to their first 14 bytes inline. Each fallback is counted in
//! [`Stats::names_overflowed`](crate::Stats::names_overflowed) and logged once. A full table
//! answers as fast as an empty one: a lookup probes a bounded window
//! ([`MAX_PROBES`](raceway_core::symbol::MAX_PROBES) slots).
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

use raceway_core::event::{cut_at_char_boundary as cut, InlineStr};
use raceway_core::name::{self, Name};
use raceway_core::symbol::{Interner, Symbol};
use raceway_core::Value;

/// How many distinct dynamic names (variables, locks, functions) the process-wide table holds.
pub const MAX_NAMES: usize = 8192;
/// How many bytes of text the process-wide name table holds.
pub const NAME_BYTES: usize = 512 * 1024;
/// How many distinct long string values the process-wide text table holds.
pub const MAX_TEXTS: usize = 8192;
/// How many bytes the process-wide text table holds.
pub const TEXT_BYTES: usize = 512 * 1024;
/// Longest text interned; a longer name keeps only its identity, a longer value is cut (at a
/// character boundary) first.
pub const MAX_INTERNED_LEN: usize = 1024;
/// The name recorded in place of a dynamic function or event name once the table is full
/// (variables and locks keep their identity instead, see the [module docs](self)).
pub const OVERFLOW_NAME: &str = "<raceway: name table full>";

static NAMES: Interner<MAX_NAMES, NAME_BYTES> = Interner::new();
static TEXTS: Interner<MAX_TEXTS, TEXT_BYTES> = Interner::new();
static OVERFLOWED: AtomicU64 = AtomicU64::new(0);

/// Fallbacks taken so far because a table was full (process-wide).
pub(crate) fn overflowed() -> u64 {
    OVERFLOWED.load(Ordering::Relaxed)
}

fn count_overflow(table: &str, max: usize, bytes: usize, then: &str) {
    if OVERFLOWED.fetch_add(1, Ordering::Relaxed) == 0 {
        log::warn!(
            target: "raceway",
            "the {table} table is full ({max} entries, {bytes} bytes): {then}; avoid interning \
             unbounded values"
        );
    }
}

/// `text` as a [`Name`]: interned on first use and found again afterwards; once the name table
/// is full (or for text over [`MAX_INTERNED_LEN`] bytes) its identity alone, shown by hash.
pub fn intern(text: &str) -> Name {
    if text.len() <= MAX_INTERNED_LEN {
        if let Ok(symbol) = NAMES.intern(text) {
            return Name::from(symbol);
        }
    }
    count_overflow(
        "name",
        MAX_NAMES,
        NAME_BYTES,
        "new variable and lock names are shown by hash (#…), other names as \
         \"<raceway: name table full>\"",
    );
    Name::forgotten(name::hash(text))
}

/// `text` as an interned value (cut to [`MAX_INTERNED_LEN`]), or `None`, counted, once the
/// text table is full. Text from the network goes here, never into the name table.
pub(crate) fn symbol(text: &str) -> Option<Symbol> {
    let symbol = TEXTS.intern(cut(text, MAX_INTERNED_LEN)).ok();
    if symbol.is_none() {
        count_overflow(
            "text",
            MAX_TEXTS,
            TEXT_BYTES,
            "long string values are cut to 14 bytes",
        );
    }
    symbol
}

/// `text` as an event [`Value`]: inline when it fits in 14 bytes, interned into the text table
/// otherwise, and cut to 14 bytes inline once that table is full.
pub fn text(text: &str) -> Value {
    if text.len() <= InlineStr::CAPACITY {
        return Value::Text(InlineStr::truncate(text));
    }
    symbol(text).map_or_else(|| Value::Text(InlineStr::truncate(text)), Value::Str)
}

/// Anything that names a variable, function, lock or event.
///
/// `&'static str` and [`Name`] pass through for free; `String`, `&String`, [`Symbol`] and
/// `format_args!(…)` are interned. A borrowed non-`'static` `&str` goes through [`intern`].
pub trait IntoName {
    /// The name: its identity always, its text while the table has room.
    fn into_name(self) -> Name;

    /// The name as text, for names that only label (functions, custom events):
    /// [`OVERFLOW_NAME`] once the table is full.
    fn into_label(self) -> &'static str
    where
        Self: Sized,
    {
        self.into_name().as_str().unwrap_or(OVERFLOW_NAME)
    }
}

impl IntoName for &'static str {
    #[inline]
    fn into_name(self) -> Name {
        Name::new(self)
    }

    #[inline]
    fn into_label(self) -> &'static str {
        self
    }
}

impl IntoName for Name {
    #[inline]
    fn into_name(self) -> Name {
        self
    }
}

impl IntoName for String {
    fn into_name(self) -> Name {
        intern(&self)
    }
}

impl IntoName for &String {
    fn into_name(self) -> Name {
        intern(self)
    }
}

impl IntoName for Symbol {
    fn into_name(self) -> Name {
        Name::from(self)
    }
}

impl IntoName for fmt::Arguments<'_> {
    fn into_name(self) -> Name {
        if let Some(literal) = self.as_str() {
            return Name::new(literal);
        }
        let mut buffer = StackText::default();
        if fmt::write(&mut buffer, self).is_ok() {
            return intern(buffer.as_str());
        }
        // Longer than the stack buffer: rare, and the identity needs the whole text.
        intern(&self.to_string())
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

/// `GET`, `POST`… as `'static` names without interning; other methods (they come from the
/// network) go into the text table, never the name table.
pub(crate) fn method_name(method: &str) -> &'static str {
    const METHODS: [&str; 9] = [
        "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE",
    ];
    METHODS
        .iter()
        .find(|m| m.eq_ignore_ascii_case(method))
        .copied()
        .unwrap_or_else(|| symbol(method).map_or(OVERFLOW_NAME, Symbol::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_formatted_names_keep_their_whole_text() {
        let long = "x".repeat(400);
        let name = format_args!("{long}{}", 1).into_name();
        assert_eq!(name.as_str().map(str::len), Some(401));
        assert_ne!(name, format_args!("{long}{}", 2).into_name());
    }

    #[test]
    fn names_over_the_interning_limit_keep_their_identity() {
        let long = "y".repeat(MAX_INTERNED_LEN + 1);
        let name = intern(&long);
        assert!(name.is_forgotten());
        assert_eq!(name, Name::new(long.leak()));
    }

    #[test]
    fn literal_format_args_are_not_interned() {
        let name = format_args!("plain").into_name();
        assert_eq!(name, "plain");
    }
}
