//! The `distributed` scenario with each service recording into its own client and capture
//! file, as two processes would: analyzed one by one, neither capture shows a race (each
//! sees only its own side); merged, exactly the one real race is reported (`order.42.version`,
//! one write in each service), and the accesses ordered by the HTTP request and response
//! (`order.42.status`, `order.42.charged`) are not.

use std::fs::File;
use std::path::Path;
use std::time::Duration;

use raceway::capture::CaptureSink;
use raceway::{Client, Config};
use raceway_analyze::merge::Merge;
use raceway_analyze::Analyzer;
use raceway_core::event::{Event, Site};
use raceway_examples::distributed;

fn capture_client(service: &str, capture: &Path) -> Client {
    let config = Config::builder().service_name(service).build().unwrap();
    Client::new(config, CaptureSink::create(capture).unwrap()).unwrap()
}

fn read(capture: &Path) -> Vec<Event<Site>> {
    let (events, skipped) =
        raceway_transport_uart::capture::read_all(File::open(capture).unwrap()).unwrap();
    assert!(skipped.is_empty(), "{skipped:?}");
    events
}

#[test]
fn two_services_with_their_own_captures_merge_to_exactly_the_cross_service_race() {
    let dir = std::env::temp_dir().join(format!("raceway-merge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (gateway_capture, ledger_capture) = (dir.join("gateway.rwcap"), dir.join("ledger.rwcap"));
    let gateway = capture_client("gateway", &gateway_capture);
    let ledger = capture_client("ledger", &ledger_capture);
    let outcome = distributed::run_apart(&gateway, &ledger);
    assert!(outcome.response.contains("charged: true"), "{outcome:?}");
    for client in [gateway, ledger] {
        let shutdown = client.shutdown(Duration::from_secs(10));
        assert_eq!(shutdown.undelivered, 0, "{shutdown:?}");
    }
    let (gateway_events, ledger_events) = (read(&gateway_capture), read(&ledger_capture));

    for events in [&gateway_events, &ledger_events] {
        let alone = Analyzer::analyze(events);
        assert!(alone.races.is_empty(), "{alone}");
    }

    let services = ["gateway".to_owned(), "ledger".to_owned()];
    let report = Merge::analyze(vec![gateway_events, ledger_events], &services);
    assert!(report.caveats().is_empty(), "{report}");
    assert_eq!(report.races.len(), 1, "{report}");
    let race = &report.races[0];
    assert_eq!(race.variable, "order.42.version", "{report}");
    assert!(!race.uncertain, "{report}");
    let mut sides = [
        race.earlier.service.as_deref(),
        race.later.service.as_deref(),
    ];
    sides.sort();
    assert_eq!(sides, [Some("gateway"), Some("ledger")], "{report}");
    // The picture shows the HTTP request that reached the ledger.
    assert!(
        race.timeline
            .edges
            .iter()
            .any(|edge| edge.kind == raceway_analyze::timeline::EdgeKind::Http),
        "{:#?}",
        race.timeline
    );
    let _ = std::fs::remove_dir_all(&dir);
}
