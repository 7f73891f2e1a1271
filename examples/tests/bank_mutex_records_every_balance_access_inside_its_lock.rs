//! `bank --mutex` records every access to a balance while that balance's lock is held — the
//! final reads included — so the Raceway server, which rebuilds lock sets from the
//! `LockAcquire`/`LockRelease` events around each access, sees every access protected and
//! reports no race (reads recorded after the guard was dropped made it report 80).

mod common;

use std::time::Duration;

use raceway_examples::bank;
use raceway_test_receiver::TestReceiver;

#[test]
fn every_balance_access_is_sent_inside_its_lock() {
    let receiver = TestReceiver::start();
    let client = common::client_for(&receiver, "bank");
    bank::run(&client, bank::Locking::Mutex);
    let report = client.shutdown(Duration::from_secs(10));
    assert_eq!(report.undelivered, 0, "{report:?}");

    let accesses: Vec<_> = receiver
        .events()
        .into_iter()
        .filter(|e| e["kind"].get("StateChange").is_some())
        .collect();
    // Each teller: a read and a write per account per transfer; then three final reads.
    assert_eq!(accesses.len() as i64, 2 * 2 * 2 * bank::TRANSFERS + 3);
    for access in &accesses {
        let variable = access["kind"]["StateChange"]["variable"].as_str().unwrap();
        let lock = variable.strip_suffix(".balance").unwrap();
        assert!(
            access["lock_set"]
                .as_array()
                .unwrap()
                .iter()
                .any(|held| held == lock),
            "{variable} accessed outside {lock}: {access}"
        );
    }
}
