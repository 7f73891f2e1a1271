//! The bank's HTML race report, written by the local analyzer at shutdown, rendered by a real
//! browser: per race both tellers' lanes, both racing accesses with their source lines, the
//! spawn edges that do exist, and the missing ordering in words. Also saves a screenshot.

mod browser;

use std::time::Duration;

use raceway::analysis::AnalyzerSink;
use raceway::{Client, Config};
use raceway_examples::bank::{self, Locking};

#[test]
fn the_bank_race_report_shows_both_tellers_in_a_browser() {
    let Some(chromium) = browser::chromium() else {
        return;
    };
    let dir = browser::scratch("bank-report");
    let page = dir.join("bank.html");
    let (sink, analysis) = AnalyzerSink::new();
    let config = Config::builder().service_name("bank").build().unwrap();
    let client = Client::new(config, sink.quiet().html_report(&page, "bank")).unwrap();
    bank::run(&client, Locking::None);
    assert!(!client.shutdown(Duration::from_secs(10)).timed_out);
    let report = analysis.report();
    assert!(!report.races.is_empty(), "{report}");

    let dom = browser::dom(&chromium, &page);
    // The page's script ran in the browser and counted the races it shows.
    let body = browser::tags(&dom, "<body")[0];
    let shown = report.races.len().to_string();
    assert_eq!(
        browser::attribute(body, "data-ready"),
        Some(&*shown),
        "{body}"
    );

    let sections: Vec<&str> = dom.split("<section class=\"race\"").skip(1).collect();
    assert_eq!(sections.len(), report.races.len());
    for (section, race) in sections.iter().zip(&report.races) {
        let accesses = browser::tags(section, "<g class=\"access\"");
        let seen: Vec<(Option<&str>, Option<&str>)> = accesses
            .iter()
            .map(|tag| {
                (
                    browser::attribute(tag, "data-thread"),
                    browser::attribute(tag, "data-line"),
                )
            })
            .collect();
        let expected = |access: &raceway_analyze::RaceAccess| {
            (access.thread.to_string(), access.line.to_string())
        };
        let (earlier, later) = (expected(&race.earlier), expected(&race.later));
        assert_eq!(
            seen,
            [
                (Some(&*earlier.0), Some(&*earlier.1)),
                (Some(&*later.0), Some(&*later.1))
            ],
            "{section}"
        );
        // Two tellers and the thread that spawned both: two spawn arrows, nothing else
        // orders them.
        assert_eq!(
            browser::tags(section, "<g class=\"lane\"").len(),
            3,
            "{section}"
        );
        assert_eq!(
            browser::tags(section, "<path class=\"edge spawn\"").len(),
            2,
            "{section}"
        );
        assert_eq!(browser::tags(section, "<path class=\"edge").len(), 2);
        let missing = format!(
            "nothing orders {}'s {} at bank.rs:{}",
            race.earlier.thread,
            if race.earlier.access.is_write() {
                "write"
            } else {
                "read"
            },
            race.earlier.line
        );
        assert!(section.contains(&missing), "{missing:?} in {section}");
    }

    let png = dir.join("bank.png");
    browser::screenshot(&chromium, &page, &png, 1200, 900);
    if let Some(keep) = std::env::var_os("RACEWAY_SCREENSHOT") {
        std::fs::copy(&png, keep).expect("the screenshot can be kept");
    }
}
