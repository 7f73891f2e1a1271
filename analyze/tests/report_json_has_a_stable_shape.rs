use raceway_analyze::report::JSON_VERSION;
use raceway_analyze::Analyzer;
use raceway_core::{Access, Event, Kind, ThreadId, Value};
use serde_json::Value as Json;

fn keys(object: &Json) -> Vec<&str> {
    let mut keys: Vec<&str> = object
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[test]
fn report_json_has_a_stable_shape() {
    let (a, b) = (ThreadId::from_raw(3), ThreadId::from_raw(4));
    let access = |access, new| Kind::StateChange {
        variable: "cache.len".into(),
        access,
        old: Value::None,
        new,
    };
    let events = [
        Event::new(0, a, access(Access::Read, Value::U64(1))),
        Event::dropped(5),
        Event::new(0, b, access(Access::Write, Value::Bool(true))),
    ];
    let json: Json = serde_json::from_str(&Analyzer::analyze(&events).to_json()).unwrap();

    assert_eq!(json["version"], JSON_VERSION);
    assert_eq!(keys(&json), ["races", "summary", "version"]);
    let summary = &json["summary"];
    assert_eq!(
        keys(summary),
        [
            "capped_locksets",
            "capped_reads",
            "clock_overflow",
            "dropped_events",
            "events",
            "evicted_threads",
            "first_drop_after",
            "forgotten_accesses",
            "forgotten_variables",
            "hashed_names",
            "lost_edges",
            "maybe_lost_edges",
            "races_not_kept",
            "threads",
            "uncertain_events",
            "variables",
        ]
    );
    assert_eq!(summary["events"], 2);
    assert_eq!(summary["dropped_events"], 5);
    assert_eq!(summary["first_drop_after"], 1);
    assert_eq!(summary["uncertain_events"], 1);

    let race = &json["races"][0];
    assert_eq!(
        keys(race),
        [
            "count",
            "earlier",
            "later",
            "severity",
            "uncertain",
            "variable"
        ]
    );
    assert_eq!(race["variable"], "cache.len");
    assert_eq!(race["severity"], "WARNING");
    assert_eq!(race["uncertain"], true, "the write came after the drop");
    let earlier = &race["earlier"];
    assert_eq!(
        keys(earlier),
        ["access", "column", "event", "file", "line", "new", "old", "source", "thread"]
    );
    assert_eq!(earlier["thread"], 3);
    assert_eq!(earlier["access"], "Read");
    assert_eq!(earlier["old"], Json::Null);
    assert_eq!(earlier["new"], 1);
    assert_eq!(earlier["event"], 0);
    assert_eq!(earlier["file"], file!());
    assert!(earlier["source"].as_str().unwrap().contains("Access::Read"));
    assert_eq!(race["later"]["new"], true);
    assert_eq!(race["later"]["event"], 1);
}
