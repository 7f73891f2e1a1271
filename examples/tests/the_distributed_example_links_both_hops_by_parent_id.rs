//! Sent to a server, the `distributed` example's events carry the parent links the Raceway
//! server needs to order the two services (it orders threads only through `parent_id`
//! ancestry): the ledger's first event hangs from the gateway's outbound request event, and
//! the gateway's response event from the ledger's response event; the gateway's join of the
//! task that made the call hangs from the task's last event. So the server sees the
//! `status` and `charged` accesses ordered, as the local analyzer does, and still sees the two
//! `version` writes unordered: the one real race.

mod common;

use std::time::Duration;

use raceway_examples::distributed;
use raceway_test_receiver::TestReceiver;
use serde_json::Value;

/// The one event of `kind` (e.g. `HttpRequest`) with `direction` in the exchange `span`
/// (`None`: any).
fn exchange_event<'a>(
    events: &'a [Value],
    kind: &str,
    direction: &str,
    span: Option<&Value>,
) -> &'a Value {
    let found: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"][kind]["direction"] == direction)
        .filter(|e| span.is_none_or(|span| e["kind"][kind]["span_id"] == *span))
        .collect();
    assert_eq!(found.len(), 1, "one {direction} {kind}: {found:?}");
    found[0]
}

/// The id of the event that accessed `variable` with `access` (`Read` or `Write`) on the
/// logical thread `thread`.
fn access<'a>(events: &'a [Value], thread: &str, variable: &str, access: &str) -> &'a str {
    events
        .iter()
        .find(|e| {
            e["metadata"]["thread_id"] == thread
                && e["kind"]["StateChange"]["variable"] == variable
                && e["kind"]["StateChange"]["access_type"] == access
        })
        .and_then(|e| e["id"].as_str())
        .unwrap_or_else(|| panic!("{thread} {access}s {variable}"))
}

#[test]
fn the_callee_hangs_from_the_request_and_the_caller_from_the_response() {
    let receiver = TestReceiver::start();
    let client = common::client_for(&receiver, "shop");
    distributed::run(&client);
    let report = client.shutdown(Duration::from_secs(10));
    assert_eq!(report.undelivered, 0, "{report:?}");

    let events = receiver.events();
    let chains = receiver.parent_chains();
    assert!(chains.orphans.is_empty(), "{chains:?}");

    // The gateway → ledger exchange (the gateway's own inbound request is another one).
    let request = exchange_event(&events, "HttpRequest", "Outbound", None);
    let span = Some(&request["kind"]["HttpRequest"]["span_id"]);
    let inbound = exchange_event(&events, "HttpRequest", "Inbound", span);
    let response = exchange_event(&events, "HttpResponse", "Inbound", span);
    let post_response = exchange_event(&events, "HttpResponse", "Outbound", span);
    // The gateway's handler makes the call in a task of its own: the caller.
    let caller = request["metadata"]["thread_id"].as_str().unwrap();
    let ledger = inbound["metadata"]["thread_id"].as_str().unwrap();
    let gateway = events
        .iter()
        .find(|e| e["kind"]["StateChange"]["variable"] == "order.42.status")
        .and_then(|e| e["metadata"]["thread_id"].as_str())
        .unwrap();
    assert_ne!(caller, ledger);
    assert_ne!(caller, gateway);

    // The ledger's first event is its inbound request, parented on the gateway's request.
    let ledger_first = events
        .iter()
        .find(|e| e["metadata"]["thread_id"] == ledger)
        .unwrap();
    assert_eq!(ledger_first["id"], inbound["id"]);
    assert_eq!(ledger_first["parent_id"], request["id"]);
    // The gateway's event after the response is parented on the ledger's response.
    assert_eq!(post_response["parent_id"], response["id"]);
    assert_eq!(post_response["metadata"]["thread_id"], caller);

    // What the server can now order, through ancestry alone.
    let status_write = access(&events, gateway, "order.42.status", "Write");
    let status_read = access(&events, ledger, "order.42.status", "Read");
    assert!(receiver.is_ancestor(status_write, status_read));
    let charged_write = access(&events, ledger, "order.42.charged", "Write");
    let charged_read = access(&events, gateway, "order.42.charged", "Read");
    assert!(receiver.is_ancestor(charged_write, charged_read));
    // And what it must not: the two version bumps race.
    let gateway_bump = access(&events, gateway, "order.42.version", "Write");
    let ledger_bump = access(&events, ledger, "order.42.version", "Write");
    assert!(!receiver.is_ancestor(gateway_bump, ledger_bump));
    assert!(!receiver.is_ancestor(ledger_bump, gateway_bump));
}
