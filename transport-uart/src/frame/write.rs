//! The frame writer behind [`Frame::encode`]: the postcard bytes of each frame kind, written by
//! hand in one pass through a table-free CRC and COBS stuffing into the output buffer. On the
//! device this is the whole encoding path (see the [module docs](super) for why and what it
//! saved); `tests/hand_written_encoder_matches_postcard.rs` checks it against postcard byte for
//! byte.

use crc::{Algorithm, CRC_16_IBM_SDLC, CRC_32_ISCSI};

use super::{At, Frame, FrameError, Tag, WireValue};

impl Frame<'_> {
    /// Encodes the frame sealed for `epoch` (ignored for a header, whose CRC is unseeded)
    /// into `buf`, returning the wire bytes including the trailing `0x00`.
    pub fn encode<'b>(&self, epoch: u8, buf: &'b mut [u8]) -> Result<&'b [u8], FrameError> {
        let header = matches!(self, Frame::Header(_));
        // The kinds `wide_crc` names: a header or a definition.
        let wide = header || self.is_definition();
        let mut w = Writer::new(buf, wide);
        if !header {
            w.crc(epoch);
        }
        self.write(&mut w);
        w.finish()
    }

    /// The postcard bytes of the frame: the variant index, then the fields in order.
    fn write(&self, w: &mut Writer<'_>) {
        match *self {
            Frame::Header(header) => {
                w.kind(Tag::Header as u8);
                w.raw(&header.magic);
                w.byte(header.version);
                w.byte(header.epoch);
                w.varint(header.ids.into());
                w.varint(header.clock_hz.into());
            }
            Frame::Symbol { id, text } => {
                w.kind(Tag::Symbol as u8);
                w.varint(id.into());
                w.bytes(text.as_bytes());
            }
            Frame::Location {
                id,
                file,
                line,
                column,
            } => {
                w.kind(Tag::Location as u8);
                w.varint(id.into());
                w.varint(file.into());
                w.varint(line.into());
                w.varint(column.into());
            }
            Frame::Dropped { count } => {
                w.kind(Tag::Dropped as u8);
                w.varint(count.into());
            }
            Frame::StateChange {
                at,
                variable,
                access,
                old,
                new,
            } => {
                w.event(Tag::StateChange, at);
                w.varint(variable.into());
                w.byte(access);
                w.value(old);
                w.value(new);
            }
            Frame::FunctionCall { at, function, args } => {
                w.event(Tag::FunctionCall, at);
                w.varint(function.into());
                w.value(args);
            }
            Frame::FunctionReturn {
                at,
                function,
                duration_ns,
                value,
            } => {
                w.event(Tag::FunctionReturn, at);
                w.varint(function.into());
                w.varint(duration_ns);
                w.value(value);
            }
            Frame::Spawn { at, child } => {
                w.event(Tag::Spawn, at);
                w.varint(child.into());
            }
            Frame::Join { at, child } => {
                w.event(Tag::Join, at);
                w.varint(child.into());
            }
            Frame::LockAcquire {
                at,
                lock,
                lock_kind,
            } => {
                w.event(Tag::LockAcquire, at);
                w.varint(lock.into());
                w.byte(lock_kind);
            }
            Frame::LockRelease {
                at,
                lock,
                lock_kind,
            } => {
                w.event(Tag::LockRelease, at);
                w.varint(lock.into());
                w.byte(lock_kind);
            }
            Frame::MemoryFence { at, ordering } => {
                w.event(Tag::MemoryFence, at);
                w.byte(ordering);
            }
            Frame::HttpRequest {
                at,
                method,
                url,
                direction,
                span,
            } => {
                w.event(Tag::HttpRequest, at);
                w.varint(method.into());
                w.value(url);
                w.byte(direction);
                w.varint(span);
            }
            Frame::HttpResponse {
                at,
                status,
                duration_ns,
                direction,
                span,
            } => {
                w.event(Tag::HttpResponse, at);
                w.varint(status.into());
                w.varint(duration_ns);
                w.byte(direction);
                w.varint(span);
            }
            Frame::DatabaseQuery {
                at,
                database,
                query,
                duration_ns,
            } => {
                w.event(Tag::DatabaseQuery, at);
                w.varint(database.into());
                w.value(query);
                w.varint(duration_ns);
            }
            Frame::DatabaseResult { at, rows_affected } => {
                w.event(Tag::DatabaseResult, at);
                w.varint(rows_affected);
            }
            Frame::Error {
                at,
                error_type,
                message,
                stack,
            } => {
                w.event(Tag::Error, at);
                w.varint(error_type.into());
                w.value(message);
                w.value(stack);
            }
            Frame::Custom { at, name, data } => {
                w.event(Tag::Custom, at);
                w.varint(name.into());
                w.value(data);
            }
            Frame::Send { at, message } => {
                w.event(Tag::Send, at);
                w.varint(message);
            }
            Frame::Receive { at, message } => {
                w.event(Tag::Receive, at);
                w.varint(message);
            }
            Frame::TraceStart {
                at,
                trace_id,
                span_id,
                upstream,
            } => {
                w.event(Tag::TraceStart, at);
                w.raw(&trace_id);
                w.raw(&span_id);
                w.value(upstream);
            }
            Frame::RemoteClock {
                at,
                component,
                counter,
            } => {
                w.event(Tag::RemoteClock, at);
                w.varint(component.into());
                w.varint(counter);
            }
            Frame::ThreadEnd { at } => w.event(Tag::ThreadEnd, at),
        }
    }
}

/// One step of a reflected CRC with the (reflected) polynomial `poly`, bit by bit: eight
/// shifts per byte instead of a 512-byte or 1 KiB table. Both checksums here are of this form
/// (all-ones initial value and final xor), so one loop serves both. The drain runs in the main
/// loop or idle task, where a few cycles per byte matter less than flash.
pub(crate) const fn crc_update(mut crc: u32, poly: u32, byte: u8) -> u32 {
    crc ^= byte as u32;
    let mut bit = 0;
    while bit < 8 {
        crc = (crc >> 1) ^ (poly & (crc & 1).wrapping_neg());
        bit += 1;
    }
    crc
}

/// The reflected polynomial of a catalogue algorithm, as [`crc_update`] takes it.
const fn reflected_poly(poly: u32, width: u8) -> u32 {
    poly.reverse_bits() >> (32 - width as u32)
}

/// The parameters [`Writer`] needs of a checksum: its reflected polynomial and its all-ones
/// mask (initial value and final xor, which also gives its width).
#[derive(Clone, Copy)]
struct Sum {
    poly: u32,
    mask: u32,
}

impl Sum {
    const fn of16(algorithm: &Algorithm<u16>) -> Sum {
        assert!(algorithm.refin && algorithm.refout && algorithm.init == 0xFFFF);
        assert!(algorithm.xorout == algorithm.init);
        Sum {
            poly: reflected_poly(algorithm.poly as u32, 16),
            mask: algorithm.init as u32,
        }
    }

    const fn of32(algorithm: &Algorithm<u32>) -> Sum {
        assert!(algorithm.refin && algorithm.refout && algorithm.init == u32::MAX);
        assert!(algorithm.xorout == algorithm.init);
        Sum {
            poly: reflected_poly(algorithm.poly, 32),
            mask: algorithm.init,
        }
    }
}

const SUM16: Sum = Sum::of16(&CRC_16_IBM_SDLC);
const SUM32: Sum = Sum::of32(&CRC_32_ISCSI);

/// Writes one frame in a single pass: each postcard byte goes through the CRC and straight
/// into COBS stuffing in the output buffer; [`Writer::finish`] appends the CRC (stuffed too)
/// and the delimiter. `wide` frames (headers and definitions) get a CRC-32C, the others a
/// CRC-16.
///
/// The stuffing is the `cobs` crate's, as postcard's COBS flavor drives it: a block's code
/// byte is reserved where the block starts and filled in when the block ends, at a `0x00` in
/// the data, after 254 non-zero bytes, or at the end of the frame.
///
/// Bytes that do not fit are counted but not stored, so the frame's methods need no error
/// paths; [`Writer::finish`] reports the overflow once.
struct Writer<'b> {
    buf: &'b mut [u8],
    /// The wire length so far, including bytes that did not fit.
    len: usize,
    /// Where the current COBS block's code byte goes.
    code_at: usize,
    /// The running CRC-32C (`wide`) or CRC-16 (in the low half).
    crc: u32,
    sum: Sum,
}

impl<'b> Writer<'b> {
    fn new(buf: &'b mut [u8], wide: bool) -> Self {
        let sum = if wide { SUM32 } else { SUM16 };
        Writer {
            buf,
            // Byte 0 is the first block's code.
            len: 1,
            code_at: 0,
            crc: sum.mask,
            sum,
        }
    }

    /// One byte through the CRC only.
    fn crc(&mut self, byte: u8) {
        self.crc = crc_update(self.crc, self.sum.poly, byte);
    }

    fn put(&mut self, at: usize, byte: u8) {
        if let Some(slot) = self.buf.get_mut(at) {
            *slot = byte;
        }
    }

    /// Ends the current COBS block: its code is its length, code byte included.
    fn end_block(&mut self) {
        self.put(self.code_at, (self.len - self.code_at) as u8);
        self.code_at = self.len;
        self.len += 1;
    }

    /// One byte into COBS, outside the CRC.
    fn stuff(&mut self, byte: u8) {
        if byte == 0 {
            self.end_block();
        } else {
            self.put(self.len, byte);
            self.len += 1;
            if self.len - self.code_at == 0xFF {
                self.end_block();
            }
        }
    }

    /// One postcard byte: a `u8`, or a `bool` as 0 or 1.
    fn byte(&mut self, byte: u8) {
        self.crc(byte);
        self.stuff(byte);
    }

    /// Bytes as they are: a fixed-size array, or the bytes of a float.
    fn raw(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.byte(byte);
        }
    }

    /// A `u16`, `u32` or `u64` (their varints agree for the same value), an enum's variant
    /// index, or a length: LEB128, seven bits a byte, least significant first.
    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.byte(value as u8 | 0x80);
            value >>= 7;
        }
        self.byte(value as u8);
    }

    /// A byte slice or `str`: its length, then its bytes.
    fn bytes(&mut self, bytes: &[u8]) {
        self.varint(bytes.len() as u64);
        self.raw(bytes);
    }

    /// An enum variant index: a varint, one byte for every enum here.
    fn kind(&mut self, kind: u8) {
        self.byte(kind);
    }

    /// An event frame's kind and *at*.
    fn event(&mut self, tag: Tag, at: At) {
        self.kind(tag as u8);
        self.varint(at.time);
        self.varint(at.location.into());
        self.varint(at.thread.into());
    }

    fn value(&mut self, value: WireValue<'_>) {
        match value {
            WireValue::None => self.kind(0),
            WireValue::Bool(b) => {
                self.kind(1);
                self.byte(b.into());
            }
            WireValue::I64(v) => {
                self.kind(2);
                // Zigzag: 0, -1, 1, -2, … become 0, 1, 2, 3, …
                self.varint(((v << 1) ^ (v >> 63)) as u64);
            }
            WireValue::U64(v) => {
                self.kind(3);
                self.varint(v);
            }
            WireValue::F64(v) => {
                self.kind(4);
                self.raw(&v.to_le_bytes());
            }
            WireValue::Str(id) => {
                self.kind(5);
                self.varint(id.into());
            }
            WireValue::Text(text) => {
                self.kind(6);
                self.bytes(text.as_bytes());
            }
        }
    }

    /// Appends the CRC (little-endian: four bytes after the final xor, or two) and the
    /// delimiter; the wire bytes, if they fit.
    fn finish(mut self) -> Result<&'b [u8], FrameError> {
        let crc = self.crc ^ self.sum.mask;
        let len = if self.sum.mask > 0xFFFF { 4 } else { 2 };
        for &byte in &crc.to_le_bytes()[..len] {
            self.stuff(byte);
        }
        self.put(self.code_at, (self.len - self.code_at) as u8);
        self.put(self.len, 0);
        let Writer { buf, len, .. } = self;
        let buf: &'b [u8] = buf;
        buf.get(..len + 1).ok_or(FrameError::BufferTooSmall)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{CRC, CRC32};

    fn sum_of(sum: Sum, bytes: &[u8]) -> u32 {
        bytes
            .iter()
            .fold(sum.mask, |crc, &byte| crc_update(crc, sum.poly, byte))
            ^ sum.mask
    }

    fn crc_of(bytes: &[u8]) -> u16 {
        sum_of(SUM16, bytes) as u16
    }

    fn crc32_of(bytes: &[u8]) -> u32 {
        sum_of(SUM32, bytes)
    }

    #[test]
    fn crc_without_a_table_passes_the_catalog_check() {
        assert_eq!(crc_of(b"123456789"), CRC_16_IBM_SDLC.check);
        assert_eq!(crc32_of(b"123456789"), CRC_32_ISCSI.check);
    }

    proptest::proptest! {
        #[test]
        fn crc_without_a_table_matches_the_crc_crate(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
        ) {
            proptest::prop_assert_eq!(crc_of(&bytes), CRC.checksum(&bytes));
            proptest::prop_assert_eq!(crc32_of(&bytes), CRC32.checksum(&bytes));
        }
    }
}
