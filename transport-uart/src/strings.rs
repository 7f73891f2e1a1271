//! Decoded text becomes `'static` here, within a budget for each decoder.
//!
//! Decoded events carry `&'static str` names and [`Symbol`] values, like recorded ones, so the
//! text from definition frames has to live as long as the process. It goes into pages: bounded
//! [`Interner`]s from the core, allocated one at a time and never freed. Each decoder keeps a
//! [`Strings`] that remembers what it has interned and refuses new strings beyond its own
//! budget ([`Limits`]), so one stream cannot spend another's: `raceway check a b c` decodes
//! each file against a fresh budget. Equal strings from different decoders share storage
//! while they land in the same page.
//!
//! Memory: what a decoder interns stays allocated after it is dropped (events and reports may
//! still refer to it), at most its budget per decoder, plus a partly filled page.

use std::boxed::Box;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use raceway_core::symbol::{InternError, Interner};
use raceway_core::Symbol;

use crate::decoder::Limits;

/// One page of decoded text: at most this many strings…
const PAGE_STRINGS: usize = 1024;
/// …and this many bytes (any definition text, at most a frame long, fits in an empty page).
const PAGE_BYTES: usize = 64 * 1024;

type Page = Interner<PAGE_STRINGS, PAGE_BYTES>;

/// The page new strings go into; full pages stay alive through the symbols they handed out.
static CURRENT: Mutex<Option<&'static Page>> = Mutex::new(None);

/// `text` as a `'static` symbol, in the current page or a new one.
fn intern_shared(text: &str) -> Result<Symbol, InternError> {
    let mut current = CURRENT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(page) = *current {
        if let Ok(symbol) = page.intern(text) {
            return Ok(symbol);
        }
    }
    let page: &'static Page = Box::leak(Box::new(Page::new()));
    *current = Some(page);
    page.intern(text)
}

/// The strings one decoder has made `'static`, and what is left of its budget.
#[derive(Debug, Default)]
pub(crate) struct Strings {
    known: HashMap<&'static str, Symbol>,
    bytes: usize,
}

impl Strings {
    /// `text` as a `'static` symbol, or `Err` when this decoder's budget is spent.
    pub(crate) fn intern(&mut self, text: &str, limits: &Limits) -> Result<Symbol, InternError> {
        if let Some(&symbol) = self.known.get(text) {
            return Ok(symbol);
        }
        if self.known.len() >= limits.max_strings || self.bytes + text.len() > limits.max_text_bytes
        {
            return Err(InternError::Full);
        }
        let symbol = intern_shared(text)?;
        self.known.insert(symbol.as_str(), symbol);
        self.bytes += text.len();
        Ok(symbol)
    }
}
