//! Each example's scenario, run against a quiet local analyzer: the report names exactly the
//! races the example is about, every time, and nothing else.

use std::collections::BTreeSet;
use std::time::Duration;

use raceway_analyze::{Report, Severity};
use raceway_examples::{async_tasks, background, bank, distributed, quiet_client, tokio_service};

/// Runs `scenario` with a fresh client and returns its result and the complete report.
fn analyze<T>(service: &str, scenario: impl FnOnce(&raceway::Client) -> T) -> (T, Report) {
    let (client, analysis) = quiet_client(service);
    let result = scenario(&client);
    let shutdown = client.shutdown(Duration::from_secs(10));
    assert!(!shutdown.timed_out);
    assert_eq!(shutdown.undelivered, 0, "{shutdown:?}");
    let report = analysis.report();
    assert!(report.caveats().is_empty(), "{report}");
    assert!(report.races.iter().all(|race| !race.uncertain), "{report}");
    (result, report)
}

fn raced_variables(report: &Report) -> BTreeSet<&str> {
    report
        .races
        .iter()
        .map(|race| race.variable.as_str())
        .collect()
}

/// The line of the first occurrence of `needle` in `source`, from 1.
fn line_of(source: &str, needle: &str) -> u32 {
    let index = source
        .lines()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} is not in the source"));
    u32::try_from(index).unwrap() + 1
}

#[test]
fn bank_reports_the_lost_update_with_both_source_lines_on_every_run() {
    let source = include_str!("../src/bank.rs");
    let read = line_of(source, "raceway::track_read(self.variable, before);");
    let write = line_of(
        source,
        "raceway::track_write(self.variable, before, after);",
    );
    for run in 0..20 {
        let (outcome, report) = analyze("bank", |client| bank::run(client, bank::Locking::None));
        assert_eq!(
            raced_variables(&report),
            BTreeSet::from(["accounts.bob.balance"]),
            "run {run}: {report}"
        );
        let mut lines = BTreeSet::new();
        for race in &report.races {
            for access in [&race.earlier, &race.later] {
                assert!(access.file.ends_with("src/bank.rs"), "{report}");
                assert!(
                    access.source.is_some(),
                    "the report quotes the source: {report}"
                );
                lines.insert(access.line);
            }
        }
        assert_eq!(lines, BTreeSet::from([read, write]), "run {run}: {report}");
        assert!(
            report
                .races
                .iter()
                .any(|race| race.severity == Severity::Critical),
            "run {run}: the write/write race is there: {report}"
        );
        // Only Bob's balance can lose money; the others are touched by one teller each.
        assert!(
            outcome.lost() >= 0 && outcome.alice == outcome.carol,
            "{outcome:?}"
        );
    }
}

#[test]
fn bank_with_the_tracked_mutex_reports_no_race_and_loses_nothing() {
    for run in 0..5 {
        let (outcome, report) = analyze("bank", |client| bank::run(client, bank::Locking::Mutex));
        assert!(report.races.is_empty(), "run {run}: {report}");
        assert_eq!(outcome.lost(), 0, "{outcome:?}");
        assert_eq!(outcome.bob, bank::Outcome::EXPECTED_BOB);
    }
}

#[test]
fn distributed_reports_the_cross_service_race_and_not_the_ordered_pairs() {
    for run in 0..3 {
        let (outcome, report) = analyze("shop", distributed::run);
        assert_eq!(
            raced_variables(&report),
            BTreeSet::from(["order.42.version"]),
            "run {run}: {report}"
        );
        let race = &report.races[0];
        assert_eq!(race.severity, Severity::Critical);
        assert_ne!(race.earlier.thread, race.later.thread);
        let headers: BTreeSet<&str> = outcome.propagated.iter().map(|(k, _)| k.as_str()).collect();
        assert!(
            headers.contains("traceparent") && headers.contains("raceway-clock"),
            "{headers:?}"
        );
        assert!(outcome.response.contains("charged: true"), "{outcome:?}");
        assert_eq!(outcome.health, "ok");
    }
}

#[test]
fn background_reports_the_write_after_the_hand_off_only() {
    for run in 0..5 {
        let (outcome, report) = analyze("reports", background::run);
        assert_eq!(
            raced_variables(&report),
            BTreeSet::from(["report.7.status"]),
            "run {run}: {report}"
        );
        assert_eq!(outcome.rendered_rows, 1_250);
    }
}

#[test]
fn async_tasks_report_the_concurrent_branches_only() {
    for run in 0..5 {
        let (outcome, report) = analyze("checkout", async_tasks::run);
        assert_eq!(
            raced_variables(&report),
            BTreeSet::from(["cart.7.total"]),
            "run {run}: {report}"
        );
        assert_eq!(outcome.shipping, 499);
    }
}

#[test]
fn tokio_service_reports_the_cache_race_and_not_the_locked_stock_or_the_joined_quote() {
    for run in 0..3 {
        let (outcome, report) = analyze("shop", tokio_service::run);
        assert_eq!(
            raced_variables(&report),
            BTreeSet::from(["quote.sku1.cache"]),
            "run {run}: {report}"
        );
        assert_eq!(outcome.stock_left, 0, "{outcome:?}");
        assert_eq!(outcome.answers.len(), 2);
        assert!(
            outcome.answers.iter().all(|a| a.contains("at 1250")),
            "the quote came through the traced call: {outcome:?}"
        );
    }
}
