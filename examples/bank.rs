//! Two tellers pay Bob at the same time, with a lost update on his balance; Raceway reports it.
//!
//! `cargo run --example bank` (no server needed: the race report is printed at exit), and
//! `cargo run --example bank -- --mutex` for the fixed version (no race reported).

use std::process::ExitCode;
use std::time::Duration;

use raceway_examples::bank::{self, Locking};

fn main() -> ExitCode {
    let locking = match std::env::args().nth(1).as_deref() {
        None => Locking::None,
        Some("--mutex") => Locking::Mutex,
        Some(other) => {
            eprintln!("unknown argument {other:?}; usage: bank [--mutex]");
            return ExitCode::FAILURE;
        }
    };
    let client = match raceway_examples::example_client("bank") {
        Ok(client) => client,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };

    let outcome = bank::run(&client, locking);
    println!("{}", bank::describe(&outcome, locking));

    // Delivers what is left; with the local analyzer (no RACEWAY_URL) this prints the report.
    // Lost events, a refused key or an unreachable server are said on stderr in one line.
    client.shutdown(Duration::from_secs(5));
    if let Some(analysis) = client.analysis() {
        let races = analysis.report().races.len();
        match (locking, races) {
            (Locking::None, 0) => {}
            (Locking::None, _) => println!(
                "Fix: hold a lock from the read to the write. \
                 `cargo run --example bank -- --mutex` does, and reports no race."
            ),
            (Locking::Mutex, _) => {
                println!("The tracked mutex orders every deposit: {races} races.")
            }
        }
    }
    ExitCode::SUCCESS
}
