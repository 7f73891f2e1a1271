//! The firmware side: frames events and writes them to a UART (any [`embedded_io::Write`]).
//!
//! # Call order, blocking and context
//!
//! * Create one [`UartTransport`] for the one consumer of the recorder's ring, and call
//!   [`UartTransport::drain`] (or [`UartTransport::send`]) from the main loop or an idle task —
//!   the same context every time, **never from an interrupt handler**: encoding takes a few
//!   microseconds per event and the transport is `&mut self`, not reentrant. Producers keep
//!   recording from anywhere meanwhile; the ring decouples them.
//! * The first bytes written are a header frame. Frames are written whole, one
//!   `write_all` each; nothing is buffered inside the transport, so after a successful call
//!   every frame has been handed to the writer (call [`UartTransport::flush`] if the writer
//!   buffers).
//! * Blocking is the writer's: a blocking UART driver blocks the drain until the bytes fit in
//!   its FIFO (at 115 200 baud a 14-byte frame takes about 1.2 ms). Bound the work per loop
//!   iteration by draining a limited number of events (`consumer.by_ref().take(n)`).
//! * A write error stops the drain and is returned. The event being written is counted as
//!   lost and the next successful call first sends a lone `0x00` (ending any half-written
//!   frame) and a loss marker, so the host sees the loss instead of missing it. The count is
//!   kept in 64 bits; a marker holds at most `u32::MAX`, so a larger loss goes out as several
//!   markers that add up to it exactly.
//!
//! # Examples
//!
//! ```
//! use raceway_core::event::{Event, Kind, ThreadId};
//! use raceway_transport_uart::{FrameEncoderConfig, UartTransport};
//!
//! // `&mut [u8]` implements `embedded_io::Write`; on a device this is the UART driver.
//! let mut buffer = [0u8; 256];
//! let mut uart: UartTransport<&mut [u8], 16> =
//!     UartTransport::new(&mut buffer[..], FrameEncoderConfig::DEFAULT);
//! uart.send(&Event::new(3, ThreadId::from_raw(1), Kind::Send { message: 1 })).unwrap();
//! assert!(uart.stats().bytes > 0);
//! assert_eq!(uart.lost(), 0);
//! ```

use embedded_io::Write;
use raceway_core::event::Event;

use crate::encoder::{FrameEncoder, FrameEncoderConfig, FrameEncoderStats};

/// Frames events onto a byte sink, for firmware; see the [module docs](self) for call order
/// and context. `N` is the encoder's name/location table size.
#[derive(Debug)]
pub struct UartTransport<W, const N: usize = 32> {
    writer: W,
    encoder: FrameEncoder<N>,
    /// Events lost to write errors and not yet reported in the stream, beyond those in
    /// `full_markers`. Not 0 also means a write failed since the last report, so the stream
    /// may end in half a frame.
    unreported: u32,
    /// Loss markers of `u32::MAX` events each still to send: a loss too large for one marker
    /// goes out as several, none saturated. (Two `u32`s rather than one `u64` count: with a
    /// second `u64` field the QEMU example built the transport through `memcpy`: 900 bytes
    /// more flash.)
    full_markers: u32,
    /// Every event lost to write errors.
    lost: u64,
}

impl<W, const N: usize> UartTransport<W, N> {
    /// A transport writing to `writer`. `const`, so it can be built in a `static` initialiser.
    pub const fn new(writer: W, config: FrameEncoderConfig) -> Self {
        UartTransport {
            writer,
            encoder: FrameEncoder::new(config),
            unreported: 0,
            full_markers: 0,
            lost: 0,
        }
    }

    /// The encoder's counters: events, frames and bytes sent.
    pub fn stats(&self) -> FrameEncoderStats {
        self.encoder.stats()
    }

    /// Events lost to write errors so far (each is also reported in the stream once writing
    /// works again).
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// Starts a new epoch: the next event is preceded by a header and its names are defined
    /// again. Call it when the host asks to resynchronise.
    pub fn resync(&mut self) {
        self.encoder.resync();
    }

    /// The writer, e.g. to read from the UART's receive side.
    pub fn writer_mut(&mut self) -> &mut W {
        &mut self.writer
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.writer
    }
}

impl<W: Write, const N: usize> UartTransport<W, N> {
    /// Frames and writes one event (and the definitions it needs first).
    pub fn send(&mut self, event: &Event) -> Result<(), W::Error> {
        match self.try_send(event) {
            Ok(()) => Ok(()),
            Err(error) => {
                if self.unreported == u32::MAX {
                    self.full_markers += 1;
                    self.unreported = 0;
                }
                self.unreported += 1;
                self.lost += 1;
                Err(error)
            }
        }
    }

    fn try_send(&mut self, event: &Event) -> Result<(), W::Error> {
        let writer = &mut self.writer;
        let mut emit = |frame: &[u8]| writer.write_all(frame);
        if self.unreported != 0 {
            // End whatever half frame the failed write left, then say what was lost.
            emit(&[0])?;
            while self.full_markers != 0 {
                self.encoder.encode(&Event::dropped(u32::MAX), &mut emit)?;
                self.full_markers -= 1;
            }
            self.encoder
                .encode(&Event::dropped(self.unreported), &mut emit)?;
            self.unreported = 0;
        }
        self.encoder.encode(event, &mut emit)
    }

    /// Sends every event `events` yields, returning how many, or the first write error (the
    /// events not yet taken from `events` stay where they are: in the ring, for a consumer).
    pub fn drain(&mut self, events: impl IntoIterator<Item = Event>) -> Result<usize, W::Error> {
        let mut sent = 0;
        for event in events {
            self.send(&event)?;
            sent += 1;
        }
        Ok(sent)
    }

    /// Flushes the writer.
    pub fn flush(&mut self) -> Result<(), W::Error> {
        self.writer.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decoder::Decoder;
    use raceway_core::event::{Kind, ThreadId};
    use std::vec::Vec;

    /// A UART that fails every write while `down`.
    struct Line {
        bytes: Vec<u8>,
        down: bool,
    }

    impl embedded_io::ErrorType for Line {
        type Error = embedded_io::ErrorKind;
    }

    impl Write for Line {
        fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
            if self.down {
                return Err(embedded_io::ErrorKind::Other);
            }
            self.bytes.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> Result<(), Self::Error> {
            Ok(())
        }
    }

    #[test]
    fn losses_beyond_u32_max_are_reported_exactly() {
        let line = Line {
            bytes: Vec::new(),
            down: true,
        };
        let mut uart: UartTransport<Line, 8> =
            UartTransport::new(line, FrameEncoderConfig::DEFAULT);
        let event = Event::new(1, ThreadId::from_raw(1), Kind::Send { message: 1 });
        // Four billion failed writes take too long to make one by one: start just below the
        // limit, as if they had happened.
        uart.unreported = u32::MAX - 1;
        for _ in 0..3 {
            assert!(uart.send(&event).is_err());
        }
        uart.writer_mut().down = false;
        uart.send(&event).unwrap();

        let mut decoder = Decoder::new();
        let lost: u64 = decoder
            .decode(&uart.into_inner().bytes)
            .filter_map(|item| match item.into_event()?.kind {
                Kind::Dropped { count } => Some(u64::from(count)),
                _ => None,
            })
            .sum();
        assert_eq!(lost, u64::from(u32::MAX) + 2);
    }
}
