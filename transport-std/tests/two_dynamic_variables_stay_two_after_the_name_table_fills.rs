//! After more distinct dynamic names than the name table holds, two different variables are
//! still two variables: writes to `cart.1.total` and `cart.2.total` from two threads are no race.

mod common;

use std::time::Duration;

#[test]
fn two_dynamic_variables_stay_two_after_the_name_table_fills() {
    let (client, analysis) = common::analyzed_client();
    common::fill_name_table();
    // Known only at run time, so the names are built and interned (not folded into literals).
    let (first, second) = std::hint::black_box((1, 2));
    let job = client.start_trace();
    job.run(|| {
        let worker = raceway::thread::spawn(move || {
            raceway::track_write(format_args!("cart.{first}.total"), 0, 10);
        });
        raceway::track_write(format_args!("cart.{second}.total"), 0, 20);
        worker.join().unwrap();
    });
    drop(job);
    client.shutdown(Duration::from_secs(10));
    let report = analysis.report();
    assert!(report.races.is_empty(), "{report}");
    assert_eq!(report.summary.variables, 2, "{report}");
}
