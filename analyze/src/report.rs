//! What the analyzer found: text for people ([`Display`](fmt::Display)) and JSON for tools.
//!
//! # JSON shape (version 1)
//!
//! [`Report::to_json`] (or `serde_json` on the [`Serialize`] impl) gives one object. Fields are
//! only ever added within a version; a removed or changed field bumps [`JSON_VERSION`].
//!
//! ```text
//! {
//!   "version": 1,
//!   "summary": {
//!     "events": 1234,                // events analyzed (loss markers not counted)
//!     "threads": 4,                  // distinct logical threads
//!     "variables": 3,                // distinct variable names
//!     "forgotten_variables": 0,      // variables whose accesses were dropped for memory
//!     "forgotten_accesses": 0,       // later accesses to such variables (races may be missed)
//!     "dropped_events": 0,           // events lost before the analyzer saw them
//!     "first_drop_after": null,      // events analyzed before the first loss marker
//!     "uncertain_events": 0,         // events whose happens-before may be wrong
//!     "lost_edges": 0,               // spawn/message/join edges evicted, then needed
//!     "maybe_lost_edges": 0,         // consumers that found no edge after some were forgotten
//!     "evicted_threads": 0,          // live threads evicted for capacity
//!     "clock_overflow": false,       // whether some vector clock lacks entries
//!     "capped_reads": 0,             // read-set entries dropped for capacity
//!     "capped_locksets": 0,          // locksets treated as empty for capacity
//!     "races_not_kept": 0,           // race occurrences beyond the distinct-race cap
//!     "hashed_names": 0              // variable and lock names shown by hash (#3f2a…)
//!   },
//!   "races": [{
//!     "variable": "accounts.alice.balance",
//!     "severity": "CRITICAL",        // write/write; "WARNING" for read/write
//!     "count": 3,                    // occurrences at this pair of source locations
//!     "uncertain": false,            // may be invented by dropped events or capacity
//!     "earlier": ACCESS,             // the access that came first in the stream
//!     "later": ACCESS
//!   }]
//! }
//! ACCESS = {
//!   "thread": 2, "file": "src/bank.rs", "line": 42, "column": 9,
//!   "service": "ledger",             // only when several recordings were merged
//!   "access": "Write",               // Read, Write, AtomicRead, AtomicWrite, AtomicRMW
//!   "old": 100, "new": 50,           // null, bool, number or string
//!   "event": 17,                     // position in the stream, from 0
//!   "source": "    balance -= 50;"   // the source line if the file was readable, else null
//! }
//! ```
//!
//! # Examples
//!
//! ```
//! use raceway_analyze::Analyzer;
//! use raceway_core::event::{Event, Site};
//! use raceway_core::{Access, Kind, ThreadId, Value};
//!
//! let write = |thread, line| Event {
//!     time: 0,
//!     location: Site { file: "src/bank.rs", line, column: 5 },
//!     thread: ThreadId::from_raw(thread),
//!     kind: Kind::StateChange {
//!         variable: "balance".into(),
//!         access: Access::Write,
//!         old: Value::I64(100),
//!         new: Value::I64(50),
//!     },
//! };
//! let report = Analyzer::analyze(&[write(1, 10), write(2, 20)]);
//!
//! assert!(report.to_string().starts_with("1 data race found"));
//! let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
//! assert_eq!(json["version"], 1);
//! assert_eq!(json["races"][0]["severity"], "CRITICAL");
//! assert_eq!(json["races"][0]["later"]["line"], 20);
//! ```

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use raceway_core::{Access, ThreadId, Value};

use crate::timeline::Timeline;
use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;

/// The version of the JSON shape, written as its `version` field.
pub const JSON_VERSION: u32 = 1;

/// Everything the analyzer found, with counters that say how far to trust it.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Counters over the whole stream.
    pub summary: Summary,
    /// Distinct races, write/write first, then in the order they were found.
    pub races: Vec<Race>,
}

/// Counters over the whole stream (field meanings are listed in the [module docs](self)).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Events analyzed (loss markers not counted).
    pub events: u64,
    /// Distinct logical threads.
    pub threads: u64,
    /// Distinct variable names (one forgotten long ago and seen again counts again).
    pub variables: u64,
    /// Variables whose last accesses were dropped because no one touched them while many other
    /// variables were (memory stays bounded by the variables in use).
    pub forgotten_variables: u64,
    /// Accesses to a variable whose earlier accesses had been dropped for memory recently (see
    /// [`Generations`](raceway_core::generations)): a race with those earlier accesses cannot be
    /// found.
    pub forgotten_accesses: u64,
    /// Events lost before they reached the analyzer.
    pub dropped_events: u64,
    /// How many events had been analyzed when the first loss marker came (`None`: no loss).
    pub first_drop_after: Option<u64>,
    /// Events whose happens-before may be wrong (those after a loss marker; what capacity cost
    /// is per race instead).
    pub uncertain_events: u64,
    /// Spawn, message and join edges (and locks' last releases) evicted for capacity and then
    /// needed.
    pub lost_edges: u64,
    /// Receives, spawned threads' starts, joins and lock acquisitions that found no edge after
    /// some edge of their kind had been forgotten altogether: each may have lost one (or had no
    /// sender in the stream).
    pub maybe_lost_edges: u64,
    /// Live threads evicted for capacity.
    pub evicted_threads: u64,
    /// Whether some vector clock lacks entries: it overflowed (more causally connected threads
    /// than it holds), relied on a join that was forgotten, or may have missed an edge lost to
    /// capacity.
    pub clock_overflow: bool,
    /// Read-set entries dropped because a variable had too many concurrent readers.
    pub capped_reads: u64,
    /// Locksets treated as empty because too many distinct ones were held.
    pub capped_locksets: u64,
    /// Race occurrences not kept because the distinct-race cap was reached.
    pub races_not_kept: u64,
    /// Distinct variable and lock names whose text was forgotten (a full name table): they
    /// are shown as `#` and 16 hex digits of their identity, which still tells them apart.
    pub hashed_names: u64,
}

/// Two accesses to one variable from different logical threads, at least one a write, that
/// nothing orders.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Race {
    /// The variable's name.
    pub variable: String,
    /// How bad it is, as the Raceway server ranks it.
    pub severity: Severity,
    /// How many times this pair of source locations raced on this variable.
    pub count: u64,
    /// Whether the race may be an artefact of dropped events, lost edges or clock overflow.
    pub uncertain: bool,
    /// The access that came first in the stream.
    pub earlier: RaceAccess,
    /// The access that came second.
    pub later: RaceAccess,
    /// Both threads around the race and the edges that exist between them, for the
    /// [HTML report](crate::html) (not part of the JSON shape).
    #[serde(skip)]
    pub timeline: Timeline,
}

/// How bad a race is: the Raceway server's ranking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Severity {
    /// Two writes: an update can be lost.
    #[serde(rename = "CRITICAL")]
    Critical,
    /// A read and a write: a stale or torn value can be seen.
    #[serde(rename = "WARNING")]
    Warning,
}

impl Severity {
    /// The server's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "CRITICAL",
            Severity::Warning => "WARNING",
        }
    }
}

/// One side of a race.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RaceAccess {
    /// The service the thread ran in, when several recordings were analyzed together
    /// (`raceway check --merge`); `None` for one recording.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The logical thread that made the access.
    #[serde(serialize_with = "thread_number")]
    pub thread: ThreadId,
    /// The source file, as the event recorded it.
    pub file: String,
    /// The line, from 1 (0 when unknown).
    pub line: u32,
    /// The column, from 1 (0 when unknown).
    pub column: u32,
    /// How the variable was accessed.
    #[serde(serialize_with = "access_name")]
    pub access: Access,
    /// The value before the access.
    #[serde(serialize_with = "json_value")]
    pub old: Value,
    /// The value after the access (for a read: the value read).
    #[serde(serialize_with = "json_value")]
    pub new: Value,
    /// The event's position in the stream, from 0.
    pub event: u64,
    /// The text of the source line, if the file could be read.
    pub source: Option<String>,
}

impl Report {
    /// The report as pretty-printed JSON (the shape is in the [module docs](self)).
    pub fn to_json(&self) -> String {
        // Serializing plain structs into a string cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Whether some results may be wrong or incomplete, and why (one sentence per reason).
    pub fn caveats(&self) -> Vec<String> {
        let s = &self.summary;
        let mut caveats = Vec::new();
        if let Some(after) = s.first_drop_after {
            let events = match s.dropped_events {
                1 => "1 event was".to_owned(),
                n => format!("{n} events were"),
            };
            caveats.push(format!(
                "{events} dropped, the first after event {after}: races may have been missed \
                 from there on, and races after it are marked uncertain"
            ));
        }
        let mut missed = Vec::new();
        if s.lost_edges > 0 {
            missed.push(format!(
                "{} happens-before edges were evicted for capacity before they were needed",
                s.lost_edges
            ));
        }
        if s.maybe_lost_edges > 0 {
            missed.push(format!(
                "{} receives, spawns, joins and lock acquisitions found no edge after older ones \
                 had been forgotten (each may have lost one)",
                s.maybe_lost_edges
            ));
        }
        if !missed.is_empty() {
            caveats.push(format!(
                "{}: races that such an edge could have ordered are marked uncertain",
                missed.join(", and ")
            ));
        }
        if s.clock_overflow {
            caveats.push(
                "some vector clocks lack entries (one overflowed with too many causally \
                 connected threads, relied on a join long forgotten, or missed an edge lost to \
                 capacity): races that depend on them are marked uncertain and may be false"
                    .to_owned(),
            );
        }
        if s.forgotten_variables > 0 {
            caveats.push(format!(
                "{} variables nobody touched for a long time were forgotten to bound memory: a \
                 race between an access before that and a later one is not found ({} later \
                 accesses to recently forgotten variables were seen)",
                s.forgotten_variables, s.forgotten_accesses
            ));
        }
        if s.capped_reads > 0 {
            caveats.push(format!(
                "{} reads were forgotten because a variable had more than {} concurrent \
                 readers: races with them may have been missed",
                s.capped_reads,
                crate::analyzer::MAX_READERS
            ));
        }
        if s.hashed_names > 0 {
            caveats.push(format!(
                "{} shown by hash (#…) because the name table was full: their text was \
                 forgotten, their identity was not, so no verdict is affected",
                match s.hashed_names {
                    1 => "1 variable or lock name is".to_owned(),
                    n => format!("{n} variable and lock names are"),
                }
            ));
        }
        if s.races_not_kept > 0 {
            caveats.push(format!(
                "{} race occurrences were not kept: only the first {} distinct races are listed",
                s.races_not_kept,
                self.races.len()
            ));
        }
        caveats
    }
}

impl Serialize for Report {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut report = serializer.serialize_struct("Report", 3)?;
        report.serialize_field("version", &JSON_VERSION)?;
        report.serialize_field("summary", &self.summary)?;
        report.serialize_field("races", &self.races)?;
        report.end()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.summary;
        match self.races.len() {
            0 => write!(f, "no data races")?,
            n => write!(f, "{}", Counted(n as u64, "data race"))?,
        }
        writeln!(
            f,
            " found ({}, {}, {})",
            Counted(s.events, "event"),
            Counted(s.threads, "thread"),
            Counted(s.variables, "variable")
        )?;
        for (number, race) in self.races.iter().enumerate() {
            writeln!(f)?;
            write!(f, "{}. {race}", number + 1)?;
        }
        for caveat in self.caveats() {
            writeln!(f)?;
            writeln!(f, "warning: {caveat}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Race {
    /// A headline and both accesses, each with its source line when known.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = |access: Access| if access.is_write() { "write" } else { "read" };
        write!(
            f,
            "{}: {}/{} race on `{}`",
            self.severity.as_str(),
            kind(self.earlier.access),
            kind(self.later.access),
            self.variable
        )?;
        if self.count > 1 {
            write!(f, " ({} times)", self.count)?;
        }
        if self.uncertain {
            write!(f, " [uncertain]")?;
        }
        writeln!(f)?;
        writeln!(f, "   {}", self.earlier)?;
        writeln!(f, "   {}", self.later)
    }
}

impl fmt::Display for RaceAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(service) = &self.service {
            write!(f, "{service} ")?;
        }
        write!(
            f,
            "{} {} at {}:{}:{}",
            self.thread,
            self.access.as_str(),
            self.file,
            self.line,
            self.column
        )?;
        if self.access.is_write() {
            write!(f, " ({} -> {})", Shown(self.old), Shown(self.new))?;
        } else if self.new != Value::None {
            write!(f, " (saw {})", Shown(self.new))?;
        }
        if let Some(source) = &self.source {
            write!(f, "\n   {:>6} | {}", self.line, source.trim())?;
        }
        Ok(())
    }
}

/// A count and a noun, plural unless the count is 1.
struct Counted(u64, &'static str);

impl fmt::Display for Counted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.0 == 1 { "" } else { "s" };
        write!(f, "{} {}{plural}", self.0, self.1)
    }
}

/// A value as people read it (`?` when unknown, strings quoted).
pub(crate) fn shown(value: Value) -> String {
    Shown(value).to_string()
}

/// A value as people read it.
struct Shown(Value);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Value::None => f.write_str("?"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::U64(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::Str(v) => write!(f, "{:?}", v.as_str()),
            Value::Text(v) => write!(f, "{:?}", v.as_str()),
        }
    }
}

fn thread_number<S: Serializer>(thread: &ThreadId, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u32(thread.to_raw())
}

fn access_name<S: Serializer>(access: &Access, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(access.as_str())
}

fn json_value<S: Serializer>(value: &Value, serializer: S) -> Result<S::Ok, S::Error> {
    match *value {
        Value::None => serializer.serialize_none(),
        Value::Bool(v) => serializer.serialize_bool(v),
        Value::I64(v) => serializer.serialize_i64(v),
        Value::U64(v) => serializer.serialize_u64(v),
        Value::F64(v) => serializer.serialize_f64(v),
        Value::Str(v) => serializer.serialize_str(v.as_str()),
        Value::Text(v) => serializer.serialize_str(v.as_str()),
    }
}

/// Source lines read once per file. Recorded paths are relative to where the program was built,
/// so a relative path is tried from the current directory and from `CARGO_MANIFEST_DIR` and
/// its ancestors (a workspace member's `file!()` is relative to the workspace root).
#[derive(Debug, Default)]
pub(crate) struct SourceLines {
    files: HashMap<String, Option<Vec<String>>>,
}

impl SourceLines {
    pub(crate) fn line(&mut self, file: &str, line: u32) -> Option<String> {
        let lines = self
            .files
            .entry(file.to_owned())
            .or_insert_with(|| read_lines(Path::new(file)));
        let index = usize::try_from(line).ok()?.checked_sub(1)?;
        lines.as_ref()?.get(index).cloned()
    }
}

fn read_lines(file: &Path) -> Option<Vec<String>> {
    let mut candidates = vec![file.to_path_buf()];
    if file.is_relative() {
        if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") {
            candidates.extend(PathBuf::from(dir).ancestors().map(|dir| dir.join(file)));
        }
    }
    candidates
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .map(|text| text.lines().map(str::to_owned).collect())
}
