//! `raceway check a b c` decodes each file with its own decoder state: three valid captures of
//! 3 000 distinct names each (9 000 together, more than one decoder keeps) all pass together,
//! as each passes alone.

mod common;

use std::time::Duration;

use common::{capture, file_with, raceway};
use raceway_core::{Access, Event, Kind, ThreadId, Value};

/// A capture in which one thread writes 3 000 different variables: no race.
fn names_capture(file: usize) -> Vec<u8> {
    let events: Vec<Event> = (0..3000u64)
        .map(|i| {
            let variable: &'static str = Box::leak(format!("file{file}.variable{i}").into());
            let kind = Kind::StateChange {
                variable: variable.into(),
                access: Access::Write,
                old: Value::None,
                new: Value::U64(i),
            };
            Event::new(i, ThreadId::from_raw(1), kind)
        })
        .collect();
    capture(&events)
}

#[test]
fn three_captures_of_3000_names_pass_together() {
    let paths: Vec<String> = (0..3)
        .map(|file| {
            let path = file_with(&format!("names-{file}.rwcap"), &names_capture(file));
            path.to_str().unwrap().to_owned()
        })
        .collect();
    let mut args = vec!["check"];
    args.extend(paths.iter().map(String::as_str));
    let run = raceway(&args, None, Duration::from_secs(120));
    assert_eq!(run.status, 0, "{run:?}");
    assert!(!run.stderr.contains("damaged"), "{}", run.stderr);
    assert_eq!(
        run.stdout.matches("(3000 events").count(),
        3,
        "{}",
        run.stdout
    );
}
