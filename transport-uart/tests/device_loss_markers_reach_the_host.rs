//! Events the ring dropped on the device show up on the host as a loss marker, in place.

mod common;

use raceway_core::event::{Kind, ThreadId};
use raceway_core::recorder::Recorder;
use raceway_core::ring::{Ring, Slot};
use raceway_transport_uart::{FrameEncoderConfig, UartTransport};

static RECORDER: Recorder<[Slot; 4]> = Recorder::new(Ring::new(), || 1);

#[test]
fn ring_losses_are_decoded_as_dropped() {
    let t = ThreadId::from_raw(1);
    for message in 0..7 {
        RECORDER.record(t, Kind::Send { message });
    }
    let mut uart: UartTransport<Vec<u8>, 8> =
        UartTransport::new(Vec::new(), FrameEncoderConfig::DEFAULT);
    let mut consumer = RECORDER.consumer().unwrap();
    uart.drain(&mut consumer).unwrap();
    RECORDER.record(t, Kind::Send { message: 99 });
    uart.drain(&mut consumer).unwrap();

    let decoded = common::decode(&uart.into_inner());
    let kinds: Vec<Kind> = decoded.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            Kind::Send { message: 0 },
            Kind::Send { message: 1 },
            Kind::Send { message: 2 },
            Kind::Send { message: 3 },
            Kind::Dropped { count: 3 },
            Kind::Send { message: 99 },
        ]
    );
}
