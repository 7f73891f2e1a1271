//! `RACEWAY_REPORT=FILE` (or `Config::html_report`) has the local analyzer write its race report
//! as an HTML page at shutdown, even with a server configured (it turns local analysis on).

use std::time::Duration;

use raceway::{Client, Config};

#[test]
fn raceway_report_writes_an_html_race_report_at_shutdown() {
    let path = std::env::temp_dir().join(format!("raceway-report-{}.html", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let value = path.to_str().unwrap().to_owned();
    let config = Config::builder()
        .service_name("bank")
        .with_env_from(|name| (name == "RACEWAY_REPORT").then(|| value.clone()))
        .build()
        .unwrap();
    assert_eq!(config.html_report(), Some(path.as_path()));
    assert!(config.local_analysis());

    let client = Client::from_config(config).unwrap();
    client.start_trace().run(|| {
        let worker = raceway::thread::spawn(|| raceway::track_write("balance", 100, 80));
        raceway::track_write("balance", 100, 130); // not ordered with the worker's write
        worker.join().unwrap();
    });
    client.shutdown(Duration::from_secs(10));

    let page = std::fs::read_to_string(&path).expect("the report was written at shutdown");
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(page.contains("<title>Raceway: bank</title>"), "{page}");
    assert_eq!(page.matches("<g class=\"access\"").count(), 2, "{page}");
    assert!(page.contains("race on <code>balance</code>"), "{page}");
    let _ = std::fs::remove_file(&path);

    // A server URL alone turns local analysis off; asking for the report turns it back on.
    let config = Config::builder()
        .server_url("http://127.0.0.1:9")
        .html_report(&path)
        .build()
        .unwrap();
    assert!(config.local_analysis());
}
