//! Two services in one process, a `gateway` and a `ledger`, talking HTTP over loopback.
//!
//! Both are axum servers on `127.0.0.1` (ephemeral ports) with
//! [`RacewayLayer`] on their traced routes only (`/health` stays
//! untraced: the per-route pattern). A client pays order 42 at the gateway; the gateway calls
//! the ledger's `/charge` with a `reqwest` client that has [`ReqwestMiddleware`], which writes the
//! propagation headers and records the call and its response with no hand calls, so the ledger
//! continues the gateway's trace and clock.
//!
//! Both services record into **one** [`Client`]. In production each would have its own client
//! and send to the Raceway server, which joins the two ends by trace and span; here one local
//! analyzer sees both ends, so the HTTP request edge (gateway's outbound request → ledger's
//! inbound request) and the response edge (ledger's response → the gateway's recorded response)
//! order accesses across the hop exactly as in-process locks and joins do. Sent to a Raceway
//! server, which orders services only through `parent_id` links, the same two edges are parent
//! links: the ledger's first event hangs from the gateway's request event (named in
//! `raceway-clock`), and the gateway's response event from the ledger's response event (named
//! in the ledger's `raceway-event` response header, which the client middleware reads).
//!
//! * `order.42.status` — the gateway writes `"paying"` *before* calling the ledger, which reads
//!   it: ordered by the request edge, not reported.
//! * `order.42.charged` — the ledger writes it, the gateway reads it *after* the response:
//!   ordered by the response edge, not reported.
//! * `order.42.version` — the gateway makes the call in a task ([`raceway::task::spawn`]) and,
//!   *without waiting for it*, bumps the version; the ledger bumps it too while handling the
//!   charge. Nothing orders the two writes: reported, and one bump can be lost.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::serve;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use raceway::middleware::RacewayLayer;
use raceway::outbound::ReqwestMiddleware;
use raceway::Client;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};

/// Order 42 as both services see it: in production a database row, here shared memory.
#[derive(Debug)]
struct Order {
    status: Mutex<&'static str>,
    charged: Mutex<bool>,
    version: Mutex<i64>,
}

/// What the gateway's handler needs.
#[derive(Clone, Debug)]
struct Gateway {
    ledger: SocketAddr,
    order: Arc<Order>,
    /// The gateway's HTTP client: every call through it is traced.
    http: ClientWithMiddleware,
}

/// What the ledger's handler needs.
#[derive(Clone, Debug)]
struct Ledger {
    order: Arc<Order>,
    /// The propagation headers the gateway's call carried, kept so the example can print them.
    propagated: Arc<Mutex<Vec<(String, String)>>>,
}

/// What a run of the example produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The gateway's answer to the client.
    pub response: String,
    /// The propagation headers the gateway sent to the ledger.
    pub propagated: Vec<(String, String)>,
    /// The order's final version: 2 if neither bump was lost.
    pub version: i64,
    /// The gateway's `/health` answer (untraced).
    pub health: String,
}

/// Starts both services, pays order 42 through the gateway, and stops them.
pub fn run(client: &Client) -> Outcome {
    run_apart(client, client)
}

/// The same with each service recording into its own client, as two processes would (each
/// client can write its own capture; `raceway check --merge` analyzes them together).
pub fn run_apart(gateway: &Client, ledger: &Client) -> Outcome {
    block_on(async {
        let order = Arc::new(Order::new());
        let (address, propagated) = serve_ledger(ledger.clone(), Arc::clone(&order)).await;
        pay_order(gateway.clone(), address, order, propagated).await
    })
}

/// The ledger on its own (a process of its own): serves `/charge` on a loopback port, calls
/// `ready` with its address, and stops once `stop` completes.
pub fn run_ledger(client: &Client, ready: impl FnOnce(SocketAddr), stop: impl Future<Output = ()>) {
    block_on(async {
        let (address, _) = serve_ledger(client.clone(), Arc::new(Order::new())).await;
        ready(address);
        stop.await;
    })
}

/// The gateway on its own (a process of its own): pays order 42 through the ledger at
/// `ledger`. The order's memory is the gateway's own; the ledger's accesses to order 42 are
/// in the ledger's recording, under the same variable names (a database row in production).
pub fn run_gateway(client: &Client, ledger: SocketAddr) -> Outcome {
    block_on(pay_order(
        client.clone(),
        ledger,
        Arc::new(Order::new()),
        Arc::default(),
    ))
}

/// Runs `future` on a runtime of its own, then stops the services it started.
fn block_on<F: Future>(future: F) -> F::Output {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    let output = runtime.block_on(future);
    runtime.shutdown_timeout(Duration::from_secs(1));
    output
}

impl Order {
    fn new() -> Self {
        Order {
            status: Mutex::new("new"),
            charged: Mutex::new(false),
            version: Mutex::new(0),
        }
    }
}

/// Starts the ledger: `/charge` traced (per route), `/health` not. Returns its address and
/// where it keeps the propagation headers it received.
async fn serve_ledger(
    client: Client,
    order: Arc<Order>,
) -> (SocketAddr, Arc<Mutex<Vec<(String, String)>>>) {
    let propagated: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let ledger = Router::new()
        .route("/charge", post(charge).layer(RacewayLayer::new(client)))
        .route("/health", get(health))
        .with_state(Ledger {
            order,
            propagated: Arc::clone(&propagated),
        });
    (serve(ledger).await, propagated)
}

/// Starts the gateway and pays order 42 through it, as an outside client.
async fn pay_order(
    client: Client,
    ledger: SocketAddr,
    order: Arc<Order>,
    propagated: Arc<Mutex<Vec<(String, String)>>>,
) -> Outcome {
    // The gateway, the same way, with a traced HTTP client for its calls to the ledger.
    let gateway = Gateway {
        ledger,
        order: Arc::clone(&order),
        http: ClientBuilder::new(reqwest::Client::new())
            .with(ReqwestMiddleware)
            .build(),
    };
    let app = Router::new()
        .route("/orders/42/pay", post(pay).layer(RacewayLayer::new(client)))
        .route("/health", get(health))
        .with_state(gateway);
    let gateway = serve(app).await;

    // An outside client: a plain reqwest client, no trace headers, so the gateway starts the
    // trace.
    let outside = reqwest::Client::new();
    let response = outside
        .post(format!("http://{gateway}/orders/42/pay"))
        .send()
        .await
        .expect("the gateway answers");
    let response = response.text().await.expect("the gateway answers");
    let health = outside
        .get(format!("http://{gateway}/health"))
        .send()
        .await
        .expect("the gateway answers");
    let health = health.text().await.expect("the gateway answers");
    let version = *order.version.lock().unwrap();
    let propagated = propagated.lock().unwrap().clone();
    Outcome {
        response,
        propagated,
        version,
        health,
    }
}

async fn health() -> &'static str {
    "ok"
}

/// The gateway's `POST /orders/42/pay`, running in the request's context (the layer enters it
/// on every poll).
async fn pay(State(gateway): State<Gateway>) -> Result<String, (StatusCode, String)> {
    let order = &gateway.order;
    *order.status.lock().unwrap() = "paying";
    raceway::track_write(
        "order.42.status",
        raceway::text("new"),
        raceway::text("paying"),
    );

    // The call to the ledger, in a task of its own (a child context); the middleware writes
    // the propagation headers and records the request and its response.
    let call = raceway::task::spawn({
        let http = gateway.http.clone();
        let url = format!("http://{}/charge", gateway.ledger);
        async move {
            let response = http.post(url).send().await?;
            let status = response.status().as_u16();
            Ok::<_, reqwest_middleware::Error>((status, response.text().await?))
        }
    });

    // The bug: bump the version while the ledger is still working on the same order.
    let version = {
        let mut version = order.version.lock().unwrap();
        *version += 1;
        *version
    };
    raceway::track_write("order.42.version", version - 1, version);

    // Awaiting the task records the join: the ledger's work happens before what follows.
    let unavailable = |e: String| (StatusCode::BAD_GATEWAY, e);
    let (status, body) = call
        .await
        .map_err(|e| unavailable(e.to_string()))?
        .map_err(|e| unavailable(e.to_string()))?;

    let charged = *order.charged.lock().unwrap();
    raceway::track_read("order.42.charged", charged);
    Ok(format!(
        "order 42: ledger said {status} {body:?}, charged: {charged}"
    ))
}

/// The ledger's `POST /charge`, in a context continued from the gateway's headers.
async fn charge(State(ledger): State<Ledger>, headers: HeaderMap) -> String {
    *ledger.propagated.lock().unwrap() = ["traceparent", "tracestate", "raceway-clock"]
        .into_iter()
        .filter_map(|name| {
            let value = headers.get(name)?.to_str().ok()?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect();
    let order = &ledger.order;
    let status = *order.status.lock().unwrap();
    raceway::track_read("order.42.status", raceway::text(status));

    // Pretend to talk to a payment provider, then record the charge.
    tokio::time::sleep(Duration::from_millis(5)).await;
    *order.charged.lock().unwrap() = true;
    raceway::track_write("order.42.charged", false, true);
    let version = {
        let mut version = order.version.lock().unwrap();
        *version += 1;
        *version
    };
    raceway::track_write("order.42.version", version - 1, version);
    format!("charged order 42 (status was {status:?})")
}
