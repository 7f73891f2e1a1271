//! The frame writer behind [`Frame::encode`]: the postcard bytes of each frame kind, written by
//! hand in one pass through a table-free CRC and COBS stuffing into the output buffer. On the
//! device this is the whole encoding path (see the [module docs](super) for why and what it
//! saved); `tests/hand_written_encoder_matches_postcard.rs` checks it against postcard byte for
//! byte.

use crc::{Algorithm, CRC_16_IBM_SDLC, CRC_32_ISCSI};

use super::{event_kinds, At, Frame, FrameError, Tag, WireValue};

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
        event_kinds!(write_frame! {
            *self, w, {
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
            }
        });
    }
}

/// `match $frame`, with the given arms for the stream frames and, for each event kind, its tag,
/// its *at*, then each field as its class is written.
macro_rules! write_frame {
    (
        $frame:expr, $w:ident, { $($arms:tt)* }
        $($kind:ident { $($field:ident: $ty:ty as $class:ident),* $(,)? })*
    ) => {
        match $frame {
            $($arms)*
            $(Frame::$kind { at, $($field),* } => {
                $w.event(Tag::$kind, at);
                $(write_frame!(@$class $w, $field);)*
            })*
        }
    };
    (@u64 $w:ident, $field:ident) => { $w.varint($field) };
    (@value $w:ident, $field:ident) => { $w.value($field) };
    (@trace_id $w:ident, $field:ident) => { $w.raw(&$field) };
    (@span_id $w:ident, $field:ident) => { $w.raw(&$field) };
    // A code: one byte.
    (@access $w:ident, $field:ident) => { $w.byte($field) };
    (@lock_kind $w:ident, $field:ident) => { $w.byte($field) };
    (@ordering $w:ident, $field:ident) => { $w.byte($field) };
    (@direction $w:ident, $field:ident) => { $w.byte($field) };
    // An id, a thread number or a `u16`: a varint.
    (@$other:ident $w:ident, $field:ident) => { $w.varint($field.into()) };
}
use write_frame;

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
