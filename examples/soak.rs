//! Simulates weeks of a service in minutes and checks the verdict stays exactly right: see
//! `raceway_examples::soak`.
//!
//! `cargo run --release --example soak` (full size: 10 M request contexts on 8 workers, 1 M
//! variable names, 100 k lock names, fan-ins of 1 000 tasks, joins after 100 k other contexts,
//! hostile headers, a call per context to a service that is not instrumented, 64 planted races
//! and 64 planted look-alikes), or `-- --small`.

use std::process::ExitCode;
use std::time::Duration;

use raceway_examples::soak::{self, Params};

fn main() -> ExitCode {
    let params = match std::env::args().nth(1).as_deref() {
        None => Params::full(),
        Some("--small") => Params::small(),
        Some(other) => {
            eprintln!("unknown argument {other:?}; usage: soak [--small]");
            return ExitCode::FAILURE;
        }
    };
    println!("{params:?}");
    let (client, analysis) = raceway_examples::quiet_client("soak");
    let outcome = soak::run(&client, params);
    let shutdown = client.shutdown(Duration::from_secs(120));
    let report = analysis.report();
    let stats = client.stats();

    println!("memory (contexts done -> resident MiB):");
    let step = (outcome.memory.len() / 20).max(1);
    for &(contexts, bytes) in outcome.memory.iter().step_by(step) {
        println!(
            "  {contexts:>10} -> {:>7.1}",
            bytes as f64 / (1 << 20) as f64
        );
    }
    let half = outcome.memory.len() / 2;
    let (mid, last) = (
        outcome.memory[half].1,
        outcome.memory[outcome.memory.len() - 1].1,
    );
    let growth = (last as f64 / mid.max(1) as f64 - 1.0) * 100.0;
    let verdict = soak::verdict(&report, &params);
    println!(
        "{} contexts in {:.1?}; {} events; dropped {}; undelivered {}",
        params.contexts,
        outcome.elapsed,
        report.summary.events,
        stats.dropped_in_lanes,
        shutdown.undelivered
    );
    println!(
        "planted races found {}/{}; false races {}; uncertain {}; memory growth over the last half {growth:+.1}%",
        verdict.planted_found, verdict.planted, verdict.false_races, verdict.uncertain
    );
    let caveats = report.caveats();
    if !caveats.is_empty() {
        println!("caveats: {caveats:?}");
    }
    let right = verdict.planted_found == verdict.planted
        && verdict.false_races == 0
        && verdict.uncertain == 0
        && growth < 5.0;
    if right {
        ExitCode::SUCCESS
    } else {
        println!("{report}");
        ExitCode::FAILURE
    }
}
