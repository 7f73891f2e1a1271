//! Hosts the runnable examples (`cargo run --example NAME`).
