//! A thread that records far more events than the Raceway server can walk in one `parent_id`
//! chain (it aborts at about 2 500–4 000) never sends a chain deeper than `MAX_PARENT_DEPTH`,
//! across many batches and flushes: its chain restarts. Every event still names a parent the
//! server received before it, or is a root only where a full chain restarted; and a spawned
//! thread's events, however many, all stay descendants of the spawn.

use std::time::Duration;

use raceway::sync::Mutex;
use raceway::{Client, Config};
use raceway_test_receiver::{ReceiverConfig, TestReceiver};
use raceway_transport_http::MAX_PARENT_DEPTH;
use serde_json::Value;

/// Events the main logical thread records (the figure).
const MAIN_EVENTS: usize = 20_000;
/// Events the spawned thread records: more than one chain's worth too.
const CHILD_EVENTS: usize = 2_500;

static LEDGER: Mutex<i64> = Mutex::named("ledger", 0);

#[test]
fn twenty_thousand_events_on_one_thread_stay_within_the_bound_and_parented() {
    let mut receiver_config = ReceiverConfig::default();
    // A regression shows as refused batches, not only as a deeper figure.
    receiver_config.max_parent_depth = Some(MAX_PARENT_DEPTH);
    let receiver = TestReceiver::with_config(receiver_config);
    let config = Config::builder()
        .server_url(receiver.url())
        .service_name("jobs")
        .instance_id("jobs-1")
        .batch_size(500)
        .flush_interval(Duration::from_millis(10))
        // Room for every event in each lane, so nothing is lost whatever the drain's pace.
        .lane_capacity(1 << 16)
        .build()
        .expect("valid config");
    let client = Client::from_config(config).expect("client starts");

    let job = client.start_trace();
    job.run(|| {
        for step in 0..MAIN_EVENTS / 2 {
            raceway::track_write("job.progress", step, step + 1);
        }
        // A lock hand-over: written under the lock here, then by the child under it.
        {
            let mut ledger = LEDGER.lock().unwrap();
            raceway::track_write("ledger", *ledger, *ledger + 1);
            *ledger += 1;
        }
        let child = raceway::thread::spawn(|| {
            {
                let mut ledger = LEDGER.lock().unwrap();
                raceway::track_write("ledger", *ledger, *ledger + 1);
                *ledger += 1;
            }
            for step in 0..CHILD_EVENTS {
                raceway::track_read("child.step", step);
            }
        });
        child.join().unwrap();
        for step in MAIN_EVENTS / 2..MAIN_EVENTS {
            raceway::track_write("job.progress", step, step + 1);
        }
    });
    drop(job);

    let report = client.shutdown(Duration::from_secs(60));
    assert!(!report.timed_out, "{report:?}");
    assert_eq!(report.undelivered, 0, "{report:?}");
    assert_eq!(report.stats.dropped_in_lanes, 0, "{report:?}");
    let requests = receiver.requests();
    // A sender that falls behind posts up to 2 MiB at once; these events fill several.
    let sizes: Vec<usize> = requests.iter().map(|r| r.body.len()).collect();
    assert!(requests.len() >= 4, "many batches: {sizes:?}");
    assert!(
        requests.iter().all(|r| r.status == Some(200)),
        "every batch accepted: {:?}",
        requests
            .iter()
            .map(|r| (r.status, String::from_utf8_lossy(&r.body).len()))
            .find(|(status, _)| *status != Some(200))
    );

    let events = receiver.events();
    assert!(
        events.len() >= MAIN_EVENTS + CHILD_EVENTS,
        "{}",
        events.len()
    );
    let chains = receiver.parent_chains();
    assert!(chains.deepest <= MAX_PARENT_DEPTH, "{chains:?}");
    assert!(
        chains.deepest > MAX_PARENT_DEPTH / 2,
        "chains are cut at the bound, not far below it: {chains:?}"
    );
    assert!(chains.orphans.is_empty(), "{chains:?}");

    // Roots only where a thread's first event is, or where its full chain restarted with no
    // anchor: before the join the job's chain restarts as roots; after it, restarts hang from
    // the joined child's last event (the join's link) and make no roots.
    assert!(
        chains.roots > MAIN_EVENTS / 2 / MAX_PARENT_DEPTH as usize,
        "{chains:?}"
    );
    assert!(
        chains
            .restarts_after
            .iter()
            .all(|&depth| depth >= MAX_PARENT_DEPTH - 1),
        "{chains:?}"
    );

    // The spawn → child ordering survives every restart of the child's chain.
    let kind = |event: &Value, name: &str| event["kind"].get(name).is_some();
    let spawn = events
        .iter()
        .find(|e| kind(e, "AsyncSpawn"))
        .expect("the spawn was sent");
    let spawn_id = spawn["id"].as_str().unwrap();
    let child_thread = events
        .iter()
        .find(|e| e["kind"]["StateChange"]["variable"] == "child.step")
        .map(|e| e["metadata"]["thread_id"].as_str().unwrap())
        .unwrap();
    let child_events: Vec<&Value> = events
        .iter()
        .filter(|e| e["metadata"]["thread_id"] == child_thread)
        .collect();
    assert!(child_events.len() > CHILD_EVENTS);
    for event in child_events {
        assert!(
            receiver.is_ancestor(spawn_id, event["id"].as_str().unwrap()),
            "{event}"
        );
    }
}
