//! A service that calls an uninstrumented API on every request leaves an unanswered edge per
//! call, and after long enough the replay forgets the oldest ones for good, keys and all. A
//! message sent before that and received after it used to find nothing, exactly like a message
//! from outside the stream: the receiver's next write was a race reported as certain, and no
//! caveat said why. The receiver's clock now says it may lack what the forgotten edge carried,
//! while races among requests that started since stay certain.

use raceway_analyze::Analyzer;
use raceway_core::causality::{MAX_LOST_KEYS, MAX_PENDING_MESSAGES};
use raceway_core::event::Direction;
use raceway_core::{Event, Kind, ThreadId, Value};
use std::panic::Location;

mod common;
use common::write;

/// A request context that calls the uninstrumented API (span `span`) and writes `variable`.
fn request(
    analyzer: &mut Analyzer<&'static Location<'static>>,
    context: ThreadId,
    span: u64,
    variable: &'static str,
) {
    let direction = Direction::Outbound;
    let mut record = |kind| analyzer.observe(&Event::new(0, context, kind));
    record(Kind::HttpRequest {
        method: "GET",
        url: Value::None,
        direction,
        span,
    });
    record(Kind::HttpResponse {
        status: 200,
        duration_ns: 1,
        direction,
        span,
    });
    record(write(variable));
}

#[test]
fn a_message_sent_before_edges_were_forgotten_is_not_a_certain_race() {
    let (refresher, consumer) = (ThreadId::from_raw(1), ThreadId::from_raw(2));
    let mut analyzer = Analyzer::new();
    analyzer.observe(&Event::new(0, refresher, write("config.current")));
    analyzer.observe(&Event::new(0, refresher, Kind::Send { message: 1 }));

    // Enough unanswered calls that the message is evicted and then forgotten.
    let calls = (MAX_PENDING_MESSAGES + MAX_LOST_KEYS) as u32;
    for call in 0..calls {
        let context = ThreadId::from_raw(100 + call);
        request(
            &mut analyzer,
            context,
            1_000 + u64::from(call),
            "calls.made",
        );
        analyzer.observe(&Event::new(0, context, Kind::ThreadEnd));
    }
    analyzer.observe(&Event::new(0, consumer, Kind::Receive { message: 1 }));
    analyzer.observe(&Event::new(0, consumer, write("config.current")));

    // Requests that run now, with a message that orders two of them.
    let next = 100 + calls;
    let [a, b, sender, receiver] = [0, 1, 2, 3].map(|i| ThreadId::from_raw(next + i));
    request(&mut analyzer, a, 1, "stats.hits");
    request(&mut analyzer, b, 2, "stats.hits");
    request(&mut analyzer, sender, 3, "orders.next");
    analyzer.observe(&Event::new(0, sender, Kind::Send { message: 2 }));
    analyzer.observe(&Event::new(0, receiver, Kind::Receive { message: 2 }));
    request(&mut analyzer, receiver, 4, "orders.next");

    let report = analyzer.report();
    let race = |variable: &str| report.races.iter().find(|race| race.variable == variable);
    assert!(
        race("config.current").is_some_and(|race| race.uncertain),
        "{report}"
    );
    assert!(
        race("stats.hits").is_some_and(|race| !race.uncertain),
        "requests that started after the forgotten edge compare with certainty: {report}"
    );
    assert!(race("orders.next").is_none(), "{report}");
    assert!(report.summary.maybe_lost_edges >= 1);
    assert!(
        report
            .caveats()
            .iter()
            .any(|caveat| caveat.contains("found no edge")),
        "{report}"
    );
}
