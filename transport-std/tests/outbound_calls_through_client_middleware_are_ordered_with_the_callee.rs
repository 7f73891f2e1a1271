//! A real axum service behind `RacewayLayer`, called through the client middleware — reqwest
//! with `ReqwestMiddleware`, and hyper-util's client through `OutboundLayer` — with no hand
//! calls: the headers link the caller's outbound request to the callee's inbound one, so the
//! caller's write before the call happens before the callee's read, the callee's write happens
//! before the caller's read after the response, and a task of the caller that nothing orders
//! with the callee still races with it.

mod analyzed;

use std::net::SocketAddr;

use analyzed::{racing, Analyzed};
use axum::body::Bytes;
use raceway::middleware::RacewayLayer;
use raceway::outbound::{OutboundLayer, ReqwestMiddleware};
use raceway::{Client, Direction, Event, FutureExt, Kind, ThreadId};
use tower_layer::Layer;
use tower_service::Service;

/// The callee: reads what the caller wrote, writes what the caller reads back, and writes the
/// ledger note the caller's background task writes too.
async fn charge() -> &'static str {
    raceway::track_read("order.total", 42);
    raceway::track_write("payment.state", 0, 1);
    raceway::track_write("ledger.note", 0, 2);
    "charged"
}

async fn serve(client: Client) -> SocketAddr {
    let app = axum::Router::new()
        .route("/charge", axum::routing::post(charge))
        .layer(RacewayLayer::new(client));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

/// What the caller does around the call made by `call`, which returns the status.
async fn around<F: std::future::Future<Output = u16>>(call: F) {
    raceway::track_write("order.total", 0, 42);
    let background = raceway::task::spawn(async { raceway::track_write("ledger.note", 0, 1) });
    assert_eq!(call.await, 200);
    raceway::track_read("payment.state", 1);
    background.await.unwrap();
}

/// The caller's outbound request and response, and the callee's inbound request.
fn check_links(events: &[Event], caller: ThreadId) {
    let outbound = events
        .iter()
        .find_map(|e| match e.kind {
            Kind::HttpRequest {
                direction: Direction::Outbound,
                span,
                url,
                ..
            } if e.thread == caller => Some((span, url)),
            _ => None,
        })
        .expect("the outbound request is recorded");
    assert!(
        !format!("{:?}", outbound.1).contains("secret"),
        "the query is left out"
    );
    let inbound = events
        .iter()
        .find(|e| {
            matches!(
                e.kind,
                Kind::HttpRequest {
                    direction: Direction::Inbound,
                    ..
                }
            )
        })
        .expect("the callee's request is recorded");
    assert!(matches!(inbound.kind, Kind::HttpRequest { span, .. } if span == outbound.0));
    assert_ne!(inbound.thread, caller);
    assert!(events.iter().any(|e| e.thread == caller
        && matches!(
            e.kind,
            Kind::HttpResponse { status: 200, direction: Direction::Outbound, span, .. }
                if span == outbound.0
        )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn through_reqwest_middleware() {
    let run = Analyzed::new();
    let address = serve(run.client.clone()).await;
    let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(ReqwestMiddleware)
        .build();
    let caller = run.client.start_trace();
    around(async {
        let url = format!("http://{address}/charge?token=secret");
        let response = http.post(url).send().await.unwrap();
        response.status().as_u16()
    })
    .in_context(caller.clone())
    .await;

    let (events, report) = run.finish();
    assert_eq!(racing(&report), ["ledger.note"], "{report}");
    check_links(&events, caller.thread_id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn through_hyper_util_with_the_tower_layer() {
    let run = Analyzed::new();
    let address = serve(run.client.clone()).await;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<Bytes>>();
    let mut traced = OutboundLayer.layer(client);
    let caller = run.client.start_trace();
    around(async {
        std::future::poll_fn(|cx| traced.poll_ready(cx))
            .await
            .unwrap();
        let request = http::Request::post(format!("http://{address}/charge?token=secret"))
            .body(http_body_util::Empty::new())
            .unwrap();
        let response = traced.call(request).await.unwrap();
        response.status().as_u16()
    })
    .in_context(caller.clone())
    .await;

    let (events, report) = run.finish();
    assert_eq!(racing(&report), ["ledger.note"], "{report}");
    check_links(&events, caller.thread_id());
}
