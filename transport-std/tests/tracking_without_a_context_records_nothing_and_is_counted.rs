//! A tracking call with no current context records nothing and is counted as untracked.

mod common;

#[test]
fn untracked_calls_are_counted_not_recorded() {
    let (client, captured) = common::client();
    let before = client.stats();
    raceway::track_write("orphan", 1, 2);
    raceway::track_http_request(raceway::Direction::Inbound, "GET", "/");
    let after = client.stats();
    assert_eq!(after.recorded, before.recorded);
    assert_eq!(after.untracked, before.untracked + 2);
    assert!(common::drained(&client, &captured).is_empty());
}
