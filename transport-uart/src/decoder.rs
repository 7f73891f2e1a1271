//! The host decoder: bytes from a serial line or a capture file in, events out.
//!
//! Feed a [`Decoder`] byte chunks of any size as they arrive. [`Decoder::feed`] works like
//! postcard's accumulator: it returns as soon as it has something to say, together with the
//! rest of the input to feed next; [`Decoder::decode`] wraps that loop in an iterator. Each
//! [`Item`] is a decoded event (names and locations resolved, locations as [`Site`]s), a stream
//! header, or a [`Skipped`] region: bytes that could not be used, with their stream offset,
//! length and [reason](SkipReason).
//!
//! # Resynchronisation
//!
//! Every frame ends with `0x00`, so after corrupted or missing bytes the decoder starts again
//! at the next delimiter, reporting the damaged frame as skipped. Until the first header frame
//! it cannot check CRCs (they are seeded with the epoch the header announces), so frames
//! before it are skipped as [`SkipReason::BeforeHeader`]. A frame that refers to an id with no
//! definition in the current epoch is skipped as [`SkipReason::UnknownReference`]: an event is
//! never given a name it might not have.
//!
//! A skipped region may have held events: analysis of what follows should treat it like a
//! loss marker ([`Kind::Dropped`]).
//!
//! # Bounds
//!
//! The decoder buffers at most one frame ([`MAX_FRAME_LEN`] bytes) and a table of at most
//! [`Limits::max_ids`] definitions. Decoded text is made `'static` (events hold it as
//! `&'static str`), so it stays allocated for the life of the process; each decoder keeps at
//! most [`Limits::max_strings`] distinct strings and [`Limits::max_text_bytes`] bytes of it, by
//! default 8192 and 512 KiB. Definitions beyond that are refused and counted
//! ([`DecoderStats::refused`]), and the events that need them are skipped. The budget is the
//! decoder's own: decoding one stream never spends another's. The decoder never panics,
//! whatever the input.
//!
//! # Examples
//!
//! ```
//! use raceway_core::event::{Event, Kind, ThreadId};
//! use raceway_transport_uart::decoder::{Decoder, Item, SkipReason};
//! use raceway_transport_uart::{FrameEncoderConfig, UartTransport};
//!
//! let mut uart: UartTransport<Vec<u8>> = UartTransport::new(Vec::new(), FrameEncoderConfig::DEFAULT);
//! for message in 0..3 {
//!     uart.send(&Event::new(message, ThreadId::from_raw(1), Kind::Send { message })).unwrap();
//! }
//! let mut bytes = uart.into_inner();
//! let last = bytes.len() - 3;
//! bytes[last] ^= 0x40; // corrupt the last frame
//!
//! let mut decoder = Decoder::new();
//! let mut events = 0;
//! // Any chunking gives the same result.
//! for chunk in bytes.chunks(5) {
//!     for item in decoder.decode(chunk) {
//!         match item {
//!             Item::Event(_) => events += 1,
//!             Item::Skipped(skip) => assert_eq!(skip.reason, SkipReason::Corrupt),
//!             _ => {}
//!         }
//!     }
//! }
//! assert_eq!(events, 2);
//! assert_eq!(decoder.stats().skipped_frames, 1);
//! ```

use std::fmt;
use std::vec::Vec;

use raceway_core::event::{Event, Kind, Site, ThreadId, Value};
use raceway_core::trace_context::{SpanId, TraceId};
use raceway_core::{Name, Symbol};

use crate::frame::{self, event_kinds, At, Frame, WireValue, MAX_FRAME_LEN};
use crate::strings::Strings;

/// The location given to events that no source line recorded (loss markers).
pub const STREAM_SITE: Site = Site {
    file: "<stream>",
    line: 0,
    column: 0,
};

/// Bounds of a [`Decoder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Definitions kept per epoch: ids at or above it are refused. Encoders keep far fewer.
    pub max_ids: u16,
    /// Distinct definition texts the decoder keeps over its whole life.
    pub max_strings: usize,
    /// Bytes of definition text the decoder keeps over its whole life.
    pub max_text_bytes: usize,
}

impl Limits {
    /// 4096 ids; 8192 strings of 512 KiB in all.
    pub const DEFAULT: Limits = Limits {
        max_ids: 4096,
        max_strings: 8192,
        max_text_bytes: 512 * 1024,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What a stream's latest header said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamInfo {
    /// The format version.
    pub version: u8,
    /// The epoch the header started.
    pub epoch: u8,
    /// The encoder's table capacity.
    pub ids: u16,
    /// Ticks per second of the device's time source (0 when unknown).
    pub clock_hz: u32,
}

/// Why bytes were skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SkipReason {
    /// The frame failed COBS, its CRC or parsing: corrupted or partly lost in transit.
    Corrupt,
    /// No delimiter within [`MAX_FRAME_LEN`] bytes: a lost delimiter or not a Raceway stream.
    TooLong,
    /// Before the first header: the frame cannot be checked yet (attached mid-stream).
    BeforeHeader,
    /// A header of a version this decoder does not speak, and the frames after it.
    UnsupportedVersion,
    /// The frame refers to an id never defined in this epoch (its definition was lost or sent
    /// before the decoder attached).
    UnknownReference,
    /// A definition the decoder would not keep: its id is at or above [`Limits::max_ids`] or
    /// the process-wide text budget is spent.
    Refused,
    /// The input ended in the middle of a frame ([`Decoder::finish`]).
    Truncated,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SkipReason::Corrupt => "corrupted frame",
            SkipReason::TooLong => "no frame delimiter",
            SkipReason::BeforeHeader => "before the first stream header",
            SkipReason::UnsupportedVersion => "unsupported stream version",
            SkipReason::UnknownReference => "reference to an undefined name or location",
            SkipReason::Refused => "definition over the decoder's limits",
            SkipReason::Truncated => "truncated frame",
        })
    }
}

/// A region of the input that yielded nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Offset of its first byte in the stream (bytes fed since the decoder started, plus the
    /// starting offset given to [`Decoder::starting_at`]).
    pub offset: u64,
    /// Its length in bytes, delimiter included.
    pub len: u64,
    /// Why.
    pub reason: SkipReason,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "skipped {} bytes at offset {}: {}",
            self.len, self.offset, self.reason
        )
    }
}

/// One thing the decoder found.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Item {
    /// A decoded event. Loss markers the device sent are events of [`Kind::Dropped`] at
    /// [`STREAM_SITE`].
    Event(Event<Site>),
    /// A stream header: a new epoch started.
    Header(StreamInfo),
    /// Bytes that yielded nothing.
    Skipped(Skipped),
}

impl Item {
    /// The event, if this is one.
    pub fn into_event(self) -> Option<Event<Site>> {
        match self {
            Item::Event(event) => Some(event),
            _ => None,
        }
    }
}

/// The result of one [`Decoder::feed`].
#[derive(Debug)]
pub enum Feed<'a> {
    /// All input was consumed without completing anything: feed more.
    Consumed,
    /// Something was found; feed `remaining` next.
    Item {
        /// What was found.
        item: Item,
        /// The input after it.
        remaining: &'a [u8],
    },
}

/// Counters of a [`Decoder`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecoderStats {
    /// Bytes fed.
    pub bytes: u64,
    /// Frames that decoded and checked out, of every kind.
    pub frames: u64,
    /// Events yielded.
    pub events: u64,
    /// Header frames seen.
    pub headers: u64,
    /// Epoch changes or restarts noticed without their header (the header was lost).
    pub headers_missed: u64,
    /// Regions skipped, for any reason.
    pub skipped_frames: u64,
    /// Bytes in those regions.
    pub skipped_bytes: u64,
    /// Frames skipped because they referred to an undefined id.
    pub unknown_references: u64,
    /// Definitions refused ([`SkipReason::Refused`]).
    pub refused: u64,
}

/// A definition in the current epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Definition {
    Symbol(Symbol),
    /// Text the process could not keep: still a name, by its identity (shown by hash).
    Forgotten(u64),
    Location(Site),
}

/// The resynchronising host decoder. See the [module docs](self).
#[derive(Debug)]
pub struct Decoder {
    limits: Limits,
    /// The current frame's bytes so far (COBS-stuffed, no delimiter).
    frame: Vec<u8>,
    /// Bytes of an over-long frame being discarded up to the next delimiter (0 = none).
    discarding: u64,
    /// Stream offset of the current frame's first byte.
    frame_start: u64,
    /// Stream offset of the next byte fed.
    position: u64,
    /// The current epoch, once a header was seen.
    epoch: Option<u8>,
    /// A header of an unsupported version was the last one seen.
    unsupported: bool,
    info: Option<StreamInfo>,
    table: Vec<Option<Definition>>,
    strings: Strings,
    stats: DecoderStats,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder with the [default limits](Limits::DEFAULT).
    pub fn new() -> Self {
        Self::with_limits(Limits::DEFAULT)
    }

    /// A decoder with the given limits.
    pub fn with_limits(limits: Limits) -> Self {
        Decoder {
            limits,
            frame: Vec::with_capacity(MAX_FRAME_LEN),
            discarding: 0,
            frame_start: 0,
            position: 0,
            epoch: None,
            unsupported: false,
            info: None,
            table: Vec::new(),
            strings: Strings::default(),
            stats: DecoderStats::default(),
        }
    }

    /// The same decoder, counting stream offsets from `offset` (e.g. the length of a file
    /// header before the frames). Call it before feeding anything.
    pub fn starting_at(mut self, offset: u64) -> Self {
        self.position = offset;
        self.frame_start = offset;
        self
    }

    /// The counters so far.
    pub fn stats(&self) -> DecoderStats {
        self.stats
    }

    /// What the latest header said, once one was seen.
    pub fn stream_info(&self) -> Option<StreamInfo> {
        self.info
    }

    /// Consumes `input` up to the first complete item and returns it with the rest of the
    /// input, or [`Feed::Consumed`] once all of it is buffered.
    pub fn feed<'a>(&mut self, mut input: &'a [u8]) -> Feed<'a> {
        while !input.is_empty() {
            let delimiter = input.iter().position(|&b| b == 0);
            let (body, rest) = match delimiter {
                Some(at) => (&input[..at], &input[at + 1..]),
                None => (input, &input[input.len()..]),
            };
            self.stats.bytes += (input.len() - rest.len()) as u64;
            self.position += (input.len() - rest.len()) as u64;
            input = rest;

            if self.discarding == 0 && self.frame.len() + body.len() < MAX_FRAME_LEN {
                self.frame.extend_from_slice(body);
            } else {
                self.discarding += (self.frame.len() + body.len()) as u64;
                self.frame.clear();
            }
            if delimiter.is_none() {
                break;
            }
            let item = if self.discarding != 0 {
                let len = self.discarding + 1;
                self.discarding = 0;
                Some(self.skip(self.frame_start, len, SkipReason::TooLong))
            } else if self.frame.is_empty() {
                None // padding between frames
            } else {
                self.frame_complete()
            };
            self.frame.clear();
            self.frame_start = self.position;
            if let Some(item) = item {
                return Feed::Item {
                    item,
                    remaining: input,
                };
            }
        }
        Feed::Consumed
    }

    /// Iterates over everything found in `input` (which is consumed entirely).
    pub fn decode<'d, 'a>(&'d mut self, input: &'a [u8]) -> Decode<'d, 'a> {
        Decode {
            decoder: self,
            input,
        }
    }

    /// Ends the input: a frame still being collected is reported as truncated.
    pub fn finish(&mut self) -> Option<Skipped> {
        let len = self.discarding + self.frame.len() as u64;
        self.discarding = 0;
        self.frame.clear();
        let start = self.frame_start;
        self.frame_start = self.position;
        (len != 0).then(|| self.skipped(start, len, SkipReason::Truncated))
    }

    fn skip(&mut self, offset: u64, len: u64, reason: SkipReason) -> Item {
        Item::Skipped(self.skipped(offset, len, reason))
    }

    fn skipped(&mut self, offset: u64, len: u64, reason: SkipReason) -> Skipped {
        self.stats.skipped_frames += 1;
        self.stats.skipped_bytes += len;
        match reason {
            SkipReason::UnknownReference => self.stats.unknown_references += 1,
            SkipReason::Refused => self.stats.refused += 1,
            _ => {}
        }
        Skipped {
            offset,
            len,
            reason,
        }
    }

    /// Handles the complete frame in `self.frame`.
    fn frame_complete(&mut self) -> Option<Item> {
        let offset = self.frame_start;
        let len = self.frame.len() as u64 + 1;
        let mut stuffed = std::mem::take(&mut self.frame);
        let result = self.unseal(&mut stuffed, offset, len);
        self.frame = stuffed;
        result
    }

    fn unseal(&mut self, stuffed: &mut [u8], offset: u64, len: u64) -> Option<Item> {
        let Ok(payload) = frame::unstuff(stuffed) else {
            return Some(self.skip(offset, len, self.corrupt_reason()));
        };
        if let Some(epoch) = self.epoch {
            if let Ok(frame) = Frame::decode(payload, epoch) {
                self.stats.frames += 1;
                return self.apply(frame, offset, len);
            }
        }
        if let Ok(header) = Frame::decode_header(payload) {
            self.stats.frames += 1;
            self.stats.headers += 1;
            let info = StreamInfo {
                version: header.version,
                epoch: header.epoch,
                ids: header.ids,
                clock_hz: header.clock_hz,
            };
            self.info = Some(info);
            self.table.clear();
            if header.version == frame::VERSION {
                self.epoch = Some(header.epoch);
                self.unsupported = false;
                return Some(Item::Header(info));
            }
        }
        if frame::header_version(payload).is_some_and(|v| v != frame::VERSION) {
            self.epoch = None;
            self.unsupported = true;
            return Some(self.skip(offset, len, SkipReason::UnsupportedVersion));
        }
        if let Some(epoch) = self.epoch {
            // The header of the next epoch may have been lost: a definition sealed with it says
            // so. An epoch's first frames are definitions (its table starts empty), and only
            // their CRC-32 is trusted with this: a damaged event frame passes a CRC-16 for the
            // wrong epoch once in 65 536 and would throw the whole table away.
            let next = epoch.wrapping_add(1);
            let frame = Frame::decode(payload, next).ok();
            if let Some(frame) = frame.filter(Frame::is_definition) {
                self.stats.frames += 1;
                self.stats.headers_missed += 1;
                self.epoch = Some(next);
                self.table.clear();
                return self.apply(frame, offset, len);
            }
        }
        Some(self.skip(offset, len, self.corrupt_reason()))
    }

    fn corrupt_reason(&self) -> SkipReason {
        match (self.epoch, self.unsupported) {
            (Some(_), _) => SkipReason::Corrupt,
            (None, true) => SkipReason::UnsupportedVersion,
            (None, false) => SkipReason::BeforeHeader,
        }
    }

    fn define(&mut self, id: u16, definition: Option<Definition>) -> Result<(), SkipReason> {
        if id >= self.limits.max_ids {
            return Err(SkipReason::Refused);
        }
        let index = usize::from(id);
        if self.table.len() <= index {
            self.table.resize(index + 1, None);
        }
        // Within an epoch an id is defined once. A second, different definition means the
        // decoder missed a restart whose header was lost (a device reset starts again at
        // epoch 0, with the same ids for other things): everything it knows is stale.
        if self.table[index].is_some_and(|known| Some(known) != definition) {
            self.table.clear();
            self.table.resize(index + 1, None);
            self.stats.headers_missed += 1;
        }
        self.table[index] = definition;
        definition.map(|_| ()).ok_or(SkipReason::Refused)
    }

    fn symbol(&self, id: u16) -> Result<Symbol, SkipReason> {
        match self.table.get(usize::from(id)) {
            Some(Some(Definition::Symbol(symbol))) => Ok(*symbol),
            _ => Err(SkipReason::UnknownReference),
        }
    }

    fn name(&self, id: u16) -> Result<&'static str, SkipReason> {
        self.symbol(id).map(Symbol::as_str)
    }

    /// A variable or lock: its text, or its identity alone once the text could not be kept.
    fn ident(&self, id: u16) -> Result<Name, SkipReason> {
        match self.table.get(usize::from(id)) {
            Some(Some(Definition::Symbol(symbol))) => Ok(Name::from_display(symbol.as_str())),
            Some(Some(Definition::Forgotten(id))) => Ok(Name::forgotten(*id)),
            _ => Err(SkipReason::UnknownReference),
        }
    }

    fn value(&self, value: WireValue<'_>) -> Result<Value, SkipReason> {
        Ok(match value {
            WireValue::None => Value::None,
            WireValue::Bool(b) => Value::Bool(b),
            WireValue::I64(v) => Value::I64(v),
            WireValue::U64(v) => Value::U64(v),
            WireValue::F64(v) => Value::F64(v),
            WireValue::Str(id) => Value::Str(self.symbol(id)?),
            WireValue::Text(text) => Value::Text(raceway_core::event::InlineStr::truncate(text)),
        })
    }

    fn apply(&mut self, frame: Frame<'_>, offset: u64, len: u64) -> Option<Item> {
        match self.resolve(frame) {
            Ok(Some(event)) => {
                self.stats.events += 1;
                Some(Item::Event(event))
            }
            Ok(None) => None,
            Err(reason) => Some(self.skip(offset, len, reason)),
        }
    }

    /// The event a frame holds, `None` for a definition, or why it cannot be used.
    fn resolve(&mut self, frame: Frame<'_>) -> Result<Option<Event<Site>>, SkipReason> {
        let event = |at: At, kind: Kind, this: &Self| -> Result<Option<Event<Site>>, SkipReason> {
            let location = match this.table.get(usize::from(at.location)) {
                Some(Some(Definition::Location(site))) => *site,
                _ => return Err(SkipReason::UnknownReference),
            };
            Ok(Some(Event {
                time: at.time,
                location,
                thread: ThreadId::from_raw(at.thread),
                kind,
            }))
        };
        event_kinds!(decode_event! {
            frame, self, event, {
                Frame::Header(_) => Err(SkipReason::Corrupt),
                Frame::Symbol { id, text } => {
                    let Ok(symbol) = self.strings.intern(text, &self.limits) else {
                        // Names keep their identity; values and files that use it are refused.
                        let forgotten = Definition::Forgotten(Name::display_id(text));
                        self.define(id, Some(forgotten))?;
                        return Err(SkipReason::Refused);
                    };
                    self.define(id, Some(Definition::Symbol(symbol)))?;
                    Ok(None)
                }
                Frame::Location {
                    id,
                    file,
                    line,
                    column,
                } => {
                    let file = self.name(file)?;
                    let site = Site { file, line, column };
                    self.define(id, Some(Definition::Location(site)))?;
                    Ok(None)
                }
                Frame::Dropped { count } => Ok(Some(Event {
                    time: 0,
                    location: STREAM_SITE,
                    thread: ThreadId::NONE,
                    kind: Kind::Dropped { count },
                })),
            }
        })
    }
}

/// `match $frame`, with the given arms for the stream frames and, for each event kind, its
/// event: each field converted back as its class says through `$this`'s definitions, a field
/// that does not resolve returning why.
macro_rules! decode_event {
    (
        $frame:expr, $this:ident, $event:ident, { $($arms:tt)* }
        $($kind:ident { $($field:ident: $ty:ty as $class:ident),* $(,)? })*
    ) => {
        match $frame {
            $($arms)*
            $(Frame::$kind { at, $($field),* } => {
                let kind = Kind::$kind { $($field: decode_event!(@$class $this, $field)),* };
                $event(at, kind, $this)
            })*
        }
    };
    (@ident $this:ident, $field:ident) => { $this.ident($field)? };
    (@name $this:ident, $field:ident) => { $this.name($field)? };
    (@symbol $this:ident, $field:ident) => { $this.symbol($field)? };
    (@value $this:ident, $field:ident) => { $this.value($field)? };
    (@thread $this:ident, $field:ident) => { ThreadId::from_raw($field) };
    (@access $this:ident, $field:ident) => { code(frame::access_from($field))? };
    (@lock_kind $this:ident, $field:ident) => { code(frame::lock_kind_from($field))? };
    (@ordering $this:ident, $field:ident) => { code(frame::ordering_from($field))? };
    (@direction $this:ident, $field:ident) => { code(frame::direction_from($field))? };
    (@trace_id $this:ident, $field:ident) => { TraceId::from_bytes($field) };
    (@span_id $this:ident, $field:ident) => { SpanId::from_bytes($field) };
    (@u16 $this:ident, $field:ident) => { $field };
    (@u64 $this:ident, $field:ident) => { $field };
}
use decode_event;

/// Iterator over the items in one chunk of input; see [`Decoder::decode`].
#[derive(Debug)]
pub struct Decode<'d, 'a> {
    decoder: &'d mut Decoder,
    input: &'a [u8],
}

impl Iterator for Decode<'_, '_> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        match self.decoder.feed(self.input) {
            Feed::Consumed => {
                self.input = &[];
                None
            }
            Feed::Item { item, remaining } => {
                self.input = remaining;
                Some(item)
            }
        }
    }
}

/// A decoded code (access, lock kind, ...) or, when out of range, a corrupt frame.
fn code<T>(code: Option<T>) -> Result<T, SkipReason> {
    code.ok_or(SkipReason::Corrupt)
}
