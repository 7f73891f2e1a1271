//! A refused API key, an unreachable server and lost events are said in one line at shutdown,
//! through `Config::on_delivery_problem` (stderr by default, with or without a `log` backend);
//! a clean run says nothing.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::server::{dead_server_url, receiver_with_key};
use raceway::{Client, Config};

/// Runs a short trace against `url` and returns every line said.
fn lines_said(url: &str, api_key: &str) -> Vec<String> {
    let said = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&said);
    let config = Config::builder()
        .server_url(url)
        .api_key(api_key)
        .flush_interval(Duration::from_millis(20))
        .on_delivery_problem(move |line| sink.lock().unwrap().push(line.to_owned()))
        .build()
        .unwrap();
    let client = Client::from_config(config).unwrap();
    client.start_trace().track_write("balance", 100, 50);
    client.shutdown(Duration::from_secs(3));
    // Later shutdowns (and the drop) return the first report and say nothing more.
    client.shutdown(Duration::from_secs(3));
    drop(client);
    let lines = said.lock().unwrap().clone();
    lines
}

#[test]
fn a_refused_key_is_said_once() {
    let receiver = receiver_with_key("right");
    let lines = lines_said(&receiver.url(), "wrong");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("refused the API key"), "{lines:?}");
    assert!(lines[0].contains("RACEWAY_API_KEY"), "{lines:?}");
    assert!(
        lines[0].contains("1 of 3 events were not delivered"),
        "{lines:?}"
    );
}

#[test]
fn an_unreachable_server_is_said_once() {
    let url = dead_server_url();
    let lines = lines_said(&url, "any");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains(&url), "{lines:?}");
    assert!(lines[0].contains("unavailable"), "{lines:?}");
    assert!(lines[0].contains("not delivered"), "{lines:?}");
}

#[test]
fn a_clean_run_says_nothing() {
    let receiver = receiver_with_key("right");
    let lines = lines_said(&receiver.url(), "right");
    assert_eq!(lines, Vec::<String>::new());
}
