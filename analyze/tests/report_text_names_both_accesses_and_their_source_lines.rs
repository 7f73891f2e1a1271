use raceway_analyze::Analyzer;
use raceway_core::{Access, Event, Kind, ThreadId, Value};

fn balance(access: Access, old: i64, new: i64) -> Kind {
    Kind::StateChange {
        variable: "accounts.alice.balance".into(),
        access,
        old: Value::I64(old),
        new: Value::I64(new),
    }
}

#[test]
fn report_text_names_both_accesses_and_their_source_lines() {
    let (a, b) = (ThreadId::from_raw(1), ThreadId::from_raw(2));
    let first_line = line!() + 2;
    let events = [
        Event::new(0, a, balance(Access::Write, 100, 70)), // the first write
        Event::new(0, b, balance(Access::Write, 100, 120)), // the second write
    ];
    let text = Analyzer::analyze(&events).to_string();

    assert!(
        text.starts_with("1 data race found (2 events, 2 threads, 1 variable)"),
        "{text}"
    );
    assert!(
        text.contains("CRITICAL: write/write race on `accounts.alice.balance`"),
        "{text}"
    );
    assert!(
        text.contains(&format!("t1 Write at {}:{first_line}:", file!())),
        "{text}"
    );
    assert!(
        text.contains(&format!("t2 Write at {}:{}:", file!(), first_line + 1)),
        "{text}"
    );
    assert!(
        text.contains("(100 -> 70)") && text.contains("(100 -> 120)"),
        "{text}"
    );
    // The source is readable from the test's working directory: its lines are quoted.
    assert!(
        text.contains("| ") && text.contains("// the first write"),
        "{text}"
    );
    assert!(text.contains("// the second write"), "{text}");
    assert!(!text.contains("warning"), "{text}");
}

#[test]
fn report_text_says_when_nothing_was_found() {
    let a = ThreadId::from_raw(1);
    let text = Analyzer::analyze(&[Event::new(0, a, balance(Access::Read, 0, 1))]).to_string();
    assert_eq!(
        text,
        "no data races found (1 event, 1 thread, 1 variable)\n"
    );
}
