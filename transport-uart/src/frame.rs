//! The wire format: what one frame holds, and how it is sealed and unsealed.
//!
//! A [`Frame`] is encoded with postcard, followed by a CRC-16 (postcard's CRC flavor) and
//! COBS-stuffed (postcard's COBS flavor) into a buffer, ending with the `0x00` delimiter: see
//! the [crate docs](crate#frame-format) for the byte-level specification. The encoder and the
//! decoder are built on the three functions here; use them directly to inspect or produce
//! frames by hand.
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

use crc::{Crc, CRC_16_IBM_3740};
use postcard::ser_flavors::{crc::CrcModifier, Cobs, Slice};
use raceway_core::event::{Access, Direction, FenceOrdering, LockKind};
use serde::{Deserialize, Serialize};

/// The first four bytes of every header frame's fields.
pub const MAGIC: [u8; 4] = *b"RWAY";

/// The frame format version this crate writes and reads.
pub const VERSION: u8 = 1;

/// The longest frame on the wire, delimiter included. Longer input is skipped by readers.
pub const MAX_FRAME_LEN: usize = 256;

/// The longest definition text (a name or file path) in bytes; longer text is cut at a
/// character boundary by the encoder.
pub const MAX_TEXT_LEN: usize = 200;

/// The checksum: CRC-16/IBM-3740 (CCITT-FALSE).
pub(crate) static CRC: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_3740);

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

/// One frame. The variant index is the frame kind on the wire; see the
/// [crate docs](crate#frame-format).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // event fields mirror `raceway_core::Kind`, documented there
pub enum Frame<'a> {
    /// Starts an epoch (kind 0).
    Header(Header),
    /// Defines `id` as `text` for the rest of the epoch (kind 1).
    Symbol { id: u16, text: &'a str },
    /// Defines `id` as a source location; `file` is a symbol id (kind 2).
    Location {
        id: u16,
        file: u16,
        line: u32,
        column: u32,
    },
    /// The device lost `count` events here (kind 3).
    Dropped { count: u32 },
    /// [`Kind::StateChange`](raceway_core::Kind::StateChange); `access` is an access code.
    StateChange {
        at: At,
        variable: u16,
        access: u8,
        old: WireValue<'a>,
        new: WireValue<'a>,
    },
    /// [`Kind::FunctionCall`](raceway_core::Kind::FunctionCall).
    FunctionCall {
        at: At,
        function: u16,
        args: WireValue<'a>,
    },
    /// [`Kind::FunctionReturn`](raceway_core::Kind::FunctionReturn).
    FunctionReturn {
        at: At,
        function: u16,
        duration_ns: u64,
        value: WireValue<'a>,
    },
    /// [`Kind::Spawn`](raceway_core::Kind::Spawn).
    Spawn { at: At, child: u32 },
    /// [`Kind::Join`](raceway_core::Kind::Join).
    Join { at: At, child: u32 },
    /// [`Kind::LockAcquire`](raceway_core::Kind::LockAcquire); `lock_kind` is a lock-kind code.
    LockAcquire { at: At, lock: u16, lock_kind: u8 },
    /// [`Kind::LockRelease`](raceway_core::Kind::LockRelease).
    LockRelease { at: At, lock: u16, lock_kind: u8 },
    /// [`Kind::MemoryFence`](raceway_core::Kind::MemoryFence); `ordering` is an ordering code.
    MemoryFence { at: At, ordering: u8 },
    /// [`Kind::HttpRequest`](raceway_core::Kind::HttpRequest).
    HttpRequest {
        at: At,
        method: u16,
        url: WireValue<'a>,
        direction: u8,
        span: u64,
    },
    /// [`Kind::HttpResponse`](raceway_core::Kind::HttpResponse).
    HttpResponse {
        at: At,
        status: u16,
        duration_ns: u64,
        direction: u8,
        span: u64,
    },
    /// [`Kind::DatabaseQuery`](raceway_core::Kind::DatabaseQuery).
    DatabaseQuery {
        at: At,
        database: u16,
        query: WireValue<'a>,
        duration_ns: u64,
    },
    /// [`Kind::DatabaseResult`](raceway_core::Kind::DatabaseResult).
    DatabaseResult { at: At, rows_affected: u64 },
    /// [`Kind::Error`](raceway_core::Kind::Error).
    Error {
        at: At,
        error_type: u16,
        message: WireValue<'a>,
        stack: WireValue<'a>,
    },
    /// [`Kind::Custom`](raceway_core::Kind::Custom).
    Custom {
        at: At,
        name: u16,
        data: WireValue<'a>,
    },
    /// [`Kind::Send`](raceway_core::Kind::Send).
    Send { at: At, message: u64 },
    /// [`Kind::Receive`](raceway_core::Kind::Receive).
    Receive { at: At, message: u64 },
    /// [`Kind::TraceStart`](raceway_core::Kind::TraceStart).
    TraceStart {
        at: At,
        trace_id: [u8; 16],
        span_id: [u8; 8],
        upstream: WireValue<'a>,
    },
    /// [`Kind::RemoteClock`](raceway_core::Kind::RemoteClock).
    RemoteClock {
        at: At,
        component: u16,
        counter: u64,
    },
    /// [`Kind::ThreadEnd`](raceway_core::Kind::ThreadEnd).
    ThreadEnd { at: At },
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
    /// Encodes the frame sealed for `epoch` (ignored for a header, whose CRC is unseeded)
    /// into `buf`, returning the wire bytes including the trailing `0x00`.
    pub fn encode<'b>(&self, epoch: u8, buf: &'b mut [u8]) -> Result<&'b [u8], FrameError> {
        let mut digest = CRC.digest();
        if !matches!(self, Frame::Header(_)) {
            digest.update(&[epoch]);
        }
        let cobs = Cobs::try_new(Slice::new(buf)).map_err(|_| FrameError::BufferTooSmall)?;
        postcard::serialize_with_flavor(self, CrcModifier::new(cobs, digest))
            .map(|wire: &mut [u8]| &*wire)
            .map_err(|_| FrameError::BufferTooSmall)
    }

    /// Decodes an unstuffed non-header frame sealed with `epoch` (see [`unstuff`]).
    pub fn decode(payload: &'a [u8], epoch: u8) -> Result<Frame<'a>, FrameError> {
        let mut digest = CRC.digest();
        digest.update(&[epoch]);
        match Self::parse(payload, digest)? {
            Frame::Header(_) => Err(FrameError::Malformed),
            frame => Ok(frame),
        }
    }

    /// Decodes an unstuffed header frame (unseeded CRC, [`MAGIC`] checked). A header of
    /// another version fails with [`FrameError::Malformed`]; [`header_version`] tells which.
    pub fn decode_header(payload: &'a [u8]) -> Result<Header, FrameError> {
        match Self::parse(payload, CRC.digest())? {
            Frame::Header(header) if header.magic == MAGIC => Ok(header),
            _ => Err(FrameError::Malformed),
        }
    }

    fn parse(payload: &'a [u8], digest: crc::Digest<'a, u16>) -> Result<Frame<'a>, FrameError> {
        match postcard::de_flavors::crc::take_from_bytes_u16::<Frame<'a>>(payload, digest) {
            Ok((frame, [])) => Ok(frame),
            Ok(_) => Err(FrameError::Malformed),
            Err(postcard::Error::DeserializeBadCrc) => Err(FrameError::BadChecksum),
            Err(_) => Err(FrameError::Malformed),
        }
    }
}

/// The version of an unstuffed header frame of any version, if `payload` is one (kind 0, the
/// magic, and a CRC over the whole payload that matches). Lets a reader report a stream of a
/// version it does not speak instead of calling it corrupt.
pub fn header_version(payload: &[u8]) -> Option<u8> {
    let (body, crc) = payload.split_at(payload.len().checked_sub(2)?);
    let is_header = body.first() == Some(&0) && body.get(1..5) == Some(&MAGIC[..]);
    let sealed = u16::from_le_bytes([crc[0], crc[1]]) == CRC.checksum(body);
    (is_header && sealed)
        .then(|| body.get(5).copied())
        .flatten()
}

/// Undoes COBS in place on one frame's bytes (without its `0x00` delimiter), returning the
/// postcard bytes and CRC.
pub fn unstuff(stuffed: &mut [u8]) -> Result<&[u8], FrameError> {
    let len = cobs::decode_in_place(stuffed).map_err(|_| FrameError::BadStuffing)?;
    Ok(&stuffed[..len])
}

pub(crate) const fn access_code(access: Access) -> u8 {
    match access {
        Access::Read => 0,
        Access::Write => 1,
        Access::AtomicRead => 2,
        Access::AtomicWrite => 3,
        Access::AtomicRmw => 4,
    }
}

pub(crate) const fn lock_kind_code(kind: LockKind) -> u8 {
    match kind {
        LockKind::Mutex => 0,
        LockKind::RwRead => 1,
        LockKind::RwWrite => 2,
        LockKind::CriticalSection => 3,
    }
}

pub(crate) const fn ordering_code(ordering: FenceOrdering) -> u8 {
    match ordering {
        FenceOrdering::Relaxed => 0,
        FenceOrdering::Acquire => 1,
        FenceOrdering::Release => 2,
        FenceOrdering::AcqRel => 3,
        FenceOrdering::SeqCst => 4,
    }
}

pub(crate) const fn direction_code(direction: Direction) -> u8 {
    match direction {
        Direction::Outbound => 0,
        Direction::Inbound => 1,
    }
}

#[cfg(feature = "std")]
pub(crate) const fn access_from(code: u8) -> Option<Access> {
    Some(match code {
        0 => Access::Read,
        1 => Access::Write,
        2 => Access::AtomicRead,
        3 => Access::AtomicWrite,
        4 => Access::AtomicRmw,
        _ => return None,
    })
}

#[cfg(feature = "std")]
pub(crate) const fn lock_kind_from(code: u8) -> Option<LockKind> {
    Some(match code {
        0 => LockKind::Mutex,
        1 => LockKind::RwRead,
        2 => LockKind::RwWrite,
        3 => LockKind::CriticalSection,
        _ => return None,
    })
}

#[cfg(feature = "std")]
pub(crate) const fn ordering_from(code: u8) -> Option<FenceOrdering> {
    Some(match code {
        0 => FenceOrdering::Relaxed,
        1 => FenceOrdering::Acquire,
        2 => FenceOrdering::Release,
        3 => FenceOrdering::AcqRel,
        4 => FenceOrdering::SeqCst,
        _ => return None,
    })
}

#[cfg(feature = "std")]
pub(crate) const fn direction_from(code: u8) -> Option<Direction> {
    Some(match code {
        0 => Direction::Outbound,
        1 => Direction::Inbound,
        _ => return None,
    })
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
    fn codes_round_trip() {
        for access in [
            Access::Read,
            Access::Write,
            Access::AtomicRead,
            Access::AtomicWrite,
            Access::AtomicRmw,
        ] {
            assert_eq!(access_from(access_code(access)), Some(access));
        }
        for kind in [
            LockKind::Mutex,
            LockKind::RwRead,
            LockKind::RwWrite,
            LockKind::CriticalSection,
        ] {
            assert_eq!(lock_kind_from(lock_kind_code(kind)), Some(kind));
        }
        assert_eq!(access_from(5), None);
        assert_eq!(lock_kind_from(4), None);
        assert_eq!(
            ordering_from(ordering_code(FenceOrdering::SeqCst)),
            Some(FenceOrdering::SeqCst)
        );
        assert_eq!(
            direction_from(direction_code(Direction::Inbound)),
            Some(Direction::Inbound)
        );
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
