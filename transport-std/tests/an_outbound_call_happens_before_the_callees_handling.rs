//! When caller and callee share one recorder, the outbound request and the inbound request carry
//! the same span, so the caller's write before the call happens before the callee's read, and
//! the callee's response happens before the caller's next event.

mod common;

use raceway::raceway_core::causality::HappensBefore;
use raceway::Direction;

#[test]
fn the_call_is_a_happens_before_edge_both_ways() {
    let (client, captured) = common::client();
    let caller = client.start_trace();
    caller.track_write("order.total", 0, 42);
    let mut headers: Vec<(String, String)> = Vec::new();
    let call = caller.outbound("POST", "/charge", &mut headers);

    let callee = client.inbound_request(&headers, "POST", "/charge");
    assert_eq!(callee.trace_id(), caller.trace_id());
    assert_eq!(callee.span_id(), call.span_id());
    let upstream = caller.span_id().to_string();
    assert_eq!(callee.upstream_span(), Some(upstream.as_str()));
    callee.track_read("order.total", 42);
    callee.track_write("payment.state", 0, 1);
    callee.track_http_response(Direction::Inbound, 200, std::time::Duration::from_millis(1));
    call.finish(200);
    caller.track_read("payment.state", 1);

    let events = common::drained(&client, &captured);
    let mut hb = HappensBefore::<32>::new();
    let mut caller_write = None;
    let mut callee_write = None;
    let mut checks = Vec::new();
    for event in &events {
        let observed = hb.observe(event);
        let clock = hb.clock(event.thread).unwrap().clone();
        let Some(variable) = event.kind.variable() else {
            continue;
        };
        let caller_side = event.thread == caller.thread_id();
        let callee_side = event.thread == callee.thread_id();
        if variable == "order.total" && caller_side {
            caller_write = observed.epoch;
        } else if variable == "order.total" {
            checks.push(hb.happens_before(caller_write.unwrap(), &clock));
        } else if variable == "payment.state" && callee_side {
            callee_write = observed.epoch;
        } else if variable == "payment.state" {
            checks.push(hb.happens_before(callee_write.unwrap(), &clock));
        }
    }
    assert_eq!(checks, [true, true]);
    assert!(!hb.uncertain());
}
