//! Distributed tracing: reading and writing the propagation headers, framework-agnostic.
//!
//! Three headers carry a trace from service to service (see the wire contract): W3C
//! `traceparent` and `tracestate`, and `raceway-clock`
//! (`v1;<base64url, no padding, of a JSON object>`) with the trace id, the span the callee
//! adopts, the caller's span and the caller's vector clock. This module speaks them exactly as
//! the Go SDK does, in both directions.
//!
//! * Receiving: [`extract`] reads any [`HeaderSource`] into an [`Incoming`] (never fails: with
//!   no usable header it is a fresh trace), and
//!   [`Client::continue_trace`](crate::Client::continue_trace) starts a context from it.
//!   [`Client::inbound_request`](crate::Client::inbound_request) does both and records the
//!   request; the tower middleware (`middleware`, feature `tower`) does it per request.
//! * Sending: [`Context::outbound`] mints a child span for the call, writes the three headers
//!   into any [`HeaderSink`], and records the outbound request with that span, which links it
//!   to the callee's inbound request.
//!
//! # Parent links for the Raceway server
//!
//! The server orders events of different threads only through `parent_id` ancestry, so each
//! hop names the event the other side should hang its next event from:
//!
//! * `raceway-clock` carries two extra fields, `parent_event_id` (the wire id of the caller's
//!   outbound request event) and `parent_event_depth` (how deep that event may be in the
//!   trace's `parent_id` graph). Other SDKs ignore them: the Go SDK decodes the payload with
//!   `encoding/json` into a struct, and `json.Unmarshal` skips object keys that match no
//!   field. The callee parents its first event on that event ([`Kind::RemoteParent`]).
//! * The callee's response carries [`RACEWAY_EVENT_HEADER`] (`<uuid>;<depth>`), naming its
//!   inbound response event ([`Context::write_response_headers`], done by the middleware);
//!   [`OutboundCall::finish_with_headers`] parents the caller's response event on it.
//!
//! Both ids are known before the events are encoded because the encoder derives them from the
//! trace and the exchange's span ([`exchange_event_id`]), and a named id is used only if it is
//! the one this exchange's end gets, so a link never points outside the trace; the depths are bounds the encoder
//! keeps true ([`EXCHANGE_DEPTH_SPAN`] deeper than the deepest link the thread hangs from), so chains
//! stay within [`MAX_PARENT_DEPTH`] across processes. A hop whose depth would not fit is sent
//! without the fields: the callee then starts its chain at a root, as with other SDKs.
//!
//! [`exchange_event_id`]: raceway_transport_http::exchange_event_id
//! [`EXCHANGE_DEPTH_SPAN`]: raceway_transport_http::EXCHANGE_DEPTH_SPAN
//!
//! # Hostile input
//!
//! Headers come from outside. Every field is validated: a traceparent that does not parse, a
//! `raceway-clock` that is not `v1`, not base64url, not JSON, or has a non-UUID trace id, a span
//! id that is not 16 lowercase hex digits, an overlong value ([`MAX_HEADER_LEN`]), bytes that are
//! not UTF-8, or a clock component that is empty, too long ([`MAX_COMPONENT_LEN`]) or holds
//! control characters — each makes the header ignored, never a panic and never an invalid id in
//! an event. Clocks keep at most [`MAX_CLOCK_ENTRIES`] entries.
//!
//! # Examples
//!
//! ```
//! use raceway::propagation::extract;
//! use raceway::sink::MemorySink;
//! use raceway::{Client, Config};
//!
//! let (sink, _captured) = MemorySink::new(1000);
//! let client = Client::new(Config::builder().service_name("checkout").build()?, sink)?;
//!
//! // Receiving a call.
//! let incoming = extract(&[(
//!     "traceparent",
//!     "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
//! )]);
//! assert!(incoming.is_distributed());
//! let ctx = client.continue_trace(&incoming);
//! assert_eq!(ctx.trace_id().to_string(), "0af76519-16cd-43dd-8448-eb211c80319c");
//!
//! // Calling another service.
//! let mut headers: Vec<(String, String)> = Vec::new();
//! let call = ctx.outbound("POST", "http://payments/charge", &mut headers);
//! assert!(headers.iter().any(|(name, value)| name == "raceway-clock" && value.starts_with("v1;")));
//! assert_ne!(call.span_id(), ctx.span_id());
//! call.finish(200);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::BuildHasher;
use std::panic::Location;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use raceway_core::event::Direction;
use raceway_core::trace_context::{
    SpanId, TraceFlags, TraceId, TraceParent, TraceState, TRACEPARENT_HEADER, TRACESTATE_HEADER,
};
use raceway_core::Kind;
use raceway_transport_http::{exchange_event_id, ExchangeEnd, MAX_PARENT_DEPTH};
use serde::{Deserialize, Serialize};

use crate::context::{Context, Trace};
use crate::ids::span_number;

/// Name of the Raceway clock header, lowercase as it is sent.
pub const RACEWAY_CLOCK_HEADER: &str = "raceway-clock";
/// The only `raceway-clock` version understood and written.
pub const RACEWAY_CLOCK_PREFIX: &str = "v1;";
/// Longest header value read; longer ones are ignored.
pub const MAX_HEADER_LEN: usize = 8192;
/// Most clock entries kept from one `raceway-clock`.
pub const MAX_CLOCK_ENTRIES: usize = 64;
/// Longest clock component (`service#instance`) accepted.
pub const MAX_COMPONENT_LEN: usize = 256;
/// Longest `parent_span_id`, `service` or `instance` accepted.
pub const MAX_FIELD_LEN: usize = 256;
/// Response header naming the callee's response event for the caller: `<uuid>;<depth>` (see
/// the [module docs](self#parent-links-for-the-raceway-server)).
pub const RACEWAY_EVENT_HEADER: &str = "raceway-event";

/// Read access to a request's headers.
pub trait HeaderSource {
    /// Calls `each` with every value of the header `name` (matched case-insensitively), in
    /// order.
    fn for_each_value(&self, name: &str, each: &mut dyn FnMut(&[u8]));
}

/// Write access to an outgoing request's headers.
pub trait HeaderSink {
    /// Sets the header `name` (lowercase) to `value` (visible ASCII), replacing any value.
    fn set_header(&mut self, name: &'static str, value: &str);
}

impl<K: AsRef<str>, V: AsRef<[u8]>> HeaderSource for [(K, V)] {
    fn for_each_value(&self, name: &str, each: &mut dyn FnMut(&[u8])) {
        for (key, value) in self {
            if key.as_ref().eq_ignore_ascii_case(name) {
                each(value.as_ref());
            }
        }
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>, const N: usize> HeaderSource for [(K, V); N] {
    fn for_each_value(&self, name: &str, each: &mut dyn FnMut(&[u8])) {
        self[..].for_each_value(name, each);
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> HeaderSource for Vec<(K, V)> {
    fn for_each_value(&self, name: &str, each: &mut dyn FnMut(&[u8])) {
        self[..].for_each_value(name, each);
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>, S: BuildHasher> HeaderSource for HashMap<K, V, S> {
    fn for_each_value(&self, name: &str, each: &mut dyn FnMut(&[u8])) {
        for (key, value) in self {
            if key.as_ref().eq_ignore_ascii_case(name) {
                each(value.as_ref());
            }
        }
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> HeaderSource for BTreeMap<K, V> {
    fn for_each_value(&self, name: &str, each: &mut dyn FnMut(&[u8])) {
        for (key, value) in self {
            if key.as_ref().eq_ignore_ascii_case(name) {
                each(value.as_ref());
            }
        }
    }
}

impl HeaderSink for Vec<(String, String)> {
    fn set_header(&mut self, name: &'static str, value: &str) {
        self.retain(|(key, _)| !key.eq_ignore_ascii_case(name));
        self.push((name.to_owned(), value.to_owned()));
    }
}

impl<S: BuildHasher> HeaderSink for HashMap<String, String, S> {
    fn set_header(&mut self, name: &'static str, value: &str) {
        self.retain(|key, _| !key.eq_ignore_ascii_case(name));
        self.insert(name.to_owned(), value.to_owned());
    }
}

impl HeaderSink for BTreeMap<String, String> {
    fn set_header(&mut self, name: &'static str, value: &str) {
        self.retain(|key, _| !key.eq_ignore_ascii_case(name));
        self.insert(name.to_owned(), value.to_owned());
    }
}

/// `name` as an `http` header name made at compile time, if it is one of the headers this
/// module reads and writes: naming a header by text makes `http` check it byte by byte on every
/// lookup and insert (about 400 instructions a traced request).
#[cfg(feature = "http")]
fn known_header(name: &str) -> Option<http::HeaderName> {
    use http::HeaderName;
    Some(match name {
        TRACEPARENT_HEADER => const { HeaderName::from_static(TRACEPARENT_HEADER) },
        TRACESTATE_HEADER => const { HeaderName::from_static(TRACESTATE_HEADER) },
        RACEWAY_CLOCK_HEADER => const { HeaderName::from_static(RACEWAY_CLOCK_HEADER) },
        RACEWAY_EVENT_HEADER => const { HeaderName::from_static(RACEWAY_EVENT_HEADER) },
        _ => return None,
    })
}

#[cfg(feature = "http")]
impl HeaderSource for http::HeaderMap {
    fn for_each_value(&self, name: &str, each: &mut dyn FnMut(&[u8])) {
        let values = match known_header(name) {
            Some(header) => self.get_all(header),
            None => self.get_all(name),
        };
        for value in values {
            each(value.as_bytes());
        }
    }
}

#[cfg(feature = "http")]
impl HeaderSink for http::HeaderMap {
    fn set_header(&mut self, name: &'static str, value: &str) {
        // Our values are visible ASCII, which `HeaderValue` always accepts.
        if let Ok(value) = http::HeaderValue::from_str(value) {
            let name = known_header(name).unwrap_or_else(|| http::HeaderName::from_static(name));
            self.insert(name, value);
        }
    }
}

/// What a request's headers say about its trace; see [`extract`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incoming {
    trace_id: TraceId,
    span_id: SpanId,
    upstream: Option<String>,
    flags: TraceFlags,
    state: Option<TraceState>,
    clock: Vec<(String, u64)>,
    distributed: bool,
    parent_event: Option<([u8; 16], u32)>,
}

impl Incoming {
    /// A fresh trace: random trace and span ids, not distributed.
    pub fn fresh() -> Self {
        Incoming {
            trace_id: crate::ids::trace_id(),
            span_id: crate::ids::span_id(),
            upstream: None,
            flags: TraceFlags::SAMPLED,
            state: None,
            clock: Vec::new(),
            distributed: false,
            parent_event: None,
        }
    }

    /// The caller's request event this service's first event hangs from, and how deep it may
    /// be, when the caller named one in `raceway-clock`.
    pub fn parent_event(&self) -> Option<([u8; 16], u32)> {
        self.parent_event
    }

    /// The trace id (fresh when the headers carried none).
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// The span this service adopts as its own.
    pub fn span_id(&self) -> SpanId {
        self.span_id
    }

    /// The caller's span (`upstream_span_id` on the wire), from `raceway-clock`.
    pub fn upstream_span(&self) -> Option<&str> {
        self.upstream.as_deref()
    }

    /// The W3C trace flags.
    pub fn flags(&self) -> TraceFlags {
        self.flags
    }

    /// The `tracestate` to pass on (only with a valid `traceparent`, as W3C requires).
    pub fn trace_state(&self) -> Option<&TraceState> {
        self.state.as_ref()
    }

    /// The caller's vector clock entries.
    pub fn clock(&self) -> &[(String, u64)] {
        &self.clock
    }

    /// Whether the trace came from another service.
    pub fn is_distributed(&self) -> bool {
        self.distributed
    }

    /// The trace these headers continue, with the caller's clock components interned (those
    /// the name table has no room for are left out).
    pub(crate) fn trace(&self) -> Trace {
        let mut remote_clock = Vec::new();
        for (component, counter) in self.clock() {
            if let Some(symbol) = crate::names::symbol(component) {
                remote_clock.push((symbol, *counter));
            }
        }
        Trace {
            trace_id: self.trace_id(),
            span_id: self.span_id(),
            upstream: self.upstream_span().map(str::to_owned),
            flags: self.flags(),
            state: self.trace_state().cloned().unwrap_or_default(),
            remote_clock,
            distributed: self.is_distributed(),
        }
    }
}

/// The JSON inside `raceway-clock` (field names as the Go SDK writes them).
#[derive(Debug, Deserialize, Serialize)]
struct ClockPayload {
    trace_id: String,
    span_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parent_span_id: Option<String>,
    #[serde(default)]
    service: String,
    #[serde(default)]
    instance: String,
    #[serde(default)]
    clock: Vec<(String, u64)>,
    // Our own additions. The Go SDK (`parseRacewayClock` in sdks/go/raceway/trace_context.go)
    // decodes this payload with `json.Unmarshal` into a struct of the six fields above, and
    // encoding/json ignores object keys that match no struct field (it rejects them only with
    // `Decoder.DisallowUnknownFields`, which that code does not use): it reads our headers as
    // before. Read as any JSON value so that a malformed one costs only the link, not the
    // whole header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parent_event_id: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parent_event_depth: Option<serde_json::Value>,
}

/// What a valid `raceway-clock` says.
struct RemoteClock {
    trace_id: TraceId,
    span_id: SpanId,
    parent_span_id: Option<String>,
    clock: Vec<(String, u64)>,
    parent_event: Option<([u8; 16], u32)>,
}

const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The one value of a header, as text, if there is exactly one, it is UTF-8 and not overlong.
fn single_value<H: HeaderSource + ?Sized>(headers: &H, name: &str) -> Option<String> {
    let mut values = 0;
    let mut found = None;
    headers.for_each_value(name, &mut |value| {
        values += 1;
        if values == 1 && value.len() <= MAX_HEADER_LEN {
            found = std::str::from_utf8(value).ok().map(str::to_owned);
        }
    });
    if values == 1 {
        found
    } else {
        None
    }
}

/// Every value of a header joined with `,` (W3C list headers), if UTF-8 and not overlong.
fn joined_values<H: HeaderSource + ?Sized>(headers: &H, name: &str) -> Option<String> {
    let mut joined = String::new();
    let mut valid = true;
    let mut any = false;
    headers.for_each_value(name, &mut |value| {
        any = true;
        match std::str::from_utf8(value) {
            Ok(text) if joined.len() + text.len() < MAX_HEADER_LEN => {
                if !joined.is_empty() {
                    joined.push(',');
                }
                joined.push_str(text);
            }
            _ => valid = false,
        }
    });
    (any && valid).then_some(joined)
}

fn valid_text(text: &str, max: usize) -> bool {
    text.len() <= max && !text.chars().any(char::is_control)
}

fn valid_span_text(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_FIELD_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Decodes a `raceway-clock` value, or says nothing if any part of it is malformed.
fn parse_raceway_clock(value: &str) -> Option<RemoteClock> {
    let encoded = value
        .trim_matches([' ', '\t'])
        .strip_prefix(RACEWAY_CLOCK_PREFIX)?;
    let json = BASE64.decode(encoded).ok()?;
    let payload: ClockPayload = serde_json::from_slice(&json).ok()?;
    let trace_id = TraceId::parse_uuid(&payload.trace_id).ok()?;
    let span_id = SpanId::parse_hex16(&payload.span_id).ok()?;
    let parent_span_id = match payload.parent_span_id {
        None => None,
        Some(parent) if parent.is_empty() => None,
        Some(parent) if valid_span_text(&parent) => Some(parent),
        Some(_) => return None,
    };
    if !valid_text(&payload.service, MAX_FIELD_LEN) || !valid_text(&payload.instance, MAX_FIELD_LEN)
    {
        return None;
    }
    let mut clock = payload.clock;
    if clock
        .iter()
        .any(|(component, _)| component.is_empty() || !valid_text(component, MAX_COMPONENT_LEN))
    {
        return None;
    }
    clock.truncate(MAX_CLOCK_ENTRIES);
    // A parent event that does not parse, is too deep to hang from, or is not this exchange's
    // request event (so not in this trace) is left out on its own.
    let parent_event = match (payload.parent_event_id, payload.parent_event_depth) {
        (Some(id), Some(depth)) => id
            .as_str()
            .zip(depth.as_u64().and_then(|d| u32::try_from(d).ok()))
            .and_then(|(id, depth)| parse_event_link(id, depth))
            .filter(|&(id, _)| {
                id == exchange_event_id(trace_id, span_number(span_id), ExchangeEnd::Request)
            }),
        _ => None,
    };
    Some(RemoteClock {
        trace_id,
        span_id,
        parent_span_id,
        clock,
        parent_event,
    })
}

/// An event id and its declared depth, if the id is a UUID and the depth leaves room below it.
fn parse_event_link(id: &str, depth: u32) -> Option<([u8; 16], u32)> {
    let id = TraceId::parse_uuid(id).ok()?;
    (depth > 0 && depth < MAX_PARENT_DEPTH - 1).then_some((id.to_bytes(), depth))
}

/// The `(id, depth)` a [`RACEWAY_EVENT_HEADER`] value names, if it is well formed.
fn parse_event_header(value: &str) -> Option<([u8; 16], u32)> {
    let (id, depth) = value.trim_matches([' ', '\t']).split_once(';')?;
    parse_event_link(id, depth.parse().ok()?)
}

/// An event id as [`RACEWAY_EVENT_HEADER`] and `raceway-clock` carry it: displayed, a
/// hyphenated UUID.
fn event_link(event: [u8; 16]) -> TraceId {
    TraceId::from_bytes(event)
}

/// Reads the propagation headers of a received request. Never fails: anything missing or
/// malformed is ignored, and with nothing usable the result is a [fresh](Incoming::fresh)
/// trace. When both `traceparent` and `raceway-clock` are valid, `raceway-clock` wins for the
/// trace and span fields.
pub fn extract<H: HeaderSource + ?Sized>(headers: &H) -> Incoming {
    let parent =
        single_value(headers, TRACEPARENT_HEADER).and_then(|value| TraceParent::parse(&value).ok());
    let remote =
        single_value(headers, RACEWAY_CLOCK_HEADER).and_then(|value| parse_raceway_clock(&value));
    let state = parent
        .and_then(|_| joined_values(headers, TRACESTATE_HEADER))
        .and_then(|value| TraceState::parse(&value))
        .filter(|state| !state.is_empty());
    match (parent, remote) {
        (parent, Some(remote)) => Incoming {
            trace_id: remote.trace_id,
            span_id: remote.span_id,
            upstream: remote.parent_span_id,
            flags: parent.map_or(TraceFlags::SAMPLED, |p| p.flags),
            state,
            clock: remote.clock,
            distributed: true,
            parent_event: remote.parent_event,
        },
        (Some(parent), None) => Incoming {
            trace_id: parent.trace_id,
            span_id: parent.span_id,
            upstream: None,
            flags: parent.flags,
            state,
            clock: Vec::new(),
            distributed: true,
            parent_event: None,
        },
        (None, None) => Incoming::fresh(),
    }
}

/// The headers for a call from `ctx` with the freshly minted `span`.
fn write_headers<H: HeaderSink + ?Sized>(ctx: &Context, span: SpanId, headers: &mut H) {
    // The request event recorded next gets this derived id; its depth is declared as far as
    // the encoder lets it go, and a hop that cannot fit is sent without a parent event.
    let depth = ctx.exchange_depth();
    let parent_event = (depth < MAX_PARENT_DEPTH - 1)
        .then(|| exchange_event_id(ctx.trace_id(), span_number(span), ExchangeEnd::Request));
    let trace = ctx.trace();
    let parent = TraceParent::new(trace.trace_id, span, trace.flags);
    headers.set_header(TRACEPARENT_HEADER, &parent.to_header());
    if !trace.state.is_empty() {
        headers.set_header(TRACESTATE_HEADER, trace.state.as_str());
    }
    let config = &ctx.shared().config;
    let payload = ClockPayload {
        trace_id: trace.trace_id.to_string(),
        span_id: span.to_string(),
        parent_span_id: Some(trace.span_id.to_string()),
        service: config.service_name().to_owned(),
        instance: config.instance_id().to_owned(),
        clock: ctx.clock(),
        parent_event_id: parent_event.map(|id| event_link(id).to_string().into()),
        parent_event_depth: parent_event.map(|_| depth.into()),
    };
    match serde_json::to_vec(&payload) {
        Ok(json) => {
            let value = format!("{RACEWAY_CLOCK_PREFIX}{}", BASE64.encode(json));
            headers.set_header(RACEWAY_CLOCK_HEADER, &value);
        }
        Err(e) => log::warn!(target: "raceway", "could not encode raceway-clock: {e}"),
    }
}

/// An outbound call in progress, from [`Context::outbound`]: records the response.
#[must_use = "call `finish` with the response status to record the response"]
pub struct OutboundCall {
    context: Context,
    span: SpanId,
    start: Instant,
}

impl OutboundCall {
    /// The span minted for this call (the callee adopts it).
    pub fn span_id(&self) -> SpanId {
        self.span
    }

    /// Time since the request was recorded.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Records the response: its status and the time since the request.
    #[track_caller]
    pub fn finish(self, status: u16) {
        self.finish_at(status, Location::caller());
    }

    /// Records the response like [`finish`](Self::finish), hanging it from the callee's
    /// response event when the response's `headers` name this exchange's
    /// ([`RACEWAY_EVENT_HEADER`], written by a Raceway callee), so that the Raceway server orders what the callee did before
    /// what this thread does next.
    #[track_caller]
    pub fn finish_with_headers<H: HeaderSource + ?Sized>(self, status: u16, headers: &H) {
        let location = Location::caller();
        // Only this exchange's response event: anything else is not in this trace.
        let response = exchange_event_id(
            self.context.trace_id(),
            span_number(self.span),
            ExchangeEnd::Response,
        );
        if let Some((event, depth)) = single_value(headers, RACEWAY_EVENT_HEADER)
            .and_then(|v| parse_event_header(&v))
            .filter(|&(event, _)| event == response)
        {
            self.context.hang_from(event, depth, location);
        }
        self.finish_at(status, location);
    }

    fn finish_at(self, status: u16, location: &'static Location<'static>) {
        let duration_ns = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.context.record_at(
            Kind::HttpResponse {
                status,
                duration_ns,
                direction: Direction::Outbound,
                span: span_number(self.span),
            },
            location,
        );
    }
}

impl fmt::Debug for OutboundCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundCall")
            .field("span", &self.span)
            .field("elapsed", &self.elapsed())
            .finish()
    }
}

impl Context {
    /// Writes [`RACEWAY_EVENT_HEADER`] into a response's `headers`: it names the inbound
    /// response event this context records next (with
    /// [`track_http_response`](Context::track_http_response), `Direction::Inbound`, which the
    /// middleware does), so the caller can hang its next event from it. Nothing is written
    /// when the hop is already too deep to link.
    pub fn write_response_headers<H: HeaderSink + ?Sized>(&self, headers: &mut H) {
        let depth = self.exchange_depth();
        if depth < MAX_PARENT_DEPTH - 1 {
            let event = exchange_event_id(
                self.trace_id(),
                span_number(self.span_id()),
                ExchangeEnd::Response,
            );
            // Written into a buffer on the stack, without a formatter: this runs on every
            // response. A UUID, `;` and a `u32` always fit.
            let mut digits = itoa::Buffer::new();
            let mut value = heapless::String::<48>::new();
            let fits = value.push_str(&event_link(event).to_uuid_string()).is_ok()
                && value.push(';').is_ok()
                && value.push_str(digits.format(depth)).is_ok();
            if fits {
                headers.set_header(RACEWAY_EVENT_HEADER, &value);
            }
        }
    }

    /// Prepares an outbound call: mints a child span, writes `traceparent`, `tracestate` and
    /// `raceway-clock` into `headers`, and records the request with that span. This context's
    /// own span does not change.
    #[track_caller]
    pub fn outbound<H: HeaderSink + ?Sized>(
        &self,
        method: &str,
        url: &str,
        headers: &mut H,
    ) -> OutboundCall {
        self.outbound_at(method, url, headers, Location::caller())
    }

    fn outbound_at<H: HeaderSink + ?Sized>(
        &self,
        method: &str,
        url: &str,
        headers: &mut H,
        location: &'static Location<'static>,
    ) -> OutboundCall {
        let span = crate::ids::span_id();
        write_headers(self, span, headers);
        self.record_at(
            Kind::HttpRequest {
                method: crate::names::method_name(method),
                url: crate::names::text(url),
                direction: Direction::Outbound,
                span: span_number(span),
            },
            location,
        );
        OutboundCall {
            context: self.clone(),
            span,
            start: Instant::now(),
        }
    }
}

/// [`Context::outbound`] in the current context; `None` (and nothing written) without one.
#[track_caller]
pub fn inject<H: HeaderSink + ?Sized>(
    method: &str,
    url: &str,
    headers: &mut H,
) -> Option<OutboundCall> {
    let location = Location::caller();
    let call = crate::context::with_current(|ctx| ctx.outbound_at(method, url, headers, location));
    if call.is_none() {
        crate::context::no_context();
    }
    call
}
