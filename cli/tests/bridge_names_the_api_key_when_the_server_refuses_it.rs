//! A refused API key stops the bridge with exit status 3 and one message about the key, which
//! never shows the key itself.

mod common;

use std::time::Duration;

use raceway_test_receiver::{ReceiverConfig, TestReceiver};

use common::{bank, file_with, raceway, raw_stream};

#[test]
fn a_wrong_key_is_named_once_and_never_printed() {
    let mut config = ReceiverConfig::default();
    config.api_key = Some("the-right-key".into());
    let receiver = TestReceiver::with_config(config);
    let path = file_with("wrong-key.bin", &raw_stream(&bank(false).events));

    let run = raceway(
        &[
            "bridge",
            "-i",
            path.to_str().unwrap(),
            "--server",
            &receiver.url(),
            "--api-key",
            "wrong-key-s3cr3t",
        ],
        None,
        Duration::from_secs(30),
    );

    assert_eq!(run.status, 3, "{run:?}");
    assert_eq!(
        run.stderr.matches("refused the API key").count(),
        1,
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("RACEWAY_API_KEY"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("s3cr3t") && !run.stdout.contains("s3cr3t"),
        "{run:?}"
    );
    assert!(receiver.events().is_empty());
    assert_eq!(receiver.requests().len(), 1, "a refused key is not retried");
}
