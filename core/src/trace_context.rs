//! W3C Trace Context: trace ids, span ids, the `traceparent` header and the `tracestate` header.
//!
//! Services in a call chain pass these headers along so that one Raceway trace spans many
//! processes. A Raceway trace id is a UUID; its W3C form is the same 16 bytes as 32 lowercase hex
//! digits, so [`TraceId`] speaks both spellings. Everything here works on borrowed text and
//! fixed-size buffers: no allocation, and no panic on any input, because header values come from
//! other services and cannot be trusted.
//!
//! Ids are not generated here (the core has no random number generator): std code mints random
//! ids and hands them in with [`TraceId::from_bytes`] / [`SpanId::from_bytes`] or the `From`
//! conversions.
//!
//! # Examples
//!
//! ```
//! use raceway_core::trace_context::{SpanId, TraceFlags, TraceParent, TraceState};
//!
//! // Receiving: parse what the caller sent.
//! let incoming =
//!     TraceParent::parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").unwrap();
//! assert_eq!(incoming.trace_id.to_string(), "0af76519-16cd-43dd-8448-eb211c80319c");
//! assert_eq!(incoming.span_id.to_string(), "b7ad6b7169203331");
//! assert!(incoming.flags.is_sampled());
//! assert!(TraceParent::parse("invalid-format").is_err());
//!
//! // `tracestate` is carried through unchanged.
//! let state = TraceState::parse("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7").unwrap();
//! assert_eq!(state.as_str(), "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
//!
//! // Sending: same trace, a fresh span id minted by the caller (random in real code).
//! let outgoing = TraceParent {
//!     span_id: SpanId::from(0x53995c3f42cd8ad8_u64),
//!     ..incoming
//! };
//! let header = outgoing.to_header();
//! assert_eq!(header.as_str(), "00-0af7651916cd43dd8448eb211c80319c-53995c3f42cd8ad8-01");
//! assert_eq!(header.len(), 55);
//! ```

use core::fmt;

/// Name of the W3C header carrying a [`TraceParent`], lowercase as it is sent; match it
/// case-insensitively on input.
pub const TRACEPARENT_HEADER: &str = "traceparent";

/// Name of the W3C header carrying a [`TraceState`], lowercase as it is sent; match it
/// case-insensitively on input.
pub const TRACESTATE_HEADER: &str = "tracestate";

/// Optional whitespace (RFC 7230 OWS) that may surround a header value.
const OWS: [char; 2] = [' ', '\t'];

/// Identifies one trace across every service it passes through; 16 bytes, shown as a UUID.
///
/// The all-zero id is the W3C "invalid" id: it is never produced by the parsers and a receiver
/// would reject a header carrying it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TraceId([u8; 16]);

impl TraceId {
    /// The all-zero id, which W3C reserves to mean "no trace"; useful as a placeholder only.
    pub const INVALID: TraceId = TraceId([0; 16]);

    /// Wraps 16 bytes (e.g. from a random number generator) as a trace id, in UUID byte order.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        TraceId(bytes)
    }

    /// Returns the 16 bytes, for encoders that want the binary form.
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0
    }

    /// Tells whether this id may be sent: W3C and the Raceway server reject the all-zero id.
    pub const fn is_valid(&self) -> bool {
        u128::from_be_bytes(self.0) != 0
    }

    /// Parses UUID text as the Raceway server accepts it: hyphenated `8-4-4-4-12` or 32 bare hex
    /// digits, in any letter case; everything else, including the all-zero UUID, is rejected.
    ///
    /// Use this for trace ids that arrive as UUID strings (e.g. in the `raceway-clock` header).
    pub fn parse_uuid(text: &str) -> Result<Self, ParseError> {
        let bytes = text.as_bytes();
        let digits = match bytes.len() {
            32 => decode_hex(bytes.iter().copied(), Case::Any),
            36 => {
                let dash_at = |i: usize| matches!(i, 8 | 13 | 18 | 23);
                let dashes_ok = bytes
                    .iter()
                    .enumerate()
                    .all(|(i, &b)| dash_at(i) == (b == b'-'));
                if !dashes_ok {
                    return Err(ParseError::Format);
                }
                let hex = bytes
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| !dash_at(i))
                    .map(|(_, &b)| b);
                decode_hex(hex, Case::Any)
            }
            _ => return Err(ParseError::Length),
        };
        Self::checked(digits)
    }

    /// Parses the W3C form strictly: exactly 32 lowercase hex digits, not all zero.
    pub fn parse_hex32(text: &str) -> Result<Self, ParseError> {
        let bytes = text.as_bytes();
        if bytes.len() != 32 {
            return Err(ParseError::Length);
        }
        Self::checked(decode_hex(bytes.iter().copied(), Case::Lower))
    }

    /// Formats the W3C form (32 lowercase hex digits) into a fixed buffer, for header values and
    /// encoders that cannot allocate.
    pub fn to_hex32(&self) -> heapless::String<32> {
        ascii_string(&self.hex_text())
    }

    /// Formats the hyphenated lowercase UUID form (what [`Display`](fmt::Display) prints) into a
    /// fixed buffer, for encoders that need the text without going through a formatter.
    pub fn to_uuid_string(&self) -> heapless::String<36> {
        ascii_string(&self.uuid_text())
    }

    fn checked(bytes: Option<[u8; 16]>) -> Result<Self, ParseError> {
        match bytes.map(TraceId) {
            Some(id) if id.is_valid() => Ok(id),
            _ => Err(ParseError::TraceId),
        }
    }

    fn hex_text(&self) -> [u8; 32] {
        let mut out = [0; 32];
        encode_hex(&self.0, &mut out);
        out
    }

    fn uuid_text(&self) -> [u8; 36] {
        let hex = self.hex_text();
        // 8-4-4-4-12 digits, with the pre-filled dashes between the groups. Constant ranges:
        // nothing here can panic, and it compiles to five copies (the per-digit loop it
        // replaces took about 700 instructions, once per traced response).
        let mut out = [b'-'; 36];
        out[0..8].copy_from_slice(&hex[0..8]);
        out[9..13].copy_from_slice(&hex[8..12]);
        out[14..18].copy_from_slice(&hex[12..16]);
        out[19..23].copy_from_slice(&hex[16..20]);
        out[24..36].copy_from_slice(&hex[20..32]);
        out
    }
}

impl From<u128> for TraceId {
    /// Takes the id's big-endian bytes, so `0x0af7…` displays as `0af7…`.
    fn from(value: u128) -> Self {
        TraceId(value.to_be_bytes())
    }
}

impl fmt::Display for TraceId {
    /// Prints the lowercase hyphenated UUID, the spelling the Raceway server stores.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(ascii(&self.uuid_text()))
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}

/// Identifies one span (one service's part of a trace, or one outbound call); 8 bytes, shown as 16
/// lowercase hex digits. The all-zero id is invalid.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SpanId([u8; 8]);

impl SpanId {
    /// The all-zero id, which W3C reserves to mean "no span"; useful as a placeholder only.
    pub const INVALID: SpanId = SpanId([0; 8]);

    /// Wraps 8 bytes (e.g. from a random number generator) as a span id.
    pub const fn from_bytes(bytes: [u8; 8]) -> Self {
        SpanId(bytes)
    }

    /// Returns the 8 bytes, for encoders that want the binary form.
    pub const fn to_bytes(self) -> [u8; 8] {
        self.0
    }

    /// Tells whether this id may be sent: W3C rejects the all-zero id.
    pub const fn is_valid(&self) -> bool {
        u64::from_be_bytes(self.0) != 0
    }

    /// Parses the W3C form strictly: exactly 16 lowercase hex digits, not all zero.
    pub fn parse_hex16(text: &str) -> Result<Self, ParseError> {
        let bytes = text.as_bytes();
        if bytes.len() != 16 {
            return Err(ParseError::Length);
        }
        Self::checked(decode_hex(bytes.iter().copied(), Case::Lower))
    }

    /// Formats the 16 lowercase hex digits into a fixed buffer, for header values and encoders
    /// that cannot allocate.
    pub fn to_hex16(&self) -> heapless::String<16> {
        ascii_string(&self.hex_text())
    }

    fn checked(bytes: Option<[u8; 8]>) -> Result<Self, ParseError> {
        match bytes.map(SpanId) {
            Some(id) if id.is_valid() => Ok(id),
            _ => Err(ParseError::SpanId),
        }
    }

    fn hex_text(&self) -> [u8; 16] {
        let mut out = [0; 16];
        encode_hex(&self.0, &mut out);
        out
    }
}

impl From<u64> for SpanId {
    /// Takes the id's big-endian bytes, so `0xb7ad…` displays as `b7ad…`.
    fn from(value: u64) -> Self {
        SpanId(value.to_be_bytes())
    }
}

impl fmt::Display for SpanId {
    /// Prints 16 lowercase hex digits, the W3C and Raceway spelling.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(ascii(&self.hex_text()))
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({self})")
    }
}

/// The W3C trace-flags byte; only [`SAMPLED`](TraceFlags::SAMPLED) has a meaning today, and
/// unknown bits are kept as received so they pass through unchanged.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub struct TraceFlags(pub u8);

impl TraceFlags {
    /// The caller may have recorded this trace; downstream services should record it too.
    pub const SAMPLED: TraceFlags = TraceFlags(0x01);

    /// Tells whether the sampled bit is set.
    pub const fn is_sampled(self) -> bool {
        self.0 & Self::SAMPLED.0 != 0
    }

    /// Returns these flags with the sampled bit set or cleared and every other bit untouched.
    pub const fn with_sampled(self, sampled: bool) -> Self {
        if sampled {
            TraceFlags(self.0 | Self::SAMPLED.0)
        } else {
            TraceFlags(self.0 & !Self::SAMPLED.0)
        }
    }
}

impl fmt::Display for TraceFlags {
    /// Prints two lowercase hex digits, as in the `traceparent` header.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = [0; 2];
        encode_hex(&[self.0], &mut out);
        f.pad(ascii(&out))
    }
}

/// The value of a W3C `traceparent` header: which trace a request belongs to, which span sent it,
/// and whether it is sampled.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TraceParent {
    /// The trace the request belongs to.
    pub trace_id: TraceId,
    /// The sender's span (on output: the span minted for this outbound call).
    pub span_id: SpanId,
    /// The trace flags, kept exactly as received.
    pub flags: TraceFlags,
}

impl TraceParent {
    /// Length of a version-`00` header value, the only version this crate writes.
    pub const LEN: usize = 55;

    /// Bundles the three fields; check [`is_valid`](Self::is_valid) before sending ids that did
    /// not come from a parser.
    pub const fn new(trace_id: TraceId, span_id: SpanId, flags: TraceFlags) -> Self {
        TraceParent {
            trace_id,
            span_id,
            flags,
        }
    }

    /// Tells whether a receiver would accept this header: both ids are non-zero.
    pub const fn is_valid(&self) -> bool {
        self.trace_id.is_valid() && self.span_id.is_valid()
    }

    /// Parses a header value following W3C Trace Context level 1.
    ///
    /// Surrounding spaces and tabs are ignored. The version is two lowercase hex digits other
    /// than `ff`; version `00` must be exactly 55 characters; a later version may be longer, in
    /// which case the 56th character must be `-` and only the first four fields are read. The
    /// trace id (32), span id (16) and flags (2) are lowercase hex, and neither id may be all zero.
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        // Work on bytes only: a `&str` from the wire may hold multibyte characters, and byte
        // slices can be cut anywhere without panicking.
        let bytes = value.trim_matches(OWS).as_bytes();
        if bytes.len() < Self::LEN {
            return Err(ParseError::Length);
        }
        let field = |range: core::ops::Range<usize>| bytes.get(range).unwrap_or_default();
        let version =
            decode_hex::<1>(field(0..2).iter().copied(), Case::Lower).ok_or(ParseError::Version)?;
        match version {
            [0xff] => return Err(ParseError::Version),
            [0x00] if bytes.len() != Self::LEN => return Err(ParseError::Length),
            _ => {}
        }
        let dash_at = |i: usize| bytes.get(i) == Some(&b'-');
        let tail_ok = bytes.len() == Self::LEN || dash_at(Self::LEN);
        if !(dash_at(2) && dash_at(35) && dash_at(52) && tail_ok) {
            return Err(ParseError::Format);
        }
        let trace_id = TraceId::checked(decode_hex(field(3..35).iter().copied(), Case::Lower))?;
        let span_id = SpanId::checked(decode_hex(field(36..52).iter().copied(), Case::Lower))?;
        let [flags] =
            decode_hex::<1>(field(53..55).iter().copied(), Case::Lower).ok_or(ParseError::Flags)?;
        Ok(TraceParent {
            trace_id,
            span_id,
            flags: TraceFlags(flags),
        })
    }

    /// Formats the header value (version `00`, lowercase, 55 characters) into a fixed buffer,
    /// for senders that cannot allocate.
    pub fn to_header(&self) -> heapless::String<55> {
        ascii_string(&self.header_text())
    }

    fn header_text(&self) -> [u8; Self::LEN] {
        let mut out = [b'-'; Self::LEN];
        let fields = [
            (0..2, &[0u8][..]),
            (3..35, &self.trace_id.0[..]),
            (36..52, &self.span_id.0[..]),
            (53..55, &[self.flags.0][..]),
        ];
        for (range, bytes) in fields {
            if let Some(slot) = out.get_mut(range) {
                encode_hex(bytes, slot);
            }
        }
        out
    }
}

impl fmt::Display for TraceParent {
    /// Prints the version-`00` header value, exactly what [`to_header`](Self::to_header) builds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(ascii(&self.header_text()))
    }
}

impl core::str::FromStr for TraceParent {
    type Err = ParseError;

    /// Same as [`TraceParent::parse`].
    fn from_str(value: &str) -> Result<Self, ParseError> {
        Self::parse(value)
    }
}

/// Why a `traceparent` value or an id did not parse; receivers should ignore the header and
/// start a fresh trace.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum ParseError {
    /// Wrong length: a version-`00` traceparent is exactly 55 characters, a W3C trace id 32 hex
    /// digits, a UUID 32 or 36 characters, a span id 16 hex digits.
    Length,
    /// The traceparent version is not two lowercase hex digits, or is the forbidden `ff`.
    Version,
    /// The trace id is not hex in the expected case, or is all zero.
    TraceId,
    /// The span id is not 16 lowercase hex digits, or is all zero.
    SpanId,
    /// The trace flags are not two lowercase hex digits.
    Flags,
    /// A `-` separator is missing or misplaced (traceparent fields, UUID groups, or the `-` that
    /// must follow the flags when a later version adds fields).
    Format,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseError::Length => {
                "wrong length (traceparent: 55 characters; trace id: 32 hex digits or a 36-character UUID; span id: 16 hex digits)"
            }
            ParseError::Version => {
                "invalid traceparent version (expected two lowercase hex digits other than `ff`, normally `00`)"
            }
            ParseError::TraceId => "invalid trace id (expected hex digits, not all zero)",
            ParseError::SpanId => "invalid span id (expected 16 lowercase hex digits, not all zero)",
            ParseError::Flags => "invalid trace flags (expected two lowercase hex digits)",
            ParseError::Format => {
                "misplaced separator (expected `-` between fields: 00-<32 hex>-<16 hex>-<2 hex>)"
            }
        })
    }
}

impl core::error::Error for ParseError {}

/// The value of a W3C `tracestate` header: vendor-specific entries that this crate does not
/// interpret but must carry to the next service unchanged.
///
/// At most [`MAX_LEN`](Self::MAX_LEN) bytes are kept inline, so carrying it never allocates.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct TraceState(heapless::String<512>);

impl TraceState {
    /// The longest value carried, in bytes; W3C asks every vendor to propagate at least this much.
    pub const MAX_LEN: usize = 512;

    /// The most list members W3C allows in one value.
    pub const MAX_MEMBERS: usize = 32;

    /// An empty state, for requests that arrived without one.
    pub const fn new() -> Self {
        TraceState(heapless::String::new())
    }

    /// Accepts a header value for pass-through, or returns `None` if it should be dropped.
    ///
    /// Surrounding spaces and tabs are ignored. The rest must be at most 512 bytes of printable
    /// ASCII with at most 32 comma-separated members (empty ones count), and every non-empty
    /// member must contain `=`. Join repeated `tracestate` header lines with `,` before parsing,
    /// and per W3C ignore `tracestate` when `traceparent` did not parse.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim_matches(OWS);
        let printable = value.bytes().all(|b| (0x20..=0x7e).contains(&b));
        if value.len() > Self::MAX_LEN || !printable {
            return None;
        }
        let mut members = 0;
        for member in value.split(',') {
            members += 1;
            let member = member.trim_matches(' ');
            if members > Self::MAX_MEMBERS || !(member.is_empty() || member.contains('=')) {
                return None;
            }
        }
        let mut state = heapless::String::new();
        state.push_str(value).ok()?;
        Some(TraceState(state))
    }

    /// The value exactly as accepted (minus surrounding whitespace), ready to send on.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Tells whether there is nothing to carry; W3C advises not sending an empty header.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for TraceState {
    /// Prints the value unchanged.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Which hex digits a parser accepts: W3C headers allow lowercase only, UUID text either case.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    Lower,
    Any,
}

/// Decodes exactly `2 * N` hex digits into `N` bytes; `None` on a bad digit or a wrong count.
fn decode_hex<const N: usize>(mut digits: impl Iterator<Item = u8>, case: Case) -> Option<[u8; N]> {
    let mut out = [0; N];
    for byte in out.iter_mut() {
        let high = hex_value(digits.next()?, case)?;
        let low = hex_value(digits.next()?, case)?;
        *byte = high << 4 | low;
    }
    digits.next().is_none().then_some(out)
}

fn hex_value(digit: u8, case: Case) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' if case == Case::Any => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// Writes two lowercase hex digits per byte of `bytes` into `out`, as far as `out` reaches.
fn encode_hex(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digit = |nibble: u8| DIGITS[usize::from(nibble & 0x0f)];
    for (&byte, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        if let [high, low] = pair {
            *high = digit(byte >> 4);
            *low = digit(byte);
        }
    }
}

/// Views text this module wrote itself (hex digits and `-` only) as `&str`.
fn ascii(bytes: &[u8]) -> &str {
    // Only ASCII is ever written into these buffers, so this cannot fail; the empty fallback keeps
    // the no-panic guarantee without `unsafe`.
    core::str::from_utf8(bytes).unwrap_or_default()
}

fn ascii_string<const N: usize>(bytes: &[u8; N]) -> heapless::String<N> {
    let mut out = heapless::String::new();
    // Capacity equals the length, so this cannot fail.
    let _ = out.push_str(ascii(bytes));
    out
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::string::{String, ToString};

    const VALID: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    #[test]
    fn conformance_vector_parses() {
        let tp = TraceParent::parse(VALID).unwrap();
        assert_eq!(
            tp.trace_id.to_string(),
            "0af76519-16cd-43dd-8448-eb211c80319c"
        );
        assert_eq!(
            tp.trace_id.to_hex32().as_str(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert_eq!(tp.span_id.to_string(), "b7ad6b7169203331");
        assert_eq!(tp.span_id.to_hex16().as_str(), "b7ad6b7169203331");
        assert!(tp.flags.is_sampled());
        assert_eq!(tp.flags, TraceFlags::SAMPLED);
        assert!(tp.is_valid());
    }

    #[test]
    fn conformance_invalid_format_is_rejected() {
        assert_eq!(
            TraceParent::parse("invalid-format"),
            Err(ParseError::Length)
        );
        assert_eq!(TraceParent::parse(""), Err(ParseError::Length));
    }

    #[test]
    fn formatting_round_trips_and_is_55_chars_starting_00() {
        let tp = TraceParent::parse(VALID).unwrap();
        let header = tp.to_header();
        assert_eq!(header.as_str(), VALID);
        assert_eq!(header.len(), 55);
        assert!(header.starts_with("00-"));
        assert_eq!(tp.to_string(), VALID);
        assert_eq!(TraceParent::parse(&header), Ok(tp));
        assert_eq!(VALID.parse::<TraceParent>(), Ok(tp));
    }

    #[test]
    fn unsampled_and_unknown_flags_are_kept() {
        let tp =
            TraceParent::parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00").unwrap();
        assert!(!tp.flags.is_sampled());
        let tp =
            TraceParent::parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-fe").unwrap();
        assert_eq!(tp.flags, TraceFlags(0xfe));
        assert!(!tp.flags.is_sampled());
        assert!(tp.to_string().ends_with("-fe"));
        assert_eq!(TraceFlags(0xfe).with_sampled(true), TraceFlags(0xff));
        assert_eq!(TraceFlags(0xff).with_sampled(false), TraceFlags(0xfe));
        assert_eq!(TraceFlags(0x0a).to_string(), "0a");
    }

    #[test]
    fn surrounding_whitespace_is_ignored() {
        assert!(TraceParent::parse(
            " \t00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\t "
        )
        .is_ok());
        // Other whitespace is not OWS.
        assert!(
            TraceParent::parse("\n00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
                .is_err()
        );
    }

    #[test]
    fn uppercase_is_rejected_in_traceparent() {
        let cases = [
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-B7AD6B7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0A",
            "0A-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ];
        let expected = [
            ParseError::TraceId,
            ParseError::SpanId,
            ParseError::Flags,
            ParseError::Version,
        ];
        for (case, err) in cases.iter().zip(expected) {
            assert_eq!(TraceParent::parse(case), Err(err), "{case}");
        }
    }

    #[test]
    fn all_zero_ids_are_rejected() {
        assert_eq!(
            TraceParent::parse("00-00000000000000000000000000000000-b7ad6b7169203331-01"),
            Err(ParseError::TraceId)
        );
        assert_eq!(
            TraceParent::parse("00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01"),
            Err(ParseError::SpanId)
        );
        assert!(!TraceId::INVALID.is_valid());
        assert!(!SpanId::INVALID.is_valid());
        assert!(
            !TraceParent::new(TraceId::INVALID, SpanId::from(1), TraceFlags::SAMPLED).is_valid()
        );
    }

    #[test]
    fn version_ff_and_non_hex_versions_are_rejected() {
        assert_eq!(
            TraceParent::parse("ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            Err(ParseError::Version)
        );
        assert_eq!(
            TraceParent::parse("0g-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            Err(ParseError::Version)
        );
    }

    #[test]
    fn version_00_must_be_exactly_55_chars() {
        assert_eq!(
            TraceParent::parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra"),
            Err(ParseError::Length)
        );
        assert_eq!(
            TraceParent::parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1"),
            Err(ParseError::Length)
        );
    }

    #[test]
    fn future_version_may_carry_more_fields() {
        let tp = TraceParent::parse(
            "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-the-future-holds",
        )
        .unwrap();
        assert_eq!(tp.span_id.to_string(), "b7ad6b7169203331");
        assert!(tp.flags.is_sampled());
        // Exactly 55 characters is fine for a later version too.
        assert!(
            TraceParent::parse("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").is_ok()
        );
        // The output is always version 00.
        assert!(tp.to_string().starts_with("00-"));
        // But the fourth field must end at character 55.
        assert_eq!(
            TraceParent::parse("cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x-more"),
            Err(ParseError::Format)
        );
        assert_eq!(
            TraceParent::parse("cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0123"),
            Err(ParseError::Format)
        );
    }

    #[test]
    fn wrong_separators_are_rejected() {
        let cases = [
            "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331_01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331.01",
            "00--af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319cb7ad6b7169203331--01",
        ];
        for case in cases {
            assert!(TraceParent::parse(case).is_err(), "{case}");
        }
        assert_eq!(TraceParent::parse(cases[0]), Err(ParseError::Format));
    }

    #[test]
    fn multibyte_utf8_never_splits_a_char() {
        // Each of these puts a multibyte character across a field boundary or where an ASCII
        // digit is expected, with the total byte length 55 or more.
        let cases = [
            "00-0af7651916cd43dd8448eb211c80319é-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333é-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-é",
            "é-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01€",
            "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01€",
            "00-０af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€",
            "\u{a0}00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ];
        for case in cases {
            assert!(TraceParent::parse(case).is_err(), "{case}");
            assert!(TraceId::parse_uuid(case).is_err());
            assert!(TraceId::parse_hex32(case).is_err());
            assert!(SpanId::parse_hex16(case).is_err());
        }
        assert!(TraceId::parse_uuid("0af76519-16cd-43dd-8448-eb211c80319é").is_err());
        assert!(TraceId::parse_uuid("0af76519é16cd-43dd-8448-eb211c8031").is_err());
        assert!(TraceId::parse_hex32("0af7651916cd43dd8448eb211c8031é").is_err());
        assert!(SpanId::parse_hex16("b7ad6b716920333é").is_err());
        assert!(SpanId::parse_hex16("b7ad6b71692033é").is_err());
    }

    #[test]
    fn uuid_text_in_either_form_and_any_case_is_accepted() {
        let expected = TraceId::from(0x0af7651916cd43dd8448eb211c80319c_u128);
        for text in [
            "0af76519-16cd-43dd-8448-eb211c80319c",
            "0AF76519-16CD-43DD-8448-EB211C80319C",
            "0af7651916cd43dd8448eb211c80319c",
            "0AF7651916cd43DD8448eb211c80319C",
        ] {
            assert_eq!(TraceId::parse_uuid(text), Ok(expected), "{text}");
        }
        assert_eq!(
            expected.to_uuid_string().as_str(),
            "0af76519-16cd-43dd-8448-eb211c80319c"
        );
    }

    #[test]
    fn other_uuid_spellings_are_rejected() {
        let cases = [
            ("{0af76519-16cd-43dd-8448-eb211c80319c}", ParseError::Length),
            (
                "urn:uuid:0af76519-16cd-43dd-8448-eb211c80319c",
                ParseError::Length,
            ),
            ("0af7651916cd-43dd-8448-eb211c80319c", ParseError::Length),
            ("0af76519-16cd43dd-8448-eb211c80319c-", ParseError::Format),
            ("0af76519_16cd_43dd_8448_eb211c80319c", ParseError::Format),
            (" 0af76519-16cd-43dd-8448-eb211c80319c", ParseError::Length),
            ("0af76519-16cd-43dd-8448-eb211c80319g", ParseError::TraceId),
            ("00000000-0000-0000-0000-000000000000", ParseError::TraceId),
            ("00000000000000000000000000000000", ParseError::TraceId),
            ("", ParseError::Length),
        ];
        for (text, err) in cases {
            assert_eq!(TraceId::parse_uuid(text), Err(err), "{text}");
        }
    }

    #[test]
    fn strict_hex_parsers_take_lowercase_exact_length_only() {
        assert!(TraceId::parse_hex32("0af7651916cd43dd8448eb211c80319c").is_ok());
        assert_eq!(
            TraceId::parse_hex32("0AF7651916CD43DD8448EB211C80319C"),
            Err(ParseError::TraceId)
        );
        assert_eq!(
            TraceId::parse_hex32("0af7651916cd43dd8448eb211c80319"),
            Err(ParseError::Length)
        );
        assert_eq!(
            TraceId::parse_hex32("0af76519-16cd-43dd-8448-eb211c80319c"),
            Err(ParseError::Length)
        );
        assert_eq!(
            TraceId::parse_hex32("00000000000000000000000000000000"),
            Err(ParseError::TraceId)
        );
        assert_eq!(
            SpanId::parse_hex16("b7ad6b7169203331"),
            Ok(SpanId::from(0xb7ad6b7169203331))
        );
        assert_eq!(
            SpanId::parse_hex16("B7AD6B7169203331"),
            Err(ParseError::SpanId)
        );
        assert_eq!(
            SpanId::parse_hex16("b7ad6b71692033311"),
            Err(ParseError::Length)
        );
        assert_eq!(
            SpanId::parse_hex16("0000000000000000"),
            Err(ParseError::SpanId)
        );
    }

    #[test]
    fn bytes_round_trip_and_display_is_padded_like_str() {
        let bytes = *b"\x01\x23\x45\x67\x89\xab\xcd\xef\xfe\xdc\xba\x98\x76\x54\x32\x10";
        let id = TraceId::from_bytes(bytes);
        assert_eq!(id.to_bytes(), bytes);
        assert_eq!(id.to_string(), "01234567-89ab-cdef-fedc-ba9876543210");
        assert_eq!(
            std::format!("{id:?}"),
            "TraceId(01234567-89ab-cdef-fedc-ba9876543210)"
        );
        let span = SpanId::from_bytes([0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(span.to_bytes(), [0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(span.to_string(), "0000000000000001");
        assert_eq!(std::format!("{span:>18}"), "  0000000000000001");
    }

    #[test]
    fn tracestate_conformance_vector_passes_unchanged() {
        let value = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
        let state = TraceState::parse(value).unwrap();
        assert_eq!(state.as_str(), value);
        assert_eq!(state.to_string(), value);
        assert!(!state.is_empty());
    }

    #[test]
    fn tracestate_accepts_empty_members_and_surrounding_whitespace() {
        assert_eq!(TraceState::parse("").unwrap(), TraceState::new());
        assert!(TraceState::parse("").unwrap().is_empty());
        assert_eq!(
            TraceState::parse(" \ta=1 , ,b=2\t").unwrap().as_str(),
            "a=1 , ,b=2"
        );
        assert!(TraceState::parse(",,,").is_some());
    }

    #[test]
    fn tracestate_limits_are_enforced() {
        let max_len = "a=".to_string() + &"x".repeat(510);
        assert!(TraceState::parse(&max_len).is_some());
        assert!(TraceState::parse(&(max_len + "x")).is_none());

        let members = |n: usize| {
            (0..n)
                .map(|i| std::format!("k{i}=v"))
                .collect::<std::vec::Vec<_>>()
                .join(",")
        };
        assert!(TraceState::parse(&members(32)).is_some());
        assert!(TraceState::parse(&members(33)).is_none());
        // Empty members count towards the limit.
        assert!(TraceState::parse(&(members(31) + ",")).is_some());
        assert!(TraceState::parse(&(members(32) + ",")).is_none());
    }

    #[test]
    fn tracestate_rejects_bad_members_and_characters() {
        assert!(TraceState::parse("congo").is_none());
        assert!(TraceState::parse("a=1,garbage").is_none());
        assert!(TraceState::parse("a=1\u{7f}").is_none());
        assert!(TraceState::parse("a=1,\tb=2").is_none());
        assert!(TraceState::parse("a=é").is_none());
        assert!(TraceState::parse("a=1\r\nx-evil: 1").is_none());
        let s: String = "a=€".repeat(200);
        assert!(TraceState::parse(&s).is_none());
    }
}
