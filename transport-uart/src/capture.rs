//! Capture files: a recorded stream on disk, to analyse later (`raceway check`).
//!
//! A capture is a 9-byte file header followed by frames exactly as they travel over a UART
//! (see the [crate docs](crate#frame-format)):
//!
//! ```text
//! "RWAYCAP" (7 bytes ASCII) | capture version (1 byte, = 1) | 0x00 | frames...
//! ```
//!
//! The trailing `0x00` ends the header like a frame delimiter, so the frames that follow start
//! clean. There is no index and no length field: a capture cut short or damaged in the middle
//! still yields every intact frame, and [`CaptureReader`] reports the damaged regions with
//! their byte offsets in the file.
//!
//! * A program that records events (the std client's file sink) writes them with a
//!   [`CaptureWriter`].
//! * A bridge that saves a device's UART output writes [`HEADER`] (or [`write_header`]) and
//!   then copies the received bytes verbatim.
//! * A checker reads either with [`CaptureReader`].
//!
//! # Examples
//!
//! ```
//! use raceway_core::event::{Event, Kind, ThreadId};
//! use raceway_transport_uart::capture::{CaptureReader, CaptureWriter};
//! use raceway_transport_uart::decoder::Item;
//!
//! let mut writer = CaptureWriter::new(Vec::new()).unwrap();
//! writer.write(&Event::new(5, ThreadId::from_raw(1), Kind::Send { message: 1 })).unwrap();
//! let file = writer.into_inner().unwrap();
//!
//! let mut reader = CaptureReader::open(&file[..]).unwrap();
//! let events: Vec<_> = reader
//!     .by_ref()
//!     .filter_map(|item| item.ok()?.into_event())
//!     .collect();
//! assert_eq!(events[0].kind, Kind::Send { message: 1 });
//! assert_eq!(reader.stats().skipped_frames, 0);
//! ```

use std::fmt;
use std::io::{self, Read, Write};
use std::vec::Vec;

use raceway_core::event::Event;

use crate::decoder::{Decoder, DecoderStats, Item, Skipped};
use crate::encoder::{FrameEncoder, FrameEncoderConfig, FrameEncoderStats};

/// The magic at the start of every capture file.
pub const MAGIC: [u8; 7] = *b"RWAYCAP";

/// The capture format version this crate writes and reads.
pub const VERSION: u8 = 1;

/// The complete file header of a version-1 capture.
pub const HEADER: [u8; 9] = [b'R', b'W', b'A', b'Y', b'C', b'A', b'P', VERSION, 0];

/// Writes the capture file header; raw stream bytes may follow verbatim.
pub fn write_header<W: Write>(out: &mut W) -> io::Result<()> {
    out.write_all(&HEADER)
}

/// Checks a complete capture file header ([`HEADER`]'s length): the magic, the version and
/// the `0x00` that ends it, each reported for what it is.
pub fn check_header(header: &[u8; HEADER.len()]) -> Result<(), CaptureError> {
    let (magic, rest) = header.split_at(MAGIC.len());
    match *rest {
        _ if magic != MAGIC => Err(CaptureError::NotACapture),
        [VERSION, 0] => Ok(()),
        [VERSION, found] => Err(CaptureError::BadHeaderEnd { found }),
        [found, _] => Err(CaptureError::UnsupportedVersion { found }),
        _ => Err(CaptureError::Truncated),
    }
}

/// Why a capture could not be opened.
#[derive(Debug)]
#[non_exhaustive]
pub enum CaptureError {
    /// Reading failed.
    Io(io::Error),
    /// The file does not start with [`MAGIC`]: it is not a capture (a raw UART dump can be
    /// decoded with [`Decoder`] directly).
    NotACapture,
    /// A capture of a version this crate does not read.
    UnsupportedVersion {
        /// The version in the file.
        found: u8,
    },
    /// The magic and version are right but the header does not end with `0x00`: the file is
    /// damaged at its start (or was not written by Raceway).
    BadHeaderEnd {
        /// The byte found where the `0x00` belongs.
        found: u8,
    },
    /// The file ends inside the header.
    Truncated,
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::Io(error) => write!(f, "cannot read the capture: {error}"),
            CaptureError::NotACapture => f.write_str("not a Raceway capture file (bad magic)"),
            CaptureError::UnsupportedVersion { found } => write!(
                f,
                "capture version {found} is not supported (this build reads version {VERSION})"
            ),
            CaptureError::BadHeaderEnd { found } => write!(
                f,
                "damaged capture header: byte {} is {found:#04x}, not the 0x00 that ends the \
                 header",
                HEADER.len() - 1
            ),
            CaptureError::Truncated => f.write_str("the capture ends inside its header"),
        }
    }
}

impl std::error::Error for CaptureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CaptureError::Io(error) => Some(error),
            _ => None,
        }
    }
}

impl From<io::Error> for CaptureError {
    fn from(error: io::Error) -> Self {
        CaptureError::Io(error)
    }
}

/// Writes events to a capture. `N` is the encoder's name/location table size: a host program
/// records more distinct names than firmware, so it defaults to 256.
///
/// Each [`CaptureWriter::write`] writes whole frames to `W`; wrap files in a
/// [`std::io::BufWriter`]. Not for interrupt or signal handlers: call it from the thread that
/// drains the ring.
#[derive(Debug)]
pub struct CaptureWriter<W: Write, const N: usize = 256> {
    out: W,
    encoder: FrameEncoder<N>,
}

impl<W: Write> CaptureWriter<W> {
    /// Writes the file header to `out` and returns a writer for the events.
    pub fn new(out: W) -> io::Result<Self> {
        Self::with_config(out, FrameEncoderConfig::DEFAULT)
    }
}

impl<W: Write, const N: usize> CaptureWriter<W, N> {
    /// Like [`CaptureWriter::new`], with encoder settings (e.g. the clock rate).
    pub fn with_config(mut out: W, config: FrameEncoderConfig) -> io::Result<Self> {
        write_header(&mut out)?;
        Ok(CaptureWriter {
            out,
            encoder: FrameEncoder::new(config),
        })
    }

    /// Writes one event (and the definitions it needs first).
    pub fn write(&mut self, event: &Event) -> io::Result<()> {
        let out = &mut self.out;
        self.encoder
            .encode(event, &mut |frame: &[u8]| out.write_all(frame))
    }

    /// Writes every event, stopping at the first error.
    pub fn write_all(&mut self, events: impl IntoIterator<Item = Event>) -> io::Result<()> {
        events.into_iter().try_for_each(|event| self.write(&event))
    }

    /// The encoder's counters: events, frames and bytes written (header excluded).
    pub fn stats(&self) -> FrameEncoderStats {
        self.encoder.stats()
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Reads a capture: an iterator of [`Item`]s — events, stream headers and [`Skipped`] regions
/// with offsets counted from the start of the file — ending with a
/// [`Truncated`](crate::decoder::SkipReason::Truncated) region if the file ends inside a frame.
/// Read errors are yielded as `Err` and end the iteration.
#[derive(Debug)]
pub struct CaptureReader<R> {
    input: R,
    decoder: Decoder,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    done: bool,
}

impl<R: Read> CaptureReader<R> {
    /// Checks the file header and returns a reader positioned at the first frame.
    pub fn open(mut input: R) -> Result<Self, CaptureError> {
        let mut header = [0u8; HEADER.len()];
        let mut filled = 0;
        while filled < header.len() {
            match input.read(&mut header[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(CaptureError::Io(error)),
            }
        }
        let magic_seen = filled.min(MAGIC.len());
        if header[..magic_seen] != MAGIC[..magic_seen] {
            return Err(CaptureError::NotACapture);
        }
        if filled < header.len() {
            return Err(CaptureError::Truncated);
        }
        check_header(&header)?;
        Ok(CaptureReader {
            input,
            decoder: Decoder::new().starting_at(HEADER.len() as u64),
            buf: std::vec![0; 64 * 1024],
            start: 0,
            end: 0,
            done: false,
        })
    }

    /// The decoder's counters so far (bytes, frames, events, skipped regions).
    pub fn stats(&self) -> DecoderStats {
        self.decoder.stats()
    }
}

impl<R: Read> Iterator for CaptureReader<R> {
    type Item = io::Result<Item>;

    fn next(&mut self) -> Option<io::Result<Item>> {
        loop {
            if self.start < self.end {
                match self.decoder.feed(&self.buf[self.start..self.end]) {
                    crate::decoder::Feed::Item { item, remaining } => {
                        self.start = self.end - remaining.len();
                        return Some(Ok(item));
                    }
                    crate::decoder::Feed::Consumed => self.start = self.end,
                }
            }
            if self.done {
                return None;
            }
            match self.input.read(&mut self.buf) {
                Ok(0) => {
                    self.done = true;
                    return self.decoder.finish().map(|s| Ok(Item::Skipped(s)));
                }
                Ok(n) => {
                    self.start = 0;
                    self.end = n;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    self.done = true;
                    return Some(Err(error));
                }
            }
        }
    }
}

/// Reads a whole capture into its events and the regions that were skipped: the simple way to
/// check a file.
pub fn read_all<R: Read>(
    input: R,
) -> Result<(Vec<Event<raceway_core::event::Site>>, Vec<Skipped>), CaptureError> {
    let mut events = Vec::new();
    let mut skipped = Vec::new();
    for item in CaptureReader::open(input)? {
        match item? {
            Item::Event(event) => events.push(event),
            Item::Skipped(skip) => skipped.push(skip),
            _ => {}
        }
    }
    Ok((events, skipped))
}
