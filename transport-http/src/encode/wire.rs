//! The wire form of one event, piece by piece: the head (ids, parent, timestamp), each kind's
//! fields, and the small values they are made of. The encoder decides what goes where; these
//! only write it.

use raceway_core::clock::{Incarnation, VectorClock};
use raceway_core::event::{Direction, Event, Kind, SourceLocation, Value};
use raceway_core::trace_context::SpanId;

use super::MAX_NAME_BYTES;
use crate::json::{self, escape_into, truncate};
use crate::timestamp::Timestamp;
use crate::uuid::{Uuid, UUID_LEN};

/// `{"id":…,"trace_id":…,"parent_id":…,"timestamp":…` (no closing brace).
pub(super) fn write_head(
    out: &mut Vec<u8>,
    id: Uuid,
    trace: Uuid,
    parent: Option<Uuid>,
    time: Timestamp,
) {
    out.extend_from_slice(b"{\"id\":");
    write_uuid(out, id);
    out.extend_from_slice(b",\"trace_id\":");
    write_uuid(out, trace);
    out.extend_from_slice(b",\"parent_id\":");
    match parent {
        Some(parent) => write_uuid(out, parent),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"timestamp\":\"");
    out.extend_from_slice(time.as_bytes());
    out.push(b'"');
}

pub(super) fn write_uuid(out: &mut Vec<u8>, id: Uuid) {
    let text: [u8; UUID_LEN] = id.to_text();
    out.push(b'"');
    out.extend_from_slice(&text);
    out.push(b'"');
}

/// `"service#instance#t7"`, from the prefix `"service#instance#t` (written whole: a clock of
/// twenty entries writes twenty of them per event).
pub(super) fn write_component(out: &mut Vec<u8>, prefix: &[u8], run: u64) {
    out.extend_from_slice(prefix);
    json::uint(out, run);
    out.push(b'"');
}

/// Writes `causality_vector` entries, remembering for a few recent runs how their clocks'
/// other entries were written: a run's events between two synchronisations share those
/// entries (a request under a contended lock carries the lock's last twenty holders on every
/// event), so each event copies them and formats only the run's own entry.
#[derive(Debug, Default)]
pub(super) struct ClockWriter {
    /// By run number, modulo the count: runs whose events interleave (one per worker thread)
    /// keep theirs.
    recent: [Written; RECENT_RUNS],
}

/// Runs whose clocks [`ClockWriter`] remembers.
const RECENT_RUNS: usize = 8;

/// How one run's clock was written, but for the run's own entry.
#[derive(Debug, Default)]
struct Written {
    run: u64,
    /// The clock's other entries, in clock order.
    others: Vec<(Incarnation, u32)>,
    /// Those before the run's own entry, each followed by a comma.
    before: Vec<u8>,
    /// Those after it, each preceded by a comma.
    after: Vec<u8>,
}

impl ClockWriter {
    /// Writes the entries of `clock`, the clock of `run`, joined by commas; returns whether
    /// there were any.
    pub(super) fn write(
        &mut self,
        out: &mut Vec<u8>,
        prefix: &[u8],
        clock: &VectorClock,
        run: u64,
    ) -> bool {
        let own = clock.get(Incarnation(run));
        if own == 0 {
            // Without the run's own entry (not a clock this encoder's replay gives a live
            // run) there is nothing the cache can split around: write it whole.
            let mut any = false;
            for (component, counter) in clock.iter() {
                if any {
                    out.push(b',');
                }
                any = true;
                write_entry(out, prefix, component.0, counter);
            }
            return any;
        }
        let written = &mut self.recent[(run % RECENT_RUNS as u64) as usize];
        let others = || clock.iter().filter(|(component, _)| component.0 != run);
        if written.run != run || !others().eq(written.others.iter().copied()) {
            written.run = run;
            written.others.clear();
            written.before.clear();
            written.after.clear();
            for (component, counter) in others() {
                written.others.push((component, counter));
                if component.0 < run {
                    write_entry(&mut written.before, prefix, component.0, counter);
                    written.before.push(b',');
                } else {
                    written.after.push(b',');
                    write_entry(&mut written.after, prefix, component.0, counter);
                }
            }
        }
        out.extend_from_slice(&written.before);
        write_entry(out, prefix, run, own);
        out.extend_from_slice(&written.after);
        true
    }
}

/// `["service#instance#t7",3]`.
fn write_entry(out: &mut Vec<u8>, prefix: &[u8], run: u64, counter: u32) {
    out.push(b'[');
    write_component(out, prefix, run);
    out.push(b',');
    json::uint(out, u64::from(counter));
    out.push(b']');
}

/// `"file:line"`.
pub(super) fn write_location<L: SourceLocation>(out: &mut Vec<u8>, location: &L) {
    out.push(b'"');
    escape_into(out, truncate(location.file(), json::MAX_STRING_BYTES));
    out.push(b':');
    json::uint(out, u64::from(location.line()));
    out.push(b'"');
}

/// `module::name` → (`module`, `name`); a bare name has an empty module.
pub(super) fn split_path(function: &str) -> (&str, &str) {
    match function.rfind("::") {
        Some(at) => (&function[..at], &function[at + 2..]),
        None => ("", function),
    }
}

pub(super) fn direction_str(direction: Direction) -> &'static str {
    match direction {
        Direction::Outbound => "Outbound",
        Direction::Inbound => "Inbound",
    }
}

/// `,"upstream_span_id":…` when a `TraceStart`'s upstream value names a span: a W3C span id
/// as 16 lowercase hex digits, a foreign span's text as it came (cut to [`MAX_NAME_BYTES`]).
pub(super) fn write_upstream(out: &mut Vec<u8>, upstream: &Value) {
    let text = match upstream {
        Value::U64(span) if *span != 0 => {
            out.extend_from_slice(b",\"upstream_span_id\":\"");
            out.extend_from_slice(SpanId::from(*span).to_hex16().as_bytes());
            out.push(b'"');
            return;
        }
        Value::Str(symbol) => symbol.as_str(),
        Value::Text(text) => text.as_str(),
        _ => return,
    };
    if !text.is_empty() {
        out.extend_from_slice(b",\"upstream_span_id\":");
        json::string(out, truncate(text, MAX_NAME_BYTES));
    }
}

/// `,"stack_trace":[…]`: the stack's lines, blank ones left out (the stack cut to
/// [`MAX_STRING_BYTES`](json::MAX_STRING_BYTES) first, so the event stays bounded), or the
/// event's `"file:line"` when there is no stack. Never empty, never null.
pub(super) fn write_stack_trace<L: SourceLocation>(out: &mut Vec<u8>, stack: &Value, location: &L) {
    out.extend_from_slice(b",\"stack_trace\":[");
    let stack = match stack {
        Value::Str(symbol) => symbol.as_str(),
        Value::Text(text) => text.as_str(),
        _ => "",
    };
    let mut frames = truncate(stack, json::MAX_STRING_BYTES)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .peekable();
    if frames.peek().is_none() {
        write_location(out, location);
    }
    for (i, frame) in frames.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json::string(out, frame);
    }
    out.push(b']');
}

/// `,"span_id":"<16 hex>"` when the exchange has a span.
pub(super) fn write_span_field(out: &mut Vec<u8>, span: u64) {
    if span != 0 {
        out.extend_from_slice(b",\"span_id\":\"");
        out.extend_from_slice(SpanId::from(span).to_hex16().as_bytes());
        out.push(b'"');
    }
}

/// `,"kind":{…}`; returns the duration for `metadata.duration_ns`, if the kind has one.
pub(super) fn write_kind<L: SourceLocation>(
    out: &mut Vec<u8>,
    event: &Event<L>,
    prefix: &[u8],
    run: u64,
    task_namespace: u64,
) -> Option<u64> {
    let location = &event.location;
    let mut duration = None;
    out.extend_from_slice(b",\"kind\":{");
    match event.kind {
        Kind::StateChange {
            variable,
            access,
            old,
            new,
        } => {
            out.extend_from_slice(b"\"StateChange\":{\"variable\":");
            json::string(out, variable.text().as_str());
            out.extend_from_slice(b",\"old_value\":");
            json::value(out, &old);
            out.extend_from_slice(b",\"new_value\":");
            json::value(out, &new);
            out.extend_from_slice(b",\"location\":");
            write_location(out, location);
            out.extend_from_slice(b",\"access_type\":\"");
            out.extend_from_slice(access.as_str().as_bytes());
            out.extend_from_slice(b"\"}");
        }
        Kind::FunctionCall { function, args } => {
            let (module, name) = split_path(function);
            out.extend_from_slice(b"\"FunctionCall\":{\"function_name\":");
            json::string(out, name);
            out.extend_from_slice(b",\"module\":");
            json::string(out, module);
            out.extend_from_slice(b",\"args\":");
            json::value(out, &args);
            out.extend_from_slice(b",\"file\":");
            json::string(out, location.file());
            out.extend_from_slice(b",\"line\":");
            json::uint(out, u64::from(location.line()));
            out.push(b'}');
        }
        Kind::FunctionReturn {
            function,
            duration_ns,
            value,
        } => {
            let (module, name) = split_path(function);
            out.extend_from_slice(
                b"\"Custom\":{\"name\":\"FunctionReturn\",\"data\":{\"function_name\":",
            );
            json::string(out, name);
            out.extend_from_slice(b",\"module\":");
            json::string(out, module);
            out.extend_from_slice(b",\"duration_ns\":");
            json::uint(out, duration_ns);
            out.extend_from_slice(b",\"return_value\":");
            json::value(out, &value);
            out.extend_from_slice(b",\"file\":");
            json::string(out, location.file());
            out.extend_from_slice(b",\"line\":");
            json::uint(out, u64::from(location.line()));
            out.extend_from_slice(b"}}");
            duration = Some(duration_ns);
        }
        Kind::Spawn { child } => {
            out.extend_from_slice(b"\"AsyncSpawn\":{\"task_id\":");
            write_uuid(
                out,
                Uuid::derived(task_namespace, u64::from(child.to_raw())),
            );
            out.extend_from_slice(b",\"spawned_by\":");
            write_component(out, prefix, run);
            out.push(b'}');
        }
        Kind::Join { child } => {
            out.extend_from_slice(b"\"AsyncAwait\":{\"future_id\":");
            write_uuid(
                out,
                Uuid::derived(task_namespace, u64::from(child.to_raw())),
            );
            out.extend_from_slice(b",\"awaited_at\":");
            write_location(out, location);
            out.push(b'}');
        }
        Kind::LockAcquire { lock, lock_kind } | Kind::LockRelease { lock, lock_kind } => {
            let name: &[u8] = if matches!(event.kind, Kind::LockAcquire { .. }) {
                b"\"LockAcquire\":{\"lock_id\":"
            } else {
                b"\"LockRelease\":{\"lock_id\":"
            };
            out.extend_from_slice(name);
            json::string(out, lock.text().as_str());
            out.extend_from_slice(b",\"lock_type\":\"");
            out.extend_from_slice(lock_kind.as_str().as_bytes());
            out.extend_from_slice(b"\",\"location\":");
            write_location(out, location);
            out.push(b'}');
        }
        Kind::MemoryFence { ordering } => {
            out.extend_from_slice(b"\"MemoryFence\":{\"ordering\":\"");
            out.extend_from_slice(ordering.as_str().as_bytes());
            out.extend_from_slice(b"\",\"location\":");
            write_location(out, location);
            out.push(b'}');
        }
        Kind::HttpRequest {
            method,
            url,
            direction,
            span,
        } => {
            out.extend_from_slice(b"\"HttpRequest\":{\"method\":");
            json::string(out, method);
            out.extend_from_slice(b",\"url\":");
            json::value_as_string(out, &url);
            out.extend_from_slice(b",\"headers\":{},\"direction\":\"");
            out.extend_from_slice(direction_str(direction).as_bytes());
            out.push(b'"');
            write_span_field(out, span);
            out.push(b'}');
        }
        Kind::HttpResponse {
            status,
            duration_ns,
            direction,
            span,
        } => {
            out.extend_from_slice(b"\"HttpResponse\":{\"status\":");
            json::uint(out, u64::from(status));
            out.extend_from_slice(b",\"headers\":{},\"duration_ms\":");
            json::uint(out, duration_ns / 1_000_000);
            out.extend_from_slice(b",\"direction\":\"");
            out.extend_from_slice(direction_str(direction).as_bytes());
            out.push(b'"');
            write_span_field(out, span);
            out.push(b'}');
            duration = Some(duration_ns);
        }
        Kind::DatabaseQuery {
            database,
            query,
            duration_ns,
        } => {
            out.extend_from_slice(b"\"DatabaseQuery\":{\"query\":");
            json::value_as_string(out, &query);
            out.extend_from_slice(b",\"database\":");
            json::string(out, database);
            out.extend_from_slice(b",\"duration_ms\":");
            json::uint(out, duration_ns / 1_000_000);
            out.push(b'}');
            duration = Some(duration_ns);
        }
        Kind::DatabaseResult { rows_affected } => {
            out.extend_from_slice(b"\"DatabaseResult\":{\"rows_affected\":");
            json::uint(out, rows_affected);
            out.push(b'}');
        }
        Kind::Error {
            error_type,
            message,
            stack,
        } => {
            out.extend_from_slice(b"\"Error\":{\"error_type\":");
            json::string(out, error_type);
            out.extend_from_slice(b",\"message\":");
            json::value_as_string(out, &message);
            write_stack_trace(out, &stack, location);
            out.push(b'}');
        }
        Kind::Custom { name, data } => {
            out.extend_from_slice(b"\"Custom\":{\"name\":");
            json::string(out, name);
            out.extend_from_slice(b",\"data\":");
            json::value(out, &data);
            out.push(b'}');
        }
        Kind::Send { message } | Kind::Receive { message } => {
            let name: &[u8] = if matches!(event.kind, Kind::Send { .. }) {
                b"\"Custom\":{\"name\":\"Send\",\"data\":{\"message\":"
            } else {
                b"\"Custom\":{\"name\":\"Receive\",\"data\":{\"message\":"
            };
            out.extend_from_slice(name);
            json::uint(out, message);
            out.extend_from_slice(b"}}");
        }
        // Handled before (no wire event), or a kind newer than this encoder: say what it was.
        ref other => {
            out.extend_from_slice(b"\"Custom\":{\"name\":\"raceway.unknown\",\"data\":");
            json::string(out, &format!("{other:?}"));
            out.push(b'}');
        }
    }
    out.push(b'}');
    duration
}
