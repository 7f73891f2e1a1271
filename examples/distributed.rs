//! Two services in one process, talking HTTP over loopback with trace and clock propagation.
//!
//! `cargo run --example distributed`

use std::time::Duration;

use raceway_examples::distributed;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = raceway_examples::example_client("shop")?;
    let outcome = distributed::run(&client);
    println!("gateway -> ledger, propagated headers:");
    for (name, value) in &outcome.propagated {
        println!("  {name}: {value}");
    }
    println!("client <- gateway: {}", outcome.response);
    println!("GET /health (untraced route): {}", outcome.health);
    println!(
        "order 42 version: {} (2 if neither service's bump was lost)\n\
         Expect one race, on order.42.version (the gateway did not wait for the ledger);\n\
         order.42.status and order.42.charged are ordered by the request and response edges.",
        outcome.version
    );
    client.shutdown(Duration::from_secs(5));
    Ok(())
}
