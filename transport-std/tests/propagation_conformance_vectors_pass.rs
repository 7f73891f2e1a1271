//! Every conformance vector of the wire README's "Propagation headers", received as service
//! `test-service`, instance `instance-1`, and sent back out.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use raceway::propagation::{extract, Incoming};
use raceway::raceway_core::trace_context::{SpanId, TraceParent};
use raceway::{Direction, Kind};
use serde_json::{json, Value};

const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const TRACE: &str = "0af76519-16cd-43dd-8448-eb211c80319c";
const REAL_HEADER: &str = "v1;eyJ0cmFjZV9pZCI6IjBhZjc2NTE5LTE2Y2QtNDNkZC04NDQ4LWViMjExYzgwMzE5YyIsInNwYW5faWQiOiI1Mzk5NWMzZjQyY2Q4YWQ4IiwicGFyZW50X3NwYW5faWQiOiJiN2FkNmI3MTY5MjAzMzMxIiwic2VydmljZSI6ImNoZWNrb3V0IiwiaW5zdGFuY2UiOiJ3ZWItMS00MjQyIiwiY2xvY2siOltbImNoZWNrb3V0I3dlYi0xLTQyNDIiLDRdLFsiZ2F0ZXdheSNndy03LTk5IiwyXV19";

/// `events` as the Raceway server receives them.
fn to_wire(events: &[raceway::Event]) -> Vec<Value> {
    use raceway_transport_http::{JsonEncoder, JsonEncoderConfig};
    let mut encoder = JsonEncoder::new(JsonEncoderConfig::new("test-service", "instance-1"));
    let mut batches: Vec<_> = events
        .iter()
        .filter_map(|e| encoder.encode(e).batch)
        .collect();
    batches.extend(encoder.flush());
    batches
        .iter()
        .flat_map(|batch| {
            let body: Value = serde_json::from_slice(batch.body()).unwrap();
            body["events"].as_array().unwrap().clone()
        })
        .collect()
}

fn clock_header(payload: &Value) -> String {
    format!("v1;{}", URL_SAFE_NO_PAD.encode(payload.to_string()))
}

fn upstream_payload() -> Value {
    json!({"trace_id":"0af76519-16cd-43dd-8448-eb211c80319c",
        "span_id":"b7ad6b7169203331","parent_span_id":"parent-span-1111","service":"upstream-service",
        "instance":"upstream-1","clock":[["upstream-service#upstream-1",5],["other-service#other-1",3]]})
}

fn decode(header: &str) -> Value {
    let encoded = header.strip_prefix("v1;").expect("v1 prefix");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded).expect("base64url")).expect("JSON")
}

#[test]
fn traceparent_alone_is_adopted() {
    let incoming = extract(&[("traceparent", TRACEPARENT)]);
    assert_eq!(incoming.trace_id().to_string(), TRACE);
    assert_eq!(incoming.span_id().to_string(), "b7ad6b7169203331");
    assert_eq!(incoming.upstream_span(), None);
    assert!(incoming.is_distributed());
}

#[test]
fn raceway_clock_keeps_upstream_and_entries_and_adds_our_own() {
    let header = clock_header(&upstream_payload());
    let incoming = extract(&vec![("Raceway-Clock".to_owned(), header)]);
    assert_eq!(incoming.trace_id().to_string(), TRACE);
    assert_eq!(incoming.upstream_span(), Some("parent-span-1111"));
    assert_eq!(
        incoming.clock(),
        [
            ("upstream-service#upstream-1".to_owned(), 5),
            ("other-service#other-1".to_owned(), 3)
        ]
    );

    let (client, captured) = common::client();
    let ctx = client.continue_trace(&incoming);
    let clock = ctx.clock();
    assert_eq!(clock.len(), 3);
    assert_eq!(clock[0], ("upstream-service#upstream-1".to_owned(), 5));
    assert_eq!(clock[1], ("other-service#other-1".to_owned(), 3));
    assert_eq!(clock[2].0, "test-service#instance-1");

    // The events: TraceStart (the upstream is not a W3C span id: kept verbatim as text), the
    // received clock entries.
    let events = common::drained(&client, &captured);
    let kinds = common::kinds_of(&events, ctx.thread_id());
    assert!(
        matches!(kinds[0], Kind::TraceStart { upstream: raceway::Value::Str(upstream), .. }
        if upstream.as_str() == "parent-span-1111")
    );
    assert!(
        matches!(kinds[1], Kind::RemoteClock { component, counter: 5 }
        if component.as_str() == "upstream-service#upstream-1")
    );
    assert!(
        matches!(kinds[2], Kind::RemoteClock { component, counter: 3 }
        if component.as_str() == "other-service#other-1")
    );

    // On the wire: the callee's first event names the caller's span as it came.
    ctx.track_custom("handled", 1);
    let mut events = events;
    events.extend(common::drained(&client, &captured));
    let wire = to_wire(&events);
    let callee = format!("test-service#instance-1#{}", ctx.thread_id());
    let first = wire
        .iter()
        .find(|e| e["metadata"]["thread_id"] == callee.as_str())
        .expect("the callee's first event");
    assert_eq!(first["metadata"]["upstream_span_id"], "parent-span-1111");
    assert_eq!(first["metadata"]["distributed_span_id"], "b7ad6b7169203331");
}

#[test]
fn raceway_clock_wins_for_span_fields() {
    let header = clock_header(&json!({"trace_id": TRACE, "span_id": "1111222233334444",
        "parent_span_id": "aaaabbbbccccdddd", "service": "s", "instance": "i", "clock": []}));
    let incoming = extract(&[
        ("traceparent", TRACEPARENT.to_owned()),
        ("raceway-clock", header),
    ]);
    assert_eq!(incoming.span_id().to_string(), "1111222233334444");
    assert_eq!(incoming.upstream_span(), Some("aaaabbbbccccdddd"));
    assert_eq!(incoming.trace_id().to_string(), TRACE);
}

#[test]
fn no_headers_start_a_fresh_trace() {
    let none: [(&str, &str); 0] = [];
    let incoming = extract(&none);
    assert!(!incoming.is_distributed());
    assert!(incoming.trace_id().is_valid());
    assert_eq!(incoming.span_id().to_string().len(), 16);
    assert_ne!(extract(&none).trace_id(), incoming.trace_id());
}

#[test]
fn invalid_headers_are_ignored_and_tracestate_passes_through() {
    for headers in [
        vec![("traceparent", "invalid-format".to_owned())],
        vec![("raceway-clock", "v1;invalid-base64!!!".to_owned())],
        vec![(
            "raceway-clock",
            clock_header(&upstream_payload()).replacen("v1;", "v99;", 1),
        )],
    ] {
        assert!(!extract(&headers).is_distributed(), "{headers:?}");
    }
    let state = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
    let incoming = extract(&[("traceparent", TRACEPARENT), ("tracestate", state)]);
    assert_eq!(incoming.trace_state().unwrap().as_str(), state);

    let (client, _captured) = common::client();
    let ctx = client.continue_trace(&incoming);
    let mut out: Vec<(String, String)> = Vec::new();
    let _ = ctx.outbound("GET", "/", &mut out);
    assert!(out.contains(&("tracestate".to_owned(), state.to_owned())));
}

#[test]
fn sending_mints_a_child_span_in_both_headers() {
    let (client, captured) = common::client();
    let ctx = client.continue_trace(&extract(&[("traceparent", TRACEPARENT)]));
    let mut headers: std::collections::HashMap<String, String> = Default::default();
    let call = ctx.outbound("post", "http://payments/charge", &mut headers);
    let traceparent = &headers["traceparent"];
    assert_eq!(traceparent.len(), 55);
    assert!(traceparent.starts_with("00-"));
    let parsed = TraceParent::parse(traceparent).unwrap();
    assert_eq!(parsed.trace_id.to_string(), TRACE);
    assert_eq!(parsed.span_id, call.span_id());
    assert_ne!(call.span_id(), ctx.span_id());
    assert_eq!(ctx.span_id(), SpanId::from(0xb7ad6b7169203331));

    let clock = &headers["raceway-clock"];
    assert!(clock.starts_with("v1;"));
    let payload = decode(clock);
    assert_eq!(payload["trace_id"], TRACE);
    assert_eq!(payload["span_id"], call.span_id().to_string());
    assert_eq!(payload["parent_span_id"], "b7ad6b7169203331");
    assert_eq!(payload["service"], "test-service");
    assert_eq!(payload["instance"], "instance-1");
    assert_eq!(payload["clock"][0][0], "test-service#instance-1");

    let span = u64::from_be_bytes(call.span_id().to_bytes());
    call.finish(201);
    let kinds = common::kinds_of(&common::drained(&client, &captured), ctx.thread_id());
    assert!(kinds.iter().any(|k| matches!(k,
        Kind::HttpRequest { method: "POST", direction: Direction::Outbound, span: s, .. } if *s == span)));
    assert!(kinds.iter().any(|k| matches!(k,
        Kind::HttpResponse { status: 201, direction: Direction::Outbound, span: s, .. } if *s == span)));
}

#[test]
fn the_real_go_header_decodes_and_round_trips() {
    assert_eq!(
        decode(REAL_HEADER),
        json!({"trace_id":"0af76519-16cd-43dd-8448-eb211c80319c","span_id":"53995c3f42cd8ad8",
            "parent_span_id":"b7ad6b7169203331","service":"checkout","instance":"web-1-4242",
            "clock":[["checkout#web-1-4242",4],["gateway#gw-7-99",2]]})
    );
    let incoming: Incoming = extract(&[("raceway-clock", REAL_HEADER)]);
    assert_eq!(incoming.trace_id().to_string(), TRACE);
    assert_eq!(incoming.span_id().to_string(), "53995c3f42cd8ad8");
    assert_eq!(incoming.upstream_span(), Some("b7ad6b7169203331"));
    assert_eq!(incoming.clock().len(), 2);

    // Passing it on: the next service sees this one as the caller and the chain's clock.
    let (client, captured) = common::client();
    let ctx = client.continue_trace(&incoming);
    let kinds = common::kinds_of(&common::drained(&client, &captured), ctx.thread_id());
    assert!(
        matches!(kinds[0], Kind::TraceStart { upstream: raceway::Value::U64(upstream), span_id, .. }
        if SpanId::from(upstream) == SpanId::from(0xb7ad6b7169203331) && span_id == SpanId::from(0x53995c3f42cd8ad8))
    );
    let mut out: Vec<(String, String)> = Vec::new();
    let _ = ctx.outbound("GET", "/next", &mut out);
    let payload = decode(&out.iter().find(|(k, _)| k == "raceway-clock").unwrap().1);
    assert_eq!(payload["parent_span_id"], "53995c3f42cd8ad8");
    let components: Vec<&str> = payload["clock"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry[0].as_str().unwrap())
        .collect();
    assert_eq!(
        components,
        [
            "checkout#web-1-4242",
            "gateway#gw-7-99",
            "test-service#instance-1"
        ]
    );
}

#[cfg(feature = "http")]
#[test]
fn http_header_maps_work_both_ways() {
    let mut incoming = http::HeaderMap::new();
    incoming.insert("Traceparent", TRACEPARENT.parse().unwrap());
    assert!(extract(&incoming).is_distributed());

    let (client, _captured) = common::client();
    let ctx = client.continue_trace(&extract(&incoming));
    let mut outgoing = http::HeaderMap::new();
    let _ = ctx.outbound("GET", "/", &mut outgoing);
    assert_eq!(outgoing["traceparent"].len(), 55);
    assert!(outgoing["raceway-clock"]
        .to_str()
        .unwrap()
        .starts_with("v1;"));
}

/// The header map reads and writes the propagation headers through names made at compile time,
/// and any other name through `http`'s own parsing: each must land under its own text.
#[cfg(feature = "http")]
#[test]
fn http_header_maps_keep_every_header_under_its_own_name() {
    use raceway::propagation::{
        HeaderSink, HeaderSource, RACEWAY_CLOCK_HEADER, RACEWAY_EVENT_HEADER,
    };
    use raceway::raceway_core::trace_context::{TRACEPARENT_HEADER, TRACESTATE_HEADER};
    for name in [
        TRACEPARENT_HEADER,
        TRACESTATE_HEADER,
        RACEWAY_CLOCK_HEADER,
        RACEWAY_EVENT_HEADER,
        "x-request-id",
    ] {
        let mut headers = http::HeaderMap::new();
        headers.set_header(name, "value");
        headers.set_header(name, "replaced");
        assert_eq!(headers.len(), 1, "{name}");
        assert_eq!(headers[name], "replaced", "{name}");
        headers.append(name, http::HeaderValue::from_static("second"));
        let mut seen = Vec::new();
        headers.for_each_value(name, &mut |value| seen.push(value.to_vec()));
        assert_eq!(seen, [&b"replaced"[..], b"second"], "{name}");
    }
}
