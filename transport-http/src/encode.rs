//! The stream encoder: core events in ring order in, the Raceway server's JSON events out,
//! packed into [`Batch`]es that respect the server's limits.
//!
//! [`JsonEncoder::encode`] takes each event exactly in the order the ring hands them out, because
//! the encoder replays happens-before ([`HappensBefore`]) and keeps per-thread state as it goes:
//!
//! * **ids and parents**: every wire event gets a random UUID v4 `id`, except the two ends of
//!   an HTTP exchange that propagation names in headers (see [`exchange_event_id`]); each
//!   logical thread's events form a chain through `parent_id`, and a spawned thread's first
//!   event is parented on the spawning event, which is what the server needs to order events
//!   of different threads. A [`Kind::RemoteParent`] parents the thread's next event on an
//!   event another process recorded (the caller's request, the callee's response). A thread's
//!   first event after a [`Kind::TraceStart`] into a *different* trace is a root
//!   (`parent_id: null`).
//! * **bounded chains**: no chain is deeper than [`MAX_PARENT_DEPTH`] (see
//!   [below](#parent-chains-are-bounded)).
//! * **traces**: `TraceStart` binds a thread to a trace and span; a spawned child inherits its
//!   parent's trace and span; a thread never bound uses this encoder's default trace (a random
//!   UUID drawn at construction). `upstream_span_id` is written only on the thread's first event
//!   after a `TraceStart` that carries one, because the server adds a distributed edge for every
//!   event that has it: a W3C upstream (`Value::U64`) as 16 lowercase hex digits, a foreign one
//!   (`Value::Str`, e.g. another SDK's `parent-span-1111`) as its text.
//! * **`thread_id` and clocks**: a logical thread is `service#instance#t<N>` both as
//!   `metadata.thread_id` and as its `causality_vector` component. The server overwrites the
//!   plain `service#instance` component with its own counter, so threads need names of their
//!   own; `instance_id` stays one per process. The vector is the thread's clock from
//!   [`HappensBefore`], followed by the [`Kind::RemoteClock`] entries the thread received (and
//!   inherited from its spawner). A joined child has no entry after the join: the joiner's own
//!   entry stands for its whole run, and the join is parented on the child's last event.
//! * **`lock_set`**: the locks the thread holds at the event (an acquire lists the lock it
//!   took, a release the lock it is letting go).
//! * **metadata events**: `TraceStart`, `RemoteClock`, `RemoteParent` and `ThreadEnd` update state and produce
//!   no wire event; `ThreadEnd` frees the thread's state.
//!
//! # Kind mapping
//!
//! | core [`Kind`] | wire kind |
//! |---|---|
//! | `StateChange` | `StateChange` (`location` is `file:line`) |
//! | `FunctionCall` | `FunctionCall` (`module::name` split into `module` and `function_name`) |
//! | `FunctionReturn` | `Custom` named `FunctionReturn`, data `{function_name, module, duration_ns, return_value, file, line}`, and `metadata.duration_ns` |
//! | `Spawn` | `AsyncSpawn`, `task_id` a UUID derived from the child thread (same for its `Join`) |
//! | `Join` | `AsyncAwait`, `future_id` the child's task id, `awaited_at` `file:line` |
//! | `LockAcquire` / `LockRelease` | same names, `lock_type` from [`LockKind::as_str`](raceway_core::LockKind::as_str) |
//! | `MemoryFence` | `MemoryFence` |
//! | `HttpRequest` / `HttpResponse` | same names, `headers: {}`, plus `direction` and `span_id` fields the server ignores; response `duration_ms` and `metadata.duration_ns` |
//! | `DatabaseQuery` / `DatabaseResult` | same names (`duration_ms`, `metadata.duration_ns`) |
//! | `Error` | `Error`, `stack_trace` the stack's lines (blank ones left out), or `["file:line"]` when it has none |
//! | `Custom` | `Custom` |
//! | `Send` / `Receive` | `Custom` named `Send` / `Receive`, data `{"message": id}` |
//! | `Dropped { count }` | `Custom` named `raceway.dropped`, data `{"count": n}`, on its own (no thread, default trace) |
//! | `TraceStart`, `RemoteClock`, `RemoteParent`, `ThreadEnd` | none (state only) |
//!
//! Values: `None` → `null`, integers and finite floats → numbers, non-finite floats →
//! `"NaN"`/`"inf"`/`"-inf"`, text → strings. Where the wire wants a string (URL, query,
//! message) other values are written in their JSON spelling.
//!
//! # Parent chains are bounded
//!
//! The Raceway server walks `parent_id` links recursively when a trace is read, and its process
//! aborts (a tokio worker's stack overflows) on a chain of about 2 500 events (debug build) to
//! 4 000 (release build), losing every trace it holds. So every event the encoder writes is at
//! most [`MAX_PARENT_DEPTH`] events deep (a root is depth 1), however many events a thread
//! records, across batches and flushes. A thread's chain *restarts* when it is full:
//!
//! * the restarting event is parented on the thread's **anchor** — the event of another thread
//!   its current chain hangs from (the spawn for a spawned thread, the caller's request for a
//!   callee, the callee's response after a call, the child's last event after a join, which
//!   is also the join's own parent) — so every later event stays ordered after
//!   everything the anchor is ordered after; with no anchor (or one too deep) it is a root;
//! * a spawn is never written at the last depth, so the child's first event always fits under
//!   it; the two ends of an exchange ([`exchange_event_id`]) stay within
//!   [`EXCHANGE_DEPTH_SPAN`] of the deepest remote link their thread hangs from, because the
//!   other side must be told how deep they are before they are encoded.
//!
//! What a restart costs: the server orders events of one thread by their vector clocks, so
//! nothing within a thread; across threads it orders only through ancestry, so the events a
//! thread recorded *before* a restart stop being ancestors of what it, and threads it spawns or
//! calls, record after it. The server may then report a race between such an event and a later
//! access on another thread that the local analyzer (which orders by clocks) does not. Long
//! threads with no anchor are where this shows: each restart makes a root.
//!
//! # Memory and size
//!
//! Per-thread state is capped ([`MAX_THREADS`], least recently active evicted first), so are
//! pending spawns ([`MAX_PENDING_SPAWNS`]), remote clock entries per thread
//! ([`MAX_REMOTE_ENTRIES`]) and listed locks ([`MAX_LOCK_SET`]). Every string field is cut to
//! [`MAX_STRING_BYTES`](crate::json::MAX_STRING_BYTES) (names in lists and config strings to
//! [`MAX_NAME_BYTES`]), which bounds one event to [`MAX_EVENT_BYTES`], half the server's body
//! limit.
//!
//! # Examples
//!
//! ```
//! use raceway_core::{Access, Event, Kind, ThreadId, Value};
//! use raceway_transport_http::{JsonEncoder, JsonEncoderConfig, Fate};
//!
//! let mut encoder = JsonEncoder::new(JsonEncoderConfig::new("bank", "host-4242"));
//! let write = Kind::StateChange {
//!     variable: "accounts.alice.balance".into(),
//!     access: Access::Write,
//!     old: Value::I64(100),
//!     new: Value::I64(50),
//! };
//! // Event times are Unix nanoseconds unless the config says how to convert them.
//! let encoded = encoder.encode(&Event::new(1_795_709_498_773_642_605, ThreadId::from_raw(1), write));
//! assert_eq!(encoded.fate, Fate::Written);
//! assert!(encoded.batch.is_none(), "one event does not fill a batch");
//!
//! let batch = encoder.flush().expect("one event is pending");
//! let body: serde_json::Value = serde_json::from_slice(batch.body()).unwrap();
//! let event = &body["events"][0];
//! assert_eq!(event["kind"]["StateChange"]["access_type"], "Write");
//! assert_eq!(event["metadata"]["thread_id"], "bank#host-4242#t1");
//! assert_eq!(event["timestamp"], "2026-11-26T16:11:38.773642605Z");
//! ```

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::Arc;

use raceway_core::causality::{least_recently_active, HappensBefore};
use raceway_core::event::{Direction, Event, Kind, SourceLocation, ThreadId, Value};
use raceway_core::trace_context::{SpanId, TraceId};
use raceway_core::Name;

use crate::batch::{Batch, BatchLimits};
use crate::json::{self, escape_into, truncate};
use crate::timestamp::TimestampWriter;
use crate::uuid::{Rng, Uuid};

mod wire;

use wire::{write_component, write_head, write_kind, write_upstream, ClockWriter};

/// Logical threads whose state is kept at once (least recently active evicted beyond it).
pub const MAX_THREADS: usize = 65_536;
/// Spawns remembered until the child's first event (oldest evicted beyond it).
pub const MAX_PENDING_SPAWNS: usize = 4096;
/// Remote clock entries kept per thread (later ones are ignored).
pub const MAX_REMOTE_ENTRIES: usize = 32;
/// Locks listed in one event's `lock_set` (the server rebuilds lock sets itself).
pub const MAX_LOCK_SET: usize = 32;
/// The longest service name, instance id, environment, tag, lock name in `lock_set` and remote
/// clock component, in bytes (longer ones are cut at a character boundary).
pub const MAX_NAME_BYTES: usize = 256;
/// Tags kept from the configuration (the first ones in key order).
pub const MAX_TAGS: usize = 64;
/// The deepest `parent_id` chain written (a root is depth 1); see the
/// [module docs](self#parent-chains-are-bounded) for why and what a restart costs.
pub const MAX_PARENT_DEPTH: u32 = 1000;
/// How much deeper than the deepest remote link its thread hangs from (0 with none) an exchange
/// end ([`exchange_event_id`]) may be: propagation declares that depth in the headers before
/// the event is encoded, and the encoder keeps it true.
pub const EXCHANGE_DEPTH_SPAN: u32 = 100;
/// An upper bound on one encoded event, whatever its content: half of
/// [`MAX_BODY_BYTES`](crate::MAX_BODY_BYTES), so any event fits in a request.
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// Converts an event's `time` to nanoseconds since the Unix epoch.
pub type TimeToUnixNanos = Arc<dyn Fn(u64) -> u64 + Send + Sync>;

/// What the encoder writes into every event's metadata, and how it batches.
#[derive(Clone)]
#[non_exhaustive]
pub struct JsonEncoderConfig {
    /// `metadata.service_name`.
    pub service_name: String,
    /// `metadata.instance_id`: one per process (see the [module docs](self)).
    pub instance_id: String,
    /// `metadata.environment` (may be empty).
    pub environment: String,
    /// `metadata.process_id`.
    pub process_id: u32,
    /// `metadata.tags`; `sdk_language: rust` is always added.
    pub tags: BTreeMap<String, String>,
    /// Batch size in events and bytes.
    pub limits: BatchLimits,
    /// Converts event times to Unix nanoseconds (default: they already are).
    pub time_to_unix_nanos: TimeToUnixNanos,
}

impl JsonEncoderConfig {
    /// A configuration for `service_name` / `instance_id` with environment `development`, this
    /// process's id, no extra tags, default [`BatchLimits`] and event times in Unix nanoseconds.
    pub fn new(service_name: impl Into<String>, instance_id: impl Into<String>) -> Self {
        JsonEncoderConfig {
            service_name: service_name.into(),
            instance_id: instance_id.into(),
            environment: "development".into(),
            process_id: std::process::id(),
            tags: BTreeMap::new(),
            limits: BatchLimits::default(),
            time_to_unix_nanos: Arc::new(|time| time),
        }
    }
}

impl fmt::Debug for JsonEncoderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonEncoderConfig")
            .field("service_name", &self.service_name)
            .field("instance_id", &self.instance_id)
            .field("environment", &self.environment)
            .field("process_id", &self.process_id)
            .field("tags", &self.tags)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// What the encoder did with the events it was given.
///
/// `consumed == metadata + encoded + oversized` at all times; `encoded` events are in batches
/// handed out or in the one being filled ([`JsonEncoder::pending_events`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JsonEncoderStats {
    /// Events passed to [`JsonEncoder::encode`], loss markers included.
    pub consumed: u64,
    /// `TraceStart`, `RemoteClock`, `RemoteParent` and `ThreadEnd` events: state only, nothing sent.
    pub metadata: u64,
    /// Wire events produced (a `Dropped` marker becomes one).
    pub encoded: u64,
    /// Events that could not fit in a request under the configured byte limit (never with
    /// the default limits; see [`MAX_EVENT_BYTES`]).
    pub oversized: u64,
    /// Events the stream's `Dropped` markers reported lost before they reached the encoder (in a
    /// thread's lane, a device's ring or a damaged stretch of a capture).
    pub dropped_upstream: u64,
    /// Batches handed out.
    pub batches: u64,
}

/// What [`JsonEncoder::encode`] did with one event, and the batch it completed, if any.
#[derive(Debug)]
#[must_use = "a completed batch must be delivered"]
pub struct Encoded {
    /// The batch filled *before* this event, if this event completed one.
    pub batch: Option<Batch>,
    /// What became of the event itself.
    pub fate: Fate,
}

impl Encoded {
    fn state_only() -> Self {
        Encoded {
            batch: None,
            fate: Fate::StateOnly,
        }
    }
}

/// What became of one event given to [`JsonEncoder::encode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Written as a wire event into the batch being filled.
    Written,
    /// A `Dropped` marker, written as a `raceway.dropped` wire event.
    Marker,
    /// `TraceStart`, `RemoteClock`, `RemoteParent` or `ThreadEnd`: it shapes the events around
    /// it and is not sent on its own.
    StateOnly,
    /// Larger than a request may be under the byte limit: left out (and logged).
    Oversized,
}

/// Which end of an HTTP exchange an event is, for [`exchange_event_id`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExchangeEnd {
    /// The caller's outbound request (`HttpRequest`, outbound, with a span).
    Request,
    /// The callee's response (`HttpResponse`, inbound, with a span).
    Response,
}

/// The wire id the encoder gives one end of the HTTP exchange `span` in `trace`.
///
/// Derived (a version 8 UUID), not random, so that the side recording the event can name it in
/// a propagation header before the event is encoded, and the other side can parent its next
/// event on it ([`Kind::RemoteParent`]).
pub fn exchange_event_id(trace: TraceId, span: u64, end: ExchangeEnd) -> [u8; 16] {
    exchange_uuid(Uuid(trace.to_bytes()), span, end).0
}

fn exchange_uuid(trace: Uuid, span: u64, end: ExchangeEnd) -> Uuid {
    let (high, low) = trace.0.split_at(8);
    let fold = |half: &[u8]| half.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    let tag = match end {
        ExchangeEnd::Request => 0x7261_6365_7771_0001, // "raceway request"
        ExchangeEnd::Response => 0x7261_6365_7773_0002,
    };
    Uuid::derived(fold(high) ^ fold(low).rotate_left(17) ^ tag, span)
}

/// The exchange end `kind` is, with its span, if the encoder gives it a derived id.
fn exchange_end(kind: &Kind) -> Option<(u64, ExchangeEnd)> {
    match *kind {
        Kind::HttpRequest {
            direction: Direction::Outbound,
            span,
            ..
        } if span != 0 => Some((span, ExchangeEnd::Request)),
        Kind::HttpResponse {
            direction: Direction::Inbound,
            span,
            ..
        } if span != 0 => Some((span, ExchangeEnd::Response)),
        _ => None,
    }
}

/// A wire event a chain can continue from, and how deep it is.
#[derive(Clone, Copy, Debug)]
struct Link {
    id: Uuid,
    depth: u32,
}

/// Per logical thread: where its chain is, which trace it is in, what it holds.
#[derive(Debug)]
struct ThreadState {
    /// The thread's latest wire event: the next one's parent while the chain has room.
    last: Option<Link>,
    /// The other thread's event the current chain hangs from: where a full chain restarts.
    anchor: Option<Link>,
    /// A [`Kind::RemoteParent`] waiting for the thread's next wire event.
    remote_parent: Option<Link>,
    /// The deepest remote link declared to this thread (or its spawner): exchange ends stay
    /// within [`EXCHANGE_DEPTH_SPAN`] of it.
    base: u32,
    trace: Uuid,
    span: Option<SpanId>,
    /// The `TraceStart`'s upstream value, written on the next event only.
    upstream: Value,
    locks: Vec<Name>,
    remote: Vec<(&'static str, u64)>,
    last_active: u64,
}

/// What a spawned thread inherits from the spawn.
#[derive(Debug)]
struct Inherited {
    spawn_event: Link,
    base: u32,
    trace: Uuid,
    span: Option<SpanId>,
    remote: Vec<(&'static str, u64)>,
}

/// Turns core events, in stream order, into batches of the Raceway server's JSON events.
///
/// One encoder per event stream; it is `Send`, so it can live in the drain thread. See the
/// [module docs](self) for what it writes.
pub struct JsonEncoder {
    limits: BatchLimits,
    time_to_unix_nanos: TimeToUnixNanos,
    /// `"service#instance#t`, JSON-escaped: a component without its run number and closing
    /// quote.
    component_prefix: Vec<u8>,
    /// `"process_id":…,"service_name":…,"environment":…,"tags":{…},"instance_id":…`
    static_metadata: Vec<u8>,
    default_trace: Uuid,
    /// Mixed into derived task ids so that two processes' tasks never share one.
    task_namespace: u64,
    rng: Rng,
    hb: HappensBefore,
    threads: ThreadMap<ThreadState>,
    spawns: ThreadMap<Inherited>,
    spawn_order: VecDeque<ThreadId>,
    /// The last wire event of threads that ended, newest [`MAX_PENDING_SPAWNS`] of them: a
    /// join hangs from it, so the server sees the child's work before what the joiner does.
    ended: ThreadMap<Link>,
    ended_order: VecDeque<ThreadId>,
    /// Events seen: the clock for "least recently active".
    tick: u64,
    last_unix_nanos: u64,
    timestamps: TimestampWriter,
    scratch: Vec<u8>,
    clocks: ClockWriter,
    batch: Batch,
    stats: JsonEncoderStats,
}

impl fmt::Debug for JsonEncoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonEncoder")
            .field(
                "component_prefix",
                &String::from_utf8_lossy(&self.component_prefix),
            )
            .field("limits", &self.limits)
            .field("threads", &self.threads.len())
            .field("pending_spawns", &self.spawns.len())
            .field("pending_events", &self.batch.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// Per-thread state by thread id. Ids are small numbers the recording process hands out, so a
/// fast fixed hash serves better than SipHash (which took 3 % of `drain/encode_json`).
type ThreadMap<V> = HashMap<ThreadId, V, foldhash::fast::FixedState>;

impl JsonEncoder {
    /// An encoder writing `config`'s metadata into every event. Over-long strings in the
    /// configuration are cut to [`MAX_NAME_BYTES`] and tags beyond [`MAX_TAGS`] are left out.
    pub fn new(config: JsonEncoderConfig) -> Self {
        let service = truncate(&config.service_name, MAX_NAME_BYTES);
        let instance = truncate(&config.instance_id, MAX_NAME_BYTES);

        let mut component_prefix = vec![b'"'];
        escape_into(&mut component_prefix, service);
        component_prefix.push(b'#');
        escape_into(&mut component_prefix, instance);
        component_prefix.extend_from_slice(b"#t");

        let mut tags: BTreeMap<&str, &str> = config
            .tags
            .iter()
            .filter(|(key, _)| key.as_str() != "sdk_language")
            .take(MAX_TAGS - 1)
            .map(|(key, value)| {
                (
                    truncate(key, MAX_NAME_BYTES),
                    truncate(value, MAX_NAME_BYTES),
                )
            })
            .collect();
        tags.insert("sdk_language", "rust");

        let mut meta = Vec::new();
        meta.extend_from_slice(b"\"process_id\":");
        json::uint(&mut meta, u64::from(config.process_id));
        meta.extend_from_slice(b",\"service_name\":");
        json::string(&mut meta, service);
        meta.extend_from_slice(b",\"environment\":");
        json::string(&mut meta, truncate(&config.environment, MAX_NAME_BYTES));
        meta.extend_from_slice(b",\"tags\":{");
        for (i, (key, value)) in tags.iter().enumerate() {
            if i > 0 {
                meta.push(b',');
            }
            json::string(&mut meta, key);
            meta.push(b':');
            json::string(&mut meta, value);
        }
        meta.extend_from_slice(b"},\"instance_id\":");
        json::string(&mut meta, instance);

        let mut rng = Rng::from_entropy();
        let limits = BatchLimits {
            max_events: config.limits.max_events.max(1),
            max_bytes: config.limits.max_bytes,
        };
        JsonEncoder {
            limits,
            time_to_unix_nanos: config.time_to_unix_nanos,
            component_prefix,
            static_metadata: meta,
            default_trace: rng.uuid_v4(),
            task_namespace: rng.next_u64(),
            rng,
            hb: HappensBefore::for_wire(),
            threads: ThreadMap::default(),
            spawns: ThreadMap::default(),
            spawn_order: VecDeque::new(),
            ended: ThreadMap::default(),
            ended_order: VecDeque::new(),
            tick: 0,
            last_unix_nanos: 0,
            timestamps: TimestampWriter::default(),
            scratch: Vec::with_capacity(1024),
            clocks: ClockWriter::default(),
            batch: Batch::new(),
            stats: JsonEncoderStats::default(),
        }
    }

    /// Encodes the next event of the stream: says what became of it, and hands out a batch
    /// when one is complete, the batch filled *before* this event (it reached `max_events`, or
    /// this event would have pushed it over `max_bytes`). At most one batch completes per call;
    /// the rest waits for [`flush`](Self::flush).
    pub fn encode<L: SourceLocation>(&mut self, event: &Event<L>) -> Encoded {
        self.stats.consumed += 1;
        self.tick += 1;
        // The wire names a thread by its run, so an id the program hands out again is a new
        // thread to the server too.
        let run = self
            .hb
            .observe(event)
            .epoch
            .map_or(0, |epoch| epoch.incarnation.0);
        let thread = event.thread;

        match event.kind {
            Kind::Dropped { count } => {
                self.stats.dropped_upstream += u64::from(count);
                self.scratch.clear();
                self.write_dropped(event, count);
                return self.push_scratch(Fate::Marker);
            }
            Kind::ThreadEnd => {
                self.stats.metadata += 1;
                if let Some(last) = self.threads.remove(&thread).and_then(|state| state.last) {
                    self.ended.insert(thread, last);
                    self.ended_order.push_back(thread);
                    if self.ended_order.len() > MAX_PENDING_SPAWNS {
                        if let Some(oldest) = self.ended_order.pop_front() {
                            self.ended.remove(&oldest);
                        }
                    }
                }
                self.forget_spawn(thread);
                return Encoded::state_only();
            }
            _ => {}
        }

        // A join hangs from the child's last event (the child's work happens before it).
        let joined = match event.kind {
            Kind::Join { child } => self
                .ended
                .remove(&child)
                .or_else(|| self.threads.get(&child).and_then(|state| state.last)),
            _ => None,
        };
        self.ensure_thread(thread);
        let namespace = self.task_namespace;
        let Some(state) = self.threads.get_mut(&thread) else {
            unreachable!("ensure_thread just created it")
        };
        state.last_active = self.tick;
        if let Some(child_last) = joined.filter(|link| link.depth < MAX_PARENT_DEPTH - 1) {
            state.remote_parent = Some(child_last);
        }

        match event.kind {
            Kind::TraceStart {
                trace_id,
                span_id,
                upstream,
            } => {
                self.stats.metadata += 1;
                let trace = if trace_id.is_valid() {
                    Uuid(trace_id.to_bytes())
                } else {
                    self.default_trace
                };
                if trace != state.trace {
                    state.last = None;
                    state.anchor = None;
                    state.remote_parent = None;
                    state.base = 0;
                }
                state.trace = trace;
                state.span = span_id.is_valid().then_some(span_id);
                state.upstream = upstream;
                return Encoded::state_only();
            }
            Kind::RemoteClock { component, counter } => {
                self.stats.metadata += 1;
                let component = truncate(component.as_str(), MAX_NAME_BYTES);
                let full = state.remote.len() >= MAX_REMOTE_ENTRIES;
                match state.remote.iter_mut().find(|(name, _)| *name == component) {
                    Some(entry) => entry.1 = entry.1.max(counter),
                    None if !full => state.remote.push((component, counter)),
                    None => log::debug!(
                        "raceway: more than {MAX_REMOTE_ENTRIES} remote clock entries on {thread}; ignoring {component}"
                    ),
                }
                return Encoded::state_only();
            }
            Kind::RemoteParent { event, depth } => {
                self.stats.metadata += 1;
                // Only a link the thread's next event can hang under with room to spare.
                if depth > 0 && depth < MAX_PARENT_DEPTH - 1 {
                    state.remote_parent = Some(Link {
                        id: Uuid(event),
                        depth,
                    });
                    state.base = state.base.max(depth);
                }
                return Encoded::state_only();
            }
            Kind::LockAcquire { lock, .. } if state.locks.len() < MAX_LOCK_SET => {
                state.locks.push(lock);
            }
            _ => {}
        }

        let exchange = exchange_end(&event.kind);
        let id = match exchange {
            Some((span, end)) => exchange_uuid(state.trace, span, end),
            None => self.rng.uuid_v4(),
        };
        let parent = state.next_parent(deepest(&event.kind, exchange.is_some(), state.base));
        let link = Link {
            id,
            depth: parent.map_or(1, |parent| parent.depth + 1),
        };
        state.last = Some(link);
        let parent = parent.map(|parent| parent.id);
        let upstream = std::mem::take(&mut state.upstream);

        if let Kind::Spawn { child } = event.kind {
            let inherited = Inherited {
                spawn_event: link,
                base: state.base,
                trace: state.trace,
                span: state.span,
                remote: state.remote.clone(),
            };
            self.remember_spawn(child, inherited);
        }
        let Some(state) = self.threads.get(&thread) else {
            unreachable!("the thread is live")
        };

        let unix_nanos = (self.time_to_unix_nanos)(event.time);
        self.last_unix_nanos = unix_nanos;
        let out = &mut self.scratch;
        out.clear();
        write_head(
            out,
            id,
            state.trace,
            parent,
            self.timestamps.format(unix_nanos),
        );
        let duration_ns = write_kind(out, event, &self.component_prefix, run, namespace);
        out.extend_from_slice(b",\"metadata\":{\"thread_id\":");
        write_component(out, &self.component_prefix, run);
        out.push(b',');
        out.extend_from_slice(&self.static_metadata);
        if let Some(duration_ns) = duration_ns {
            out.extend_from_slice(b",\"duration_ns\":");
            json::uint(out, duration_ns);
        }
        if let Some(span) = state.span {
            out.extend_from_slice(b",\"distributed_span_id\":\"");
            out.extend_from_slice(span.to_hex16().as_bytes());
            out.push(b'"');
        }
        write_upstream(out, &upstream);
        out.extend_from_slice(b"},\"causality_vector\":[");
        let mut first = true;
        if let Some(clock) = self.hb.clock(thread) {
            first = !self.clocks.write(out, &self.component_prefix, clock, run);
        }
        for &(component, counter) in &state.remote {
            if !first {
                out.push(b',');
            }
            first = false;
            out.push(b'[');
            json::string(out, component);
            out.push(b',');
            json::uint(out, counter);
            out.push(b']');
        }
        out.extend_from_slice(b"],\"lock_set\":[");
        for (i, lock) in state.locks.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json::string(out, truncate(lock.text().as_str(), MAX_NAME_BYTES));
        }
        out.extend_from_slice(b"]}");

        if let Kind::LockRelease { lock, .. } = event.kind {
            if let Some(state) = self.threads.get_mut(&thread) {
                if let Some(at) = state.locks.iter().rposition(|held| *held == lock) {
                    state.locks.remove(at);
                }
            }
        }
        self.push_scratch(Fate::Written)
    }

    /// Hands out the batch being filled, if it holds any event (call it on the flush interval
    /// and at shutdown).
    pub fn flush(&mut self) -> Option<Batch> {
        if self.batch.is_empty() {
            return None;
        }
        self.stats.batches += 1;
        // The next batch will likely be the size of this one: reserve that much up front, and
        // all the limit allows once this one came past half of it, so that a full batch never
        // grows (growing copies the body into memory the sender has not touched yet).
        let body = self.batch.body_len();
        let room = if body > self.limits.max_bytes / 2 {
            self.limits.max_bytes
        } else {
            body
        };
        let next = Batch::with_capacity(room, self.batch.len());
        Some(std::mem::replace(&mut self.batch, next))
    }

    /// Events in the batch being filled.
    pub fn pending_events(&self) -> usize {
        self.batch.len()
    }

    /// What the encoder has done so far.
    pub fn stats(&self) -> JsonEncoderStats {
        self.stats
    }

    /// Logical threads whose state is kept now.
    pub fn live_threads(&self) -> usize {
        self.threads.len()
    }

    /// Moves the event in `scratch` into the batch, handing out the previous batch if full;
    /// `fate` is what became of the event if it fits.
    fn push_scratch(&mut self, fate: Fate) -> Encoded {
        if Batch::len_alone(self.scratch.len()) > self.limits.max_bytes {
            self.stats.oversized += 1;
            log::error!(
                "raceway: dropped an event of {} bytes: larger than the batch limit of {} bytes",
                self.scratch.len(),
                self.limits.max_bytes
            );
            return Encoded {
                batch: None,
                fate: Fate::Oversized,
            };
        }
        let full = self.batch.len() >= self.limits.max_events
            || self.batch.len_with(self.scratch.len()) > self.limits.max_bytes;
        let batch = if full { self.flush() } else { None };
        self.batch.push(&self.scratch);
        self.stats.encoded += 1;
        Encoded { batch, fate }
    }

    fn ensure_thread(&mut self, thread: ThreadId) {
        if self.threads.contains_key(&thread) {
            return;
        }
        if self.threads.len() >= MAX_THREADS {
            self.evict_idle_threads();
        }
        let state = match self.take_spawn(thread) {
            Some(inherited) => ThreadState {
                last: Some(inherited.spawn_event),
                anchor: Some(inherited.spawn_event),
                remote_parent: None,
                base: inherited.base,
                trace: inherited.trace,
                span: inherited.span,
                upstream: Value::None,
                locks: Vec::new(),
                remote: inherited.remote,
                last_active: self.tick,
            },
            None => ThreadState {
                last: None,
                anchor: None,
                remote_parent: None,
                base: 0,
                trace: self.default_trace,
                span: None,
                upstream: Value::None,
                locks: Vec::new(),
                remote: Vec::new(),
                last_active: self.tick,
            },
        };
        self.threads.insert(thread, state);
    }

    /// Evicts the least recently active eighth in one pass (O(1) amortised per new thread).
    fn evict_idle_threads(&mut self) {
        let active = self
            .threads
            .iter()
            .map(|(&thread, state)| (state.last_active, thread));
        let idle = least_recently_active(active, MAX_THREADS / 8);
        if idle.is_empty() {
            return;
        }
        for thread in &idle {
            self.threads.remove(thread);
        }
        log::warn!(
            "raceway: more than {MAX_THREADS} live logical threads; evicted {} idle ones (their next events start new chains)",
            idle.len()
        );
    }

    fn remember_spawn(&mut self, child: ThreadId, inherited: Inherited) {
        if self.spawns.insert(child, inherited).is_none() {
            self.spawn_order.push_back(child);
        }
        while self.spawns.len() > MAX_PENDING_SPAWNS {
            match self.spawn_order.pop_front() {
                Some(oldest) => {
                    self.spawns.remove(&oldest);
                }
                None => break,
            }
        }
        // Consumed spawns leave stale ids in the order queue: drop them once it doubles.
        if self.spawn_order.len() > 2 * MAX_PENDING_SPAWNS {
            let spawns = &self.spawns;
            self.spawn_order.retain(|child| spawns.contains_key(child));
        }
    }

    fn take_spawn(&mut self, child: ThreadId) -> Option<Inherited> {
        self.spawns.remove(&child)
    }

    fn forget_spawn(&mut self, child: ThreadId) {
        self.spawns.remove(&child);
    }

    fn write_dropped<L>(&mut self, event: &Event<L>, count: u32) {
        // Markers carry no time of their own: stamp them with the latest event's.
        let unix_nanos = if event.time == 0 {
            self.last_unix_nanos
        } else {
            (self.time_to_unix_nanos)(event.time)
        };
        let id = self.rng.uuid_v4();
        let out = &mut self.scratch;
        write_head(
            out,
            id,
            self.default_trace,
            None,
            self.timestamps.format(unix_nanos),
        );
        out.extend_from_slice(
            b",\"kind\":{\"Custom\":{\"name\":\"raceway.dropped\",\"data\":{\"count\":",
        );
        json::uint(out, u64::from(count));
        out.extend_from_slice(b"}}},\"metadata\":{\"thread_id\":");
        write_component(out, &self.component_prefix, 0);
        out.push(b',');
        out.extend_from_slice(&self.static_metadata);
        out.extend_from_slice(b"},\"causality_vector\":[],\"lock_set\":[]}");
    }
}

impl ThreadState {
    /// The parent of the thread's next wire event, which may be at most `deepest` deep: a
    /// pending remote parent, else the thread's latest event while the chain has room, else
    /// (a restart) the anchor if it leaves room for more than one event, else none (a root).
    fn next_parent(&mut self, deepest: u32) -> Option<Link> {
        if let Some(remote) = self.remote_parent.take() {
            if remote.depth < deepest {
                self.anchor = Some(remote);
                return Some(remote);
            }
        }
        match self.last {
            Some(last) if last.depth < deepest => Some(last),
            None => None,
            Some(_) => self.anchor.filter(|anchor| anchor.depth + 1 < deepest),
        }
    }
}

/// How deep an event of `kind` may be written: a spawn leaves room for its child's first
/// event; an exchange end stays within [`EXCHANGE_DEPTH_SPAN`] of the thread's `base`, as the
/// headers declared.
fn deepest(kind: &Kind, exchange: bool, base: u32) -> u32 {
    if exchange {
        (base + EXCHANGE_DEPTH_SPAN).min(MAX_PARENT_DEPTH - 1)
    } else if matches!(kind, Kind::Spawn { .. }) {
        MAX_PARENT_DEPTH - 1
    } else {
        MAX_PARENT_DEPTH
    }
}

#[cfg(test)]
mod tests {
    use raceway_core::{Access, Kind, ThreadId, Value};

    use super::*;

    fn write(i: u64) -> Event {
        let (variable, access) = ("accounts.balance".into(), Access::Write);
        let (old, new) = (Value::U64(i), Value::U64(i + 1));
        Event::new(
            i,
            ThreadId::from_raw(1),
            Kind::StateChange {
                variable,
                access,
                old,
                new,
            },
        )
    }

    #[test]
    fn after_a_full_batch_the_next_has_room_up_to_the_limit_and_after_a_small_one_less() {
        let max_bytes = 64 * 1024;
        let mut config = JsonEncoderConfig::new("bank", "host-1");
        config.limits = BatchLimits {
            max_events: usize::MAX,
            max_bytes,
        };
        let mut encoder = JsonEncoder::new(config);
        let mut i = 0;
        let full = loop {
            i += 1;
            if let Some(batch) = encoder.encode(&write(i)).batch {
                break batch;
            }
        };
        assert!(full.body_len() > max_bytes / 2);
        assert!(
            encoder.batch.body_capacity() >= max_bytes,
            "a full batch would grow"
        );

        for i in i + 1..i + 4 {
            assert!(encoder.encode(&write(i)).batch.is_none());
        }
        let small = encoder.flush().expect("three events wait");
        assert!(encoder.batch.body_capacity() < max_bytes / 2);
        assert_eq!(small.len(), 4);
    }
}
