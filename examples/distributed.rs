//! Two services talking HTTP over loopback with trace and clock propagation.
//!
//! * `cargo run --example distributed`: both services in one process, one local analyzer.
//! * `cargo run --example distributed -- --apart DIR`: the ledger runs as a second process;
//!   each process writes its own capture (`DIR/gateway.rwcap`, `DIR/ledger.rwcap`), and
//!   `raceway check --merge DIR/gateway.rwcap DIR/ledger.rwcap` analyzes them together, with
//!   the same verdict as the one-process run.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use raceway::capture::CaptureSink;
use raceway::{Client, Config};
use raceway_examples::distributed;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => one_process(),
        ["--apart", dir] => apart(Path::new(dir)),
        ["--ledger", capture] => ledger_process(Path::new(capture)),
        _ => Err("usage: distributed [--apart DIR]".into()),
    }
}

fn one_process() -> Result<(), Box<dyn std::error::Error>> {
    let client = raceway_examples::example_client("shop")?;
    let outcome = distributed::run(&client);
    println!("gateway -> ledger, propagated headers:");
    for (name, value) in &outcome.propagated {
        println!("  {name}: {value}");
    }
    println!("client <- gateway: {}", outcome.response);
    println!("GET /health (untraced route): {}", outcome.health);
    println!(
        "order 42 version: {} (2 if neither service's bump was lost)\n\
         Expect one race, on order.42.version (the gateway did not wait for the ledger);\n\
         order.42.status and order.42.charged are ordered by the request and response edges.",
        outcome.version
    );
    client.shutdown(Duration::from_secs(5));
    Ok(())
}

/// A client that writes every event of `service` to `capture`, and nothing else.
fn capture_client(service: &str, capture: &Path) -> Result<Client, Box<dyn std::error::Error>> {
    let config = Config::builder().service_name(service).build()?;
    Ok(Client::new(config, CaptureSink::create(capture)?)?)
}

/// The gateway here, the ledger in a child process; each writes its own capture.
fn apart(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let (gateway_capture, ledger_capture) = (dir.join("gateway.rwcap"), dir.join("ledger.rwcap"));
    let mut ledger = Command::new(std::env::current_exe()?)
        .arg("--ledger")
        .arg(&ledger_capture)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    // The ledger says where it listens on its first line.
    let mut line = String::new();
    let stdout = ledger.stdout.take().ok_or("the ledger has no stdout")?;
    BufReader::new(stdout).read_line(&mut line)?;
    let address: SocketAddr = line.trim().parse()?;

    let client = capture_client("gateway", &gateway_capture)?;
    let outcome = distributed::run_gateway(&client, address);
    client.shutdown(Duration::from_secs(5));
    // Closing its stdin stops the ledger, which then writes the rest of its capture.
    drop(ledger.stdin.take());
    let status = ledger.wait()?;
    if !status.success() {
        return Err(format!("the ledger process failed: {status}").into());
    }
    println!("client <- gateway: {}", outcome.response);
    println!(
        "Two processes, two captures:\n  {}\n  {}\nAnalyze them together (expect the one race, \
         on order.42.version):\n  raceway check --merge --html report.html {} {}",
        gateway_capture.display(),
        ledger_capture.display(),
        gateway_capture.display(),
        ledger_capture.display(),
    );
    Ok(())
}

/// The child process: serves the ledger until its stdin closes.
fn ledger_process(capture: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let client = capture_client("ledger", capture)?;
    let closed = Arc::new(AtomicBool::new(false));
    std::thread::spawn({
        let closed = Arc::clone(&closed);
        move || {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            closed.store(true, Ordering::Release);
        }
    });
    distributed::run_ledger(
        &client,
        |address| {
            println!("{address}");
            let _ = std::io::stdout().flush();
        },
        async move {
            while !closed.load(Ordering::Acquire) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        },
    );
    client.shutdown(Duration::from_secs(5));
    Ok(())
}
