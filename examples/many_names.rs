//! A million distinct dynamic variable names and thousands of dynamic lock names, far beyond the
//! name table: the verdict must list exactly the planted races.
//!
//! `cargo run --release --example many_names [NAMES [EVERY]]` (defaults: 1 000 000 and 1 000: 500 planted races, under the analyzer's 1 000 distinct-race cap).
//! Prints the planted races found, the false races and the uncertain ones, and what a new
//! dynamic name costs once the table is full.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use raceway::raceway_core::name;
use raceway_examples::many_names::{self, Scale};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let names = args.next().and_then(Result::ok).unwrap_or(1_000_000);
    let every = args.next().and_then(Result::ok).unwrap_or(1000);
    let (client, analysis) = many_names::client();

    let started = Instant::now();
    let planted = many_names::run(&client, Scale { names, every });
    let recorded = started.elapsed();
    let shutdown = client.shutdown(Duration::from_secs(600));
    let report = analysis.report();

    let identity = |text: &str| match text.strip_prefix('#') {
        Some(hex) => u64::from_str_radix(hex, 16).unwrap_or_default(),
        None => name::hash(text),
    };
    let planted: BTreeSet<u64> = planted.iter().map(|v| identity(v)).collect();
    let found: BTreeSet<u64> = report.races.iter().map(|r| identity(&r.variable)).collect();
    let false_races = found.difference(&planted).count();
    let missed = planted.difference(&found).count();
    let uncertain = report.races.iter().filter(|r| r.uncertain).count();

    // What a new dynamic name costs now that the table is full (the old table scanned every
    // slot, ~11 µs, before giving up).
    let probe = 100_000;
    let timer = Instant::now();
    for i in 0..probe {
        std::hint::black_box(raceway::intern(&format!("probe.{i}")));
    }
    let per_name = timer.elapsed() / probe;

    println!(
        "{} variables, {} events in {:.1?} (+ analysis until shutdown {:.1?})",
        report.summary.variables,
        report.summary.events,
        recorded,
        started.elapsed() - recorded
    );
    println!(
        "planted races found: {}/{}, false races: {false_races}, uncertain: {uncertain}, \
         names shown by hash: {}, undelivered: {}",
        planted.len() - missed,
        planted.len(),
        report.summary.hashed_names,
        shutdown.undelivered
    );
    println!("a new dynamic name on a full table: {per_name:?} (format + intern + hash)");
    if missed == 0 && false_races == 0 && uncertain == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
