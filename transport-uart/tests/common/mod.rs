//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use raceway_core::event::{Event, Site};
use raceway_transport_uart::decoder::{Decoder, DecoderStats, Item, Skipped};
use raceway_transport_uart::{FrameEncoder, FrameEncoderConfig};

/// Encodes `events` into one stream, returning the bytes and each frame's byte range.
pub fn encode<const N: usize>(
    events: &[Event],
    config: FrameEncoderConfig,
) -> (Vec<u8>, Vec<std::ops::Range<usize>>) {
    let mut encoder: FrameEncoder<N> = FrameEncoder::new(config);
    let mut bytes = Vec::new();
    let mut frames = Vec::new();
    for event in events {
        encoder
            .encode(event, &mut |frame: &[u8]| -> Result<(), ()> {
                frames.push(bytes.len()..bytes.len() + frame.len());
                bytes.extend_from_slice(frame);
                Ok(())
            })
            .unwrap();
    }
    (bytes, frames)
}

/// What decoding a whole input produced.
#[derive(Debug, Default)]
pub struct Decoded {
    pub events: Vec<Event<Site>>,
    pub skipped: Vec<Skipped>,
    pub headers: usize,
    pub stats: DecoderStats,
}

/// Decodes `bytes` fed in chunks of the given sizes (cycled), then finishes.
pub fn decode_chunked(bytes: &[u8], chunk_sizes: &[usize]) -> Decoded {
    let mut decoder = Decoder::new();
    let mut decoded = Decoded::default();
    let mut rest = bytes;
    let mut sizes = chunk_sizes.iter().cycle();
    while !rest.is_empty() {
        let size = (*sizes.next().unwrap()).clamp(1, rest.len());
        let (chunk, after) = rest.split_at(size);
        rest = after;
        for item in decoder.decode(chunk) {
            collect(&mut decoded, item);
        }
    }
    if let Some(skip) = decoder.finish() {
        decoded.skipped.push(skip);
    }
    decoded.stats = decoder.stats();
    decoded
}

pub fn decode(bytes: &[u8]) -> Decoded {
    decode_chunked(bytes, &[bytes.len().max(1)])
}

fn collect(decoded: &mut Decoded, item: Item) {
    match item {
        Item::Event(event) => decoded.events.push(event),
        Item::Skipped(skip) => decoded.skipped.push(skip),
        Item::Header(_) => decoded.headers += 1,
        other => panic!("unexpected item {other:?}"),
    }
}

/// The event as the host should see it.
pub fn on_host(event: &Event) -> Event<Site> {
    if let raceway_core::Kind::Dropped { .. } = event.kind {
        return event.with_location(raceway_transport_uart::decoder::STREAM_SITE);
    }
    let site = Site {
        file: event.location.file(),
        line: event.location.line(),
        column: event.location.column(),
    };
    event.with_location(site)
}

/// A `'static` copy of `text`, as a name recorded at run time would be (interned).
pub fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}
