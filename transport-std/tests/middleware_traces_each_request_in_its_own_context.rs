//! The tower layer continues the caller's trace per request, records the inbound request and the
//! response with its status, keeps the request's context current across the handler's awaits,
//! gives concurrent requests distinct logical threads, and leaves skipped routes untraced.
#![cfg(feature = "tower")]

mod common;

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use http::{Request, Response, StatusCode};
use raceway::middleware::RacewayLayer;
use raceway::{Context, Direction, Kind, ThreadId};
use tower_layer::Layer;
use tower_service::Service;

/// A handler that awaits between two tracked accesses and reports the context it saw.
#[derive(Clone)]
struct Handler;

impl Service<Request<()>> for Handler {
    type Response = Response<Option<ThreadId>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<()>) -> Self::Future {
        let from_extension = request
            .extensions()
            .get::<Context>()
            .map(Context::thread_id);
        Box::pin(async move {
            raceway::track_read("cart", 1);
            tokio::time::sleep(Duration::from_millis(5)).await;
            raceway::track_write("cart", 1, 2);
            let current = Context::current().map(|c| c.thread_id());
            assert_eq!(current, from_extension);
            let mut response = Response::new(current);
            *response.status_mut() = StatusCode::CREATED;
            Ok(response)
        })
    }
}

async fn call<S>(service: &mut S, request: Request<()>) -> S::Response
where
    S: Service<Request<()>, Error = Infallible>,
{
    poll_fn(|cx| service.poll_ready(cx)).await.unwrap();
    service.call(request).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_traced_per_request() {
    let (client, captured) = common::client();
    let layer = RacewayLayer::new(client.clone());
    let traced = layer.layer(Handler);

    let requests = (0..2).map(|_| {
        let mut service = traced.clone();
        tokio::spawn(async move {
            let request = Request::post("/cart?secret=1")
                .header(
                    "traceparent",
                    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                )
                .body(())
                .unwrap();
            call(&mut service, request).await
        })
    });
    let mut threads = Vec::new();
    for request in requests.collect::<Vec<_>>() {
        let response = request.await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        threads.push(response.into_body().expect("a context was current"));
    }
    assert_ne!(
        threads[0], threads[1],
        "concurrent requests are distinct logical threads"
    );
    assert!(Context::current().is_none());

    let events = common::drained(&client, &captured);
    for thread in threads {
        let kinds = common::kinds_of(&events, thread);
        assert!(matches!(kinds[0], Kind::TraceStart { trace_id, .. }
            if trace_id.to_string() == "0af76519-16cd-43dd-8448-eb211c80319c"));
        assert!(
            matches!(kinds[1], Kind::HttpRequest { method: "POST", url, direction: Direction::Inbound, span }
            if url == raceway::text("/cart") && span == 0xb7ad6b7169203331)
        );
        assert_eq!(
            kinds
                .iter()
                .filter(|k| k.variable().is_some_and(|v| v == "cart"))
                .count(),
            2
        );
        assert!(kinds.iter().any(|k| matches!(
            k,
            Kind::HttpResponse {
                status: 201,
                direction: Direction::Inbound,
                ..
            }
        )));
        assert_eq!(kinds.last(), Some(&Kind::ThreadEnd));
    }
}

#[tokio::test]
async fn skipped_routes_stay_untraced() {
    let (client, captured) = common::client();
    let mut traced = RacewayLayer::new(client.clone())
        .skip_if(|_, uri| uri.path() == "/health")
        .layer(Handler);
    let response = call(&mut traced, Request::get("/health").body(()).unwrap()).await;
    assert_eq!(response.into_body(), None);
    let events = common::drained(&client, &captured);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.kind, Kind::HttpRequest { .. } | Kind::TraceStart { .. })),
        "{events:?}"
    );
}
