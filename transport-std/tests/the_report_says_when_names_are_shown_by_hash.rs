//! When the name table is full, a race on a variable whose text was forgotten is still found,
//! shown by hash, and the report says why its name looks like that.

mod common;

use std::time::Duration;

use raceway::raceway_core::name;

#[test]
fn the_report_says_when_names_are_shown_by_hash() {
    let (client, analysis) = common::analyzed_client();
    common::fill_name_table();
    // Known only at run time, so the names are built and interned (not folded into literals).
    let order = std::hint::black_box(7);
    let job = client.start_trace();
    job.run(|| {
        let worker = raceway::thread::spawn(move || {
            raceway::track_write(format_args!("orders.{order}.state"), 0, 1);
        });
        raceway::track_write(format_args!("orders.{order}.state"), 0, 2);
        worker.join().unwrap();
    });
    drop(job);
    client.shutdown(Duration::from_secs(10));
    let report = analysis.report();
    assert_eq!(report.races.len(), 1, "{report}");
    let shown = format!("#{:016x}", name::hash("orders.7.state"));
    assert_eq!(report.races[0].variable, shown, "{report}");
    let text = report.to_string();
    assert!(text.contains("shown by hash"), "{text}");
}
