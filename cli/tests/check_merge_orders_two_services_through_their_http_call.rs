//! `raceway check --merge` analyzes two services' captures as one recording: the gateway's
//! write before its call is ordered with the ledger's read by the HTTP request, so only the two
//! `order.version` writes race. Each capture alone shows nothing, and `--html` draws the HTTP
//! edge.

mod common;

use std::time::Duration;

use common::{capture, file_with, raceway, scratch};
use raceway_core::event::Direction;
use raceway_core::{Access, Event, Kind, ThreadId, Value};

fn access(variable: &'static str, access: Access) -> Kind {
    Kind::StateChange {
        variable: variable.into(),
        access,
        old: Value::None,
        new: Value::I64(1),
    }
}

fn request(direction: Direction) -> Kind {
    Kind::HttpRequest {
        method: "POST",
        url: Value::None,
        direction,
        span: 0x5eed,
    }
}

#[test]
fn check_merge_orders_two_services_through_their_http_call() {
    // Both services number their threads from 1; the ledger's clock runs 50 ms behind.
    let t1 = ThreadId::from_raw(1);
    let ms = 1_000_000;
    let gateway = capture(&[
        Event::new(100 * ms, t1, access("order.status", Access::Write)),
        Event::new(101 * ms, t1, request(Direction::Outbound)),
        Event::new(102 * ms, t1, access("order.version", Access::Write)),
    ]);
    let ledger = capture(&[
        Event::new(60 * ms, t1, request(Direction::Inbound)),
        Event::new(61 * ms, t1, access("order.status", Access::Read)),
        Event::new(62 * ms, t1, access("order.version", Access::Write)),
    ]);
    let gateway = file_with("merge-gateway.rwcap", &gateway);
    let ledger = file_with("merge-ledger.rwcap", &ledger);
    let html = scratch("merge-report.html");
    let (gateway, ledger, html) = (
        gateway.to_str().unwrap(),
        ledger.to_str().unwrap(),
        html.to_str().unwrap(),
    );
    let limit = Duration::from_secs(60);

    let apart = raceway(&["check", gateway, ledger], None, limit);
    assert_eq!(apart.status, 0, "each capture alone has no race: {apart:?}");

    let merged = raceway(
        &["check", "--merge", "--html", html, gateway, ledger],
        None,
        limit,
    );
    assert_eq!(merged.status, 1, "{merged:?}");
    assert!(merged.stdout.contains("1 data race found"), "{merged:?}");
    assert!(
        merged.stdout.contains("race on `order.version`"),
        "{merged:?}"
    );
    assert!(!merged.stdout.contains("order.status`"), "{merged:?}");
    assert!(merged.stdout.contains("ledger t1 Write"), "{merged:?}");
    assert!(
        merged.stdout.contains("merge-gateway t1 Write"),
        "{merged:?}"
    );

    let page = std::fs::read_to_string(html).unwrap();
    assert_eq!(page.matches("class=\"edge http\"").count(), 1, "{page}");
    assert!(page.contains("merge-ledger · thread t1"), "{page}");
}
