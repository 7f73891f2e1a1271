#![doc = include_str!("../../README.md")]
//!
//! # This crate
//!
//! The runnable examples (`cargo run --example NAME`) are thin `main`s around the modules
//! below, so that `tests/` can run the very same scenarios against a quiet analyzer and assert
//! on the race report. Each scenario takes the [`Client`] it records into and returns what a
//! person would want printed; the caller shuts the client down and reads the report.
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

pub mod async_tasks;
pub mod background;
pub mod bank;
pub mod distributed;
pub mod many_names;
pub mod soak;
pub mod tokio_service;

use std::net::SocketAddr;

use raceway::analysis::{Analysis, AnalyzerSink};
use raceway::{Client, Config, StartError};

/// The client an example's `main` uses: configured by the `RACEWAY_*` variables (so
/// `RACEWAY_URL=http://localhost:8080 cargo run --example bank` sends the events to a server),
/// and otherwise the local analyzer, which prints the race report at shutdown.
pub fn example_client(service: &str) -> Result<Client, StartError> {
    let config = Config::builder().service_name(service).with_env().build()?;
    Client::from_config(config)
}

/// A client whose only destination is an analyzer that prints nothing, and the handle to read
/// its report: what the tests use, whatever the environment says.
pub fn quiet_client(service: &str) -> (Client, Analysis) {
    let (sink, analysis) = AnalyzerSink::new();
    let config = Config::builder()
        .service_name(service)
        .build()
        .expect("a service name is a valid configuration");
    let client = Client::new(config, sink.quiet()).expect("the drain thread starts");
    (client, analysis)
}

/// Serves `app` on an ephemeral loopback port in the background (the HTTP examples' services).
async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port is free");
    let address = listener
        .local_addr()
        .expect("a bound listener has an address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}
