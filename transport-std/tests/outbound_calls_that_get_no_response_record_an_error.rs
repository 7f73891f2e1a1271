//! An outbound call through the client middleware that gets no response — the connection is
//! refused, or the server never answers before the client's timeout — records the request and
//! an error with the client's message, and no response.

mod common;

use std::time::Duration;

use raceway::outbound::ReqwestMiddleware;
use raceway::{Direction, Event, FutureExt, Kind, Value};

fn message(value: Value) -> String {
    match value {
        Value::Str(symbol) => symbol.as_str().to_owned(),
        other => format!("{other:?}"),
    }
}

fn outcome(events: &[Event]) -> (usize, usize, Vec<String>) {
    let requests = events
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                Kind::HttpRequest {
                    direction: Direction::Outbound,
                    ..
                }
            )
        })
        .count();
    let responses = events
        .iter()
        .filter(|e| matches!(e.kind, Kind::HttpResponse { .. }))
        .count();
    let errors = events
        .iter()
        .filter_map(|e| match e.kind {
            Kind::Error {
                error_type: "reqwest::Error",
                message: m,
                ..
            } => Some(message(m)),
            _ => None,
        })
        .collect();
    (requests, responses, errors)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_and_a_timeout_are_errors() {
    let (client, captured) = common::client();
    // A port nobody listens on: bound, then closed.
    let refused = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    // A server that accepts and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_address = silent.local_addr().unwrap();
    let accepting = tokio::spawn(async move {
        let (_connection, _) = silent.accept().await.unwrap();
        std::future::pending::<()>().await;
    });
    let http = reqwest_middleware::ClientBuilder::new(
        reqwest::Client::builder()
            .timeout(Duration::from_millis(200))
            .build()
            .unwrap(),
    )
    .with(ReqwestMiddleware)
    .build();

    let request = client.start_trace();
    async {
        let refused = http.get(format!("http://{refused}/")).send().await;
        assert!(refused.unwrap_err().is_connect());
        let timed_out = http.get(format!("http://{silent_address}/")).send().await;
        assert!(timed_out.unwrap_err().is_timeout());
    }
    .in_context(request)
    .await;
    accepting.abort();

    let (requests, responses, errors) = outcome(&common::drained(&client, &captured));
    assert_eq!((requests, responses), (2, 0));
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].contains("onnect"), "{errors:?}");
    assert!(errors[1].contains("timed out"), "{errors:?}");
}
