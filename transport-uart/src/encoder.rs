//! Turns core events into frames, sending each name and source location once per epoch.
//!
//! An [`FrameEncoder`] remembers which `&'static str` names and `&'static Location`s it has already
//! defined, by pointer, in a table of `N` entries. The first event that uses one sends a
//! `Symbol` or `Location` definition frame first; later events refer to the small id. When the
//! table is full the encoder does not evict single entries (a lost re-definition would make the
//! reader resolve an id to the wrong name): it starts a new *epoch* — a header frame, an empty
//! table — and defines names again as they are used. Choose `N` to hold the names and
//! locations the program records, so that epochs change rarely; each entry costs two words.
//!
//! Two copies of the same string literal at different addresses (the compiler may or may not
//! merge them) are defined twice; the reader does not care.
//!
//! # Call order and context
//!
//! Encoding is the expensive part of the UART path and runs in the ring's consumer — the main
//! loop or idle task — never in an interrupt handler: the encoder is `&mut self` and not
//! reentrant. Each call hands complete frames, one at a time, to the `emit` callback; a stream
//! always begins with a header frame.
//!
//! # Examples
//!
//! ```
//! use raceway_core::event::{Event, Kind, ThreadId};
//! use raceway_transport_uart::{FrameEncoder, FrameEncoderConfig};
//!
//! let mut encoder: FrameEncoder<8> = FrameEncoder::new(FrameEncoderConfig::DEFAULT);
//! let mut frames = Vec::new();
//! let event = Event::new(1, ThreadId::from_raw(1), Kind::Send { message: 9 });
//! encoder
//!     .encode(&event, &mut |frame: &[u8]| -> Result<(), ()> {
//!         frames.push(frame.to_vec());
//!         Ok(())
//!     })
//!     .unwrap();
//! // Header, file symbol, location, then the event itself.
//! assert_eq!(frames.len(), 4);
//! assert_eq!(encoder.stats().definitions, 2);
//! ```

use core::cell::Cell;
use core::panic::Location;

use raceway_core::event::{Event, Kind, Value};
use raceway_core::Name;

use crate::frame::{
    self, event_kinds, At, Frame, Header, WireValue, MAGIC, MAX_FRAME_LEN, MAX_TEXT_LEN,
};

/// Settings of an [`FrameEncoder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameEncoderConfig {
    /// Start a new epoch (header frame, names defined again) after this many frames. This is
    /// the loss window: a reader that attaches mid-stream, or loses a header or definition
    /// frame, is whole again after at most this many frames. Smaller costs bandwidth: every
    /// name in use is defined again each epoch. 0 = only when the table is full or on request.
    pub resync_every: u32,
    /// Ticks per second of the recorder's time source, announced in header frames so the host
    /// can convert times (0 = unknown).
    pub clock_hz: u32,
}

impl FrameEncoderConfig {
    /// A new epoch every 256 frames; unknown clock rate.
    pub const DEFAULT: FrameEncoderConfig = FrameEncoderConfig {
        resync_every: 256,
        clock_hz: 0,
    };
}

impl Default for FrameEncoderConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What an [`FrameEncoder`] has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameEncoderStats {
    /// Events encoded (loss markers included).
    pub events: u64,
    /// Frames handed to `emit` successfully, of every kind.
    pub frames: u64,
    /// Bytes in those frames, delimiters included.
    pub bytes: u64,
    /// `Symbol` and `Location` definition frames among them.
    pub definitions: u64,
    /// Epochs started (header frames sent).
    pub epochs: u64,
    /// Definition texts cut to [`MAX_TEXT_LEN`] bytes.
    pub truncated: u64,
    /// Events of a kind this version cannot encode, sent as a loss marker of one instead.
    pub unencodable: u64,
}

/// What a table entry stands for: a string by address and length, or a location by address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    addr: usize,
    /// The string's length, or [`Key::LOCATION`] for a location.
    len: usize,
}

impl Key {
    /// No string is this long, so it marks a location.
    const LOCATION: usize = usize::MAX;
    /// No string is this long or longer, so lengths from `isize::MAX + 1` to this mark a name
    /// known only by its identity.
    const HASHED: usize = usize::MAX - 1;
    const EMPTY: Key = Key { addr: 0, len: 0 };

    fn text(text: &'static str) -> Key {
        Key {
            addr: text.as_ptr() as usize,
            len: text.len(),
        }
    }

    /// The low half of the identity goes in `addr`, the high half below [`Key::HASHED`] (all of
    /// it on 64-bit hosts; 31 bits on 32-bit targets, which only ever see literal names). Two
    /// words, so the table stays as small as before on devices.
    fn hashed(id: u64) -> Key {
        let high = (id >> 32) as usize & (usize::MAX >> 1);
        Key {
            addr: id as usize,
            len: Key::HASHED - high,
        }
    }

    fn location(location: &'static Location<'static>) -> Key {
        Key {
            addr: location as *const Location<'static> as usize,
            len: Key::LOCATION,
        }
    }
}

/// Something an event refers to by id.
#[derive(Clone, Copy)]
enum Ref {
    Text(&'static str),
    /// A variable or lock known only by its identity ([`Name::forgotten_id`]).
    Hashed(u64),
    Location(&'static Location<'static>),
}

/// Frames core [`Event`]s, defining names and locations once per epoch. See the
/// [module docs](self); `N` (8 to 65535) is the size of the name/location table.
#[derive(Debug)]
pub struct FrameEncoder<const N: usize = 32> {
    keys: [Key; N],
    len: usize,
    epoch: u8,
    header_pending: bool,
    frames_in_epoch: u32,
    config: FrameEncoderConfig,
    stats: FrameEncoderStats,
}

impl<const N: usize> FrameEncoder<N> {
    const TABLE_OK: () = assert!(N >= 8 && N <= u16::MAX as usize, "N must be in 8..=65535");

    /// An encoder whose first frame will be a header. `const`, so it can live in a `static`.
    pub const fn new(config: FrameEncoderConfig) -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::TABLE_OK;
        FrameEncoder {
            keys: [Key::EMPTY; N],
            len: 0,
            epoch: 0,
            header_pending: true,
            frames_in_epoch: 0,
            config,
            stats: FrameEncoderStats {
                events: 0,
                frames: 0,
                bytes: 0,
                definitions: 0,
                epochs: 0,
                truncated: 0,
                unencodable: 0,
            },
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> FrameEncoderStats {
        self.stats
    }

    /// The current epoch.
    pub fn epoch(&self) -> u8 {
        self.epoch
    }

    /// Starts a new epoch with the next frame: a header, then every name defined again. Call
    /// it when a host asks to resynchronise (e.g. a byte received on the UART).
    pub fn resync(&mut self) {
        if !self.header_pending {
            self.epoch = self.epoch.wrapping_add(1);
            self.header_pending = true;
        }
        self.len = 0;
    }

    /// Encodes `event` — any definitions it needs, then its own frame — handing each complete
    /// frame (delimiter included) to `emit`. If `emit` fails, the error is returned at once
    /// and the encoder stays consistent: a definition counts as sent only once `emit` accepted
    /// it, so retrying the event resends what is missing.
    pub fn encode<E>(
        &mut self,
        event: &Event,
        emit: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        // A link in the Raceway server's parent graph: captures and the analyzer order events
        // by their clocks and need nothing from it, so it is not sent (and not a loss).
        if matches!(event.kind, Kind::RemoteParent { .. }) {
            return Ok(());
        }
        if self.config.resync_every != 0 && self.frames_in_epoch >= self.config.resync_every {
            self.resync();
        }
        let refs = references(event);
        if self.len + self.missing(&refs) > N {
            self.resync();
        }
        for r in refs.iter().flatten() {
            self.define(*r, emit)?;
        }
        let frame = match self.event_frame(event) {
            Some(frame) => frame,
            None => {
                self.stats.unencodable += 1;
                Frame::Dropped { count: 1 }
            }
        };
        self.send(&frame, emit)?;
        self.stats.events += 1;
        Ok(())
    }

    /// How many table entries `refs` would add.
    fn missing(&self, refs: &[Option<Ref>; 4]) -> usize {
        let mut missing = 0;
        for (i, r) in refs.iter().enumerate() {
            let Some(r) = *r else { continue };
            // An earlier reference of this event to the same thing adds nothing more.
            let repeated = refs[..i].iter().flatten().any(|earlier| same(*earlier, r));
            if repeated {
                continue;
            }
            match r {
                Ref::Text(text) => missing += usize::from(self.id(Key::text(text)).is_none()),
                Ref::Hashed(id) => missing += usize::from(self.id(Key::hashed(id)).is_none()),
                Ref::Location(location) => {
                    if self.id(Key::location(location)).is_none() {
                        missing += 1 + usize::from(self.id(Key::text(location.file())).is_none());
                    }
                }
            }
        }
        missing
    }

    fn id(&self, key: Key) -> Option<u16> {
        // Small tables and a drain that is not on the record path: a scan is fine and small.
        self.keys[..self.len]
            .iter()
            .position(|k| *k == key)
            .map(|i| i as u16)
    }

    fn define<E>(
        &mut self,
        r: Ref,
        emit: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<u16, E> {
        match r {
            Ref::Text(text) => {
                let key = Key::text(text);
                if let Some(id) = self.id(key) {
                    return Ok(id);
                }
                let id = self.len as u16;
                let cut = cut(text);
                if cut.len() < text.len() {
                    self.stats.truncated += 1;
                }
                self.send(&Frame::Symbol { id, text: cut }, emit)?;
                Ok(self.insert(key))
            }
            Ref::Hashed(hash) => {
                let key = Key::hashed(hash);
                if let Some(id) = self.id(key) {
                    return Ok(id);
                }
                // The decoder reads `#` and 16 hex digits back as the same identity.
                let mut shown = [0; 17];
                let text = raceway_core::name::write_hash(hash, &mut shown);
                let id = self.len as u16;
                self.send(&Frame::Symbol { id, text }, emit)?;
                Ok(self.insert(key))
            }
            Ref::Location(location) => {
                let key = Key::location(location);
                if let Some(id) = self.id(key) {
                    return Ok(id);
                }
                let file = self.define(Ref::Text(location.file()), emit)?;
                let frame = Frame::Location {
                    id: self.len as u16,
                    file,
                    line: location.line(),
                    column: location.column(),
                };
                self.send(&frame, emit)?;
                Ok(self.insert(key))
            }
        }
    }

    fn insert(&mut self, key: Key) -> u16 {
        self.keys[self.len] = key;
        self.len += 1;
        self.stats.definitions += 1;
        (self.len - 1) as u16
    }

    /// Sends one frame, preceded by the epoch's header if it has not gone out yet.
    fn send<E>(
        &mut self,
        frame: &Frame<'_>,
        emit: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.header_pending {
            let header = Frame::Header(Header {
                magic: MAGIC,
                version: frame::VERSION,
                epoch: self.epoch,
                ids: N as u16,
                clock_hz: self.config.clock_hz,
            });
            self.emit(&header, emit)?;
            self.header_pending = false;
            self.frames_in_epoch = 0;
            self.stats.epochs += 1;
        }
        self.emit(frame, emit)
    }

    fn emit<E>(
        &mut self,
        frame: &Frame<'_>,
        emit: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut buf = [0u8; MAX_FRAME_LEN];
        // Every frame this encoder builds fits (texts are cut to MAX_TEXT_LEN; the largest
        // event frame is under 64 bytes). Should that ever break, a loss marker goes out in
        // its place rather than a panic.
        let len = match frame.encode(self.epoch, &mut buf) {
            Ok(wire) => wire.len(),
            Err(_) => {
                self.stats.unencodable += 1;
                let marker = Frame::Dropped { count: 1 };
                marker.encode(self.epoch, &mut buf).map_or(0, <[u8]>::len)
            }
        };
        let wire = &buf[..len];
        emit(wire)?;
        self.stats.frames += 1;
        self.stats.bytes += wire.len() as u64;
        self.frames_in_epoch = self.frames_in_epoch.saturating_add(1);
        Ok(())
    }

    /// The event's frame, with ids of names already defined by [`Self::define`].
    fn event_frame<'e>(&self, event: &'e Event) -> Option<Frame<'e>> {
        if let Kind::Dropped { count } = event.kind {
            return Some(Frame::Dropped { count });
        }
        let at = At {
            time: event.time,
            location: self.id(Key::location(event.location))?,
            thread: event.thread.to_raw(),
        };
        // A name without an id makes the whole frame `None`. It is noted on the side rather
        // than with `?` in every field so that values move as whole `WireValue`s, not through
        // an `Option`: on thumbv7m that kept `memcpy` (about 750 bytes) out of the firmware.
        let undefined = Cell::new(false);
        let key = |text: Key| {
            self.id(text).unwrap_or_else(|| {
                undefined.set(true);
                0
            })
        };
        let name = |text: &'static str| key(Key::text(text));
        let ident = |name: &Name| match name.forgotten_id() {
            Some(id) => key(Key::hashed(id)),
            None => key(Key::text(name.as_str().unwrap_or_default())),
        };
        let value = |value: &'e Value| match value {
            Value::None => WireValue::None,
            Value::Bool(b) => WireValue::Bool(*b),
            Value::I64(v) => WireValue::I64(*v),
            Value::U64(v) => WireValue::U64(*v),
            Value::F64(v) => WireValue::F64(*v),
            Value::Str(symbol) => WireValue::Str(name(symbol.as_str())),
            Value::Text(text) => WireValue::Text(text.as_str()),
        };
        let frame = event_kinds!(encode_event! { &event.kind, at, ident, name, value });
        (!undefined.get()).then_some(frame)
    }
}

/// `match $kind` from an event's kind to its frame: each field converted as its class says,
/// with the encoder's `$ident`, `$name` and `$value` closures giving ids; `None` for a kind
/// that has no frame.
macro_rules! encode_event {
    (
        $kind:expr, $at:ident, $ident:ident, $name:ident, $value:ident
        $($k:ident { $($field:ident: $ty:ty as $class:ident),* $(,)? })*
    ) => {
        match $kind {
            $(Kind::$k { $($field),* } => Frame::$k {
                at: $at,
                $($field: encode_event!(@$class $field, $ident, $name, $value)),*
            },)*
            _ => return None,
        }
    };
    (@ident $field:ident, $ident:ident, $name:ident, $value:ident) => { $ident($field) };
    (@name $field:ident, $ident:ident, $name:ident, $value:ident) => { $name($field) };
    (@symbol $field:ident, $ident:ident, $name:ident, $value:ident) => { $name($field.as_str()) };
    (@value $field:ident, $ident:ident, $name:ident, $value:ident) => { $value($field) };
    (@thread $field:ident, $($closures:ident),*) => { $field.to_raw() };
    (@access $field:ident, $($closures:ident),*) => { frame::access_code(*$field) };
    (@lock_kind $field:ident, $($closures:ident),*) => { frame::lock_kind_code(*$field) };
    (@ordering $field:ident, $($closures:ident),*) => { frame::ordering_code(*$field) };
    (@direction $field:ident, $($closures:ident),*) => { frame::direction_code(*$field) };
    (@trace_id $field:ident, $($closures:ident),*) => { $field.to_bytes() };
    (@span_id $field:ident, $($closures:ident),*) => { $field.to_bytes() };
    (@u16 $field:ident, $($closures:ident),*) => { *$field };
    (@u64 $field:ident, $($closures:ident),*) => { *$field };
}
use encode_event;

/// Everything `event` refers to by id, location first. At most four: the location, a name and
/// two string values (an error's message and stack).
///
/// This walks the kinds a second time, beside [`FrameEncoder::event_frame`], on purpose: one
/// mapping function for both (the frame built with an id callback that either records or looks up)
/// made the QEMU firmware example's flash 1 352 bytes larger (11 732 -> 13 084, thumbv7m release),
/// and 1 476 larger through a `dyn` callback, which also brought `memcpy` back. Both walks are
/// generated from the one kind table (`event_kinds!`), so they name the same fields; generating
/// this one made the firmware 8 bytes smaller (11 856 -> 11 848).
fn references(event: &Event) -> [Option<Ref>; 4] {
    let value = |value: &Value| match value {
        Value::Str(symbol) => Some(Ref::Text(symbol.as_str())),
        _ => None,
    };
    let text = |text: &'static str| Some(Ref::Text(text));
    let ident = |name: &Name| match name.forgotten_id() {
        Some(id) => Some(Ref::Hashed(id)),
        None => name.as_str().map(Ref::Text),
    };
    let (a, b, c) = event_kinds!(event_references! {
        &event.kind, ident, text, value, {
            // A loss marker has no location, thread or time on the wire.
            Kind::Dropped { .. } => return [None; 4],
        }
    });
    [Some(Ref::Location(event.location)), a, b, c]
}

/// `match $kind` from an event's kind to what its frame refers to by id, in field order and
/// padded with `None` to three (a kind with more fails to compile), through the `$ident`,
/// `$text` and `$value` closures.
macro_rules! event_references {
    (
        $kind:expr, $ident:ident, $text:ident, $value:ident, { $($arms:tt)* }
        $($k:ident { $($field:ident: $ty:ty as $class:ident),* $(,)? })*
    ) => {
        match $kind {
            $($arms)*
            $(Kind::$k { $($field: event_references!(@bind $class $field)),* } => {
                event_references!(@refs [$ident $text $value] [] $($class $field)*)
            })*
            _ => (None, None, None),
        }
    };
    // Binds the fields that name something; passes over the rest.
    (@bind ident $field:ident) => { $field };
    (@bind name $field:ident) => { $field };
    (@bind symbol $field:ident) => { $field };
    (@bind value $field:ident) => { $field };
    (@bind $other:ident $field:ident) => { _ };
    // Collects the references field by field, then pads them to three.
    (@refs $c:tt [$($r:expr),*] ident $field:ident $($rest:tt)*) => {
        event_references!(@refs $c [$($r,)* event_references!(@ref $c ident $field)] $($rest)*)
    };
    (@refs $c:tt [$($r:expr),*] name $field:ident $($rest:tt)*) => {
        event_references!(@refs $c [$($r,)* event_references!(@ref $c name $field)] $($rest)*)
    };
    (@refs $c:tt [$($r:expr),*] symbol $field:ident $($rest:tt)*) => {
        event_references!(@refs $c [$($r,)* event_references!(@ref $c symbol $field)] $($rest)*)
    };
    (@refs $c:tt [$($r:expr),*] value $field:ident $($rest:tt)*) => {
        event_references!(@refs $c [$($r,)* event_references!(@ref $c value $field)] $($rest)*)
    };
    (@refs $c:tt [$($r:expr),*] $other:ident $field:ident $($rest:tt)*) => {
        event_references!(@refs $c [$($r),*] $($rest)*)
    };
    (@refs $c:tt []) => { (None, None, None) };
    (@refs $c:tt [$a:expr]) => { ($a, None, None) };
    (@refs $c:tt [$a:expr, $b:expr]) => { ($a, $b, None) };
    (@refs $c:tt [$a:expr, $b:expr, $c3:expr]) => { ($a, $b, $c3) };
    (@ref [$ident:ident $text:ident $value:ident] ident $field:ident) => { $ident($field) };
    (@ref [$ident:ident $text:ident $value:ident] name $field:ident) => { $text($field) };
    (@ref [$ident:ident $text:ident $value:ident] symbol $field:ident) => {
        $text($field.as_str())
    };
    (@ref [$ident:ident $text:ident $value:ident] value $field:ident) => { $value($field) };
}
use event_references;

fn same(a: Ref, b: Ref) -> bool {
    match (a, b) {
        (Ref::Text(a), Ref::Text(b)) => Key::text(a) == Key::text(b),
        (Ref::Hashed(a), Ref::Hashed(b)) => a == b,
        (Ref::Location(a), Ref::Location(b)) => core::ptr::eq(a, b),
        // A location's file may be the same string as a name: counted twice, which only makes
        // the estimate of missing entries safe (never too low).
        _ => false,
    }
}

/// `text` cut to at most [`MAX_TEXT_LEN`] bytes at a character boundary.
fn cut(text: &str) -> &str {
    raceway_core::event::cut_at_char_boundary(text, MAX_TEXT_LEN)
}
