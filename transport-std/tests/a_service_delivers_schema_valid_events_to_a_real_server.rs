//! The whole std path against a loopback server that speaks the Raceway server's contract:
//! tracking calls → ring → drain → encoder → HTTP → a schema-validating receiver.

use std::time::Duration;

use raceway::sync::Mutex;
use raceway::{Client, Config};
use raceway_test_receiver::{Answer, ReceiverConfig, TestReceiver};

fn client_for(receiver: &TestReceiver, api_key: &str) -> Client {
    let config = Config::builder()
        .server_url(receiver.url())
        .service_name("bank")
        .instance_id("bank-1")
        .api_key(api_key)
        .flush_interval(Duration::from_millis(20))
        .build()
        .expect("valid config");
    Client::from_config(config).expect("client starts")
}

fn receiver_with_key(key: &str) -> TestReceiver {
    let mut config = ReceiverConfig::default();
    config.api_key = Some(key.to_owned());
    TestReceiver::with_config(config)
}

#[test]
fn every_event_arrives_valid_parented_and_counted_once() {
    static BALANCE: Mutex<i64> = Mutex::named("accounts.alice", 100);
    let receiver = receiver_with_key("s3cret");
    let client = client_for(&receiver, "s3cret");
    assert!(
        client.analysis().is_none(),
        "a configured server replaces the local analyzer"
    );

    let request = client.start_trace();
    request.run(|| {
        let worker = raceway::thread::spawn(|| {
            let mut balance = BALANCE.lock().unwrap();
            raceway::track_write("accounts.alice.balance", *balance, *balance - 30);
            *balance -= 30;
        });
        raceway::track_function("audit", || {
            raceway::track_read("accounts.alice.balance", 70)
        });
        raceway::track_error("io::Error", "disk full");
        worker.join().unwrap();
    });
    drop(request);

    let report = client.shutdown(Duration::from_secs(10));
    assert!(!report.timed_out);
    assert_eq!(report.undelivered, 0, "{report:?}");
    let stats = report.stats;
    assert_eq!(
        stats.recorded,
        stats.sent
            + stats.state_only
            + stats.dropped_in_lanes
            + stats.dropped_in_delivery
            + stats.in_flight
    );

    // The receiver validated every body against the wire schema; all requests were accepted.
    let requests = receiver.requests();
    assert!(!requests.is_empty());
    assert!(requests
        .iter()
        .all(|r| r.header("authorization") == Some("Bearer s3cret")));
    let events = receiver.events();
    let kinds: Vec<String> = events
        .iter()
        .filter_map(|e| e["kind"].as_object()?.keys().next().cloned())
        .collect();
    for kind in [
        "StateChange",
        "LockAcquire",
        "LockRelease",
        "AsyncSpawn",
        "AsyncAwait",
        "FunctionCall",
        "Error",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} in {kinds:?}");
    }
    // Parents are sent before children, and every parent is known.
    let mut seen = std::collections::HashSet::new();
    for event in &events {
        if let Some(parent) = event["parent_id"].as_str() {
            assert!(
                seen.contains(parent),
                "parent {parent} not sent before its child"
            );
        }
        seen.insert(event["id"].as_str().unwrap().to_owned());
        assert_eq!(event["metadata"]["service_name"], "bank");
        assert_eq!(event["metadata"]["instance_id"], "bank-1");
    }
    // One trace for the whole request, its worker included.
    let traces: std::collections::HashSet<_> = events
        .iter()
        .map(|e| e["trace_id"].as_str().unwrap())
        .collect();
    assert_eq!(traces.len(), 1, "{traces:?}");
}

#[test]
fn a_short_outage_loses_nothing() {
    let receiver = TestReceiver::start();
    receiver.script_for(Duration::from_millis(1500), Answer::status(503));
    let config = Config::builder()
        .server_url(receiver.url())
        .flush_interval(Duration::from_millis(20))
        .build()
        .unwrap();
    let client = Client::from_config(config).unwrap();
    let ctx = client.start_trace();
    for i in 0..50i64 {
        ctx.track_write("counter", i, i + 1);
    }
    drop(ctx);
    let report = client.shutdown(Duration::from_secs(20));
    assert_eq!(report.undelivered, 0, "{report:?}");
    assert!(
        report.stats.retried > 0,
        "the outage was retried: {report:?}"
    );
    let writes = receiver
        .events()
        .iter()
        .filter(|e| e["kind"].get("StateChange").is_some())
        .count();
    assert_eq!(writes, 50);
}

#[test]
fn a_refused_key_is_counted_as_undelivered_not_retried_forever() {
    let receiver = receiver_with_key("right");
    let client = client_for(&receiver, "wrong");
    client.start_trace().track_write("x", 0, 1);
    let started = std::time::Instant::now();
    let report = client.shutdown(Duration::from_secs(10));
    assert!(started.elapsed() < Duration::from_secs(5), "no retry storm");
    assert!(report.undelivered > 0, "{report:?}");
    assert_eq!(receiver.requests().len(), 1, "one request, then it stops");
    assert!(receiver.events().is_empty());
}
