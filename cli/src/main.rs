//! `raceway`: find data races in recorded Raceway event streams, and bridge devices to a
//! Raceway server.
//!
//! * `raceway check FILE...` analyzes capture files (or raw UART dumps) with the local
//!   analyzer and prints the race report, as text or JSON ([`check`]).
//! * `raceway bridge --input DEVICE|FILE|-` decodes a UART stream as it arrives and forwards
//!   the events to a Raceway server, analyzes them, and/or saves them as a capture
//!   ([`bridge`]).
//!
//! Both read their input through [`stream`], which tells captures from raw streams by their
//! first bytes. `raceway help` (the texts are in [`args`]) documents every flag and the exit
//! status:
//!
//! | status | meaning |
//! |---:|---|
//! | 0 | no data race found; the input was read completely and intact |
//! | 1 | data races found |
//! | 2 | usage error, or an input could not be read, was damaged, or is not a Raceway stream |
//! | 3 | (bridge) events could not be delivered: the server was unreachable or refused the key |
//!
//! # Examples
//!
//! The QEMU firmware example's UART output (`.ci/firmware.sh` saves it), checked from the
//! firmware's directory so that the source lines can be shown:
//!
//! ```text
//! $ raceway check uart0.rwcap
//! 2 data races found (1926 events, 2 threads, 2 variables)
//!
//! 1. CRITICAL: write/write race on `racy` (39 times)
//!    t1 Write at src/main.rs:117:5 (10 -> 11)
//!       117 | trace::write("racy", context, old, old + 1);
//!    t2 Write at src/main.rs:117:5 (11 -> 12)
//!       117 | trace::write("racy", context, old, old + 1);
//!
//! 2. WARNING: write/read race on `racy` (39 times)
//!    t1 Write at src/main.rs:117:5 (10 -> 11)
//!       117 | trace::write("racy", context, old, old + 1);
//!    t2 Read at src/main.rs:114:5 (saw 11)
//!       114 | trace::read("racy", context, old);
//! $ echo $?
//! 1
//! ```
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod args;
mod bridge;
mod check;
mod stream;

use std::process::ExitCode;

use args::Command;

/// The exit status of a run (see the [crate docs](crate)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    /// No race found; all input read and intact.
    Clean = 0,
    /// Data races found.
    Races = 1,
    /// A usage error or an input problem.
    InputError = 2,
    /// Events could not be delivered to the server.
    DeliveryFailed = 3,
}

fn main() -> ExitCode {
    let command = args::parse(std::env::args_os().skip(1), |name| std::env::var(name).ok());
    let status = match command {
        Err(error) => {
            eprintln!("raceway: {error}");
            Status::InputError
        }
        Ok(Command::Help(text)) => {
            print!("{text}");
            Status::Clean
        }
        Ok(Command::Version) => {
            println!("raceway {}", env!("CARGO_PKG_VERSION"));
            Status::Clean
        }
        Ok(Command::Check(options)) => check::run(&options),
        Ok(Command::Bridge(options)) => bridge::run(&options),
    };
    ExitCode::from(status as u8)
}
