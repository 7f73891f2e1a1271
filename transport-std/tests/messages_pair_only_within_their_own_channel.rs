//! Two channels that both number their messages from 1 never pair one's send with the other's
//! receipt. (Message ids were bare numbers: a receive on channel `a` took the newer send of
//! channel `b` with the same number, which ordered a real race away.)

use std::time::Duration;

use raceway::analysis::AnalyzerSink;
use raceway::{Client, Config};

#[test]
fn messages_pair_only_within_their_own_channel() {
    let (sink, analysis) = AnalyzerSink::new();
    let client = Client::new(Config::default(), sink.quiet()).unwrap();
    let root = client.start_trace();
    let (producer_a, producer_b, consumer) = (root.child(), root.child(), root.child());

    producer_a.run(|| raceway::track_send("orders", 1));
    producer_b.run(|| {
        raceway::track_write("inventory.count", 5, 4);
        raceway::track_send("refunds", 1);
    });
    consumer.run(|| {
        raceway::track_receive("orders", 1); // from producer A: says nothing about B's write
        raceway::track_write("inventory.count", 5, 6);
    });
    drop((producer_a, producer_b, consumer, root));
    client.shutdown(Duration::from_secs(5));

    let report = analysis.report();
    assert_eq!(report.races.len(), 1, "{report}");
    assert_eq!(report.races[0].variable, "inventory.count");
    assert!(!report.races[0].uncertain);
}
