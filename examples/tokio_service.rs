//! A tokio service with `raceway::task::spawn`, a tracked tokio mutex and a traced reqwest call.
//!
//! `cargo run --example tokio_service`

use std::time::Duration;

use raceway_examples::tokio_service;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = raceway_examples::example_client("shop")?;
    let outcome = tokio_service::run(&client);
    for answer in &outcome.answers {
        println!("customer <- shop: {answer}");
    }
    println!(
        "items left: {} (0 if neither reservation was lost)\n\
         Expect one race, on quote.sku1.cache (the request and its quote task both write it);\n\
         stock.sku1 is ordered by the tokio lock, each reservation's quote by the task's join.",
        outcome.stock_left
    );
    client.shutdown(Duration::from_secs(5));
    Ok(())
}
