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

use raceway_analyze::merge::Merge;
use raceway_analyze::{html, Analyzer, Report};
use raceway_core::event::{Event, Site};
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
    let many = options.inputs.len() > 1 && !options.merge;
    let tell = !options.json;
    let (checked, merged) = if options.merge {
        let (checked, merged) = merge(&options.inputs, tell);
        (checked, Some(merged))
    } else {
        let checked = options.inputs.iter().map(|path| check(path, tell));
        (checked.collect::<Vec<_>>(), None)
    };
    let merged_name = || {
        let names: Vec<_> = options
            .inputs
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        names.join(" + ")
    };

    if let Some(path) = &options.html {
        let page = match &merged {
            Some(Some(report)) => html::render(report, &merged_name()),
            _ => {
                let parts: Vec<(String, &Report)> = checked
                    .iter()
                    .filter_map(|c| Some((c.path.display().to_string(), c.report.as_ref()?)))
                    .collect();
                let parts: Vec<(&str, &Report)> = parts
                    .iter()
                    .map(|(name, report)| (name.as_str(), *report))
                    .collect();
                html::render_all(&parts, &merged_name())
            }
        };
        if let Err(error) = std::fs::write(path, page) {
            eprintln!(
                "raceway: cannot write the HTML report {}: {error}",
                path.display()
            );
            return Status::InputError;
        }
    }

    let mut stdout = io::stdout().lock();
    let written = if options.json {
        let files: Vec<_> = checked.iter().map(to_json).collect();
        let mut document = json!({ "version": 1, "files": files });
        if let Some(merged) = &merged {
            document["merged"] = merged
                .as_ref()
                .map(serde_json::to_value)
                .and_then(Result::ok)
                .unwrap_or_default();
        }
        writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&document).unwrap_or_default()
        )
    } else if let Some(merged) = &merged {
        writeln!(stdout, "== merged: {}", merged_name()).and_then(|()| match merged {
            Some(report) => write!(stdout, "{report}"),
            None => writeln!(stdout, "no report: no input could be analyzed"),
        })
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
        .filter_map(|c| c.report.as_ref())
        .chain(merged.iter().flatten())
        .any(|r| !r.races.is_empty());
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

/// One input being read: its reader, its decoder, and what was found in it so far.
struct Input {
    checked: Checked,
    /// `None` once the input is used up (or could not be opened).
    read: Option<Box<dyn Read>>,
    stream: Stream,
    headers: u64,
    /// Whether to say on stderr what is wrong with the input.
    tell: bool,
}

impl Input {
    /// Opens `path` (`-` is standard input); an input that cannot be opened yields nothing.
    fn open(path: &Path, tell: bool) -> Input {
        let mut checked = Checked {
            path: path.to_owned(),
            format: None,
            bytes: 0,
            error: None,
            damage: Damage::default(),
            report: None,
        };
        let read: Option<Box<dyn Read>> = if path == Path::new("-") {
            Some(Box::new(io::stdin().lock()))
        } else {
            match File::open(path) {
                Ok(file) => Some(Box::new(file)),
                Err(error) => {
                    checked.error = Some(format!("cannot open: {error}"));
                    if tell {
                        eprintln!("raceway: {}: cannot open: {error}", path.display());
                    }
                    None
                }
            }
        };
        Input {
            checked,
            read,
            stream: Stream::new(),
            headers: 0,
            tell,
        }
    }

    /// Reads one chunk into `buf` and hands every event decoded from it to `out` (a damaged
    /// region as a loss marker). Returns `false` once the input is used up.
    fn pump(&mut self, buf: &mut [u8], out: &mut impl FnMut(Event<Site>)) -> bool {
        let Some(input) = &mut self.read else {
            return false;
        };
        let checked = &mut self.checked;
        let name = checked.path.display();
        let (tell, headers, damage) = (self.tell, &mut self.headers, &mut checked.damage);
        let mut handle = |item: Item| match item {
            Item::Event(event) => out(event),
            Item::Skipped(skipped) => {
                if damage.add(skipped) && tell {
                    eprintln!("raceway: {name}: {}", describe(&skipped));
                }
                out(loss_marker());
            }
            Item::Header(_) => *headers += 1,
            _ => {}
        };
        let n = loop {
            match input.read(buf) {
                Ok(n) => break n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    checked.error = Some(format!(
                        "reading failed after {} bytes: {error}",
                        checked.bytes
                    ));
                    break 0;
                }
            }
        };
        if n > 0 {
            checked.bytes += n as u64;
            match self.stream.feed(&buf[..n], &mut handle) {
                Ok(()) => return true,
                Err(error) => checked.error = Some(error.to_string()),
            }
        }
        // The end of the input (or an error that ends it).
        if checked.error.is_none() || self.stream.format().is_some() {
            if let Err(error) = self.stream.finish(&mut handle) {
                checked.error.get_or_insert(error.to_string());
            }
        }
        checked.format = self.stream.format();
        self.read = None;
        false
    }

    /// Ends the input with `report` (if it was analyzable) and says what went wrong with it.
    fn close(mut self, report: impl FnOnce() -> Report) -> Checked {
        let events = self.stream.decoder().stats().events;
        let checked = &mut self.checked;
        let name = checked.path.display();
        if checked.format.is_some() && events == 0 {
            // Nothing analyzed is not the same as nothing wrong: never a clean bill.
            let why = if self.headers != 0 {
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
            checked.report = Some(report());
        }
        if self.tell {
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
            if damage.regions > 0 && events > 0 {
                eprintln!(
                    "raceway: {name}: {} damaged region{} ({} bytes) skipped; every intact \
                     frame was analyzed, and races after the first damage are marked uncertain",
                    damage.regions,
                    if damage.regions == 1 { "" } else { "s" },
                    damage.bytes
                );
            }
        }
        self.checked
    }
}

/// Reads and analyzes one input; with `tell`, says on stderr what is wrong with it.
fn check(path: &Path, tell: bool) -> Checked {
    let mut input = Input::open(path, tell);
    let mut analyzer: Analyzer<Site> = Analyzer::new();
    let mut buf = vec![0; CHUNK];
    while input.pump(&mut buf, &mut |event| analyzer.observe(&event)) {}
    input.close(|| analyzer.report())
}

/// Reads all `paths` at once and analyzes their events as one stream (see [`raceway_analyze::merge`]).
/// Returns each input's own findings (without a report) and the merged report, if some input
/// had events.
fn merge(paths: &[PathBuf], tell: bool) -> (Vec<Checked>, Option<Report>) {
    let mut inputs: Vec<Input> = paths.iter().map(|path| Input::open(path, tell)).collect();
    let mut merge = Merge::new(inputs.len());
    let mut live = vec![true; inputs.len()];
    let mut analyzer: Analyzer<Site> = Analyzer::new();
    let mut buf = vec![0; CHUNK];
    loop {
        for (i, input) in inputs.iter_mut().enumerate() {
            while live[i] && !merge.has_events(i) {
                live[i] = input.pump(&mut buf, &mut |event| merge.push(i, event));
            }
        }
        // Every recording that is not used up has events waiting: the next one is safe.
        let Some(event) = merge.pop() else { break };
        analyzer.observe(&event);
    }
    let mut analyzed = false;
    let checked: Vec<Checked> = inputs
        .into_iter()
        .map(|input| {
            let mut checked = input.close(|| {
                analyzed = true;
                Report {
                    summary: Default::default(),
                    races: Vec::new(),
                }
            });
            checked.report = None;
            checked
        })
        .collect();
    let services: Vec<String> = paths
        .iter()
        .map(|path| {
            path.file_stem().map_or_else(
                || path.display().to_string(),
                |s| s.to_string_lossy().into(),
            )
        })
        .collect();
    let report = analyzed.then(|| {
        let mut report = analyzer.report();
        merge.name_threads(&mut report, &services);
        report
    });
    (checked, report)
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
