//! The parent links for the Raceway server travel in the propagation headers: the caller names
//! its request event in `raceway-clock` (`parent_event_id`, `parent_event_depth`), the callee
//! names its response event in `raceway-event`. The ids are the ones the encoder gives those
//! events; a malformed or too deep link is dropped on its own, never the rest of the header.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use raceway::propagation::{extract, RACEWAY_EVENT_HEADER};
use raceway::raceway_core::trace_context::TraceId;
use raceway::{Direction, Kind};
use raceway_transport_http::{
    exchange_event_id, ExchangeEnd, EXCHANGE_DEPTH_SPAN, MAX_PARENT_DEPTH,
};
use serde_json::{json, Value};

const TRACE: &str = "0af76519-16cd-43dd-8448-eb211c80319c";
const SPAN: u64 = 0xb7ad_6b71_6920_3331;
/// An id that parses but is not this exchange's request event.
const OTHER_EVENT: &str = "11111111-2222-8333-8444-555555555555";

/// The caller's request event of the exchange in `clock_header`.
fn request_event() -> [u8; 16] {
    exchange_event_id(
        TraceId::parse_uuid(TRACE).unwrap(),
        SPAN,
        ExchangeEnd::Request,
    )
}

fn clock_header(extra: Value) -> String {
    let mut payload = json!({"trace_id": TRACE, "span_id": format!("{SPAN:016x}"),
        "parent_span_id": "00f067aa0ba902b7", "service": "gateway", "instance": "gw-1",
        "clock": [["gateway#gw-1", 3]]});
    payload
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    format!("v1;{}", URL_SAFE_NO_PAD.encode(payload.to_string()))
}

fn decode(header: &str) -> Value {
    let encoded = header.strip_prefix("v1;").unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded).unwrap()).unwrap()
}

#[test]
fn a_well_formed_link_is_read_and_a_malformed_one_only_dropped() {
    let event = request_event();
    let id = TraceId::from_bytes(event).to_string();
    let good = extract(&[(
        "raceway-clock",
        clock_header(json!({"parent_event_id": id, "parent_event_depth": 7})),
    )]);
    assert_eq!(good.parent_event(), Some((event, 7)));

    for extra in [
        json!({"parent_event_id": "not-a-uuid", "parent_event_depth": 7}),
        json!({"parent_event_id": OTHER_EVENT, "parent_event_depth": 7}),
        json!({"parent_event_id": id}),
        json!({"parent_event_id": id, "parent_event_depth": 0}),
        json!({"parent_event_id": id, "parent_event_depth": -3}),
        json!({"parent_event_id": id, "parent_event_depth": 2.5}),
        json!({"parent_event_id": id, "parent_event_depth": MAX_PARENT_DEPTH - 1}),
        json!({"parent_event_id": id, "parent_event_depth": u64::MAX}),
        json!({"parent_event_id": 42, "parent_event_depth": 7}),
    ] {
        let incoming = extract(&[("raceway-clock", clock_header(extra.clone()))]);
        assert_eq!(incoming.parent_event(), None, "{extra}");
        // The rest of the header still counts.
        assert_eq!(incoming.trace_id().to_string(), TRACE, "{extra}");
        assert_eq!(incoming.clock().len(), 1, "{extra}");
    }
}

#[test]
fn the_callee_hangs_from_the_request_the_caller_named() {
    let (client, captured) = common::client();
    let caller = client.start_trace();
    let mut headers: Vec<(String, String)> = Vec::new();
    let call = caller.outbound("POST", "http://ledger/charge", &mut headers);
    let payload = decode(
        &headers
            .iter()
            .find(|(k, _)| k == "raceway-clock")
            .unwrap()
            .1,
    );
    let request = exchange_event_id(
        caller.trace_id(),
        u64::from_be_bytes(call.span_id().to_bytes()),
        ExchangeEnd::Request,
    );
    assert_eq!(
        payload["parent_event_id"],
        TraceId::from_bytes(request).to_string()
    );
    assert_eq!(payload["parent_event_depth"], EXCHANGE_DEPTH_SPAN);

    // The callee (here in the same process) continues from those headers.
    let callee = client.continue_trace(&extract(&headers));
    let mut response_headers: Vec<(String, String)> = Vec::new();
    callee.write_response_headers(&mut response_headers);
    let response = exchange_event_id(
        callee.trace_id(),
        u64::from_be_bytes(callee.span_id().to_bytes()),
        ExchangeEnd::Response,
    );
    let named = &response_headers
        .iter()
        .find(|(k, _)| k == RACEWAY_EVENT_HEADER)
        .unwrap()
        .1;
    // One hop deeper than the request it hangs from.
    assert_eq!(
        named,
        &format!(
            "{};{}",
            TraceId::from_bytes(response),
            2 * EXCHANGE_DEPTH_SPAN
        )
    );
    call.finish_with_headers(200, &response_headers);

    let events = common::drained(&client, &captured);
    let callee_kinds = common::kinds_of(&events, callee.thread_id());
    assert!(callee_kinds.contains(&Kind::RemoteParent {
        event: request,
        depth: EXCHANGE_DEPTH_SPAN
    }));
    let caller_kinds = common::kinds_of(&events, caller.thread_id());
    let at = caller_kinds
        .iter()
        .position(|k| {
            *k == Kind::RemoteParent {
                event: response,
                depth: 2 * EXCHANGE_DEPTH_SPAN,
            }
        })
        .expect("the caller hangs from the response");
    assert!(matches!(
        caller_kinds[at + 1],
        Kind::HttpResponse {
            status: 200,
            direction: Direction::Outbound,
            ..
        }
    ));

    // A response without the header, or with a bad one, or naming another exchange's
    // response, records the response alone.
    let other_exchange = format!(
        "{};{}",
        TraceId::from_bytes(response),
        2 * EXCHANGE_DEPTH_SPAN
    );
    let other_event = format!("{OTHER_EVENT};5");
    let values = ["", "nonsense", &other_event, "x;5", &other_exchange];
    for value in values {
        let call = caller.outbound("GET", "http://ledger/health", &mut headers);
        call.finish_with_headers(204, &[(RACEWAY_EVENT_HEADER, value)]);
    }
    let later = common::kinds_of(&common::drained(&client, &captured), caller.thread_id());
    assert!(!later.iter().any(|k| matches!(k, Kind::RemoteParent { .. })));
    assert_eq!(
        later
            .iter()
            .filter(|k| matches!(k, Kind::HttpResponse { status: 204, .. }))
            .count(),
        values.len()
    );
}
