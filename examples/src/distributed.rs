//! Two services in one process, a `gateway` and a `ledger`, talking HTTP over loopback.
//!
//! Both are axum servers on `127.0.0.1` (ephemeral ports) with
//! [`RacewayLayer`] on their traced routes only (`/health` stays
//! untraced: the per-route pattern). A client pays order 42 at the gateway; the gateway calls
//! the ledger's `/charge`, writing the propagation headers with [`Context::outbound`], so the
//! ledger continues the gateway's trace and clock.
//!
//! Both services record into **one** [`Client`]. In production each would have its own client
//! and send to the Raceway server, which joins the two ends by trace and span; here one local
//! analyzer sees both ends, so the HTTP request edge (gateway's outbound request → ledger's
//! inbound request) and the response edge (ledger's response → gateway's `finish`) order
//! accesses across the hop exactly as in-process locks and joins do. Sent to a Raceway server,
//! which orders services only through `parent_id` links, the same two edges are parent links:
//! the ledger's first event hangs from the gateway's request event (named in `raceway-clock`),
//! and the gateway's response event from the ledger's response event (named in the ledger's
//! `raceway-event` response header, read by [`OutboundCall::finish_with_headers`]).
//!
//! * `order.42.status` — the gateway writes `"paying"` *before* calling the ledger, which reads
//!   it: ordered by the request edge, not reported.
//! * `order.42.charged` — the ledger writes it, the gateway reads it *after* the response:
//!   ordered by the response edge, not reported.
//! * `order.42.version` — the gateway sends the request and, *without waiting for the
//!   response*, bumps the version; the ledger bumps it too while handling the charge. Nothing
//!   orders the two writes: reported, and one bump can be lost.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Router};
use raceway::middleware::RacewayLayer;
#[cfg(doc)]
use raceway::propagation::OutboundCall;
use raceway::{Client, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

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
    /// The headers of the outbound call, kept so the example can print them.
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    let outcome = runtime.block_on(scenario(client.clone()));
    runtime.shutdown_timeout(Duration::from_secs(1));
    outcome
}

async fn scenario(client: Client) -> Outcome {
    let order = Arc::new(Order {
        status: Mutex::new("new"),
        charged: Mutex::new(false),
        version: Mutex::new(0),
    });

    // The ledger: `/charge` traced (per route), `/health` not.
    let ledger = Router::new()
        .route(
            "/charge",
            post(charge).layer(RacewayLayer::new(client.clone())),
        )
        .route("/health", get(health))
        .with_state(Arc::clone(&order));
    let ledger = serve(ledger).await;

    // The gateway, the same way.
    let gateway = Gateway {
        ledger,
        order: Arc::clone(&order),
        propagated: Arc::default(),
    };
    let propagated = Arc::clone(&gateway.propagated);
    let app = Router::new()
        .route(
            "/orders/42/pay",
            post(pay).layer(RacewayLayer::new(client.clone())),
        )
        .route("/health", get(health))
        .with_state(gateway);
    let gateway = serve(app).await;

    // An outside client: no trace headers, so the gateway starts the trace.
    let (_, _, response) = http_post(gateway, "/orders/42/pay", &[])
        .await
        .expect("the gateway answers");
    let (_, _, health) = http_get(gateway, "/health")
        .await
        .expect("the gateway answers");
    let version = *order.version.lock().unwrap();
    let propagated = propagated.lock().unwrap().clone();
    Outcome {
        response,
        propagated,
        version,
        health,
    }
}

/// Serves `app` on an ephemeral loopback port in the background.
async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port is free");
    let address = listener
        .local_addr()
        .expect("a bound listener has an address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

async fn health() -> &'static str {
    "ok"
}

/// The gateway's `POST /orders/42/pay`, running in the request's context (the layer enters it
/// on every poll and also hands it over as an extension).
async fn pay(
    State(gateway): State<Gateway>,
    Extension(ctx): Extension<Context>,
) -> Result<String, (StatusCode, String)> {
    let order = &gateway.order;
    *order.status.lock().unwrap() = "paying";
    raceway::track_write(
        "order.42.status",
        raceway::text("new"),
        raceway::text("paying"),
    );

    // The outbound call: a child span, the three propagation headers, the request recorded.
    let mut headers: Vec<(String, String)> = Vec::new();
    let url = format!("http://{}/charge", gateway.ledger);
    let call = ctx.outbound("POST", &url, &mut headers);
    *gateway.propagated.lock().unwrap() = headers.clone();
    let unavailable = |e: std::io::Error| (StatusCode::BAD_GATEWAY, e.to_string());
    let mut stream = TcpStream::connect(gateway.ledger)
        .await
        .map_err(unavailable)?;
    send_request(&mut stream, "POST", "/charge", &headers)
        .await
        .map_err(unavailable)?;

    // The bug: bump the version while the ledger is still working on the same order.
    let version = {
        let mut version = order.version.lock().unwrap();
        *version += 1;
        *version
    };
    raceway::track_write("order.42.version", version - 1, version);

    let (status, response_headers, body) = read_response(&mut stream).await.map_err(unavailable)?;
    // The response edge: the ledger's work happens before what follows. The ledger's
    // `raceway-event` header names its response event, so the Raceway server sees it too.
    call.finish_with_headers(status, &response_headers);

    let charged = *order.charged.lock().unwrap();
    raceway::track_read("order.42.charged", charged);
    Ok(format!(
        "order 42: ledger said {status} {body:?}, charged: {charged}"
    ))
}

/// The ledger's `POST /charge`, in a context continued from the gateway's headers.
async fn charge(State(order): State<Arc<Order>>) -> String {
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

/// A response's status, headers (names lowercase) and body.
type HttpResponse = (u16, Vec<(String, String)>, String);

/// A minimal HTTP/1.1 client over loopback: enough for the example, no client library needed.
async fn http_post(
    to: SocketAddr,
    path: &str,
    headers: &[(String, String)],
) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect(to).await?;
    send_request(&mut stream, "POST", path, headers).await?;
    read_response(&mut stream).await
}

async fn http_get(to: SocketAddr, path: &str) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect(to).await?;
    send_request(&mut stream, "GET", path, &[]).await?;
    read_response(&mut stream).await
}

async fn send_request(
    stream: &mut TcpStream,
    method: &str,
    path: &str,
    headers: &[(String, String)],
) -> std::io::Result<()> {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: localhost\r\ncontent-length: 0\r\nconnection: close\r\n"
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await
}

/// Reads a `connection: close` response to the end: its status, headers and body.
async fn read_response(stream: &mut TcpStream) -> std::io::Result<HttpResponse> {
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let malformed = || std::io::Error::new(std::io::ErrorKind::InvalidData, "malformed response");
    let (head, body) = response.split_once("\r\n\r\n").ok_or_else(malformed)?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|status_line| status_line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(malformed)?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    Ok((status, headers, body.to_owned()))
}
