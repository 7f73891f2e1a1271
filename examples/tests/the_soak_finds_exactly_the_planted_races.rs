//! The soak workload at a small size: the report names exactly the planted races — none of the
//! correctly ordered look-alikes, none of the pool, fan-in or late-join accesses — and nothing is
//! uncertain, with the name table overflowing long before the end and unanswered calls
//! forgotten altogether before it.

use std::time::Duration;

use raceway_examples::{quiet_client, soak};

#[test]
fn the_soak_finds_exactly_the_planted_races() {
    let params = soak::Params::small();
    let (client, analysis) = quiet_client("soak");
    soak::run(&client, params);
    let shutdown = client.shutdown(Duration::from_secs(60));
    assert_eq!(shutdown.undelivered, 0, "{shutdown:?}");
    let report = analysis.report();
    assert!(
        report.summary.variables > params.names / 2,
        "{}",
        report.summary.variables
    );
    assert!(
        report.summary.maybe_lost_edges > 0,
        "the replay forgot unanswered calls before the end"
    );
    assert_eq!(
        soak::verdict(&report, &params),
        soak::Verdict {
            planted_found: params.planted,
            planted: params.planted,
            false_races: 0,
            uncertain: 0,
        },
        "{report}"
    );
}
