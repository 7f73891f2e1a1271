//! `raceway check`: analyze capture files (or raw UART dumps) and print the race report.
//!
//! Each input is read in chunks through a [`Stream`] into its own [`Analyzer`]: recordings
//! are independent (thread 1 of one file is not thread 1 of another). Damaged regions are
//! reported with their byte offsets on standard error, kept (the first [`SHOWN_REGIONS`]) for
//! the JSON output, and fed to the analyzer as loss markers, so the intact rest is analyzed
//! and the races after a damaged region are marked uncertain. An input that yields no events
//! at all is an error (exit 2), never "no data races found". Memory stays bounded whatever
//! the file size: the analyzer's own bounds, one read buffer, and a capped list of regions.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use raceway_analyze::{Analyzer, Report};
use raceway_core::event::Site;
use raceway_transport_uart::decoder::{Item, SkipReason, Skipped};
use serde_json::json;

use crate::args::CheckOptions;
use crate::stream::{loss_marker, Format, Stream};
use crate::Status;

/// Damaged regions listed per file (on stderr and in JSON); the rest are only counted.
pub(crate) const SHOWN_REGIONS: usize = 20;

/// Read size for input files.
const CHUNK: usize = 64 * 1024;

/// What checking one input found.
#[derive(Debug)]
struct Checked {
    path: PathBuf,
    format: Option<Format>,
    /// Bytes read from the input.
    bytes: u64,
    /// Why the input could not be read completely or decoded at all.
    error: Option<String>,
    damage: Damage,
    /// `None` when nothing could be decoded.
    report: Option<Report>,
}

/// Damaged regions of one input.
#[derive(Debug, Default)]
pub(crate) struct Damage {
    /// Regions skipped.
    pub(crate) regions: u64,
    /// Bytes in them.
    pub(crate) bytes: u64,
    /// The first [`SHOWN_REGIONS`] of them.
    pub(crate) first: Vec<Skipped>,
}

impl Damage {
    /// Counts `skipped`; returns whether it is among the ones shown.
    pub(crate) fn add(&mut self, skipped: Skipped) -> bool {
        self.regions += 1;
        self.bytes += skipped.len;
        let shown = self.first.len() < SHOWN_REGIONS;
        if shown {
            self.first.push(skipped);
        }
        shown
    }
}

/// Says where a damaged region is and what it means, for people.
pub(crate) fn describe(skipped: &Skipped) -> String {
    let Skipped {
        offset,
        len,
        reason,
    } = *skipped;
    match reason {
        SkipReason::Truncated => format!(
            "truncated: the input ends inside a frame that starts at byte {offset}, at byte {}; \
             whatever was recorded after it is missing",
            offset + len
        ),
        SkipReason::BeforeHeader => format!(
            "bytes {offset}..{} ({len} bytes) come before the first stream header and cannot be \
             checked (recording joined mid-stream?)",
            offset + len
        ),
        _ => format!(
            "damaged at bytes {offset}..{} ({len} bytes): {reason}",
            offset + len
        ),
    }
}

/// Runs `raceway check`.
pub(crate) fn run(options: &CheckOptions) -> Status {
    let many = options.inputs.len() > 1;
    let checked: Vec<Checked> = options
        .inputs
        .iter()
        .map(|path| check(path, !options.json))
        .collect();

    let mut stdout = io::stdout().lock();
    let written = if options.json {
        let files: Vec<_> = checked.iter().map(to_json).collect();
        let document = json!({ "version": 1, "files": files });
        writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&document).unwrap_or_default()
        )
    } else {
        checked.iter().try_for_each(|checked| {
            if many {
                writeln!(stdout, "== {}", checked.path.display())?;
            }
            match &checked.report {
                Some(report) => write!(stdout, "{report}"),
                None => writeln!(stdout, "no report: {}", checked.path.display()),
            }?;
            if many {
                writeln!(stdout)?;
            }
            Ok(())
        })
    };
    if let Err(error) = written.and_then(|()| stdout.flush()) {
        if error.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("raceway: cannot write the report: {error}");
            return Status::InputError;
        }
    }

    let races = checked
        .iter()
        .any(|c| c.report.as_ref().is_some_and(|r| !r.races.is_empty()));
    let troubled = checked
        .iter()
        .any(|c| c.error.is_some() || c.damage.regions > 0);
    if races {
        Status::Races
    } else if troubled {
        Status::InputError
    } else {
        Status::Clean
    }
}

/// Reads and analyzes one input; with `tell`, says on stderr what is wrong with it.
fn check(path: &Path, tell: bool) -> Checked {
    let mut checked = Checked {
        path: path.to_owned(),
        format: None,
        bytes: 0,
        error: None,
        damage: Damage::default(),
        report: None,
    };
    let name = path.display();
    let mut input: Box<dyn Read> = if path == Path::new("-") {
        Box::new(io::stdin().lock())
    } else {
        match File::open(path) {
            Ok(file) => Box::new(file),
            Err(error) => {
                checked.error = Some(format!("cannot open: {error}"));
                if tell {
                    eprintln!("raceway: {name}: cannot open: {error}");
                }
                return checked;
            }
        }
    };

    let mut stream = Stream::new();
    let mut analyzer: Analyzer<Site> = Analyzer::new();
    let mut headers = 0u64;
    let damage = &mut checked.damage;
    let mut handle = |item: Item| match item {
        Item::Event(event) => analyzer.observe(&event),
        Item::Skipped(skipped) => {
            if damage.add(skipped) && tell {
                eprintln!("raceway: {name}: {}", describe(&skipped));
            }
            analyzer.observe(&loss_marker());
        }
        Item::Header(_) => headers += 1,
        _ => {}
    };
    let mut buf = vec![0; CHUNK];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => {
                checked.error = Some(format!(
                    "reading failed after {} bytes: {error}",
                    checked.bytes
                ));
                break;
            }
        };
        checked.bytes += n as u64;
        if let Err(error) = stream.feed(&buf[..n], &mut handle) {
            checked.error = Some(error.to_string());
            break;
        }
    }
    if checked.error.is_none() || stream.format().is_some() {
        if let Err(error) = stream.finish(&mut handle) {
            checked.error.get_or_insert(error.to_string());
        }
    }
    checked.format = stream.format();

    let events = stream.decoder().stats().events;
    if checked.format.is_some() && events == 0 {
        // Nothing analyzed is not the same as nothing wrong: never a clean bill.
        let why = if headers != 0 {
            "the stream has headers but not one event"
        } else if checked.damage.regions > 0 {
            "no Raceway frames: not a Raceway capture or UART stream"
        } else {
            "no Raceway frames, only padding or an empty capture"
        };
        checked.error.get_or_insert(format!(
            "no events in {} bytes ({why}); nothing was checked",
            checked.bytes
        ));
    } else if checked.format.is_some() {
        checked.report = Some(analyzer.report());
    }
    if tell {
        if let Some(error) = &checked.error {
            eprintln!("raceway: {name}: {error}");
        }
        let damage = &checked.damage;
        if damage.regions > SHOWN_REGIONS as u64 {
            eprintln!(
                "raceway: {name}: ... and {} more damaged regions",
                damage.regions - SHOWN_REGIONS as u64
            );
        }
        if damage.regions > 0 && checked.report.is_some() {
            eprintln!(
                "raceway: {name}: {} damaged region{} ({} bytes) skipped; every intact frame \
                 was analyzed, and races after the first damage are marked uncertain",
                damage.regions,
                if damage.regions == 1 { "" } else { "s" },
                damage.bytes
            );
        }
    }
    checked
}

fn to_json(checked: &Checked) -> serde_json::Value {
    let regions: Vec<_> = checked
        .damage
        .first
        .iter()
        .map(|s| json!({ "offset": s.offset, "len": s.len, "reason": s.reason.to_string() }))
        .collect();
    json!({
        "path": checked.path.display().to_string(),
        "format": checked.format.map(Format::as_str),
        "bytes": checked.bytes,
        "error": checked.error,
        "damaged": {
            "regions": checked.damage.regions,
            "bytes": checked.damage.bytes,
            "first": regions,
        },
        "report": checked.report.as_ref().map(serde_json::to_value).and_then(Result::ok),
    })
}
