//! A capture cut short or damaged in the middle still yields every intact event, and the
//! reader says where the damage is.

use raceway_core::event::{Event, Kind, ThreadId};
use raceway_transport_uart::capture::{self, CaptureError, CaptureReader, CaptureWriter};
use raceway_transport_uart::decoder::{Item, SkipReason};

fn capture() -> Vec<u8> {
    let mut writer = CaptureWriter::new(Vec::new()).unwrap();
    for message in 0..100 {
        let event = Event::new(message, ThreadId::from_raw(1), Kind::Send { message });
        writer.write(&event).unwrap();
    }
    writer.into_inner().unwrap()
}

#[test]
fn damaged_and_truncated_capture_yields_the_rest() {
    let mut file = capture();
    let middle = file.len() / 2;
    file[middle] ^= 0xff;
    file.truncate(file.len() - 2);

    let items: Vec<Item> = CaptureReader::open(&file[..])
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let events = items.iter().filter(|i| matches!(i, Item::Event(_))).count();
    let skipped: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            Item::Skipped(s) => Some(*s),
            _ => None,
        })
        .collect();
    assert_eq!(events, 100 - 2, "one corrupted, one truncated");
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    let corrupt = skipped[0];
    assert_eq!(corrupt.reason, SkipReason::Corrupt);
    assert!((corrupt.offset..corrupt.offset + corrupt.len).contains(&(middle as u64)));
    assert_eq!(
        file[corrupt.offset as usize - 1],
        0,
        "offsets are file offsets"
    );
    let truncated = skipped[1];
    assert_eq!(truncated.reason, SkipReason::Truncated);
    assert_eq!(truncated.offset + truncated.len, file.len() as u64);
}

#[test]
fn raw_uart_bytes_after_the_header_make_a_capture() {
    let mut file = Vec::new();
    capture::write_header(&mut file).unwrap();
    let raw = &capture()[capture::HEADER.len()..];
    file.extend_from_slice(raw);
    let (events, skipped) = capture::read_all(&file[..]).unwrap();
    assert_eq!(events.len(), 100);
    assert!(skipped.is_empty());
}

#[test]
fn not_a_capture_is_an_error() {
    assert!(matches!(
        CaptureReader::open(&b"hello world"[..]),
        Err(CaptureError::NotACapture)
    ));
    assert!(matches!(
        CaptureReader::open(&capture::HEADER[..4]),
        Err(CaptureError::Truncated)
    ));
    let mut future = capture::HEADER;
    future[7] = 2;
    assert!(matches!(
        CaptureReader::open(&future[..]),
        Err(CaptureError::UnsupportedVersion { found: 2 })
    ));
}
