//! Names of variables and locks: identity is a 64-bit hash of the full text, display is the text
//! while it is known.
//!
//! A [`Name`] is what makes two accesses "the same variable" and two holds "the same lock", so it
//! must never merge two different texts, however many names a process sees in weeks of uptime.
//! It is `Copy`, two words wide and takes one of two forms:
//!
//! * **text**: a `&'static str`, either a string literal (free on the record path: nothing is
//!   hashed or copied) or text interned through a bounded [`Interner`](crate::symbol::Interner);
//! * **forgotten**: only the 64-bit hash of the full text, used when a bounded table could not
//!   keep the text. It displays as `#` and 16 hex digits.
//!
//! Identity ([`Eq`], [`Hash`], [`Ord`]) is [`hash`] of the text for both forms, one stable
//! function (XXH3, 64 bits, seed 0) everywhere, so the literal `"a.b"`, an interned `"a.b"` and a
//! forgotten `"a.b"` are one name, while two different texts are told apart unless their hashes
//! collide: probability 2⁻⁶⁴ per pair, about 3 × 10⁻⁸ for a million distinct names in one
//! process. A full table therefore degrades only how a name is shown, never which accesses it
//! groups.
//!
//! # Examples
//!
//! ```
//! use raceway_core::name::{self, Name};
//!
//! let literal = Name::from("cart.1.total");
//! let dynamic = Name::from(String::from("cart.1.total").leak() as &'static str);
//! let forgotten = Name::forgotten(name::hash("cart.1.total"));
//! assert_eq!(literal, dynamic);
//! assert_eq!(literal, forgotten);
//! assert_ne!(literal, Name::from("cart.2.total"));
//!
//! assert_eq!(literal.as_str(), Some("cart.1.total"));
//! assert_eq!(forgotten.as_str(), None);
//! assert_eq!(forgotten.to_string(), format!("#{:016x}", name::hash("cart.1.total")));
//! ```
//!
//! # Benchmarks
//!
//! Hashing a 20-byte name with XXH3 costs a few nanoseconds; it happens in consumers (the
//! analyzer, the happens-before replay), never when an event is recorded.

use core::cmp::Ordering;
use core::fmt;
use core::hash::{Hash, Hasher};

use crate::symbol::Symbol;

/// The identity of `text`: XXH3 (64 bits, seed 0) of its UTF-8 bytes. Stable across platforms,
/// versions and processes, so captures and devices agree with the host.
#[inline]
pub fn hash(text: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(text.as_bytes())
}

/// [`hash`] at compile time, for names known in advance.
pub const fn const_hash(text: &str) -> u64 {
    xxhash_rust::const_xxh3::xxh3_64(text.as_bytes())
}

/// The name of a variable or lock: text while it is known, always its 64-bit identity.
#[derive(Clone, Copy)]
pub struct Name(Repr);

/// `[u32; 2]` rather than `u64`: 4-byte alignment lets the hash sit beside the text pointer's
/// niche, so a `Name` is as big as a `&str` on 64-bit targets (16 bytes) and 12 bytes on 32-bit.
#[derive(Clone, Copy)]
enum Repr {
    Text(&'static str),
    Forgotten([u32; 2]),
}

const _: () = assert!(core::mem::size_of::<Name>() <= 2 * core::mem::size_of::<usize>() + 4);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(core::mem::size_of::<Name>() == 16);

impl Name {
    /// A name whose text is known (a literal or interned text).
    #[inline]
    pub const fn new(text: &'static str) -> Name {
        Name(Repr::Text(text))
    }

    /// A name known only by its identity, [`hash`] of its text.
    pub const fn forgotten(id: u64) -> Name {
        Name(Repr::Forgotten([id as u32, (id >> 32) as u32]))
    }

    /// The name's identity: [`hash`] of its full text.
    #[inline]
    pub fn id(self) -> u64 {
        match self.0 {
            Repr::Text(text) => hash(text),
            Repr::Forgotten([low, high]) => u64::from(low) | u64::from(high) << 32,
        }
    }

    /// The text, or `None` when only the identity was kept.
    #[inline]
    pub const fn as_str(self) -> Option<&'static str> {
        match self.0 {
            Repr::Text(text) => Some(text),
            Repr::Forgotten(_) => None,
        }
    }

    /// Whether only the identity was kept (the name displays as `#` and 16 hex digits).
    pub const fn is_forgotten(self) -> bool {
        matches!(self.0, Repr::Forgotten(_))
    }

    /// The identity of a forgotten name, `None` for a name with text. Unlike [`id`](Self::id) it
    /// never hashes, so firmware encoders that only see literals link no hash function.
    pub const fn forgotten_id(self) -> Option<u64> {
        match self.0 {
            Repr::Text(_) => None,
            Repr::Forgotten([low, high]) => Some(low as u64 | (high as u64) << 32),
        }
    }

    /// What to show: the text, or `#` and the identity in 16 lowercase hex digits.
    pub fn text(self) -> NameText {
        match self.0 {
            Repr::Text(text) => NameText::Known(text),
            Repr::Forgotten(_) => {
                let mut digits = [0; 17];
                write_hash(self.id(), &mut digits);
                NameText::Hash(digits)
            }
        }
    }

    /// The name that [`text`](Self::text) displayed: `#` and 16 lowercase hex digits give the
    /// forgotten name back (so a decoded stream keeps the identity the recorder had), anything
    /// else is text.
    pub fn from_display(text: &'static str) -> Name {
        match shown_hash(text) {
            Some(id) => Name::forgotten(id),
            None => Name::new(text),
        }
    }

    /// The identity of the name that [`text`](Self::text) displayed as `text`, for a decoder
    /// that cannot keep the text itself.
    pub fn display_id(text: &str) -> u64 {
        shown_hash(text).unwrap_or_else(|| hash(text))
    }
}

/// Writes how a forgotten name with identity `id` is shown, `#` and 16 lowercase hex digits,
/// into `out` and returns it as text. Encoders that must not link `core::str::from_utf8` or
/// copy a [`NameText`] (firmware) use it directly.
pub fn write_hash(id: u64, out: &mut [u8; 17]) -> &str {
    out[0] = b'#';
    for (i, digit) in out[1..].iter_mut().enumerate() {
        let nibble = (id >> (60 - 4 * i)) & 0xf;
        *digit = b"0123456789abcdef"[nibble as usize];
    }
    // SAFETY: every byte was just written from ASCII ('#' and hex digits), which is UTF-8.
    unsafe { core::str::from_utf8_unchecked(out) }
}

/// The identity in `#` and 16 lowercase hex digits, if `text` is that.
fn shown_hash(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    let hex = |b: &u8| matches!(b, b'0'..=b'9' | b'a'..=b'f');
    if bytes.len() == 17 && bytes[0] == b'#' && bytes[1..].iter().all(hex) {
        u64::from_str_radix(&text[1..], 16).ok()
    } else {
        None
    }
}

/// A [`Name`]'s display text, without allocating.
#[derive(Clone, Copy, Debug)]
pub enum NameText {
    /// The name's own text.
    Known(&'static str),
    /// `#` and 16 lowercase hex digits of the identity.
    Hash([u8; 17]),
}

impl NameText {
    /// The text to show.
    pub fn as_str(&self) -> &str {
        match self {
            NameText::Known(text) => text,
            // SAFETY: only `write_hash` fills the digits, with ASCII.
            NameText::Hash(digits) => unsafe { core::str::from_utf8_unchecked(digits) },
        }
    }
}

impl From<&'static str> for Name {
    #[inline]
    fn from(text: &'static str) -> Self {
        Name::new(text)
    }
}

impl From<Symbol> for Name {
    #[inline]
    fn from(symbol: Symbol) -> Self {
        Name::new(symbol.as_str())
    }
}

impl PartialEq for Name {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        match (self.0, other.0) {
            // One literal or interned text is one pointer and length: no bytes to compare.
            // Otherwise equal text has equal hashes; different text differs unless the hashes
            // collide, which identity treats as impossible (2⁻⁶⁴).
            (Repr::Text(a), Repr::Text(b)) => core::ptr::eq(a, b) || a == b,
            _ => self.id() == other.id(),
        }
    }
}

impl Eq for Name {}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        match self.0 {
            Repr::Text(text) => text == other,
            Repr::Forgotten(_) => self.id() == hash(other),
        }
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.id());
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Self) -> Ordering {
        if self == other {
            return Ordering::Equal;
        }
        self.id().cmp(&other.id())
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text().as_str())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Repr::Text(text) => fmt::Debug::fmt(text, f),
            Repr::Forgotten(_) => f.write_str(self.text().as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::ToString;

    use super::*;

    #[test]
    fn every_form_of_one_text_is_one_name() {
        let literal = Name::from("accounts.42.balance");
        // Another copy of the text (no leak: Miri checks for them).
        static BUILT: [u8; 19] = *b"accounts.42.balance";
        let built: &'static str = core::str::from_utf8(&BUILT).unwrap();
        let forgotten = Name::forgotten(hash("accounts.42.balance"));
        assert_eq!(literal, Name::from(built));
        assert_eq!(literal, forgotten);
        assert_eq!(forgotten, literal);
        assert_eq!(literal.cmp(&forgotten), Ordering::Equal);
        assert_eq!(literal.id(), forgotten.id());
        assert_ne!(forgotten, Name::from("accounts.43.balance"));
    }

    #[test]
    fn const_and_run_time_hashes_agree() {
        for text in ["", "a", "cart.1.total", &"x".repeat(300)] {
            assert_eq!(const_hash(text), hash(text));
        }
    }

    #[test]
    fn forgotten_names_display_their_hash_and_read_back() {
        let forgotten = Name::forgotten(0x0123_4567_89ab_cdef);
        let shown = "#0123456789abcdef";
        assert_eq!(forgotten.to_string(), shown);
        let back = Name::from_display(shown);
        assert!(back.is_forgotten());
        assert_eq!(back.id(), forgotten.id());
        assert!(!Name::from_display("#not-a-hash").is_forgotten());
        assert_eq!(Name::from("x").to_string(), "x");
    }

    #[test]
    fn a_name_is_as_small_as_a_str() {
        assert_eq!(core::mem::size_of::<Name>(), core::mem::size_of::<&str>());
    }
}
