//! Verdicts do not depend on how many distinct names a process has seen: with several times more
//! dynamic variable and lock names than the name table holds, exactly the planted races are
//! reported, none uncertain, and nothing else (`cargo run --release --example many_names` runs
//! the same scenario with a million names).

use std::collections::BTreeSet;
use std::time::Duration;

use raceway_examples::many_names::{self, Scale};

#[test]
fn verdicts_hold_across_many_distinct_dynamic_names() {
    let (client, analysis) = many_names::client();
    let scale = Scale {
        names: 40_000,
        every: 50,
    };
    let planted: BTreeSet<String> = many_names::run(&client, scale).into_iter().collect();
    let shutdown = client.shutdown(Duration::from_secs(60));
    assert_eq!(shutdown.undelivered, 0, "{shutdown:?}");
    let report = analysis.report();
    let found: BTreeSet<String> = report.races.iter().map(|r| r.variable.clone()).collect();
    assert_eq!(report.summary.dropped_events, 0);
    assert!(report.races.iter().all(|race| !race.uncertain), "{report}");
    // Names beyond the table are shown by hash: compare identities, not display text.
    let identity = |name: &str| match name.strip_prefix('#') {
        Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
        None => raceway::raceway_core::name::hash(name),
    };
    let found: BTreeSet<u64> = found.iter().map(|name| identity(name)).collect();
    let planted: BTreeSet<u64> = planted.iter().map(|name| identity(name)).collect();
    assert_eq!(found.len(), report.races.len(), "one race per variable");
    assert_eq!(found, planted);
}
