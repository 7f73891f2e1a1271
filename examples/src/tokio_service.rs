//! A tokio service written the everyday way, traced with no hand-wiring: tasks from
//! [`raceway::task::spawn`], a tracked `tokio::sync::Mutex`, and a `reqwest` call through
//! [`ReqwestMiddleware`].
//!
//! Two services run in one process on loopback: `shop` (`POST /reserve`) and `pricing`
//! (`GET /price`), both axum with [`RacewayLayer`], both recording into one [`Client`]. Two
//! customers reserve the last items at the same time. Each reservation:
//!
//! * takes the stock under a [tracked tokio mutex](raceway::sync::tokio::Mutex) and holds it
//!   across an `.await` — `stock.sku1` is ordered between the two requests by the lock: not
//!   reported;
//! * asks `pricing` for a quote in a task of its own (`raceway::task::spawn` gives it a child
//!   context; the middleware writes the propagation headers and records the call), and awaits
//!   it — the task's write of the reservation's quote (`reservation.N.quote`) happens before the
//!   request's read after the await: not reported;
//! * meanwhile, the bug: while the quote task runs, the request also writes the cached quote
//!   `quote.sku1.cache`, which the task writes too when the answer arrives, with nothing
//!   ordering the two: reported.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::serve;
use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use raceway::middleware::RacewayLayer;
use raceway::outbound::ReqwestMiddleware;
use raceway::sync::tokio::Mutex;
use raceway::Client;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};

/// The shop's state.
#[derive(Debug)]
struct Shop {
    stock: Mutex<u32>,
    /// The last quote seen, a cache both the request and its quote task write.
    cache: AtomicU64,
    /// Numbers the reservations.
    reservations: AtomicU64,
    pricing: SocketAddr,
    http: ClientWithMiddleware,
}

/// What two concurrent reservations produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The two customers' answers.
    pub answers: Vec<String>,
    /// Items left: 0 if both reservations were counted.
    pub stock_left: u32,
}

/// Starts both services, sends two concurrent reservations, and stops them.
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
    let pricing = Router::new().route(
        "/price",
        get(price).layer(RacewayLayer::new(client.clone())),
    );
    let pricing = serve(pricing).await;
    let shop = Arc::new(Shop {
        stock: Mutex::named("stock", 2),
        cache: AtomicU64::new(0),
        reservations: AtomicU64::new(0),
        pricing,
        http: ClientBuilder::new(reqwest::Client::new())
            .with(ReqwestMiddleware)
            .build(),
    });
    let app = Router::new()
        .route("/reserve", post(reserve).layer(RacewayLayer::new(client)))
        .with_state(Arc::clone(&shop));
    let address = serve(app).await;

    // Two customers at once (plain reqwest: outside the trace).
    let customer = reqwest::Client::new();
    let url = format!("http://{address}/reserve");
    let (a, b) = tokio::join!(customer.post(&url).send(), customer.post(&url).send());
    let mut answers = Vec::new();
    for answer in [a, b] {
        let answer = answer.expect("the shop answers");
        answers.push(answer.text().await.expect("the shop answers"));
    }
    let stock_left = *shop.stock.lock().await;
    Outcome {
        answers,
        stock_left,
    }
}

/// `pricing`'s `GET /price`.
async fn price() -> String {
    tokio::time::sleep(Duration::from_millis(2)).await;
    raceway::track_read("price.sku1.list", 1250);
    "1250".to_owned()
}

/// `shop`'s `POST /reserve`, in the request's context.
async fn reserve(State(shop): State<Arc<Shop>>) -> String {
    let reservation = shop.reservations.fetch_add(1, Ordering::SeqCst) + 1;
    // This reservation's own quote: a dynamic name, one per reservation.
    let quote_name = raceway::intern(&format!("reservation.{reservation}.quote"));
    // The stock, under a tracked tokio lock held across an await: ordered between requests.
    let left = {
        let mut stock = shop.stock.lock().await;
        let before = *stock;
        tokio::time::sleep(Duration::from_millis(1)).await; // e.g. a database round trip
        *stock = before.saturating_sub(1);
        raceway::track_write("stock.sku1", before, *stock);
        *stock
    };

    // The quote, in a task of its own; the reqwest call is traced by the middleware.
    let quote = raceway::task::spawn({
        let shop = Arc::clone(&shop);
        async move {
            let url = format!("http://{}/price", shop.pricing);
            let price: u64 = match shop.http.get(url).send().await {
                Ok(response) => response.text().await.ok().and_then(|p| p.parse().ok()),
                Err(_) => None,
            }
            .unwrap_or(0);
            raceway::track_write(quote_name, 0, price);
            let cached = shop.cache.swap(price, Ordering::SeqCst);
            raceway::track_write("quote.sku1.cache", cached, price);
            price
        }
    });

    // The bug: the request clears the cache while its own quote task may be writing it.
    let cached = shop.cache.swap(0, Ordering::SeqCst);
    raceway::track_write("quote.sku1.cache", cached, 0);

    // Awaiting the task records the join: its writes happen before what follows.
    let price = quote.await.unwrap_or(0);
    raceway::track_read(quote_name, price);
    format!("reserved 1 of sku1 at {price}, {left} left")
}
