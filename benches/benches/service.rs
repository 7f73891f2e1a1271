//! What a service pays, end to end: a real axum service on loopback under a closed-loop load.
//!
//! The service has one route whose handler takes a lock over five account balances, reads them
//! and writes them: ten accesses and one lock per request. The load generator keeps
//! [`CONNECTIONS`] HTTP/1.1 keep-alive connections open and sends each request only when the
//! answer to its previous one is in (closed loop), [`REQUESTS`] requests per iteration in all.
//! The same run measures four configurations:
//!
//! * `service/untraced` — no instrumentation: a `std::sync::Mutex`, no layer.
//! * `service/raceway_server` — `RacewayLayer`, the ten accesses tracked (`track_read`,
//!   `track_write`) under a tracked `raceway::sync::Mutex`, delivered over HTTP to the loopback
//!   `TestReceiver`. The receiver keeps connections alive, as HTTP/1.1 servers do by default,
//!   reads every batch and answers 200 without validating or keeping it, as a remote server's
//!   work is not the service's cost (and a run must not keep millions of events in memory).
//! * `service/raceway_analyzer` — the same, delivered to the local analyzer instead.
//! * `service/tower_http_trace` — what a user would otherwise pick: `tower-http`'s `TraceLayer`
//!   and a `tracing-subscriber` fmt layer writing to a sink; untracked handler.
//!
//! Each prints requests per second and the p50 and p99 request latency over its iterations,
//! and the CPU time the service's two worker threads took per request; Raceway's also print
//! the CPU time its drain and sender threads (and the loopback receiver) took per event.
//! The server runs on a two-worker tokio runtime, the load generator on the bench thread, so
//! all of them share the machine's cores as a service and its clients on one box would.
//!
//! On two cores the loop is bound by latency, not CPU: nearly every request wakes a thread on
//! the other core. Where waking an idle core is dear, as in a virtual machine whose idle vCPUs
//! halt, the figures then depend on how busy other threads keep the cores as much as on the
//! work done, and the workers' CPU per request shows it. Pinned to one core (`taskset -c 0`),
//! the loop is bound by CPU, and each configuration's requests per second is its cost.
//!
//! Run: `cargo bench -p raceway-benches --bench service` (and, for the CPU cost alone,
//! `taskset -c 0 cargo bench -p raceway-benches --bench service`).

use std::net::SocketAddr;
use std::sync::Mutex as StdMutex;
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use raceway::middleware::RacewayLayer;
use raceway::{Client, Config};
use raceway_test_receiver::{Answer, ReceiverConfig, TestReceiver};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

/// Keep-alive connections the load generator holds open.
const CONNECTIONS: usize = 8;
/// Requests per iteration, spread evenly over the connections.
const REQUESTS: usize = 2_000;
/// The request every connection sends.
const REQUEST: &[u8] = b"GET /transfer HTTP/1.1\r\nhost: bench\r\n\r\n";

/// The untracked handler's state: five balances under one lock.
static PLAIN: StdMutex<[u64; 5]> = StdMutex::new([100; 5]);
/// The tracked handler's state, the same under a tracked lock.
static TRACKED: raceway::sync::Mutex<[u64; 5]> = raceway::sync::Mutex::named("accounts", [100; 5]);
/// What the tracked handler calls its five balances.
const NAMES: [&str; 5] = [
    "accounts.alice",
    "accounts.bob",
    "accounts.carol",
    "accounts.dave",
    "accounts.erin",
];

/// Reads the five balances and moves one unit along: five reads and five writes.
fn shuffle(
    balances: &mut [u64; 5],
    mut read: impl FnMut(usize, u64),
    mut write: impl FnMut(usize, u64, u64),
) {
    let mut carried = 0;
    for (i, balance) in balances.iter_mut().enumerate() {
        read(i, *balance);
        let new = balance.wrapping_sub(1).wrapping_add(carried);
        write(i, *balance, new);
        carried = 1;
        *balance = new;
    }
}

async fn untracked() -> &'static str {
    shuffle(&mut PLAIN.lock().unwrap(), |_, _| {}, |_, _, _| {});
    "ok"
}

async fn tracked() -> &'static str {
    shuffle(
        &mut TRACKED.lock().unwrap(),
        |i, value| raceway::track_read(NAMES[i], value),
        |i, old, new| raceway::track_write(NAMES[i], old, new),
    );
    "ok"
}

/// The service under test, its runtime, and what it needs to stay up.
struct Service {
    runtime: Runtime,
    addr: SocketAddr,
    client: Option<Client>,
    receiver: Option<TestReceiver>,
}

impl Service {
    fn start(
        router: Router,
        on_thread_start: impl Fn() + Send + Sync + 'static,
        client: Option<Client>,
        receiver: Option<TestReceiver>,
    ) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("service-worker")
            .enable_all()
            .on_thread_start(on_thread_start)
            .build()
            .expect("server runtime");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("a loopback port");
        let addr = listener.local_addr().expect("bound address");
        runtime.spawn(async move { axum::serve(listener, router).await });
        Service {
            runtime,
            addr,
            client,
            receiver,
        }
    }

    fn untraced() -> Self {
        Self::start(
            Router::new().route("/transfer", get(untracked)),
            || {},
            None,
            None,
        )
    }

    fn raceway(client: Client, receiver: Option<TestReceiver>) -> Self {
        let router = Router::new()
            .route("/transfer", get(tracked))
            .layer(RacewayLayer::new(client.clone()));
        Self::start(router, || {}, Some(client), receiver)
    }

    fn raceway_server() -> Self {
        let mut config = ReceiverConfig::default();
        config.keep_alive = true;
        config.keep_bodies = false;
        let receiver = TestReceiver::with_config(config);
        receiver.script_for(Duration::from_secs(24 * 3600), Answer::status(200));
        let config = Config::builder()
            .server_url(receiver.url())
            .service_name("bench")
            .local_analysis(false)
            .build()
            .expect("valid config");
        Self::raceway(Client::from_config(config).expect("client"), Some(receiver))
    }

    fn raceway_analyzer() -> Self {
        let config = Config::builder()
            .service_name("bench")
            .local_analysis(true)
            .build()
            .expect("valid config");
        Self::raceway(Client::from_config(config).expect("client"), None)
    }

    fn tower_http_trace() -> Self {
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink));
        let dispatch = tracing::Dispatch::new(subscriber);
        let router = Router::new()
            .route("/transfer", get(untracked))
            .layer(tower_http::trace::TraceLayer::new_for_http());
        // Every worker thread records into the subscriber for as long as it lives.
        let on_start = move || std::mem::forget(tracing::dispatcher::set_default(&dispatch));
        Self::start(router, on_start, None, None)
    }

    /// Stops the service after it has served `served` requests (warm-up included), and says
    /// how much CPU its worker threads took per request and, if it was traced, what Raceway
    /// lost.
    fn stop(self, id: &str, served: u64) {
        let workers = cpu_time("service-worker");
        eprintln!(
            "{id}: the service's worker threads took {:.2} µs of CPU per request",
            workers.as_nanos() as f64 / served.max(1) as f64 / 1e3
        );
        if let Some(client) = &self.client {
            let drain = cpu_time("raceway-drain");
            let sender = cpu_time("raceway-sender");
            let receiver = cpu_time("raceway-test-receiver");
            let report = client.shutdown(Duration::from_secs(30));
            let stats = report.stats;
            let per_event = |cpu: Duration| cpu.as_nanos() as f64 / stats.recorded.max(1) as f64;
            eprintln!(
                "{id}: {} events recorded, {} dropped in the lanes, {} delivered; \
                 CPU per event recorded: drain {:.0} ns, sender {:.0} ns, \
                 receiver {:.0} ns (the server's work, here on the service's cores)",
                stats.recorded,
                stats.dropped_in_lanes,
                stats.sent,
                per_event(drain),
                per_event(sender),
                per_event(receiver)
            );
        }
        self.runtime.shutdown_timeout(Duration::from_secs(5));
        // Its threads may still be reading what the sender posted last: the next
        // configuration must not share the cores with them.
        if let Some(receiver) = self.receiver {
            receiver.shut_down(Duration::from_secs(5));
        }
    }
}

/// The CPU time this process's threads named `name` have run so far (Linux's per-thread
/// `schedstat`; zero elsewhere): what Raceway's own threads cost, whatever else the machine does.
fn cpu_time(name: &str) -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    tasks
        .flatten()
        .filter(|task| {
            // Linux keeps the first 15 bytes of a thread's name.
            let kept = &name.as_bytes()[..name.len().min(15)];
            std::fs::read(task.path().join("comm")).is_ok_and(|comm| comm.trim_ascii() == kept)
        })
        .filter_map(|task| {
            let schedstat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            schedstat.split_whitespace().next()?.parse().ok()
        })
        .map(Duration::from_nanos)
        .sum()
}

/// One keep-alive connection of the load generator.
struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    async fn open(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Connection {
            stream,
            buffer: Vec::with_capacity(1024),
        }
    }

    /// Sends one request and reads its whole response (status 200, `content-length` body).
    async fn request(&mut self) {
        self.stream.write_all(REQUEST).await.expect("send");
        self.buffer.clear();
        let (head, body) = loop {
            let mut chunk = [0u8; 1024];
            let n = self.stream.read(&mut chunk).await.expect("receive");
            assert!(n > 0, "the service closed the connection");
            self.buffer.extend_from_slice(&chunk[..n]);
            if let Some(end) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break (end + 4, content_length(&self.buffer[..end]));
            }
        };
        assert!(self.buffer.starts_with(b"HTTP/1.1 200"), "not a 200");
        while self.buffer.len() < head + body {
            let mut chunk = [0u8; 1024];
            let n = self.stream.read(&mut chunk).await.expect("receive");
            assert!(n > 0, "the service closed the connection");
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }
}

fn content_length(head: &[u8]) -> usize {
    let head = std::str::from_utf8(head).expect("ASCII head");
    head.lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().expect("a length"))
        })
        .expect("a content-length")
}

/// The load generator: its connections, and every request's latency so far.
struct Load {
    runtime: Runtime,
    connections: Vec<Connection>,
    latencies: Vec<Duration>,
    requests: u64,
    elapsed: Duration,
    /// Every request sent, warm-up included: what the service's threads' CPU time covers.
    served: u64,
}

impl Load {
    fn new(addr: SocketAddr) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("client runtime");
        let connections = runtime.block_on(async {
            let mut connections = Vec::new();
            for _ in 0..CONNECTIONS {
                connections.push(Connection::open(addr).await);
            }
            connections
        });
        Load {
            runtime,
            connections,
            latencies: Vec::new(),
            requests: 0,
            elapsed: Duration::ZERO,
            served: 0,
        }
    }

    /// Sends [`REQUESTS`] requests over the connections, each after its previous answer.
    fn run(&mut self) -> Duration {
        let connections = std::mem::take(&mut self.connections);
        let start = Instant::now();
        let results = self.runtime.block_on(async {
            let mut tasks = JoinSet::new();
            for mut connection in connections {
                tasks.spawn(async move {
                    let mut latencies = Vec::with_capacity(REQUESTS / CONNECTIONS);
                    for _ in 0..REQUESTS / CONNECTIONS {
                        let sent = Instant::now();
                        connection.request().await;
                        latencies.push(sent.elapsed());
                    }
                    (connection, latencies)
                });
            }
            tasks.join_all().await
        });
        let elapsed = start.elapsed();
        for (connection, latencies) in results {
            self.connections.push(connection);
            self.latencies.extend(latencies);
        }
        let sent = (REQUESTS / CONNECTIONS * CONNECTIONS) as u64;
        self.requests += sent;
        self.served += sent;
        self.elapsed += elapsed;
        elapsed
    }

    fn report(&mut self, id: &str) {
        if self.latencies.is_empty() {
            return; // filtered out of this run
        }
        self.latencies.sort_unstable();
        let at = |q: f64| self.latencies[((self.latencies.len() - 1) as f64 * q) as usize];
        eprintln!(
            "{id}: {:.0} requests/s, p50 {:.1} µs, p99 {:.1} µs ({} requests)",
            self.requests as f64 / self.elapsed.as_secs_f64(),
            at(0.50).as_secs_f64() * 1e6,
            at(0.99).as_secs_f64() * 1e6,
            self.requests
        );
    }
}

fn service(c: &mut Criterion) {
    let mut group = c.benchmark_group("service");
    group.throughput(Throughput::Elements(
        (REQUESTS / CONNECTIONS * CONNECTIONS) as u64,
    ));
    group.sample_size(10);
    type Start = fn() -> Service;
    let configurations: [(&str, Start); 4] = [
        ("untraced", Service::untraced),
        ("raceway_server", Service::raceway_server),
        ("raceway_analyzer", Service::raceway_analyzer),
        ("tower_http_trace", Service::tower_http_trace),
    ];
    for (name, start) in configurations {
        let service = start();
        let mut load = Load::new(service.addr);
        // Warms the connections and the service's first-use paths outside the figures.
        load.run();
        load.latencies.clear();
        (load.requests, load.elapsed) = (0, Duration::ZERO);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| load.run()).sum())
        });
        let id = format!("service/{name}");
        load.report(&id);
        let served = load.served;
        drop(load);
        service.stop(&id, served);
    }
    group.finish();
}

criterion_group!(benches, service);
criterion_main!(benches);
