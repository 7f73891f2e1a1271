//! Text from the network never goes into the table that names variables and locks: 200
//! requests, each carrying 64 distinct `raceway-clock` components, leave later dynamic names
//! exactly as they would have been.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use raceway::names::IntoName;
use raceway::propagation::{extract, MAX_CLOCK_ENTRIES};

fn hostile_header(request: usize) -> String {
    let padding = "x".repeat(70);
    let clock: Vec<String> = (0..MAX_CLOCK_ENTRIES)
        .map(|j| format!(r#"["hostile.{request}.{j}.{padding}",1]"#))
        .collect();
    let json = format!(
        r#"{{"trace_id":"0af76519-16cd-43dd-8448-eb211c80319c","span_id":"b7ad6b7169203331","clock":[{}]}}"#,
        clock.join(",")
    );
    format!("v1;{}", URL_SAFE_NO_PAD.encode(json))
}

#[test]
fn hostile_clock_components_do_not_change_later_names() {
    let (client, _captured) = common::client();
    for request in 0..200 {
        let incoming = extract(&[("raceway-clock", hostile_header(request))]);
        assert!(
            incoming.is_distributed(),
            "request {request} was not accepted"
        );
        let ctx = client.continue_trace(&incoming);
        ctx.track_write("handled", 0, 1);
    }
    for account in 0..100 {
        let name = format_args!("accounts.{account}.balance").into_name();
        assert_eq!(name.to_string(), format!("accounts.{account}.balance"));
    }
}
