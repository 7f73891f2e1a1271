//! The wire format: what one frame holds, and how it is sealed and unsealed.
//!
//! A [`Frame`] is written as postcard bytes, followed by a CRC (32 bits for headers and
//! definitions, 16 for everything else) and COBS-stuffed into a buffer, ending with the `0x00`
//! delimiter: see the [crate docs](crate#frame-format) for the byte-level specification. The
//! encoder and the decoder are built on the three functions here; use them directly to inspect or
//! produce frames by hand.
//!
//! [`Frame::encode`] does not go through serde: a small writer (`frame/write.rs`) emits
//! exactly the bytes postcard's serialiser, CRC flavor and COBS flavor produce for the derived
//! `Serialize`, in one pass into the output buffer, with table-free CRCs. On the device this is
//! the whole encoding path. The derived `Serialize` is still there for other uses (it costs
//! nothing unless called), and the tests check the two byte for byte. Decoding
//! ([`Frame::decode`], host side) uses postcard and the derived `Deserialize`. The code tables
//! of the small enums inside event frames are in `frame/codes.rs`.
//!
//! The event kinds are listed once, in `event_kinds!` here: [`Frame`]'s event variants, the
//! frame kind numbers, the writer, the encoder's kind-to-frame mapping and the decoder's
//! frame-to-kind mapping are all generated from that list, so a kind cannot be numbered or
//! mapped differently in one of them.
//!
//! # Benchmarks
//!
//! Flash that Raceway adds to the QEMU firmware example (`.ci/firmware.sh`, thumbv7m, release,
//! `opt-level = "s"`, LTO): 12 544 bytes when frames went through serde, postcard's flavors and
//! the `crc` crate's 512-byte table; 8 056 bytes with this writer and a CRC-16 only; 8 084 with
//! the CRC-32C for definitions added (version 2), because both checksums are reflected CRCs
//! with all-ones initial value and final xor and share one loop (two loops, one per checksum,
//! made it 8 344). The CRC costs eight shift-and-xor steps per byte instead of a table lookup,
//! which suits a drain that runs in the main loop or an idle task.
//!
//! Generating the writer and the encoder's mapping from `event_kinds!` costs nothing: the
//! firmware's flash stayed at 11 856 bytes (4 116 without Raceway; rustc 1.95.0) and its
//! disassembly (`arm-none-eabi-objdump -d`) is identical, because the macros expand to the
//! same `match`es as the hand-written ones. (A shared mapping *function* had cost 1 352 bytes.)
//! Generating the encoder's list of what an event refers to as well made it 11 848.
//!
//! # Examples
//!
//! ```
//! use raceway_transport_uart::frame::{self, Frame, MAX_FRAME_LEN};
//!
//! let mut buf = [0u8; MAX_FRAME_LEN];
//! let wire = Frame::Dropped { count: 3 }.encode(5, &mut buf).unwrap();
//! assert_eq!(wire.last(), Some(&0)); // the delimiter
//!
//! let mut stuffed = wire[..wire.len() - 1].to_vec();
//! let payload = frame::unstuff(&mut stuffed).unwrap();
//! assert_eq!(Frame::decode(payload, 5), Ok(Frame::Dropped { count: 3 }));
//! // The wrong epoch fails the checksum rather than decoding against stale ids.
//! assert!(Frame::decode(payload, 4).is_err());
//! ```

use core::fmt;

use crc::{Crc, CRC_16_IBM_SDLC, CRC_32_ISCSI};
use serde::{Deserialize, Serialize};

mod codes;
mod write;

pub(crate) use codes::*;

/// The first four bytes of every header frame's fields.
pub const MAGIC: [u8; 4] = *b"RWAY";

/// The frame format version this crate writes and reads. Version 2 seals headers and
/// definitions with a CRC-32C; version 1 sealed every frame with a CRC-16.
pub const VERSION: u8 = 2;

/// The longest frame on the wire, delimiter included. Longer input is skipped by readers.
pub const MAX_FRAME_LEN: usize = 256;

/// The longest definition text (a name or file path) in bytes; longer text is cut at a
/// character boundary by the encoder.
pub const MAX_TEXT_LEN: usize = 200;

/// The checksum of event frames and loss markers: CRC-16/IBM-SDLC (the X.25 / HDLC frame check
/// sequence), as the decoder checks it through postcard's CRC flavor. The encoder computes the
/// same sum with [`write::crc_update`], without this table.
pub(crate) static CRC: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_SDLC);

/// The checksum of headers and definitions, which the rest of an epoch depends on: CRC-32C (iSCSI,
/// Castagnoli). The encoder computes it with [`write::crc_update`], without a table.
pub(crate) static CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISCSI);

/// The event kinds on the wire, written once: each kind's frame fields after `at`, with their
/// wire type and what they carry (`ident`, `name` and `symbol` are definition ids; `access`,
/// `lock_kind`, `ordering` and `direction` are codes from `frame/codes.rs`; `thread` is a
/// thread's raw number; `trace_id` and `span_id` are raw bytes; `u16` and `u64` are the number
/// itself). Field names are those of the [`raceway_core::Kind`] variant of the same name.
///
/// `event_kinds!(callback! { args })` expands to `callback! { args  Kind { field: type as class,
/// ... } ... }`, in frame-kind order. [`Frame`] and [`Tag`] are declared from it, and the writer
/// (`frame/write.rs`), the encoder's kind-to-frame mapping and list of references, and the
/// decoder's frame-to-kind mapping are generated from it: the same `match`es as written by hand, so
/// no flash is added.
macro_rules! event_kinds {
    ($callback:ident! { $($args:tt)* }) => {
        $callback! {
            $($args)*
            StateChange {
                variable: u16 as ident,
                access: u8 as access,
                old: WireValue<'a> as value,
                new: WireValue<'a> as value,
            }
            FunctionCall { function: u16 as name, args: WireValue<'a> as value }
            FunctionReturn {
                function: u16 as name,
                duration_ns: u64 as u64,
                value: WireValue<'a> as value,
            }
            Spawn { child: u32 as thread }
            Join { child: u32 as thread }
            LockAcquire { lock: u16 as ident, lock_kind: u8 as lock_kind }
            LockRelease { lock: u16 as ident, lock_kind: u8 as lock_kind }
            MemoryFence { ordering: u8 as ordering }
            HttpRequest {
                method: u16 as name,
                url: WireValue<'a> as value,
                direction: u8 as direction,
                span: u64 as u64,
            }
            HttpResponse {
                status: u16 as u16,
                duration_ns: u64 as u64,
                direction: u8 as direction,
                span: u64 as u64,
            }
            DatabaseQuery {
                database: u16 as name,
                query: WireValue<'a> as value,
                duration_ns: u64 as u64,
            }
            DatabaseResult { rows_affected: u64 as u64 }
            Error {
                error_type: u16 as name,
                message: WireValue<'a> as value,
                stack: WireValue<'a> as value,
            }
            Custom { name: u16 as name, data: WireValue<'a> as value }
            Send { message: u64 as u64 }
            Receive { message: u64 as u64 }
            TraceStart {
                trace_id: [u8; 16] as trace_id,
                span_id: [u8; 8] as span_id,
                upstream: WireValue<'a> as value,
            }
            RemoteClock { component: u16 as symbol, counter: u64 as u64 }
            ThreadEnd {}
        }
    };
}

pub(crate) use event_kinds;

/// Declares [`Frame`] (the four stream frames, then the event kinds) and [`Tag`] from the table.
macro_rules! declare_frames {
    ($($kind:ident { $($field:ident: $ty:ty as $class:ident),* $(,)? })*) => {
        /// One frame. The variant index is the frame kind on the wire; see the
        /// [crate docs](crate#frame-format). Event frames carry an event's [`At`] and the
        /// fields of the [`raceway_core::Kind`] of the same name, names and strings as
        /// definition ids, and `access`, `lock_kind`, `ordering` and `direction` as codes.
        #[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
        pub enum Frame<'a> {
            /// Starts an epoch (kind 0).
            Header(Header),
            /// Defines `id` as `text` for the rest of the epoch (kind 1).
            #[allow(missing_docs)]
            Symbol { id: u16, text: &'a str },
            /// Defines `id` as a source location; `file` is a symbol id (kind 2).
            #[allow(missing_docs)]
            Location {
                id: u16,
                file: u16,
                line: u32,
                column: u32,
            },
            /// The device lost `count` events here (kind 3).
            #[allow(missing_docs)]
            Dropped { count: u32 },
            $(
                #[doc = concat!("[`Kind::", stringify!($kind), "`](raceway_core::Kind::", stringify!($kind), ").")]
                #[allow(missing_docs)] // the fields mirror `raceway_core::Kind`, documented there
                $kind { at: At, $($field: $ty),* },
            )*
        }

        /// Each frame's kind number, the first byte postcard writes: its variant index in
        /// [`Frame`], which is declared from the same list.
        #[derive(Clone, Copy)]
        #[repr(u8)]
        pub(crate) enum Tag {
            Header,
            Symbol,
            Location,
            Dropped,
            $($kind,)*
        }
    };
}

event_kinds!(declare_frames! {});

/// Whether frames of this kind (the first postcard byte) are sealed with a CRC-32C: headers and
/// definitions. A damaged definition that passed its check would misname every later event
/// that uses it, so these get the stronger check; they are rare, so the two extra bytes cost
/// little.
pub const fn wide_crc(kind: u8) -> bool {
    kind <= Tag::Location as u8
}

/// The stream header: starts an epoch and tells the reader what it is reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`MAGIC`].
    pub magic: [u8; 4],
    /// The format version, [`VERSION`].
    pub version: u8,
    /// The epoch that starts here: every following frame's CRC is seeded with it.
    pub epoch: u8,
    /// How many ids the encoder's table holds (ids in this epoch stay below it).
    pub ids: u16,
    /// Ticks per second of the device's time source (0 when unknown).
    pub clock_hz: u32,
}

/// When, where and who, common to every event frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct At {
    /// The device's timestamp.
    pub time: u64,
    /// The id of the event's `Location` definition.
    pub location: u16,
    /// The logical thread's raw number.
    pub thread: u32,
}

/// A value on the wire: like [`raceway_core::Value`], with strings by id or inline.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum WireValue<'a> {
    /// No value.
    None,
    /// A boolean.
    Bool(bool),
    /// A signed integer (zigzag varint).
    I64(i64),
    /// An unsigned integer (varint).
    U64(u64),
    /// A float (8 bytes little-endian).
    F64(f64),
    /// A string by the id of its `Symbol` definition.
    Str(u16),
    /// Short text sent inline.
    Text(&'a str),
}

/// Why a frame could not be encoded or decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// The output buffer is too small: give [`Frame::encode`] [`MAX_FRAME_LEN`] bytes.
    BufferTooSmall,
    /// The bytes are not valid COBS: the frame was corrupted in transit.
    BadStuffing,
    /// The frame parsed but its CRC does not match: corrupted, or sealed with another epoch.
    BadChecksum,
    /// The bytes do not form a frame of this version (unknown kind, truncated or trailing
    /// fields, a header without the magic).
    Malformed,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FrameError::BufferTooSmall => "the frame does not fit in the buffer",
            FrameError::BadStuffing => "the frame is not valid COBS",
            FrameError::BadChecksum => "the frame's checksum does not match",
            FrameError::Malformed => "the bytes are not a frame of this version",
        })
    }
}

impl<'a> Frame<'a> {
    /// Decodes an unstuffed non-header frame sealed with `epoch` (see [`unstuff`]).
    pub fn decode(payload: &'a [u8], epoch: u8) -> Result<Frame<'a>, FrameError> {
        match Self::parse(payload, Some(epoch))? {
            Frame::Header(_) => Err(FrameError::Malformed),
            frame => Ok(frame),
        }
    }

    /// Decodes an unstuffed header frame (unseeded CRC, [`MAGIC`] checked). A header of
    /// another version fails with [`FrameError::Malformed`]; [`header_version`] tells which.
    pub fn decode_header(payload: &'a [u8]) -> Result<Header, FrameError> {
        match Self::parse(payload, None)? {
            Frame::Header(header) if header.magic == MAGIC => Ok(header),
            _ => Err(FrameError::Malformed),
        }
    }

    /// Whether this frame is a definition (`Symbol` or `Location`).
    pub fn is_definition(&self) -> bool {
        matches!(self, Frame::Symbol { .. } | Frame::Location { .. })
    }

    /// Parses `payload`, checking the CRC its kind calls for, seeded with `epoch` if given.
    fn parse(payload: &'a [u8], epoch: Option<u8>) -> Result<Frame<'a>, FrameError> {
        use postcard::de_flavors::crc as flavor;
        let seed = epoch.as_slice();
        let parsed = if payload.first().is_some_and(|&kind| wide_crc(kind)) {
            let mut digest = CRC32.digest();
            digest.update(seed);
            flavor::take_from_bytes_u32::<Frame<'a>>(payload, digest)
        } else {
            let mut digest = CRC.digest();
            digest.update(seed);
            flavor::take_from_bytes_u16::<Frame<'a>>(payload, digest)
        };
        match parsed {
            Ok((frame, [])) => Ok(frame),
            Ok(_) => Err(FrameError::Malformed),
            Err(postcard::Error::DeserializeBadCrc) => Err(FrameError::BadChecksum),
            Err(_) => Err(FrameError::Malformed),
        }
    }
}

/// The version of an unstuffed header frame of any version, if `payload` is one (kind 0, the
/// magic, and a CRC over the whole payload that matches: a CRC-32C as from version 2, or the
/// CRC-16 of version 1). Lets a reader report a stream of a version it does not speak instead
/// of calling it corrupt.
pub fn header_version(payload: &[u8]) -> Option<u8> {
    let sealed = |crc_len: usize| {
        let (body, crc) = payload.split_at(payload.len().checked_sub(crc_len)?);
        let ok = match *crc {
            [a, b, c, d] => u32::from_le_bytes([a, b, c, d]) == CRC32.checksum(body),
            [a, b] => u16::from_le_bytes([a, b]) == CRC.checksum(body),
            _ => false,
        };
        let is_header = body.first() == Some(&0) && body.get(1..5) == Some(&MAGIC[..]);
        (ok && is_header).then(|| body.get(5).copied()).flatten()
    };
    sealed(4).or_else(|| sealed(2))
}

/// Undoes COBS in place on one frame's bytes (without its `0x00` delimiter), returning the
/// postcard bytes and CRC.
pub fn unstuff(stuffed: &mut [u8]) -> Result<&[u8], FrameError> {
    let len = cobs::decode_in_place(stuffed).map_err(|_| FrameError::BadStuffing)?;
    Ok(&stuffed[..len])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(frame: &Frame<'_>, epoch: u8) -> ([u8; MAX_FRAME_LEN], usize) {
        let mut buf = [0u8; MAX_FRAME_LEN];
        let len = frame.encode(epoch, &mut buf).unwrap().len();
        (buf, len)
    }

    #[test]
    fn header_round_trips_without_an_epoch() {
        let header = Header {
            magic: MAGIC,
            version: VERSION,
            epoch: 9,
            ids: 32,
            clock_hz: 1000,
        };
        let (mut buf, len) = wire(&Frame::Header(header), 200);
        assert_eq!(buf[len - 1], 0);
        let payload = unstuff(&mut buf[..len - 1]).unwrap();
        assert_eq!(header_version(payload), Some(VERSION));
        assert_eq!(Frame::decode_header(payload), Ok(header));
        assert!(Frame::decode(payload, 9).is_err());
    }

    #[test]
    fn definitions_carry_a_crc32_and_events_a_crc16() {
        let symbol = Frame::Symbol { id: 3, text: "abc" };
        let (mut buf, len) = wire(&symbol, 7);
        let payload = unstuff(&mut buf[..len - 1]).unwrap();
        // kind, id, length, "abc", CRC-32
        assert_eq!(payload.len(), 6 + 4);
        assert_eq!(Frame::decode(payload, 7), Ok(symbol));
        let (mut buf, len) = wire(&Frame::Dropped { count: 1 }, 7);
        assert_eq!(unstuff(&mut buf[..len - 1]).unwrap().len(), 2 + 2);
    }

    #[test]
    fn version_1_headers_are_still_recognised() {
        let mut body = std::vec![0u8];
        body.extend_from_slice(&MAGIC);
        body.extend_from_slice(&[1, 0, 8, 0]);
        let crc = CRC.checksum(&body);
        body.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(header_version(&body), Some(1));
        assert!(Frame::decode_header(&body).is_err());
    }

    #[test]
    fn trailing_bytes_are_malformed() {
        let (mut buf, len) = wire(&Frame::Dropped { count: 1 }, 0);
        let payload = unstuff(&mut buf[..len - 1]).unwrap();
        let mut longer = payload.to_vec();
        longer.insert(2, 0x55);
        assert!(Frame::decode(&longer, 0).is_err());
    }
}
