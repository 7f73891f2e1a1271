//! A loopback stand-in for the Raceway server's ingest API, for the workspace's tests, examples
//! and benches (never published: the libraries users depend on do not carry it).
//!
//! [`TestReceiver`] is a real HTTP/1.1 server on `127.0.0.1:<free port>` (hyper on a small
//! tokio runtime of its own, `Connection: close` on every answer unless
//! [`ReceiverConfig::keep_alive`]) that judges requests the way
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
//! The schema is compiled in (`include_str!` of `transport-http/wire/event-batch.schema.json`),
//! so the receiver needs no file at run time.
//!
//! # Examples
//!
//! ```
//! use std::time::{Duration, Instant};
//! use raceway_core::{Event, Kind, ThreadId, Value};
//! use raceway_test_receiver::{Answer, TestReceiver};
//! use raceway_transport_http::{HttpClient, HttpClientConfig, JsonEncoder, JsonEncoderConfig};
//!
//! let receiver = TestReceiver::start();
//! receiver.script(Answer::status(503)); // one failure, then the normal contract
//!
//! let mut encoder = JsonEncoder::new(JsonEncoderConfig::new("bank", "host-1"));
//! let kind = Kind::Custom { name: "started", data: Value::None };
//! encoder.encode(&Event::new(1_795_709_498_000_000_000, ThreadId::from_raw(1), kind));
//! let client = HttpClient::new(HttpClientConfig::new(receiver.url())).unwrap();
//! let report = client.deliver(encoder.flush().unwrap(), Instant::now() + Duration::from_secs(5));
//!
//! assert!(report.is_complete());
//! assert_eq!(report.retries, 1);
//! assert_eq!(receiver.events()[0]["kind"]["Custom"]["name"], "started");
//! ```

#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod chains;
mod judge;
mod server;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use raceway_transport_http::MAX_BODY_BYTES;
use serde_json::Value;

pub use judge::validate_body;
use server::{Shared, State};

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
    /// Keep connections open between requests, as HTTP/1.1 servers do by default. Off here: one
    /// request per connection (`Connection: close`) makes every request of a test meet the
    /// script on its own; benches that measure delivery turn it on.
    pub keep_alive: bool,
    /// Keep each request's body in [`RecordedRequest::body`]. On here, for tests that look at
    /// what was sent; a bench that posts for minutes turns it off, so that the receiver's
    /// memory (and the page faults of growing it, on the service's cores) stays flat.
    pub keep_bodies: bool,
}

impl Default for ReceiverConfig {
    /// No auth, the server's 2 MiB limit.
    fn default() -> Self {
        ReceiverConfig {
            api_key: None,
            max_body_bytes: MAX_BODY_BYTES,
            max_parent_depth: None,
            keep_alive: false,
            keep_bodies: true,
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
    /// The body as received (empty unless [`ReceiverConfig::keep_bodies`]).
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

/// A loopback HTTP server speaking the Raceway ingest contract. Stops when dropped.
#[derive(Debug)]
pub struct TestReceiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// Serves every connection; shut down on drop, which closes the port and every connection.
    runtime: Option<tokio::runtime::Runtime>,
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
        let _ = judge::validator();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("raceway-test-receiver")
            .enable_all()
            .build()
            .expect("start the receiver's runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("loopback address");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener).expect("register the listener")
        };
        let shared = Arc::new(Shared {
            config,
            state: Mutex::new(State::default()),
        });
        runtime.spawn(server::accept(listener, Arc::clone(&shared)));
        TestReceiver {
            addr,
            shared,
            runtime: Some(runtime),
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

    /// Stops the receiver and waits up to `timeout` for its threads to end: what a bench does
    /// before it measures something else on the same cores.
    pub fn shut_down(mut self, timeout: Duration) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(timeout);
        }
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
        // Without waiting, so that a receiver can be dropped inside a test's own runtime.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
