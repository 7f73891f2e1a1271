//! Decodes a Raceway UART stream or capture file, prints its events and checks expectations.
//!
//! ```text
//! cargo run -p raceway-transport-uart --features std --example decode -- FILE [options]
//!
//!   --quiet                  print only the summary
//!   --frame-sizes            print bytes per frame kind (min/mean/max)
//!   --expect-threads N       fail unless at least N logical threads recorded events
//!   --expect-shared NAME     fail unless variable NAME was accessed by at least two threads
//!   --expect-lock NAME       fail unless lock NAME was acquired and released
//!   --max-skipped N          fail if more than N regions were skipped
//! ```
//!
//! FILE is either a capture (starts with `RWAYCAP`) or raw bytes from a UART. Exits with 1 and
//! says why when an expectation fails, 2 on bad usage or an unreadable file.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::ExitCode;

use raceway_core::event::{Event, Kind, Site, ThreadId};
use raceway_transport_uart::capture;
use raceway_transport_uart::decoder::{Decoder, Item, Skipped};
use raceway_transport_uart::frame::{self, Frame};

#[derive(Default)]
struct Options {
    file: Option<String>,
    quiet: bool,
    frame_sizes: bool,
    threads: usize,
    shared: Vec<String>,
    locks: Vec<String>,
    max_skipped: Option<usize>,
}

fn parse() -> Result<Options, String> {
    let mut options = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--quiet" => options.quiet = true,
            "--frame-sizes" => options.frame_sizes = true,
            "--expect-threads" => {
                options.threads = value(&arg)?.parse().map_err(|e| format!("{arg}: {e}"))?
            }
            "--expect-shared" => options.shared.push(value(&arg)?),
            "--expect-lock" => options.locks.push(value(&arg)?),
            "--max-skipped" => {
                options.max_skipped = Some(value(&arg)?.parse().map_err(|e| format!("{arg}: {e}"))?)
            }
            _ if arg.starts_with("--") => return Err(format!("unknown option {arg}")),
            _ if options.file.is_none() => options.file = Some(arg),
            _ => return Err(format!("unexpected argument {arg}")),
        }
    }
    if options.file.is_none() {
        return Err(
            "usage: decode FILE [--quiet] [--frame-sizes] [--expect-threads N] \
                    [--expect-shared NAME] [--expect-lock NAME] [--max-skipped N]"
                .into(),
        );
    }
    Ok(options)
}

/// Decodes raw stream bytes or a capture into its items.
fn decode(bytes: &[u8]) -> Result<(Vec<Item>, &[u8]), String> {
    if bytes.starts_with(&capture::MAGIC) {
        let items = capture::CaptureReader::open(bytes)
            .map_err(|e| e.to_string())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        return Ok((items, &bytes[capture::HEADER.len()..]));
    }
    let mut decoder = Decoder::new();
    let mut items: Vec<Item> = decoder.decode(bytes).collect();
    items.extend(decoder.finish().map(Item::Skipped));
    Ok((items, bytes))
}

/// Bytes on the wire per frame kind: walks the frames with the `frame` module.
fn frame_sizes(stream: &[u8]) -> BTreeMap<String, Vec<usize>> {
    let mut sizes: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut epoch = None;
    for stuffed in stream.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let mut buf = stuffed.to_vec();
        let Ok(payload) = frame::unstuff(&mut buf) else {
            continue;
        };
        let kind = if let Ok(header) = Frame::decode_header(payload) {
            epoch = Some(header.epoch);
            "Header".to_string()
        } else if let Some(Ok(frame)) = epoch.map(|e| Frame::decode(payload, e)) {
            let debug = format!("{frame:?}");
            debug
                .split(|c: char| !c.is_alphanumeric())
                .next()
                .unwrap_or_default()
                .to_string()
        } else {
            continue;
        };
        sizes.entry(kind).or_default().push(stuffed.len() + 1);
    }
    sizes
}

fn print_event(out: &mut impl Write, event: &Event<Site>) -> std::io::Result<()> {
    let Site { file, line, column } = event.location;
    writeln!(
        out,
        "{:>8} {:<4} {file}:{line}:{column} {:?}",
        event.time, event.thread, event.kind
    )
}

fn main() -> ExitCode {
    let options = match parse() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let path = options.file.as_deref().unwrap_or_default();
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("cannot read {path}: {error}");
            return ExitCode::from(2);
        }
    };
    let (items, stream) = match decode(&bytes) {
        Ok(decoded) => decoded,
        Err(message) => {
            eprintln!("{path}: {message}");
            return ExitCode::from(2);
        }
    };

    let mut out = std::io::stdout().lock();
    let mut quiet = options.quiet;
    let mut events = Vec::new();
    let mut skipped: Vec<Skipped> = Vec::new();
    let mut headers = 0;
    for item in items {
        match item {
            Item::Event(event) => {
                // A closed pipe (`| head`) stops the listing, not the checks.
                quiet = quiet || print_event(&mut out, &event).is_err();
                events.push(event);
            }
            Item::Skipped(skip) => {
                eprintln!("{skip}");
                skipped.push(skip);
            }
            Item::Header(_) => headers += 1,
            _ => {}
        }
    }

    let threads: BTreeSet<ThreadId> = events
        .iter()
        .map(|e| e.thread)
        .filter(|t| *t != ThreadId::NONE)
        .collect();
    let mut accessors: BTreeMap<String, BTreeSet<ThreadId>> = BTreeMap::new();
    let mut acquired: BTreeSet<String> = BTreeSet::new();
    let mut released: BTreeSet<String> = BTreeSet::new();
    let mut dropped = 0u64;
    for event in &events {
        match event.kind {
            Kind::StateChange { variable, .. } => {
                accessors
                    .entry(variable.to_string())
                    .or_default()
                    .insert(event.thread);
            }
            Kind::LockAcquire { lock, .. } => {
                acquired.insert(lock.to_string());
            }
            Kind::LockRelease { lock, .. } => {
                released.insert(lock.to_string());
            }
            Kind::Dropped { count } => dropped += u64::from(count),
            _ => {}
        }
    }
    drop(out);
    println!(
        "{path}: {} bytes, {} headers, {} events from {} threads, {} lost on the device, \
         {} regions skipped",
        bytes.len(),
        headers,
        events.len(),
        threads.len(),
        dropped,
        skipped.len()
    );
    for (variable, by) in &accessors {
        println!("  variable {variable}: accessed by {} threads", by.len());
    }
    for lock in &acquired {
        println!(
            "  lock {lock}: acquired{}",
            if released.contains(lock) {
                " and released"
            } else {
                ""
            }
        );
    }
    if options.frame_sizes {
        for (kind, sizes) in frame_sizes(stream) {
            let total: usize = sizes.iter().sum();
            println!(
                "  {kind} frames: {} (bytes min {} / mean {:.1} / max {})",
                sizes.len(),
                sizes.iter().min().unwrap_or(&0),
                total as f64 / sizes.len() as f64,
                sizes.iter().max().unwrap_or(&0)
            );
        }
    }

    let mut failures = Vec::new();
    if threads.len() < options.threads {
        failures.push(format!(
            "expected at least {} threads, saw {}",
            options.threads,
            threads.len()
        ));
    }
    for name in &options.shared {
        let by = accessors.get(name.as_str()).map_or(0, BTreeSet::len);
        if by < 2 {
            failures.push(format!(
                "expected {name} to be accessed by two threads, saw {by}"
            ));
        }
    }
    for name in &options.locks {
        if !acquired.contains(name.as_str()) || !released.contains(name.as_str()) {
            failures.push(format!("expected lock {name} to be acquired and released"));
        }
    }
    if let Some(max) = options.max_skipped {
        if skipped.len() > max {
            failures.push(format!(
                "expected at most {max} skipped regions, saw {}",
                skipped.len()
            ));
        }
    }
    for failure in &failures {
        eprintln!("FAIL: {failure}");
    }
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
