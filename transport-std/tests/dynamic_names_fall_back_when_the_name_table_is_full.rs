//! Interning is bounded: once the process-wide name table is full, dynamic names become the
//! overflow name, long values are cut inline, and each fallback is counted.

mod common;

use raceway::names::{text, IntoName, MAX_NAMES, OVERFLOW_NAME};
use raceway::{Kind, Value};

#[test]
fn a_full_table_falls_back_and_counts() {
    let (client, captured) = common::client();
    let ctx = client.start_trace();
    let before = client.stats().names_overflowed;
    for i in 0..MAX_NAMES {
        let _ = format_args!("filler.{i}").into_name();
    }
    let name = String::from("one.more.name").into_name();
    assert_eq!(name, OVERFLOW_NAME);
    let value = text("a value longer than fourteen bytes");
    assert!(matches!(value, Value::Text(t) if t.as_str() == "a value longer"));
    assert!(client.stats().names_overflowed >= before + 2);

    // Names interned before the table filled still resolve, and events stay valid.
    ctx.track_write(format_args!("filler.{}", 1), 0, 1);
    ctx.track_write(String::from("brand.new"), 0, 1);
    let variables: Vec<&str> = common::drained(&client, &captured)
        .iter()
        .filter_map(|e| match e.kind {
            Kind::StateChange { variable, .. } => Some(variable),
            _ => None,
        })
        .collect();
    assert_eq!(variables, ["filler.1", OVERFLOW_NAME]);
}
