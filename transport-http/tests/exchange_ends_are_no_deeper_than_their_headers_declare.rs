//! The two ends of an HTTP exchange get the ids propagation named in the headers before they
//! were encoded, sit no deeper than the headers declared however long their threads are, and
//! the other side's next event hangs from them; no chain passes `MAX_PARENT_DEPTH`.

mod common;

use std::collections::HashMap;

use common::{custom, encode_valid, event};
use raceway_core::event::{Direction, Kind, Value};
use raceway_core::trace_context::{SpanId, TraceId};
use raceway_transport_http::{
    exchange_event_id, ExchangeEnd, EXCHANGE_DEPTH_SPAN, MAX_PARENT_DEPTH,
};
use serde_json::Value as Json;

const TRACE: &str = "0af76519-16cd-43dd-8448-eb211c80319c";
const CALL: u64 = 0x5399_5c3f_42cd_8ad8;

fn trace_start(span: u64) -> Kind {
    Kind::TraceStart {
        trace_id: TraceId::parse_uuid(TRACE).unwrap(),
        span_id: SpanId::from(span),
        upstream: Value::None,
    }
}

fn uuid_text(bytes: [u8; 16]) -> String {
    TraceId::from_bytes(bytes).to_string()
}

#[test]
fn long_threads_still_export_their_exchange_ends_within_the_declared_depth() {
    let trace = TraceId::parse_uuid(TRACE).unwrap();
    let request = exchange_event_id(trace, CALL, ExchangeEnd::Request);
    let response = exchange_event_id(trace, CALL, ExchangeEnd::Response);
    let (caller, callee) = (1, 2);

    let mut events = vec![event(caller, trace_start(0xb7ad_6b71_6920_3331))];
    // Far more than a declared depth of EXCHANGE_DEPTH_SPAN before the call.
    events.extend((0..1_500).map(|i| event(caller, custom("before", i))));
    events.push(event(
        caller,
        Kind::HttpRequest {
            method: "POST",
            url: Value::None,
            direction: Direction::Outbound,
            span: CALL,
        },
    ));
    // The callee, as propagation records it from the caller's headers.
    events.push(event(callee, trace_start(CALL)));
    events.push(event(
        callee,
        Kind::RemoteParent {
            event: request,
            depth: EXCHANGE_DEPTH_SPAN,
        },
    ));
    events.push(event(
        callee,
        Kind::HttpRequest {
            method: "POST",
            url: Value::None,
            direction: Direction::Inbound,
            span: CALL,
        },
    ));
    events.extend((0..1_500).map(|i| event(callee, custom("handling", i))));
    events.push(event(
        callee,
        Kind::HttpResponse {
            status: 200,
            duration_ns: 0,
            direction: Direction::Inbound,
            span: CALL,
        },
    ));
    // The caller, reading the callee's `raceway-event` header.
    events.push(event(
        caller,
        Kind::RemoteParent {
            event: response,
            depth: 2 * EXCHANGE_DEPTH_SPAN,
        },
    ));
    events.push(event(
        caller,
        Kind::HttpResponse {
            status: 200,
            duration_ns: 0,
            direction: Direction::Outbound,
            span: CALL,
        },
    ));
    events.extend((0..1_500).map(|i| event(caller, custom("after", i))));

    let wire = encode_valid(&events);
    // Depths as the server would count them, with each remote link at its declared depth.
    let declared = HashMap::from([
        (uuid_text(request), EXCHANGE_DEPTH_SPAN),
        (uuid_text(response), 2 * EXCHANGE_DEPTH_SPAN),
    ]);
    let mut depth: HashMap<String, u32> = HashMap::new();
    for e in &wire {
        let own = match e["parent_id"].as_str() {
            None => 1,
            Some(parent) => depth[parent] + 1,
        };
        assert!(own <= MAX_PARENT_DEPTH, "{e}");
        let id = e["id"].as_str().unwrap().to_owned();
        if let Some(&bound) = declared.get(&id) {
            assert!(own <= bound, "{own} deeper than the declared {bound}: {e}");
        }
        depth.insert(id, own);
    }

    let find = |kind: &str, direction: &str| -> &Json {
        wire.iter()
            .find(|e| e["kind"][kind]["direction"] == direction)
            .unwrap()
    };
    assert_eq!(find("HttpRequest", "Outbound")["id"], uuid_text(request));
    assert_eq!(
        find("HttpRequest", "Inbound")["parent_id"],
        uuid_text(request)
    );
    assert_eq!(find("HttpResponse", "Inbound")["id"], uuid_text(response));
    assert_eq!(
        find("HttpResponse", "Outbound")["parent_id"],
        uuid_text(response)
    );
    // Every event of the callee, and every caller event after the response, stays a
    // descendant of the request: the anchor survives every restart.
    let parent_of: HashMap<&str, &str> = wire
        .iter()
        .filter_map(|e| Some((e["id"].as_str()?, e["parent_id"].as_str()?)))
        .collect();
    let request = uuid_text(request);
    for e in wire.iter().filter(|e| {
        let name = &e["kind"]["Custom"]["name"];
        name == "handling" || name == "after"
    }) {
        assert!(
            descends(&parent_of, e["id"].as_str().unwrap(), &request),
            "{e}"
        );
    }
}

/// Whether `ancestor` is on `id`'s chain of parents.
fn descends<'a>(parent_of: &HashMap<&'a str, &'a str>, mut id: &'a str, ancestor: &str) -> bool {
    while let Some(&parent) = parent_of.get(id) {
        if parent == ancestor {
            return true;
        }
        id = parent;
    }
    false
}
