//! A request hands work to a background worker through a detached context.
//!
//! `cargo run --example background`

use std::time::Duration;

use raceway_examples::background;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = raceway_examples::example_client("reports")?;
    let outcome = background::run(&client);
    println!(
        "The request queued report 7 and returned; the worker rendered {} rows.\n\
         Final status: {:?} (the request's \"queued\" and the worker's \"done\" race).\n\
         Expect one race, on report.7.status; report.7.rows was written before the hand-off.",
        outcome.rendered_rows, outcome.final_status
    );
    client.shutdown(Duration::from_secs(5));
    Ok(())
}
