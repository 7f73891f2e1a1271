//! Malformed and hostile propagation headers are ignored: no panic, a fresh (non-distributed)
//! trace, and never an id in an event that the server would reject.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use proptest::prelude::*;
use raceway::propagation::{extract, MAX_CLOCK_ENTRIES};
use raceway::raceway_core::trace_context::TraceId;
use raceway::Kind;

fn clock(json: &str) -> String {
    format!("v1;{}", URL_SAFE_NO_PAD.encode(json))
}

const GOOD: &str = r#""span_id":"b7ad6b7169203331","parent_span_id":"1111222233334444""#;

#[test]
fn known_hostile_values_are_ignored() {
    let huge_clock: Vec<String> = (0..10_000).map(|i| format!(r#"["c{i}",{i}]"#)).collect();
    let cases: Vec<Vec<u8>> = vec![
        clock(&format!(r#"{{"trace_id":"not-a-uuid",{GOOD}}}"#)).into_bytes(),
        clock(&format!(r#"{{"trace_id":"00000000-0000-0000-0000-000000000000",{GOOD}}}"#)).into_bytes(),
        clock(r#"{"trace_id":"0af76519-16cd-43dd-8448-eb211c80319c","span_id":"B7AD6B7169203331"}"#).into_bytes(),
        clock(r#"{"trace_id":"0af76519-16cd-43dd-8448-eb211c80319c","span_id":"0000000000000000"}"#).into_bytes(),
        clock(&format!(r#"{{"trace_id":"0af76519-16cd-43dd-8448-eb211c80319c",{GOOD},"clock":[["a",-1]]}}"#)).into_bytes(),
        clock(&format!(r#"{{"trace_id":"0af76519-16cd-43dd-8448-eb211c80319c",{GOOD},"clock":[["a",1.5]]}}"#)).into_bytes(),
        clock(&format!(r#"{{"trace_id":"0af76519-16cd-43dd-8448-eb211c80319c",{GOOD},"clock":[["",1]]}}"#)).into_bytes(),
        clock(&format!(r#"{{"trace_id":"0af76519-16cd-43dd-8448-eb211c80319c",{GOOD},"clock":[["a\nb",1]]}}"#)).into_bytes(),
        clock(&format!(r#"{{"trace_id":"0af76519-16cd-43dd-8448-eb211c80319c",{GOOD},"clock":[[{:?},1]]}}"#, "x".repeat(300))).into_bytes(),
        clock(r#"{"trace_id":"0af76519-16cd-43dd-8448-eb211c80319c","span_id":"b7ad6b7169203331","parent_span_id":"a b"}"#).into_bytes(),
        clock(&format!(r#"{{"trace_id":"0af76519-16cd-43dd-8448-eb211c80319c",{GOOD},"clock":[{}]}}"#, huge_clock.join(","))).into_bytes(),
        clock("[1,2,3]").into_bytes(),
        clock("").into_bytes(),
        b"v1;\xff\xfe".to_vec(),
        b"v1".to_vec(),
        vec![b'v', b'1', b';', 0xc3],
    ];
    for case in cases {
        let incoming = extract(&[("raceway-clock", case.clone())]);
        assert!(
            !incoming.is_distributed(),
            "{:?}",
            String::from_utf8_lossy(&case)
        );
    }
    let invalid_utf8 = extract(&[(
        "traceparent",
        &b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-\xff\xff"[..],
    )]);
    assert!(!invalid_utf8.is_distributed());
    let twice = extract(&[
        (
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ),
        (
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203332-01",
        ),
    ]);
    assert!(!twice.is_distributed(), "two traceparents are ambiguous");
}

#[test]
fn long_but_valid_clocks_are_capped() {
    let entries: Vec<String> = (0..100).map(|i| format!(r#"["svc#{i}",{i}]"#)).collect();
    let header = clock(&format!(
        r#"{{"trace_id":"0af76519-16cd-43dd-8448-eb211c80319c",{GOOD},"clock":[{}]}}"#,
        entries.join(",")
    ));
    let incoming = extract(&[("raceway-clock", header)]);
    assert!(incoming.is_distributed());
    assert_eq!(incoming.clock().len(), MAX_CLOCK_ENTRIES);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_header_bytes_give_a_valid_trace(
        traceparent in proptest::collection::vec(any::<u8>(), 0..80),
        clock_bytes in proptest::collection::vec(any::<u8>(), 0..300),
        clock_json in "\\PC{0,200}",
        state in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        let headers: Vec<(&str, Vec<u8>)> = vec![
            ("traceparent", traceparent),
            ("raceway-clock", clock_bytes),
            ("raceway-clock-json", clock(&clock_json).into_bytes()),
            ("tracestate", state),
        ];
        let incoming = extract(&headers);
        let text = incoming.trace_id().to_string();
        prop_assert!(TraceId::parse_uuid(&text).is_ok());
        prop_assert!(incoming.span_id().is_valid());
        let as_clock = vec![("raceway-clock", clock(&clock_json))];
        let incoming = extract(&as_clock);
        prop_assert!(TraceId::parse_uuid(&incoming.trace_id().to_string()).is_ok());
    }

    #[test]
    fn payloads_with_any_fields_give_a_valid_trace(
        trace_id in "\\PC{0,40}",
        span_id in "[0-9a-fA-F]{0,20}",
        parent in "\\PC{0,40}",
        component in "\\PC{0,40}",
        counter in any::<i64>(),
    ) {
        let payload = serde_json::json!({
            "trace_id": trace_id, "span_id": span_id, "parent_span_id": parent,
            "clock": [[component, counter]],
        });
        let incoming = extract(&[("raceway-clock", clock(&payload.to_string()))]);
        prop_assert!(TraceId::parse_uuid(&incoming.trace_id().to_string()).is_ok());
        prop_assert!(incoming.span_id().is_valid());
        if let Some(upstream) = incoming.upstream_span() {
            prop_assert!(!upstream.is_empty() && upstream.is_ascii());
        }
    }
}

#[test]
fn a_hostile_header_still_yields_valid_events() {
    let (client, captured) = common::client();
    let header = clock(r#"{"trace_id":"../../etc/passwd","span_id":"zz"}"#);
    let ctx = client.inbound_request(&[("raceway-clock", header)], "GET", "/x");
    let kinds = common::kinds_of(&common::drained(&client, &captured), ctx.thread_id());
    match kinds[0] {
        Kind::TraceStart {
            trace_id,
            span_id,
            upstream,
        } => {
            assert!(trace_id.is_valid() && span_id.is_valid());
            assert_eq!(upstream, raceway::Value::None);
        }
        other => panic!("expected TraceStart first, got {other:?}"),
    }
}
