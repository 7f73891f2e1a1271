//! The tracked tokio `Mutex` and `RwLock` record the acquire when `.await` returns the guard and
//! the release when it drops, in the task's context, so holders on different worker threads are
//! ordered through the lock, across `.await`s, and an access outside the lock still races.

mod analyzed;

use std::sync::Arc;

use analyzed::{racing, Analyzed};
use raceway::sync::tokio::{Mutex, RwLock};
use raceway::{FutureExt, Kind, LockKind};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn holders_are_ordered_and_an_unlocked_access_races() {
    let run = Analyzed::new();
    let request = run.client.start_trace();
    let stock = Arc::new(Mutex::named("stock", 0u32));
    let prices = Arc::new(RwLock::named("prices", 0u32));
    async {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let (stock, prices) = (Arc::clone(&stock), Arc::clone(&prices));
                raceway::task::spawn(async move {
                    for _ in 0..5 {
                        let mut held = stock.lock().await;
                        let old = *held;
                        tokio::task::yield_now().await; // held across an await
                        *held += 1;
                        raceway::track_write("stock.count", old, *held);
                        drop(held);
                        let mut price = prices.write().await;
                        *price += 1;
                        raceway::track_write("prices.table", *price - 1, *price);
                        drop(price);
                        let price = prices.read().await;
                        raceway::track_read("prices.table", *price);
                        drop(price);
                        raceway::track_write("audit.count", 0, 1); // no lock held
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.await.unwrap();
        }
    }
    .in_context(request.clone())
    .await;

    let (events, report) = run.finish();
    assert_eq!(racing(&report), ["audit.count"], "{report}");
    assert_eq!(stock.try_lock().map(|held| *held).ok(), Some(20));
    // Every acquire is followed by its release in the same logical thread, with nothing of
    // another lock's in between for the mutex.
    let acquires = events
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                Kind::LockAcquire {
                    lock,
                    lock_kind: LockKind::Mutex
                } if lock == "stock"
            )
        })
        .count();
    let releases = events
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                Kind::LockRelease {
                    lock,
                    lock_kind: LockKind::Mutex
                } if lock == "stock"
            )
        })
        .count();
    assert_eq!((acquires, releases), (20, 20));
    for (kind, count) in [(LockKind::RwRead, 20), (LockKind::RwWrite, 20)] {
        let taken = events
            .iter()
            .filter(|e| matches!(e.kind, Kind::LockAcquire { lock, lock_kind } if lock_kind == kind && lock == "prices"))
            .count();
        assert_eq!(taken, count);
    }
}
