//! The event model: one fixed-size `Copy` record per thing that happened.
//!
//! An [`Event`] holds no heap pointers. Variables and locks are [`Name`]s (a string literal
//! costs nothing; a dynamic name is interned once through [`crate::symbol::Interner`], or kept
//! as its 64-bit identity alone when the table is full), other names are `&'static str`, string
//! values are
//! [`Symbol`]s or short inline text, and the source location is the `'static`
//! [`core::panic::Location`] that `#[track_caller]` hands out for free.
//!
//! Events carry only the logical thread that recorded them. Per-thread counters and full vector
//! clocks are rebuilt by the consumer from ring order (see [`crate::causality`]), so the record
//! path stays a claim, a copy and a publish.
//!
//! # Size
//!
//! 64 bytes on 32-bit targets (Cortex-M) and 80 on 64-bit ones, checked at compile time against
//! the hard limit of 128. On 64-bit targets the 64-byte goal gives way to `&'static str` names: a
//! fat pointer is what makes a literal name free at run time, where a 4-byte id would cost a
//! table lookup per event.
//!
//! # Examples
//!
//! ```
//! use raceway_core::event::{Access, Event, Kind, ThreadId, Value};
//!
//! let event = Event::new(
//!     7,
//!     ThreadId::from_raw(1),
//!     Kind::StateChange {
//!         variable: "accounts.alice.balance".into(),
//!         access: Access::Write,
//!         old: Value::I64(100),
//!         new: Value::I64(50),
//!     },
//! );
//! assert_eq!(event.kind.variable().unwrap(), "accounts.alice.balance");
//! ```

use core::fmt;
use core::panic::Location;

use crate::name::Name;
use crate::symbol::Symbol;
use crate::trace_context::{SpanId, TraceId};

/// One recorded event: when, where in the source, which logical thread, and what.
///
/// In the recording process the location is the `'static` [`Location`] from `#[track_caller]`;
/// a host that decodes events from a device or a capture file uses [`Site`] instead. Everything
/// downstream (analysis, encoders) takes any [`SourceLocation`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Event<L = &'static Location<'static>> {
    /// Timestamp from the recorder's time source (nanoseconds or device ticks).
    pub time: u64,
    /// The source line that recorded the event.
    pub location: L,
    /// The logical thread (OS thread, task, request, interrupt handler) that recorded it.
    pub thread: ThreadId,
    /// What happened.
    pub kind: Kind,
}

const _: () = assert!(
    core::mem::size_of::<Event>() <= 128,
    "events must stay small"
);
#[cfg(target_pointer_width = "32")]
const _: () = assert!(
    core::mem::size_of::<Event>() <= 64,
    "events fit 64 bytes on devices"
);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(
    core::mem::size_of::<Event>() <= 80,
    "events fit 80 bytes on hosts"
);

impl Event {
    /// An event recorded at the caller's source location.
    #[track_caller]
    #[inline]
    pub fn new(time: u64, thread: ThreadId, kind: Kind) -> Self {
        Event {
            time,
            location: Location::caller(),
            thread,
            kind,
        }
    }

    /// The marker that stands in the stream where `count` events were lost (to a full lane or
    /// ring, or on the way); it is located where it is made.
    #[track_caller]
    pub fn dropped(count: u32) -> Self {
        Event {
            time: 0,
            location: Location::caller(),
            thread: ThreadId::NONE,
            kind: Kind::Dropped { count },
        }
    }
}

/// Where in the source an event was recorded.
pub trait SourceLocation: Copy + Eq + core::hash::Hash + fmt::Debug {
    /// The source file.
    fn file(&self) -> &str;
    /// The line, from 1.
    fn line(&self) -> u32;
    /// The column, from 1.
    fn column(&self) -> u32;
}

impl SourceLocation for &'static Location<'static> {
    fn file(&self) -> &str {
        Location::file(self)
    }
    fn line(&self) -> u32 {
        Location::line(self)
    }
    fn column(&self) -> u32 {
        Location::column(self)
    }
}

/// A source location rebuilt from data (a decoded device stream or capture file), where no
/// [`Location`] can exist. The host decoder keeps file names `'static` by interning them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Site {
    /// The source file.
    pub file: &'static str,
    /// The line, from 1 (0 when unknown).
    pub line: u32,
    /// The column, from 1 (0 when unknown).
    pub column: u32,
}

impl SourceLocation for Site {
    fn file(&self) -> &str {
        self.file
    }
    fn line(&self) -> u32 {
        self.line
    }
    fn column(&self) -> u32 {
        self.column
    }
}

/// A logical thread: an OS thread, an async task, a request context or an interrupt handler.
///
/// Each one is its own vector clock component, so concurrent requests in one process stay
/// distinguishable. Ids come from [`crate::recorder::Recorder::new_thread`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ThreadId(u32);

impl ThreadId {
    /// No thread: used by stream markers that no thread recorded.
    pub const NONE: ThreadId = ThreadId(0);

    /// A thread id from its raw number (0 is [`ThreadId::NONE`]).
    pub const fn from_raw(raw: u32) -> Self {
        ThreadId(raw)
    }

    /// The raw number, for encoders.
    pub const fn to_raw(self) -> u32 {
        self.0
    }
}

impl fmt::Display for ThreadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}", self.0)
    }
}

/// What an event records. The variants map one to one onto the Raceway server's event kinds,
/// plus the synchronisation edges and the loss marker the server has no kind for.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Kind {
    /// A read or write of shared state (`StateChange` on the wire).
    StateChange {
        /// The variable's name, e.g. `accounts.alice.balance`.
        variable: Name,
        /// How it was accessed.
        access: Access,
        /// The value before the access (`Value::None` when unknown or a read).
        old: Value,
        /// The value after the access (or the value read).
        new: Value,
    },
    /// A function was entered (`FunctionCall`).
    FunctionCall {
        /// The function's name.
        function: &'static str,
        /// A summary of its arguments.
        args: Value,
    },
    /// A function returned after `duration_ns` (the wire has no return kind: encoders map it).
    FunctionReturn {
        /// The function's name.
        function: &'static str,
        /// How long the call took.
        duration_ns: u64,
        /// What it returned, if worth recording.
        value: Value,
    },
    /// This thread started `child` (`AsyncSpawn`): everything before happens before the child.
    Spawn {
        /// The new logical thread.
        child: ThreadId,
    },
    /// This thread waited for `child` to finish (`AsyncAwait`): the child's events happen before.
    Join {
        /// The awaited logical thread.
        child: ThreadId,
    },
    /// The lock is now held (recorded after it was really acquired).
    LockAcquire {
        /// The lock's name.
        lock: Name,
        /// What kind of lock and how it is held.
        lock_kind: LockKind,
    },
    /// The lock is about to be released (recorded before it really is).
    LockRelease {
        /// The lock's name.
        lock: Name,
        /// What kind of lock and how it was held.
        lock_kind: LockKind,
    },
    /// A memory fence.
    MemoryFence {
        /// Its ordering.
        ordering: FenceOrdering,
    },
    /// An HTTP request sent or received; `span` links the two ends (send → receive edge).
    HttpRequest {
        /// `GET`, `POST`, ...
        method: &'static str,
        /// The URL or route.
        url: Value,
        /// Whether this process sent or received it.
        direction: Direction,
        /// The span id carried in the propagation headers (0 when none).
        span: u64,
    },
    /// An HTTP response sent or received.
    HttpResponse {
        /// The status code.
        status: u16,
        /// Time from request to response.
        duration_ns: u64,
        /// Whether this process sent or received it.
        direction: Direction,
        /// The span id of the exchange (0 when none).
        span: u64,
    },
    /// A database query (`DatabaseQuery`).
    DatabaseQuery {
        /// The database's name.
        database: &'static str,
        /// The query text.
        query: Value,
        /// How long it took.
        duration_ns: u64,
    },
    /// A database result (`DatabaseResult`).
    DatabaseResult {
        /// Rows affected or returned.
        rows_affected: u64,
    },
    /// An error (`Error`).
    Error {
        /// The error's type, e.g. `io::Error`.
        error_type: &'static str,
        /// Its message.
        message: Value,
        /// Its stack trace: one interned string ([`Value::Str`]; short [`Value::Text`] also
        /// works) with the frames separated by `'\n'`, or [`Value::None`] when none was
        /// captured (encoders then fall back to the event's source location).
        stack: Value,
    },
    /// Anything else (`Custom`).
    Custom {
        /// The event's name.
        name: &'static str,
        /// Its data.
        data: Value,
    },
    /// A message was sent on an instrumented channel or queue: happens before its receipt.
    Send {
        /// An id both ends agree on.
        message: u64,
    },
    /// A message was received: everything before its [`Kind::Send`] happens before this.
    Receive {
        /// The id the sender used.
        message: u64,
    },
    /// The recording thread belongs to this trace, as this span (recorded once, as a logical
    /// thread's first event; spawned threads inherit their parent's). Metadata for encoders,
    /// not an event of its own on the wire.
    TraceStart {
        /// The trace (a UUID on the wire).
        trace_id: TraceId,
        /// The thread's span (`distributed_span_id` on the wire).
        span_id: SpanId,
        /// The caller's span when the trace came from another service (`upstream_span_id` on
        /// the wire):
        ///
        /// * [`Value::None`]: no upstream (a trace started here, or a spawned thread);
        /// * [`Value::U64`]: a W3C span id, the number whose big-endian bytes are the id
        ///   (`SpanId::from(n)`; written as 16 lowercase hex digits);
        /// * [`Value::Str`]: an upstream span that is not a W3C span id (other SDKs may send
        ///   any text, e.g. `parent-span-1111`), interned and kept verbatim (short
        ///   [`Value::Text`] is read the same way).
        ///
        /// Any other value, `U64(0)` and empty text mean no upstream.
        upstream: Value,
    },
    /// One entry of a vector clock received from another service (`raceway-clock`), kept by the
    /// recording thread and passed on in its `causality_vector`.
    RemoteClock {
        /// The component, e.g. `checkout#web-1`.
        component: Symbol,
        /// Its counter.
        counter: u64,
    },
    /// The recording thread's next event continues a chain of events another logical thread
    /// (usually another process) recorded: on the wire its `parent_id` is `event`, so the
    /// Raceway server, which orders threads only through `parent_id` ancestry, sees the
    /// ordering. Recorded by a callee for the caller's request event (named in
    /// `raceway-clock`) and by a caller for the callee's response event (named in a response
    /// header). Metadata for encoders, not an event of its own on the wire.
    RemoteParent {
        /// The remote event's wire id (a UUID's 16 bytes).
        event: [u8; 16],
        /// How deep the remote event may be in its trace's `parent_id` graph, at most: encoders
        /// keep every chain they extend from it within their depth bound.
        depth: u32,
    },
    /// The recording thread will record nothing more: consumers may free what they keep for it.
    ThreadEnd,
    /// `count` events were lost here because the ring was full. Anything ordered through them
    /// (a lock release, a spawn) may be missing, so analysis after this point is uncertain.
    Dropped {
        /// How many events were lost.
        count: u32,
    },
}

impl<L> Event<L> {
    /// The same event with its location mapped (e.g. a [`Location`] to a [`Site`]).
    pub fn with_location<M>(self, location: M) -> Event<M> {
        Event {
            time: self.time,
            location,
            thread: self.thread,
            kind: self.kind,
        }
    }
}

impl Kind {
    /// The variable a state change touches, if this is one.
    pub fn variable(&self) -> Option<Name> {
        match *self {
            Kind::StateChange { variable, .. } => Some(variable),
            _ => None,
        }
    }
}

/// How shared state was accessed (the server's `access_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// A plain read.
    Read,
    /// A plain write.
    Write,
    /// An atomic load.
    AtomicRead,
    /// An atomic store.
    AtomicWrite,
    /// An atomic read-modify-write.
    AtomicRmw,
}

impl Access {
    /// Whether the access changes the value.
    pub const fn is_write(self) -> bool {
        matches!(
            self,
            Access::Write | Access::AtomicWrite | Access::AtomicRmw
        )
    }

    /// Whether the access is atomic (atomics never race with each other).
    pub const fn is_atomic(self) -> bool {
        matches!(
            self,
            Access::AtomicRead | Access::AtomicWrite | Access::AtomicRmw
        )
    }

    /// The server's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Access::Read => "Read",
            Access::Write => "Write",
            Access::AtomicRead => "AtomicRead",
            Access::AtomicWrite => "AtomicWrite",
            Access::AtomicRmw => "AtomicRMW",
        }
    }
}

/// What kind of lock, and how it is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LockKind {
    /// An exclusive mutex.
    Mutex,
    /// A reader-writer lock held for reading (shared).
    RwRead,
    /// A reader-writer lock held for writing (exclusive).
    RwWrite,
    /// A critical section (interrupts masked) on firmware.
    CriticalSection,
}

impl LockKind {
    /// The server's `lock_type` spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            LockKind::Mutex => "Mutex",
            LockKind::RwRead => "RwLockRead",
            LockKind::RwWrite => "RwLockWrite",
            LockKind::CriticalSection => "CriticalSection",
        }
    }

    /// Whether holding it this way excludes every other holder.
    pub const fn is_exclusive(self) -> bool {
        !matches!(self, LockKind::RwRead)
    }
}

/// A memory fence's ordering (the server's `MemoryFence.ordering`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FenceOrdering {
    /// `Relaxed`.
    Relaxed,
    /// `Acquire`.
    Acquire,
    /// `Release`.
    Release,
    /// `AcqRel`.
    AcqRel,
    /// `SeqCst`.
    SeqCst,
}

impl FenceOrdering {
    /// The server's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            FenceOrdering::Relaxed => "Relaxed",
            FenceOrdering::Acquire => "Acquire",
            FenceOrdering::Release => "Release",
            FenceOrdering::AcqRel => "AcqRel",
            FenceOrdering::SeqCst => "SeqCst",
        }
    }
}

/// Which end of an HTTP exchange this process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// This process sent the request (client side).
    Outbound,
    /// This process received the request (server side).
    Inbound,
}

/// A small value: old/new values, arguments, messages. 16 bytes, no heap.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Value {
    /// No value (the wire's `null`).
    #[default]
    None,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer.
    U64(u64),
    /// A float.
    F64(f64),
    /// An interned string.
    Str(Symbol),
    /// Short text kept inline (up to [`InlineStr::CAPACITY`] bytes).
    Text(InlineStr),
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

macro_rules! value_from_int {
    ($($t:ty => $variant:ident as $as:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::$variant(v as $as)
            }
        }
    )*};
}
value_from_int!(i8 => I64 as i64, i16 => I64 as i64, i32 => I64 as i64, i64 => I64 as i64,
    isize => I64 as i64, u8 => U64 as u64, u16 => U64 as u64, u32 => U64 as u64,
    u64 => U64 as u64, usize => U64 as u64, f32 => F64 as f64, f64 => F64 as f64);

impl From<Symbol> for Value {
    fn from(v: Symbol) -> Self {
        Value::Str(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::None, Into::into)
    }
}

/// `text` cut to at most `max` bytes without splitting a character: the one place the
/// workspace shortens text (inline event strings, interned names, UART frames, JSON strings).
#[inline]
pub fn cut_at_char_boundary(text: &str, max: usize) -> &str {
    let mut len = text.len().min(max);
    while !text.is_char_boundary(len) {
        len -= 1;
    }
    &text[..len]
}

/// Up to 14 bytes of UTF-8 kept inside the event; longer text is cut at a character boundary.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct InlineStr {
    len: u8,
    bytes: [u8; InlineStr::CAPACITY],
}

impl InlineStr {
    /// How many bytes fit.
    pub const CAPACITY: usize = 14;

    /// `text`, cut to at most [`Self::CAPACITY`] bytes without splitting a character.
    pub fn truncate(text: &str) -> Self {
        let len = cut_at_char_boundary(text, Self::CAPACITY).len();
        let mut bytes = [0; Self::CAPACITY];
        bytes[..len].copy_from_slice(&text.as_bytes()[..len]);
        InlineStr {
            len: len as u8,
            bytes,
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        let bytes = &self.bytes[..usize::from(self.len)];
        // Checking again would cost firmware about 500 bytes of flash for UTF-8 validation.
        debug_assert!(core::str::from_utf8(bytes).is_ok());
        // SAFETY: the fields are private and only `truncate` writes them: it copies the first
        // `len` bytes of a `&str` cut at a character boundary, so they are valid UTF-8.
        unsafe { core::str::from_utf8_unchecked(bytes) }
    }
}

impl fmt::Debug for InlineStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_is_small() {
        assert!(core::mem::size_of::<Event>() <= 80);
        assert_eq!(core::mem::size_of::<Value>(), 16);
    }

    #[test]
    fn cutting_never_splits_a_character() {
        assert_eq!(cut_at_char_boundary("aé", 2), "a");
        assert_eq!(cut_at_char_boundary("aé", 3), "aé");
        assert_eq!(cut_at_char_boundary("abc", 10), "abc");
        assert_eq!(cut_at_char_boundary("€", 2), "");
    }

    #[test]
    fn inline_str_cuts_at_char_boundary() {
        assert_eq!(InlineStr::truncate("short").as_str(), "short");
        assert_eq!(
            InlineStr::truncate("exactly14bytes").as_str(),
            "exactly14bytes"
        );
        assert_eq!(
            InlineStr::truncate("fifteen bytes!!").as_str(),
            "fifteen bytes!"
        );
        // "é" is two bytes: 13 ASCII + "é" would split at 14.
        assert_eq!(
            InlineStr::truncate("aaaaaaaaaaaaaé").as_str(),
            "aaaaaaaaaaaaa"
        );
    }

    #[test]
    fn access_classification() {
        assert!(Access::Write.is_write() && !Access::Read.is_write());
        assert!(Access::AtomicRmw.is_write() && Access::AtomicRmw.is_atomic());
        assert_eq!(Access::AtomicRmw.as_str(), "AtomicRMW");
    }
}
