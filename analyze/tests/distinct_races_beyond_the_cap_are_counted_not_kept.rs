use raceway_analyze::Analyzer;
use raceway_core::symbol::Interner;
use raceway_core::{Access, Event, Kind, ThreadId, Value};

#[test]
fn distinct_races_beyond_the_cap_are_counted_not_kept() {
    static NAMES: Interner<16, 256> = Interner::new();
    let mut analyzer = Analyzer::with_max_races(3);
    for i in 0..5 {
        let variable = NAMES.intern_fmt(format_args!("v{i}")).unwrap().as_str();
        for thread in [1, 2] {
            analyzer.observe(&Event::new(
                0,
                ThreadId::from_raw(thread),
                Kind::StateChange {
                    variable: variable.into(),
                    access: Access::Write,
                    old: Value::None,
                    new: Value::None,
                },
            ));
        }
    }
    let report = analyzer.report();
    assert_eq!(report.races.len(), 3);
    assert_eq!(report.summary.races_not_kept, 2);
    assert!(
        report
            .to_string()
            .contains("2 race occurrences were not kept"),
        "{report}"
    );
}
