//! Tokio tasks carrying the request's context through `raceway::FutureExt::in_context`.
//!
//! `cargo run --example async_tasks`

use std::time::Duration;

use raceway_examples::async_tasks;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = raceway_examples::example_client("checkout")?;
    let outcome = async_tasks::run(&client);
    println!(
        "Checkout of cart 7: total {} (5000 - 500 = 4500 if neither update was lost), shipping {}.\n\
         Expect one race, on cart.7.total (two concurrent tasks); cart.7.shipping was joined first.",
        outcome.total, outcome.shipping
    );
    client.shutdown(Duration::from_secs(5));
    Ok(())
}
