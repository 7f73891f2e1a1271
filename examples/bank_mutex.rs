//! The bank of `bank.rs` with every balance in a tracked `raceway::sync::Mutex`: no race.
//!
//! `cargo run --example bank_mutex` is `cargo run --example bank -- --mutex`.

use std::time::Duration;

use raceway_examples::bank::{self, Locking};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = raceway_examples::example_client("bank")?;
    let outcome = bank::run(&client, Locking::Mutex);
    println!("{}", bank::describe(&outcome, Locking::Mutex));
    client.shutdown(Duration::from_secs(5)); // prints "no data races found (…)"
    Ok(())
}
