//! A message and both halves of an HTTP call are drawn as edges from the sending end to the
//! receiving end, each end labelled by what it did (the response is sent by the callee, the
//! inbound side, and received by the caller).

use raceway_analyze::timeline::EdgeKind;
use raceway_analyze::Analyzer;
use raceway_core::event::Direction::{Inbound, Outbound};
use raceway_core::{Event, Kind, ThreadId, Value};

mod common;
use common::write;

#[test]
fn a_race_timeline_draws_messages_and_http_calls_with_their_labels() {
    let (caller, callee) = (ThreadId::from_raw(1), ThreadId::from_raw(2));
    let request = |direction| Kind::HttpRequest {
        method: "GET",
        url: Value::None,
        direction,
        span: 5,
    };
    let response = |direction| Kind::HttpResponse {
        status: 200,
        duration_ns: 0,
        direction,
        span: 5,
    };
    let events = [
        Event::new(0, caller, Kind::Send { message: 9 }),
        Event::new(0, caller, request(Outbound)),
        Event::new(0, callee, request(Inbound)),
        Event::new(0, callee, Kind::Receive { message: 9 }),
        Event::new(0, callee, response(Inbound)),
        Event::new(0, callee, write("y")), // after its response: ordered with nothing later
        Event::new(0, caller, response(Outbound)),
        Event::new(0, caller, write("y")),
    ];
    let report = Analyzer::analyze(&events);
    assert_eq!(report.races.len(), 1, "{report}");
    let timeline = &report.races[0].timeline;
    let edges: Vec<_> = timeline
        .edges
        .iter()
        .map(|edge| {
            let (from, to) = (&timeline.steps[edge.from], &timeline.steps[edge.to]);
            let thread = |lane: usize| timeline.lanes[lane].thread;
            (
                edge.kind,
                (thread(from.lane), from.label.as_str()),
                (thread(to.lane), to.label.as_str()),
            )
        })
        .collect();
    let mut expected = [
        (
            EdgeKind::Message,
            (caller, "send #9"),
            (callee, "receive #9"),
        ),
        (
            EdgeKind::Http,
            (caller, "HTTP request sent"),
            (callee, "HTTP request received"),
        ),
        (
            EdgeKind::Http,
            (callee, "HTTP response sent"),
            (caller, "HTTP response received"),
        ),
    ];
    let mut edges = edges;
    edges.sort_by_key(|&(_, (_, from), _)| from);
    expected.sort_by_key(|&(_, (_, from), _)| from);
    assert_eq!(edges, expected, "{timeline:#?}");
}
