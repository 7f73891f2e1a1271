//! `raceway-transport-uart`: Raceway events over a serial line.
//!
//! Firmware records events into the core's ring from the main loop and from interrupt handlers;
//! the main loop (or idle task) drains the ring through a [`UartTransport`], which frames each
//! event with postcard + COBS and a CRC and writes it to any [`embedded_io::Write`]. On the host
//! (feature `std`) a `decoder::Decoder` turns whatever bytes arrive back into
//! [`Event<Site>`](raceway_core::Event)s, resynchronising after corrupted or missing bytes, and
//! `capture` files store the same frames on disk.
//!
//! * [`frame`] — the wire format: one [`Frame`](frame::Frame) per COBS frame.
//! * [`encoder`] — turns core events into frames, sending each name and location once.
//! * [`transport`] — the firmware side: an encoder over an `embedded_io::Write`.
//! * `decoder` (feature `std`) — the resynchronising host decoder.
//! * `capture` (feature `std`) — capture files: a file header followed by the same frames.
//!
//! # Examples
//!
//! Firmware side, draining a recorder into a UART (a `Vec<u8>` stands in for the UART here),
//! then decoding on the host:
//!
//! ```
//! use raceway_core::event::{Access, Kind, Value};
//! use raceway_core::recorder::Recorder;
//! use raceway_core::ring::{Ring, Slot};
//! use raceway_transport_uart::{FrameEncoderConfig, UartTransport};
//! # #[cfg(feature = "std")] {
//! use raceway_transport_uart::decoder::Decoder;
//!
//! static RECORDER: Recorder<[Slot; 16]> = Recorder::new(Ring::new(), || 7);
//! let main = RECORDER.new_thread();
//! RECORDER.record(main, Kind::StateChange {
//!     variable: "counter".into(),
//!     access: Access::Write,
//!     old: Value::U64(0),
//!     new: Value::U64(1),
//! });
//!
//! let mut uart: UartTransport<Vec<u8>> = UartTransport::new(Vec::new(), FrameEncoderConfig::DEFAULT);
//! let mut consumer = RECORDER.consumer().unwrap();
//! assert_eq!(uart.drain(&mut consumer).unwrap(), 1);
//!
//! let bytes = uart.into_inner();
//! let mut decoder = Decoder::new();
//! let events: Vec<_> = decoder.decode(&bytes).filter_map(|item| item.into_event()).collect();
//! assert_eq!(events[0].kind.variable(), Some("counter".into()));
//! assert_eq!(events[0].time, 7);
//! # }
//! ```
//!
//! # Frame format
//!
//! Version 2. A stream is a sequence of frames, each a postcard-encoded [`Frame`](frame::Frame)
//! followed by a CRC, COBS-encoded and terminated by a `0x00` byte:
//!
//! ```text
//! header or definition (kinds 0-2) = COBS( postcard(Frame) ++ crc32c_le ) ++ 0x00
//! any other frame                  = COBS( postcard(Frame) ++ crc16_le  ) ++ 0x00
//! ```
//!
//! * **Delimiter.** `0x00` never occurs inside a COBS-encoded frame, so a reader that lost its
//!   place starts again after the next `0x00`. Empty frames (two `0x00` in a row) are padding
//!   and are ignored; a writer may send a lone `0x00` to end a frame it could not finish.
//! * **Checksum.** Headers and definitions (kinds 0, 1 and 2: everything later frames depend
//!   on) end with a CRC-32C (iSCSI/Castagnoli: reflected polynomial `0x82F63B78`, initial
//!   value and final xor `0xFFFFFFFF`); every other frame with a CRC-16/IBM-SDLC (the X.25 FCS:
//!   reflected polynomial `0x8408`, initial value and final xor `0xFFFF`). Either is appended
//!   little-endian, as postcard's CRC flavor appends it; the first byte of the unstuffed frame,
//!   its kind, says which. A header frame's CRC covers the postcard bytes alone. Every other
//!   frame's CRC covers **the stream's current epoch byte followed by the postcard bytes**: the
//!   epoch is not sent in the frame, but a reader with the wrong epoch sees a checksum error
//!   instead of resolving ids against a stale table. A CRC-32 catches every burst of up to 32
//!   bits and lets about one in four billion longer ones through; a damaged definition that got
//!   through would misname every later event of its epoch, which is why definitions get it.
//!   Version 1 sealed every frame with a CRC-16/IBM-3740.
//! * **Size.** At most [`MAX_FRAME_LEN`](frame::MAX_FRAME_LEN) (256) bytes including the
//!   delimiter; definition texts are cut to [`MAX_TEXT_LEN`](frame::MAX_TEXT_LEN) bytes.
//! * **Integers** are postcard varints (LEB128, signed ones zigzagged), so small values cost
//!   one byte. Times are absolute `u64` ticks of the device's time source: a coarse tick keeps
//!   them short.
//!
//! The first postcard byte is the frame kind (the variant index of [`Frame`](frame::Frame)):
//!
//! | kind | frame | fields, in order |
//! |---:|---|---|
//! | 0 | `Header` | magic `"RWAY"` (4 bytes), version `u8` (= 2), epoch `u8`, encoder table capacity `u16`, clock Hz `u32` (0 = unknown) |
//! | 1 | `Symbol` | id `u16`, text (varint length + UTF-8) |
//! | 2 | `Location` | id `u16`, file symbol id `u16`, line `u32`, column `u32` |
//! | 3 | `Dropped` | count `u32`: events the device lost here |
//! | 4 | `StateChange` | *at*, variable id, access code, old value, new value |
//! | 5 | `FunctionCall` | *at*, function id, args value |
//! | 6 | `FunctionReturn` | *at*, function id, duration ns `u64`, value |
//! | 7 / 8 | `Spawn` / `Join` | *at*, child thread `u32` |
//! | 9 / 10 | `LockAcquire` / `LockRelease` | *at*, lock id, lock-kind code |
//! | 11 | `MemoryFence` | *at*, ordering code |
//! | 12 | `HttpRequest` | *at*, method id, url value, direction code, span `u64` |
//! | 13 | `HttpResponse` | *at*, status `u16`, duration ns `u64`, direction code, span `u64` |
//! | 14 | `DatabaseQuery` | *at*, database id, query value, duration ns `u64` |
//! | 15 | `DatabaseResult` | *at*, rows `u64` |
//! | 16 | `Error` | *at*, error-type id, message value, stack value |
//! | 17 | `Custom` | *at*, name id, data value |
//! | 18 / 19 | `Send` / `Receive` | *at*, message `u64` |
//! | 20 | `TraceStart` | *at*, trace id (16 bytes), span id (8), upstream value |
//! | 21 | `RemoteClock` | *at*, component id, counter `u64` |
//! | 22 | `ThreadEnd` | *at* |
//!
//! `RemoteParent` has no frame and is not sent: it links events for the Raceway server's
//! parent graph only, and a stream's consumers order events by their clocks.
//!
//! *at* is time `u64`, location id `u16`, thread `u32`. Ids are `u16`. A *value* is a kind byte
//! then its data: 0 none, 1 bool, 2 `i64`, 3 `u64`, 4 `f64` (8 bytes LE), 5 symbol id, 6 inline
//! text. Codes: access 0 Read, 1 Write, 2 AtomicRead, 3 AtomicWrite, 4 AtomicRmw; lock kind 0
//! Mutex, 1 RwRead, 2 RwWrite, 3 CriticalSection; ordering 0 Relaxed … 4 SeqCst; direction 0
//! Outbound, 1 Inbound.
//!
//! ## Epochs, definitions and resynchronisation
//!
//! Names (`&'static str`) and source locations are sent once per *epoch* as `Symbol` and `Location`
//! definition frames, right before the first frame that uses them, and are referred to by id after
//! that. An epoch starts with a `Header` frame; its ids count up from 0 and are never reused within
//! it. The encoder keeps a bounded pointer → id table; when it is full, or every
//! [`FrameEncoderConfig::resync_every`] frames, or when asked ([`UartTransport::resync`]), the
//! encoder starts a new epoch (epoch + 1, wrapping): it sends a new header, forgets every
//! definition and defines names again as they are used. A host that attaches mid-stream therefore
//! decodes everything from the next header on.
//!
//! A reader that misses a header notices at the first definition whose CRC-32 only matches
//! with the next epoch (an epoch's first frames are definitions), and moves on to it. A frame
//! that uses an id the reader has no definition for (its definition was lost or came before
//! the reader attached) is skipped and reported, never resolved against a stale name. Within
//! an epoch an id is defined once; a definition that contradicts the reader's table means it
//! missed a restart (a device reset starts again at epoch 0), and the reader drops the table.
//!
//! **The loss window is one epoch.** One lost or damaged frame costs at most the events in the
//! rest of its epoch: at most `resync_every` frames (256 by default) after it, whether it was
//! a header, a definition or an event. Shorter epochs narrow the window and cost bandwidth:
//! every name in use is defined again each epoch. Measured with 30 000 events on two threads
//! from 8 source lines and 10 variable names (`FrameEncoder<64>`, AMD EPYC): 17.1 bytes per event
//! with 1 024-frame epochs, 18.7 with 256, 21.2 with 128, 27.8 with 64; with 30 names, 17.8,
//! 21.9, 29.5 and 45.1.
//!
//! ## Compatibility
//!
//! A header frame always begins with kind 0, the magic and the version, so a reader recognises
//! headers of versions it does not speak and reports them. New frame kinds get new numbers; the
//! meaning of existing kinds and fields never changes within a version.
//!
//! ## Loss that the format cannot see
//!
//! A whole event frame removed exactly between two delimiters leaves no trace (there are no
//! sequence numbers: they would cost a byte per frame); a removed definition shows as skipped
//! references. Serial errors (overruns, framing errors) corrupt
//! bytes rather than deleting whole frames, and corrupted frames are reported.
//!
//! # Portability
//!
//! `no_std` without allocation unless the `std` feature is on. The encoder and transport need
//! no atomics of their own and build for `thumbv6m-none-eabi`.
#![no_std]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "std")]
pub mod capture;
#[cfg(feature = "std")]
pub mod decoder;
pub mod encoder;
pub mod frame;
#[cfg(feature = "std")]
mod strings;
pub mod transport;

pub use encoder::{FrameEncoder, FrameEncoderConfig, FrameEncoderStats};
pub use transport::UartTransport;
