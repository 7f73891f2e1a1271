//! Any bytes, cut into any chunks, through the stream decoder and the capture reader: no
//! panic, no unbounded buffering, and offsets that stay inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use raceway_transport_uart::capture::{self, CaptureReader};
use raceway_transport_uart::decoder::{Decoder, Item};

fuzz_target!(|data: &[u8]| {
    // The first byte picks the chunk size, so the fuzzer explores chunk boundaries too.
    let Some((&chunk, bytes)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let mut decoder = Decoder::new();
    let mut end = 0;
    for piece in bytes.chunks(chunk) {
        for item in decoder.decode(piece) {
            if let Item::Skipped(skip) = item {
                assert!(skip.offset >= end, "skipped regions never overlap");
                end = skip.offset + skip.len;
            }
        }
    }
    if let Some(skip) = decoder.finish() {
        end = skip.offset + skip.len;
    }
    assert!(end <= bytes.len() as u64);
    assert_eq!(decoder.stats().bytes, bytes.len() as u64);

    // The same bytes as the body of a capture file.
    let mut file = capture::HEADER.to_vec();
    file.extend_from_slice(bytes);
    if let Ok(reader) = CaptureReader::open(&file[..]) {
        for item in reader {
            let _ = item.expect("reading from memory cannot fail");
        }
    }
});
