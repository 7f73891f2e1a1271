//! `Frame::encode` writes postcard's bytes by hand, so firmware does not link serde. For frames
//! of every kind with arbitrary fields it produces exactly what the derived `Serialize` through
//! postcard's CRC and COBS flavors produces, fails to fit exactly when that does, and the
//! decoder reads every frame back.

use crc::{Crc, CRC_16_IBM_SDLC, CRC_32_ISCSI};
use postcard::ser_flavors::{crc::CrcModifier, Cobs, Slice};
use proptest::prelude::*;
use raceway_transport_uart::frame::{
    self, At, Frame, FrameError, Header, WireValue, MAGIC, MAX_FRAME_LEN,
};

static CRC: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_SDLC);
static CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISCSI);

/// The reference: how frames are sealed through serde, postcard's CRC flavor (CRC-32C for
/// headers and definitions, CRC-16 for the rest) and its COBS flavor.
fn postcard_encode<'b>(frame: &Frame<'_>, epoch: u8, buf: &'b mut [u8]) -> Option<&'b [u8]> {
    let seed: &[u8] = if matches!(frame, Frame::Header(_)) {
        &[]
    } else {
        &[epoch]
    };
    let cobs = Cobs::try_new(Slice::new(buf)).ok()?;
    let wire = if frame::wide_crc(kind(frame)) {
        let mut digest = CRC32.digest();
        digest.update(seed);
        postcard::serialize_with_flavor(frame, CrcModifier::new(cobs, digest))
    } else {
        let mut digest = CRC.digest();
        digest.update(seed);
        postcard::serialize_with_flavor(frame, CrcModifier::new(cobs, digest))
    };
    wire.map(|wire: &mut [u8]| &*wire).ok()
}

/// The variant index. No wildcard arm: a new frame kind fails to compile here until the
/// strategy below generates it too.
fn kind(frame: &Frame<'_>) -> u8 {
    match frame {
        Frame::Header(_) => 0,
        Frame::Symbol { .. } => 1,
        Frame::Location { .. } => 2,
        Frame::Dropped { .. } => 3,
        Frame::StateChange { .. } => 4,
        Frame::FunctionCall { .. } => 5,
        Frame::FunctionReturn { .. } => 6,
        Frame::Spawn { .. } => 7,
        Frame::Join { .. } => 8,
        Frame::LockAcquire { .. } => 9,
        Frame::LockRelease { .. } => 10,
        Frame::MemoryFence { .. } => 11,
        Frame::HttpRequest { .. } => 12,
        Frame::HttpResponse { .. } => 13,
        Frame::DatabaseQuery { .. } => 14,
        Frame::DatabaseResult { .. } => 15,
        Frame::Error { .. } => 16,
        Frame::Custom { .. } => 17,
        Frame::Send { .. } => 18,
        Frame::Receive { .. } => 19,
        Frame::TraceStart { .. } => 20,
        Frame::RemoteClock { .. } => 21,
        Frame::ThreadEnd { .. } => 22,
    }
}

const KINDS: u8 = 23;

/// A [`WireValue`] that owns its text.
#[derive(Clone, Debug)]
enum Value {
    None,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(u16),
    Text(String),
}

impl Value {
    fn wire(&self) -> WireValue<'_> {
        match self {
            Value::None => WireValue::None,
            Value::Bool(b) => WireValue::Bool(*b),
            Value::I64(v) => WireValue::I64(*v),
            Value::U64(v) => WireValue::U64(*v),
            Value::F64(v) => WireValue::F64(*v),
            Value::Str(id) => WireValue::Str(*id),
            Value::Text(text) => WireValue::Text(text),
        }
    }
}

/// Everything any frame holds; [`Fields::frame`] picks what its kind needs.
#[derive(Clone, Debug)]
struct Fields {
    kind: u8,
    header: Header,
    at: At,
    ids: [u16; 2],
    n32: [u32; 2],
    n64: [u64; 2],
    code: u8,
    text: String,
    values: [Value; 2],
    trace_id: [u8; 16],
    span_id: [u8; 8],
}

impl Fields {
    fn frame(&self) -> Frame<'_> {
        let Fields {
            at,
            ids: [id, id2],
            n32: [a, b],
            n64: [x, y],
            code,
            ..
        } = *self;
        let [v, w] = [self.values[0].wire(), self.values[1].wire()];
        match self.kind {
            0 => Frame::Header(self.header),
            1 => Frame::Symbol {
                id,
                text: &self.text,
            },
            2 => Frame::Location {
                id,
                file: id2,
                line: a,
                column: b,
            },
            3 => Frame::Dropped { count: a },
            4 => Frame::StateChange {
                at,
                variable: id,
                access: code,
                old: v,
                new: w,
            },
            5 => Frame::FunctionCall {
                at,
                function: id,
                args: v,
            },
            6 => Frame::FunctionReturn {
                at,
                function: id,
                duration_ns: x,
                value: v,
            },
            7 => Frame::Spawn { at, child: a },
            8 => Frame::Join { at, child: a },
            9 => Frame::LockAcquire {
                at,
                lock: id,
                lock_kind: code,
            },
            10 => Frame::LockRelease {
                at,
                lock: id,
                lock_kind: code,
            },
            11 => Frame::MemoryFence { at, ordering: code },
            12 => Frame::HttpRequest {
                at,
                method: id,
                url: v,
                direction: code,
                span: x,
            },
            13 => Frame::HttpResponse {
                at,
                status: id,
                duration_ns: x,
                direction: code,
                span: y,
            },
            14 => Frame::DatabaseQuery {
                at,
                database: id,
                query: v,
                duration_ns: x,
            },
            15 => Frame::DatabaseResult {
                at,
                rows_affected: x,
            },
            16 => Frame::Error {
                at,
                error_type: id,
                message: v,
                stack: w,
            },
            17 => Frame::Custom {
                at,
                name: id,
                data: v,
            },
            18 => Frame::Send { at, message: x },
            19 => Frame::Receive { at, message: x },
            20 => Frame::TraceStart {
                at,
                trace_id: self.trace_id,
                span_id: self.span_id,
                upstream: v,
            },
            21 => Frame::RemoteClock {
                at,
                component: id,
                counter: x,
            },
            22 => Frame::ThreadEnd { at },
            _ => unreachable!("kinds are generated below {KINDS}"),
        }
    }
}

// Integers of every magnitude, so varints of every length show up (uniform ones are nearly
// always as long as they get).
fn u16s() -> impl Strategy<Value = u16> {
    (any::<u16>(), 0..16u32).prop_map(|(v, shift)| v >> shift)
}

fn u32s() -> impl Strategy<Value = u32> {
    (any::<u32>(), 0..32u32).prop_map(|(v, shift)| v >> shift)
}

fn u64s() -> impl Strategy<Value = u64> {
    (any::<u64>(), 0..64u32).prop_map(|(v, shift)| v >> shift)
}

fn i64s() -> impl Strategy<Value = i64> {
    // An arithmetic shift: small magnitudes of both signs.
    (any::<i64>(), 0..64u32).prop_map(|(v, shift)| v >> shift)
}

/// Short text, text with zero bytes (COBS), and text long enough to cross 254-byte COBS
/// blocks and the frame size limit.
fn texts() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,20}",
        "[\\x00-\\x7F]{0,40}",
        "[a-z\\x00]{200,300}",
        "[a-z]{230,300}",
    ]
}

fn values() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::None),
        any::<bool>().prop_map(Value::Bool),
        i64s().prop_map(Value::I64),
        u64s().prop_map(Value::U64),
        // Every bit pattern, NaNs included.
        any::<u64>().prop_map(|bits| Value::F64(f64::from_bits(bits))),
        u16s().prop_map(Value::Str),
        texts().prop_map(Value::Text),
    ]
}

prop_compose! {
    fn headers()(
        magic in prop_oneof![Just(MAGIC), any::<[u8; 4]>()],
        version in any::<u8>(),
        epoch in any::<u8>(),
        ids in u16s(),
        clock_hz in u32s(),
    ) -> Header {
        Header { magic, version, epoch, ids, clock_hz }
    }
}

prop_compose! {
    fn ats()(time in u64s(), location in u16s(), thread in u32s()) -> At {
        At { time, location, thread }
    }
}

prop_compose! {
    fn fields()(
        kind in 0..KINDS,
        header in headers(),
        at in ats(),
        ids in [u16s(), u16s()],
        n32 in [u32s(), u32s()],
        n64 in [u64s(), u64s()],
        code in any::<u8>(),
        text in texts(),
        values in [values(), values()],
        trace_id in any::<[u8; 16]>(),
        span_id in any::<[u8; 8]>(),
    ) -> Fields {
        Fields { kind, header, at, ids, n32, n64, code, text, values, trace_id, span_id }
    }
}

/// Room for the longest generated frame.
const BIG: usize = 4 * MAX_FRAME_LEN;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn encode_writes_postcards_bytes(fields in fields(), epoch in any::<u8>(), len in 0..BIG) {
        let frame = fields.frame();
        let (mut ours, mut theirs) = ([0u8; BIG], [0u8; BIG]);
        let wire = frame.encode(epoch, &mut ours).unwrap();
        prop_assert_eq!(Some(wire), postcard_encode(&frame, epoch, &mut theirs));

        // A buffer of any length: both fit, or neither does.
        let (mut ours, mut theirs) = (vec![0u8; len], vec![0u8; len]);
        let result = frame.encode(epoch, &mut ours);
        let expected = postcard_encode(&frame, epoch, &mut theirs);
        match expected {
            Some(expected) => prop_assert_eq!(result, Ok(expected)),
            None => prop_assert_eq!(result, Err(FrameError::BufferTooSmall)),
        }
    }

    #[test]
    fn decoder_reads_encoded_frames_back(fields in fields(), epoch in any::<u8>()) {
        let frame = fields.frame();
        let mut buf = [0u8; BIG];
        let wire = frame.encode(epoch, &mut buf).unwrap().to_vec();
        prop_assert_eq!(wire.last(), Some(&0));
        prop_assert!(!wire[..wire.len() - 1].contains(&0));
        let mut stuffed = wire[..wire.len() - 1].to_vec();
        let payload = frame::unstuff(&mut stuffed).unwrap();
        prop_assert_eq!(payload[0], kind(&frame));

        match frame {
            Frame::Header(header) => {
                let expected = if header.magic == MAGIC {
                    Ok(header)
                } else {
                    Err(FrameError::Malformed)
                };
                prop_assert_eq!(Frame::decode_header(payload), expected);
                prop_assert_eq!(
                    frame::header_version(payload),
                    (header.magic == MAGIC).then_some(header.version)
                );
            }
            _ => {
                let decoded = Frame::decode(payload, epoch).unwrap();
                // Compared on the wire rather than with `==`, which NaN values would fail:
                // equal bytes mean equal fields, bit for bit.
                let mut again = [0u8; BIG];
                prop_assert_eq!(decoded.encode(epoch, &mut again).unwrap(), &wire[..]);
                prop_assert_eq!(kind(&decoded), kind(&frame));
                prop_assert_eq!(
                    Frame::decode(payload, epoch.wrapping_add(1)),
                    Err(FrameError::BadChecksum)
                );
            }
        }
    }
}

/// Runs of non-zero bytes that end right before, at and after a 254-byte COBS block, with the
/// CRC bytes falling on either side of the boundary, in buffers just too small and just big
/// enough.
#[test]
fn cobs_block_boundaries_match_postcard() {
    for len in 230..=270 {
        let text = "x".repeat(len);
        for (id, epoch) in [(1, 0), (300, 1), (0, 2), (7, 3), (65535, 4)] {
            let frame = Frame::Symbol { id, text: &text };
            let mut theirs = [0u8; BIG];
            let expected = postcard_encode(&frame, epoch, &mut theirs).unwrap();
            let mut ours = vec![0u8; expected.len()];
            assert_eq!(frame.encode(epoch, &mut ours), Ok(expected), "len {len}");
            let mut short = vec![0u8; expected.len() - 1];
            assert_eq!(
                frame.encode(epoch, &mut short),
                Err(FrameError::BufferTooSmall)
            );
        }
    }
}
