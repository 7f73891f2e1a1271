//! Bytes in, decoded items out, whatever the input is: a capture file or a raw UART stream.
//!
//! A capture starts with the file header `RWAYCAP`, its version and `0x00`
//! ([`capture::HEADER`]); a raw stream starts with frames. [`Stream`] tells them apart from
//! the first bytes as they arrive (so it works on a pipe or a serial line as well as on a
//! file), strips the capture header, and feeds everything else to the resynchronising
//! [`Decoder`]. Offsets in [`Skipped`](raceway_transport_uart::decoder::Skipped) regions are
//! byte offsets from the start of the input, capture header included.
//!
//! # Loss
//!
//! A skipped region may have held events (a frame is usually one event), so
//! [`loss_marker`] stands in for it in analysis and forwarding: one lost event per region.

use std::fmt;

use raceway_core::event::{Event, Kind, Site, ThreadId};
use raceway_transport_uart::capture::{self, CaptureError};
use raceway_transport_uart::decoder::{Decoder, Item, STREAM_SITE};

/// What the input turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// A capture file: the header, then frames.
    Capture,
    /// Frames straight from a UART.
    Raw,
}

impl Format {
    /// How `--json` and messages name it.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Format::Capture => "capture",
            Format::Raw => "raw",
        }
    }
}

/// Why the input cannot be decoded at all.
#[derive(Debug)]
pub(crate) enum StreamError {
    /// A capture header this build does not read (or one cut short).
    Capture(CaptureError),
    /// Nothing came in.
    Empty,
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::Capture(error) => write!(f, "{error} (at byte 0)"),
            StreamError::Empty => f.write_str("the input is empty"),
        }
    }
}

/// A decoder that first finds out whether it is reading a capture or a raw stream.
#[derive(Debug)]
pub(crate) struct Stream {
    /// The first bytes, kept until they decide the format (at most a capture header).
    prefix: Vec<u8>,
    format: Option<Format>,
    decoder: Decoder,
}

impl Stream {
    /// A stream that has seen nothing.
    pub(crate) fn new() -> Self {
        Stream {
            prefix: Vec::with_capacity(capture::HEADER.len()),
            format: None,
            decoder: Decoder::new(),
        }
    }

    /// The format, once the first bytes decided it.
    pub(crate) fn format(&self) -> Option<Format> {
        self.format
    }

    /// The decoder's counters (bytes fed to it, events, skipped regions and bytes).
    pub(crate) fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// Decodes `bytes`, handing each item found to `out`, in order.
    pub(crate) fn feed(
        &mut self,
        mut bytes: &[u8],
        out: &mut impl FnMut(Item),
    ) -> Result<(), StreamError> {
        if self.format.is_none() {
            let wanted = capture::HEADER.len() - self.prefix.len();
            let (head, rest) = bytes.split_at(wanted.min(bytes.len()));
            self.prefix.extend_from_slice(head);
            bytes = rest;
            let magic_seen = self.prefix.len().min(capture::MAGIC.len());
            if self.prefix[..magic_seen] != capture::MAGIC[..magic_seen] {
                self.format = Some(Format::Raw);
                let prefix = std::mem::take(&mut self.prefix);
                self.decoder.decode(&prefix).for_each(&mut *out);
            } else if let Ok(header) = <&[u8; capture::HEADER.len()]>::try_from(&self.prefix[..]) {
                capture::check_header(header).map_err(StreamError::Capture)?;
                self.format = Some(Format::Capture);
                self.decoder = Decoder::new().starting_at(capture::HEADER.len() as u64);
            } else {
                return Ok(()); // all of it was a prefix of the header: wait for more
            }
        }
        self.decoder.decode(bytes).for_each(out);
        Ok(())
    }

    /// Ends the input: a frame cut short is handed to `out` as a truncated region.
    pub(crate) fn finish(&mut self, out: &mut impl FnMut(Item)) -> Result<(), StreamError> {
        match self.format {
            Some(_) => {
                if let Some(skipped) = self.decoder.finish() {
                    out(Item::Skipped(skipped));
                }
                Ok(())
            }
            None if self.prefix.is_empty() => Err(StreamError::Empty),
            None => Err(StreamError::Capture(CaptureError::Truncated)),
        }
    }
}

/// The event that stands in for a skipped region: one event may have been lost there.
pub(crate) fn loss_marker() -> Event<Site> {
    Event {
        time: 0,
        location: STREAM_SITE,
        thread: ThreadId::NONE,
        kind: Kind::Dropped { count: 1 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raceway_core::event::Kind;
    use raceway_transport_uart::capture::CaptureWriter;
    use raceway_transport_uart::decoder::SkipReason;

    fn events() -> Vec<Event> {
        (0..3)
            .map(|message| Event::new(message, ThreadId::from_raw(1), Kind::Send { message }))
            .collect()
    }

    fn capture() -> Vec<u8> {
        let mut writer = CaptureWriter::new(Vec::new()).unwrap();
        writer.write_all(events()).unwrap();
        writer.into_inner().unwrap()
    }

    /// Feeds `bytes` in chunks of `chunk`, returning the format and the items.
    fn decode(bytes: &[u8], chunk: usize) -> Result<(Option<Format>, Vec<Item>), StreamError> {
        let mut stream = Stream::new();
        let mut items = Vec::new();
        for piece in bytes.chunks(chunk) {
            stream.feed(piece, &mut |item| items.push(item))?;
        }
        stream.finish(&mut |item| items.push(item))?;
        Ok((stream.format(), items))
    }

    fn event_count(items: &[Item]) -> usize {
        items.iter().filter(|i| matches!(i, Item::Event(_))).count()
    }

    #[test]
    fn captures_and_raw_streams_decode_alike_in_any_chunking() {
        let file = capture();
        let raw = &file[capture::HEADER.len()..];
        for chunk in [1, 2, 5, 8, 9, 10, 4096] {
            let (format, items) = decode(&file, chunk).unwrap();
            assert_eq!(format, Some(Format::Capture));
            assert_eq!(event_count(&items), 3, "capture in chunks of {chunk}");
            let (format, items) = decode(raw, chunk).unwrap();
            assert_eq!(format, Some(Format::Raw));
            assert_eq!(event_count(&items), 3, "raw in chunks of {chunk}");
        }
    }

    #[test]
    fn offsets_count_from_the_start_of_the_file() {
        let mut file = capture();
        let cut = file.len() - 2;
        file.truncate(cut);
        let (_, items) = decode(&file, 7).unwrap();
        let Some(Item::Skipped(last)) = items.last() else {
            panic!("expected a truncated region at the end: {items:?}");
        };
        assert_eq!(last.reason, SkipReason::Truncated);
        assert_eq!(last.offset + last.len, cut as u64);
    }

    #[test]
    fn bad_headers_and_empty_input_are_errors() {
        let mut file = capture();
        file[7] = 9;
        assert!(matches!(
            decode(&file, 64),
            Err(StreamError::Capture(CaptureError::UnsupportedVersion {
                found: 9
            }))
        ));
        assert!(matches!(
            decode(&capture::MAGIC[..4], 64),
            Err(StreamError::Capture(CaptureError::Truncated))
        ));
        assert!(matches!(decode(&[], 64), Err(StreamError::Empty)));
    }
}
