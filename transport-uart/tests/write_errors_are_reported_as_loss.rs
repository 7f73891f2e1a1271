//! An event that could not be written is counted, and the stream tells the host about it.

mod common;

use embedded_io::{ErrorKind, ErrorType, Write};
use raceway_core::event::{Event, Kind, ThreadId};
use raceway_transport_uart::{FrameEncoderConfig, UartTransport};

/// A UART that fails the write calls it is told to fail, after writing part of the data.
struct Flaky {
    bytes: Vec<u8>,
    calls: usize,
    fail: Vec<usize>,
}

#[derive(Debug)]
struct Broken;

impl embedded_io::Error for Broken {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Other
    }
}

impl ErrorType for Flaky {
    type Error = Broken;
}

impl Write for Flaky {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Broken> {
        self.calls += 1;
        if self.fail.contains(&self.calls) {
            // Half a frame went out before the failure.
            self.bytes.extend_from_slice(&buf[..buf.len() / 2]);
            return Err(Broken);
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Broken> {
        Ok(())
    }
}

#[test]
fn failed_writes_become_a_loss_marker() {
    let uart = Flaky {
        bytes: Vec::new(),
        calls: 0,
        // Calls 1-4 are header, file, location, first event; fail the 6th and 7th.
        fail: vec![6, 7],
    };
    let mut transport: UartTransport<Flaky, 16> =
        UartTransport::new(uart, FrameEncoderConfig::DEFAULT);
    let event = |message| Event::new(message, ThreadId::from_raw(1), Kind::Send { message });
    let results: Vec<bool> = (0..5).map(|i| transport.send(&event(i)).is_ok()).collect();
    assert_eq!(results, [true, true, false, false, true]);
    assert_eq!(transport.lost(), 2);

    let decoded = common::decode(&transport.into_inner().bytes);
    let kinds: Vec<Kind> = decoded.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            Kind::Send { message: 0 },
            Kind::Send { message: 1 },
            Kind::Dropped { count: 2 },
            Kind::Send { message: 4 },
        ]
    );
    // The half-written frame was ended by the transport and reported once.
    assert_eq!(decoded.skipped.len(), 1, "{:?}", decoded.skipped);
}
