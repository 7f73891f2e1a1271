//! With `give_up_after`, a server sink facing a dead server stops retrying after that long: a
//! flush then completes (long before its own deadline) with nothing left pending, every event
//! recorded — before the stop and after it — is counted as dropped in delivery, and the line
//! said at shutdown names the server and says it gave up.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::server::{assert_identity, dead_server_url};
use raceway::{Client, Config};

#[test]
fn a_server_sink_set_to_give_up_stops_on_a_dead_server_and_counts_the_loss() {
    let url = dead_server_url();
    let said = Arc::new(Mutex::new(Vec::new()));
    let lines = Arc::clone(&said);
    let config = Config::builder()
        .server_url(&url)
        .flush_interval(Duration::from_millis(20))
        .give_up_after(Duration::from_millis(500))
        .on_delivery_problem(move |line| lines.lock().unwrap().push(line.to_owned()))
        .build()
        .unwrap();
    let client = Client::from_config(config).unwrap();

    let job = client.start_trace();
    for n in 0..50 {
        job.track_write("balance", n, n + 1);
    }
    drop(job);
    // A sink that never gives up would still be retrying when this deadline passes.
    let flushed = client.flush(Duration::from_secs(60));
    assert!(flushed.is_ok(), "{flushed:?}: {:?}", client.stats());

    // After the stop, new events are counted at once, without a request.
    client.start_trace().track_write("balance", 1, 2);
    let report = client.shutdown(Duration::from_secs(60));
    let stats = report.stats;
    assert!(!report.timed_out, "{report:?}");
    assert_identity(&stats);
    assert_eq!(stats.sent, 0, "{stats:?}");
    assert_eq!(stats.in_flight, 0, "nothing was left pending: {stats:?}");
    assert_eq!(
        stats.dropped_in_delivery + stats.state_only,
        stats.recorded,
        "{stats:?}"
    );
    assert!(stats.dropped_in_delivery >= 51, "{stats:?}");
    assert_eq!(report.undelivered, stats.dropped_in_delivery);

    let lines = said.lock().unwrap().clone();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains(&url), "{lines:?}");
    assert!(lines[0].contains("gave up"), "{lines:?}");
    assert!(
        lines[0].contains(&format!(
            "{} of {} events were not delivered",
            stats.dropped_in_delivery, stats.recorded
        )),
        "{lines:?}"
    );
}
