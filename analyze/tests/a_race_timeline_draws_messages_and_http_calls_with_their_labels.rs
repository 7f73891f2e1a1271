//! A message and both halves of an HTTP call are drawn as edges from the sending end to the
//! receiving end, each end labelled by what it did (the response is sent by the callee, the
//! inbound side, and received by the caller), however many edges nobody received came before.

use raceway_analyze::timeline::{EdgeKind, MAX_PENDING};
use raceway_analyze::Analyzer;
use raceway_core::event::Direction::{self, Inbound, Outbound};
use raceway_core::{Event, Kind, ThreadId, Value};

mod common;
use common::write;

const CALLER: ThreadId = ThreadId::from_raw(1);
const CALLEE: ThreadId = ThreadId::from_raw(2);

#[test]
fn a_race_timeline_draws_messages_and_http_calls_with_their_labels() {
    assert_edges_drawn(Vec::new());
}

#[test]
fn edges_nobody_received_do_not_crowd_out_later_ones() {
    let mut before = Vec::new();
    for i in 0..2 * MAX_PENDING as u32 {
        // A request from an untraced client, whose answer nobody waits for...
        let context = ThreadId::from_raw(100 + i);
        let span = 1_000 + u64::from(i);
        before.push(Event::new(0, context, http_request(Inbound, span)));
        before.push(Event::new(0, context, http_response(Inbound, span)));
        before.push(Event::new(0, context, Kind::ThreadEnd));
        // ... and a message nobody receives.
        let message = 1_000 + u64::from(i);
        before.push(Event::new(0, ThreadId::from_raw(3), Kind::Send { message }));
    }
    assert_edges_drawn(before);
}

fn http_request(direction: Direction, span: u64) -> Kind {
    Kind::HttpRequest {
        method: "GET",
        url: Value::None,
        direction,
        span,
    }
}

fn http_response(direction: Direction, span: u64) -> Kind {
    Kind::HttpResponse {
        status: 200,
        duration_ns: 0,
        direction,
        span,
    }
}

/// The race of a call and a message between [`CALLER`] and [`CALLEE`], after `before`, is drawn
/// with all three of its edges.
fn assert_edges_drawn(before: Vec<Event>) {
    let (caller, callee) = (CALLER, CALLEE);
    let request = |direction| http_request(direction, 5);
    let response = |direction| http_response(direction, 5);
    let mut events = before;
    events.extend([
        Event::new(0, caller, Kind::Send { message: 9 }),
        Event::new(0, caller, request(Outbound)),
        Event::new(0, callee, request(Inbound)),
        Event::new(0, callee, Kind::Receive { message: 9 }),
        Event::new(0, callee, response(Inbound)),
        Event::new(0, callee, write("y")), // after its response: ordered with nothing later
        Event::new(0, caller, response(Outbound)),
        Event::new(0, caller, write("y")),
    ]);
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
