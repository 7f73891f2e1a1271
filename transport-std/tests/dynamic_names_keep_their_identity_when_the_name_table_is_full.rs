//! Interning is bounded: once the process-wide name table is full, a new variable name keeps its
//! identity (a hash of its full text) and loses only its text, and each fallback is counted.

mod common;

use raceway::names::{IntoName, MAX_NAMES};
use raceway::raceway_core::name::{self, Name};
use raceway::Kind;

#[test]
fn a_full_table_keeps_identity_and_counts() {
    let (client, captured) = common::client();
    let ctx = client.start_trace();
    let before = client.stats().names_overflowed;
    for i in 0..2 * MAX_NAMES {
        let _ = format_args!("filler.{i}").into_name();
    }
    let name = String::from("one.more.name").into_name();
    assert_eq!(
        name.to_string(),
        format!("#{:016x}", name::hash("one.more.name"))
    );
    assert_eq!(name, "one.more.name");
    assert_ne!(name, "one.more.other");
    assert!(client.stats().names_overflowed > before);

    // Names interned before the table filled still resolve, and events stay valid.
    ctx.track_write(format_args!("filler.{}", 1), 0, 1);
    ctx.track_write(String::from("brand.new"), 0, 1);
    let variables: Vec<Name> = common::drained(&client, &captured)
        .iter()
        .filter_map(|e| match e.kind {
            Kind::StateChange { variable, .. } => Some(variable),
            _ => None,
        })
        .collect();
    assert_eq!(variables, [Name::from("filler.1"), Name::from("brand.new")]);
    assert_eq!(variables[0].as_str(), Some("filler.1"));
    assert!(variables[1].is_forgotten());
}
