//! A loopback stand-in for the Raceway server's ingest API, for tests (feature
//! `test-receiver`).
//!
//! [`TestReceiver`] is a real HTTP/1.1 server on `127.0.0.1:<free port>` (std sockets, one
//! thread per connection, `Connection: close` on every answer) that judges requests the way
//! the Raceway server does ([`ReceiverConfig::judge`]):
//!
//! 1. auth, when a key is configured: `Authorization: Bearer <key>`, or `X-Raceway-Key: <key>`
//!    only when no Bearer token is present (a wrong Bearer token wins over a right
//!    `X-Raceway-Key`) → 401 `{"success":false,"error":"Unauthorized"}`; every route needs it;
//! 2. body over the limit (2 MiB unless configured) → 413;
//! 3. a Content-Type that is not `application/json` or `application/*+json` → 415;
//! 4. a body that is not JSON → 400 (like the server, bytes after the first JSON value are
//!    ignored; a repeated key in an object the server reads into a struct is 422, as serde's
//!    derived impls refuse it);
//! 5. a body that is not valid under the wire schema (`wire/event-batch.schema.json`) → 422 with a
//!    text/plain message naming the field (`events[1].id: …`). Integers are read lexically,
//!    as the server's serde does: `1.0`, `1e2` and `-0` are not integers.
//!
//! Accepted events are recorded ([`TestReceiver::events`]), and so is every request
//! ([`TestReceiver::requests`]). The receiver also follows `parent_id` links as the server
//! does ([`TestReceiver::parent_chains`]): how deep the deepest chain is and which events name
//! a parent it never received before them. With [`ReceiverConfig::max_parent_depth`] set, a
//! batch that would make a chain deeper is refused (422) — the real server does worse: its
//! process aborts when such a trace is read.
//!
//! Answers can be scripted: the next requests
//! ([`TestReceiver::script`]) or every request for a while ([`TestReceiver::script_for`]).
//!
//! The schema is compiled into the crate (`include_str!` of `wire/event-batch.schema.json`), so
//! the receiver needs no file at run time.
//!
//! # Examples
//!
//! ```
//! use std::time::{Duration, Instant};
//! use raceway_core::{Event, Kind, ThreadId, Value};
//! use raceway_transport_http::testing::{Answer, TestReceiver};
//! use raceway_transport_http::{Client, ClientConfig, Encoder, EncoderConfig};
//!
//! let receiver = TestReceiver::start();
//! receiver.script(Answer::status(503)); // one failure, then the normal contract
//!
//! let mut encoder = Encoder::new(EncoderConfig::new("bank", "host-1"));
//! let kind = Kind::Custom { name: "started", data: Value::None };
//! encoder.encode(&Event::new(1_795_709_498_000_000_000, ThreadId::from_raw(1), kind));
//! let client = Client::new(ClientConfig::new(receiver.url())).unwrap();
//! let report = client.deliver(encoder.flush().unwrap(), Instant::now() + Duration::from_secs(5));
//!
//! assert!(report.is_complete());
//! assert_eq!(report.retries, 1);
//! assert_eq!(receiver.events()[0]["kind"]["Custom"]["name"], "started");
//! ```

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::batch::MAX_BODY_BYTES;

/// Request heads larger than this are refused (431).
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Bodies are read (and discarded) up to this size to answer 413 cleanly.
const MAX_DRAINED_BYTES: usize = 64 * 1024 * 1024;
/// A connection idle this long is closed.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// How a [`TestReceiver`] behaves when no answer is scripted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceiverConfig {
    /// The key every request must carry (no auth when `None`).
    pub api_key: Option<String>,
    /// The largest body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// Refuse (422) a batch holding an event whose `parent_id` chain, counted through every
    /// event received so far, is deeper than this (a root is depth 1). `None`: no limit, as
    /// the server (which instead crashes on deep chains when the trace is read).
    pub max_parent_depth: Option<u32>,
}

impl Default for ReceiverConfig {
    /// No auth, the server's 2 MiB limit.
    fn default() -> Self {
        ReceiverConfig {
            api_key: None,
            max_body_bytes: MAX_BODY_BYTES,
            max_parent_depth: None,
        }
    }
}

/// A status and the message that goes with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The HTTP status the server would answer.
    pub status: u16,
    /// The body it would answer with.
    pub message: String,
}

/// A scripted answer, replacing the normal contract for one request (or a time window).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Answer {
    /// Answer `status` with `body`, plus `Retry-After: <seconds>` when set; nothing is stored.
    Status {
        /// The status.
        status: u16,
        /// `Retry-After` seconds.
        retry_after: Option<u64>,
        /// The body.
        body: String,
    },
    /// Judge normally; if the batch is valid store only its first `keep` events and answer
    /// 206 `Ingested <keep> events, <rest> errors`, as the server does when its queue is full.
    Partial {
        /// Events stored.
        keep: usize,
    },
    /// Read the request, then hold the connection without answering for the duration and
    /// close it: a stalled server.
    Stall(Duration),
    /// Read the request and close the connection without answering.
    Cut,
}

impl Answer {
    /// `status` with a short body and no `Retry-After`.
    pub fn status(status: u16) -> Self {
        let body = match status {
            401 => r#"{"success":false,"error":"Unauthorized"}"#.to_owned(),
            _ => format!("scripted {status}"),
        };
        Answer::Status {
            status,
            retry_after: None,
            body,
        }
    }

    /// 429, with `Retry-After: <seconds>` when given.
    pub fn too_many_requests(retry_after: Option<u64>) -> Self {
        Answer::Status {
            status: 429,
            retry_after,
            body: "Too Many Requests".to_owned(),
        }
    }
}

/// One request the receiver saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `POST`, `GET`, …
    pub method: String,
    /// The request target, e.g. `/events`.
    pub path: String,
    /// Header names (lowercase) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body as received.
    pub body: Vec<u8>,
    /// The status answered (`None`: the connection was cut or stalled).
    pub status: Option<u16>,
    /// When the request had been read.
    pub at: Instant,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// What the `parent_id` links of the events received so far look like.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParentChains {
    /// The deepest chain: the most events on one path of `parent_id` links (a root is 1).
    pub deepest: u32,
    /// Events with `parent_id: null` (or none).
    pub roots: usize,
    /// For each root whose `metadata.thread_id` had sent events before it (a thread's chain
    /// restarting), how deep that thread's previous event was.
    pub restarts_after: Vec<u32>,
    /// Ids of events whose `parent_id` names no event received before them: the server never
    /// analyses those.
    pub orphans: Vec<String>,
}

/// Each stored event's chain depth and parent, by id.
#[derive(Debug, Default)]
struct Chains {
    depths: HashMap<String, u32>,
    parents: HashMap<String, String>,
    /// The latest event's depth per `metadata.thread_id`.
    threads: HashMap<String, u32>,
    summary: ParentChains,
}

impl Chains {
    /// The depth of each of `events` (parents earlier in the slice count), without storing.
    fn measure(&self, events: &[Value]) -> Vec<u32> {
        let mut batch: HashMap<&str, u32> = HashMap::new();
        events
            .iter()
            .map(|event| {
                let depth = match event.get("parent_id").and_then(Value::as_str) {
                    None => 1,
                    Some(parent) => batch
                        .get(parent)
                        .or_else(|| self.depths.get(parent))
                        .map_or(1, |depth| depth + 1),
                };
                if let Some(id) = event.get("id").and_then(Value::as_str) {
                    batch.insert(id, depth);
                }
                depth
            })
            .collect()
    }

    fn store(&mut self, events: &[Value], depths: &[u32]) {
        for (event, &depth) in events.iter().zip(depths) {
            let id = event.get("id").and_then(Value::as_str).unwrap_or_default();
            let thread = event
                .pointer("/metadata/thread_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let previous = self.threads.insert(thread.to_owned(), depth);
            match event.get("parent_id").and_then(Value::as_str) {
                None => {
                    self.summary.roots += 1;
                    self.summary.restarts_after.extend(previous);
                }
                Some(parent) => {
                    if !self.depths.contains_key(parent) {
                        self.summary.orphans.push(id.to_owned());
                    }
                    self.parents.insert(id.to_owned(), parent.to_owned());
                }
            }
            self.depths.insert(id.to_owned(), depth);
            self.summary.deepest = self.summary.deepest.max(depth);
        }
    }
}

#[derive(Debug, Default)]
struct State {
    script: VecDeque<Answer>,
    window: Option<(Instant, Answer)>,
    events: Vec<Value>,
    chains: Chains,
    requests: Vec<RecordedRequest>,
}

#[derive(Debug)]
struct Shared {
    config: ReceiverConfig,
    state: Mutex<State>,
    stop: AtomicBool,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A loopback HTTP server speaking the Raceway ingest contract. Stops when dropped.
#[derive(Debug)]
pub struct TestReceiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl TestReceiver {
    /// A receiver with the default [`ReceiverConfig`] (no auth, 2 MiB).
    pub fn start() -> Self {
        Self::with_config(ReceiverConfig::default())
    }

    /// A receiver with `config`.
    ///
    /// # Panics
    ///
    /// If no loopback port can be bound or the wire schema cannot be loaded (test setup
    /// failures).
    pub fn with_config(config: ReceiverConfig) -> Self {
        let _ = validator();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("loopback address");
        let shared = Arc::new(Shared {
            config,
            state: Mutex::new(State::default()),
            stop: AtomicBool::new(false),
        });
        let accept_shared = Arc::clone(&shared);
        let accept = thread::Builder::new()
            .name("raceway-test-receiver".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if accept_shared.stop.load(Ordering::Acquire) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let shared = Arc::clone(&accept_shared);
                    let _ = thread::Builder::new()
                        .name("raceway-test-connection".into())
                        .spawn(move || serve(stream, &shared));
                }
            })
            .expect("spawn the receiver thread");
        TestReceiver {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:<port>`: the server URL to configure.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answers the next request with `answer` (scripted answers are used in order, before the
    /// normal contract resumes).
    pub fn script(&self, answer: Answer) {
        self.shared.state().script.push_back(answer);
    }

    /// Answers every request with `answer` for `duration` from now (takes precedence over
    /// [`script`](Self::script)).
    pub fn script_for(&self, duration: Duration, answer: Answer) {
        self.shared.state().window = Some((Instant::now() + duration, answer));
    }

    /// Every event accepted so far, in arrival order.
    pub fn events(&self) -> Vec<Value> {
        self.shared.state().events.clone()
    }

    /// The `parent_id` links of every event accepted so far (see the [module docs](self)).
    pub fn parent_chains(&self) -> ParentChains {
        self.shared.state().chains.summary.clone()
    }

    /// Whether the event `ancestor` is on the chain of `parent_id` links up from the event
    /// `id` (both accepted already): what the server needs to order events of two threads.
    pub fn is_ancestor(&self, ancestor: &str, id: &str) -> bool {
        let state = self.shared.state();
        let mut at = id;
        // Parents always arrived first, so the walk ends; the bound is belt and braces.
        for _ in 0..=state.chains.parents.len() {
            match state.chains.parents.get(at) {
                Some(parent) if parent == ancestor => return true,
                Some(parent) => at = parent,
                None => return false,
            }
        }
        false
    }

    /// Every request seen so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.state().requests.clone()
    }

    /// Waits until at least `count` events were accepted or `timeout` passed; returns whether
    /// they were.
    pub fn wait_for_events(&self, count: usize, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        loop {
            if self.shared.state().events.len() >= count {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for TestReceiver {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

impl ReceiverConfig {
    /// What the Raceway server answers to a `POST /events` with these headers and body
    /// (header names case-insensitive), and the events it would store.
    pub fn judge(&self, headers: &[(String, String)], body: &[u8]) -> (Verdict, Vec<Value>) {
        let header = |name: &str| {
            headers
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.as_str())
        };
        if !self.authorized(header("authorization"), header("x-raceway-key")) {
            return (unauthorized(), Vec::new());
        }
        if body.len() > self.max_body_bytes {
            return (
                Verdict {
                    status: 413,
                    message: "Failed to buffer the request body: length limit exceeded".into(),
                },
                Vec::new(),
            );
        }
        if !is_json_content_type(header("content-type")) {
            return (
                Verdict {
                    status: 415,
                    message: "Expected request with `Content-Type: application/json`".into(),
                },
                Vec::new(),
            );
        }
        match validate_body(body) {
            Ok(events) => {
                let message = format!(
                    r#"{{"success":true,"data":"Ingested {} events","error":null}}"#,
                    events.len()
                );
                (
                    Verdict {
                        status: 200,
                        message,
                    },
                    events,
                )
            }
            Err(verdict) => (verdict, Vec::new()),
        }
    }

    fn authorized(&self, authorization: Option<&str>, x_raceway_key: Option<&str>) -> bool {
        let Some(key) = &self.api_key else {
            return true;
        };
        let bearer = authorization.and_then(|value| value.strip_prefix("Bearer "));
        match bearer {
            Some(token) => token == key,
            None => x_raceway_key == Some(key.as_str()),
        }
    }
}

fn unauthorized() -> Verdict {
    Verdict {
        status: 401,
        message: r#"{"success":false,"error":"Unauthorized"}"#.into(),
    }
}

/// `application/json`, `application/json; charset=…`, `application/<x>+json`.
fn is_json_content_type(value: Option<&str>) -> bool {
    let Some(value) = value else { return false };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.split_once('/') {
        Some(("application", subtype)) => subtype == "json" || subtype.ends_with("+json"),
        _ => false,
    }
}

/// Judges a body as the server's JSON and schema checks do: `Ok` with the events when it would
/// be accepted, else the 400 (not JSON) or 422 (not a valid batch) verdict.
pub fn validate_body(body: &[u8]) -> Result<Vec<Value>, Verdict> {
    // Like the server (axum's Json), read the first JSON value and ignore what follows.
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let mut value = match Shape::Envelope.deserialize(&mut deserializer) {
        Ok(value) => value,
        // serde rejects a repeated struct field as a data error: 422.
        Err(error) if error.classify() == serde_json::error::Category::Data => {
            return Err(Verdict {
                status: 422,
                message: format!(
                    "Failed to deserialize the JSON body into the target type: {error}"
                ),
            })
        }
        Err(error) => {
            return Err(Verdict {
                status: 400,
                message: format!("Failed to parse the request body as JSON: {error}"),
            })
        }
    };
    let original = value.clone();
    mark_floats(&mut value);
    if let Err(error) = validator().validate(&value) {
        let path = pointer_to_path(error.instance_path().as_str());
        let field = if path.is_empty() {
            String::new()
        } else {
            format!("{path}: ")
        };
        return Err(Verdict {
            status: 422,
            message: format!(
                "Failed to deserialize the JSON body into the target type: {field}{error}"
            ),
        });
    }
    Ok(match original {
        Value::Object(mut map) => match map.remove("events") {
            Some(Value::Array(events)) => events,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    })
}

/// Reads any JSON value like `serde_json::Value`, but refuses a repeated key in the objects the
/// server reads into structs (envelope, event, metadata, kind and its payload), as serde's
/// derived impls do; maps (`tags`, `headers`) and free values (`data`, `args`) keep the last
/// value. JSON Schema alone would only ever see the last value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Envelope,
    Events,
    Event,
    Metadata,
    Kind,
    Variant,
    Free,
}

impl Shape {
    fn child(self, key: Option<&str>) -> Shape {
        match (self, key) {
            (Shape::Envelope, Some("events")) => Shape::Events,
            (Shape::Events, None) => Shape::Event,
            (Shape::Event, Some("metadata")) => Shape::Metadata,
            (Shape::Event, Some("kind")) => Shape::Kind,
            (Shape::Kind, Some(_)) => Shape::Variant,
            _ => Shape::Free,
        }
    }

    fn is_struct(self) -> bool {
        !matches!(self, Shape::Free | Shape::Events)
    }
}

impl<'de> DeserializeSeed<'de> for Shape {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Shape {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.child(None))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if self.is_struct() && object.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            let value = map.next_value_seed(self.child(Some(&key)))?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// serde reads `1.0`, `1e2` and `-0` as floats, which no integer field takes, while JSON
/// Schema calls them integers: replace every float by a string so the schema sees what serde
/// sees (fields that take any value still take a string).
fn mark_floats(value: &mut Value) {
    match value {
        Value::Number(number) if !number.is_i64() && !number.is_u64() => {
            *value = Value::String(format!("floating point `{number}`"));
        }
        Value::Array(items) => items.iter_mut().for_each(mark_floats),
        Value::Object(map) => map.values_mut().for_each(mark_floats),
        _ => {}
    }
}

/// `/events/1/id` → `events[1].id`.
fn pointer_to_path(pointer: &str) -> String {
    let mut path = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            path.push('[');
            path.push_str(&segment);
            path.push(']');
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&segment);
        }
    }
    path
}

/// The wire schema, carried inside the crate so that a packaged crate has it too.
const WIRE_SCHEMA: &str = include_str!("../wire/event-batch.schema.json");

/// The compiled schema, built once per process.
fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema: Value = serde_json::from_str(WIRE_SCHEMA).expect("the wire schema is JSON");
        jsonschema::validator_for(&schema).expect("the wire schema compiles")
    })
}

/// Serves one connection: one request, one answer, close.
fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    let Some(request) = read_request(&mut reader, &mut writer, shared.config.max_body_bytes) else {
        return;
    };
    let (method, path, headers, body) = request;
    let at = Instant::now();

    let scripted = {
        let mut state = shared.state();
        match &state.window {
            Some((until, answer)) if at < *until => Some(answer.clone()),
            _ => state.script.pop_front(),
        }
    };

    let (verdict, events, retry_after) = match (method.as_str(), path.as_str()) {
        _ if shared.config.api_key.is_some()
            && !shared.config.authorized(
                header_of(&headers, "authorization"),
                header_of(&headers, "x-raceway-key"),
            ) =>
        {
            (Some(unauthorized()), Vec::new(), None)
        }
        ("GET", "/health") => (
            Some(Verdict {
                status: 200,
                message: "OK".into(),
            }),
            Vec::new(),
            None,
        ),
        ("POST", "/events") => match scripted {
            Some(Answer::Status {
                status,
                retry_after,
                body,
            }) => (
                Some(Verdict {
                    status,
                    message: body,
                }),
                Vec::new(),
                retry_after,
            ),
            Some(Answer::Cut) => (None, Vec::new(), None),
            Some(Answer::Stall(duration)) => {
                thread::sleep(duration);
                (None, Vec::new(), None)
            }
            Some(Answer::Partial { keep }) => {
                let (verdict, mut events) = shared.config.judge(&headers, &body);
                if verdict.status == 200 {
                    let total = events.len();
                    events.truncate(keep);
                    let message = format!(
                        r#"{{"success":true,"data":"Ingested {} events, {} errors","error":null}}"#,
                        events.len(),
                        total - events.len()
                    );
                    (
                        Some(Verdict {
                            status: 206,
                            message,
                        }),
                        events,
                        None,
                    )
                } else {
                    (Some(verdict), events, None)
                }
            }
            None => {
                let (verdict, events) = shared.config.judge(&headers, &body);
                (Some(verdict), events, None)
            }
        },
        _ => (
            Some(Verdict {
                status: 404,
                message: "Not Found".into(),
            }),
            Vec::new(),
            None,
        ),
    };

    let mut verdict = verdict;
    {
        let mut state = shared.state();
        let depths = state.chains.measure(&events);
        let too_deep = shared.config.max_parent_depth.and_then(|limit| {
            depths
                .iter()
                .position(|&depth| depth > limit)
                .map(|at| (at, depths[at], limit))
        });
        match too_deep {
            Some((at, depth, limit)) => {
                verdict = Some(Verdict {
                    status: 422,
                    message: format!(
                        "events[{at}].parent_id: a chain {depth} events deep, over the limit of {limit}"
                    ),
                });
            }
            None => {
                state.chains.store(&events, &depths);
                state.events.extend(events);
            }
        }
        state.requests.push(RecordedRequest {
            method,
            path,
            headers,
            body,
            status: verdict.as_ref().map(|v| v.status),
            at,
        });
    }

    match verdict {
        Some(verdict) => {
            let content_type = if verdict.message.starts_with('{') {
                "application/json"
            } else {
                "text/plain; charset=utf-8"
            };
            let mut head = format!(
                "HTTP/1.1 {} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n",
                verdict.status,
                reason(verdict.status),
                verdict.message.len()
            );
            if let Some(seconds) = retry_after {
                head.push_str(&format!("retry-after: {seconds}\r\n"));
            }
            head.push_str("\r\n");
            let _ = writer.write_all(head.as_bytes());
            let _ = writer.write_all(verdict.message.as_bytes());
            let _ = writer.flush();
            let _ = writer.shutdown(Shutdown::Write);
        }
        None => {
            let _ = writer.shutdown(Shutdown::Both);
        }
    }
}

fn header_of<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

type Request = (String, String, Vec<(String, String)>, Vec<u8>);

/// Reads a request head and a `Content-Length` body. Bodies over `max_body` are read only up
/// to [`MAX_DRAINED_BYTES`] (the contract answers 413 for them anyway).
fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
    max_body: usize,
) -> Option<Request> {
    let mut head_bytes = 0;
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    head_bytes += line.len();
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        head_bytes += line.len();
        if head_bytes > MAX_HEAD_BYTES {
            let _ = writer.write_all(
                b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    if header_of(&headers, "expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        let _ = writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    let length = match header_of(&headers, "content-length") {
        Some(value) => value.parse::<usize>().ok()?,
        None if header_of(&headers, "transfer-encoding").is_some() => {
            let _ = writer.write_all(
                b"HTTP/1.1 411 Length Required\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
            return None;
        }
        None => 0,
    };
    let keep = length
        .min(max_body.saturating_add(1))
        .min(MAX_DRAINED_BYTES);
    let mut body = vec![0; keep];
    reader.read_exact(&mut body).ok()?;
    if length > keep {
        let rest = (length - keep).min(MAX_DRAINED_BYTES) as u64;
        std::io::copy(&mut reader.by_ref().take(rest), &mut std::io::sink()).ok()?;
    }
    Some((method, path, headers, body))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_become_field_paths() {
        assert_eq!(pointer_to_path("/events/1/id"), "events[1].id");
        assert_eq!(
            pointer_to_path("/events/0/kind/StateChange/access_type"),
            "events[0].kind.StateChange.access_type"
        );
        assert_eq!(pointer_to_path(""), "");
    }

    #[test]
    fn content_types() {
        assert!(is_json_content_type(Some("application/json")));
        assert!(is_json_content_type(Some(
            "Application/JSON; charset=utf-8"
        )));
        assert!(is_json_content_type(Some("application/vnd.api+json")));
        assert!(!is_json_content_type(Some("text/plain")));
        assert!(!is_json_content_type(None));
    }

    #[test]
    fn auth_rules() {
        let config = ReceiverConfig {
            api_key: Some("k".into()),
            ..ReceiverConfig::default()
        };
        assert!(config.authorized(Some("Bearer k"), None));
        assert!(config.authorized(None, Some("k")));
        assert!(
            !config.authorized(Some("Bearer x"), Some("k")),
            "a wrong Bearer wins"
        );
        assert!(!config.authorized(None, None));
    }
}
