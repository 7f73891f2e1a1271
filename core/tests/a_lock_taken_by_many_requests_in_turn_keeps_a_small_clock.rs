//! A service's locks are each taken by request after request, and the holders of one lock are
//! far apart among all the runs, so a lock's clock could not keep them as a few ranges of
//! finished runs: it grew by one range per holder until it had to forget. A finished holder
//! whose every access was made under the lock is now stood for by the lock's own component
//! (the hand-over that released it), so the clock sheds it, and the holder's accesses stay
//! ordered through their stamps.

use raceway_core::causality::HappensBefore;
use raceway_core::{Access, Event, Kind, LockKind, Name, ThreadId, Value};

fn write(variable: Name) -> Kind {
    Kind::StateChange {
        variable,
        access: Access::Write,
        old: Value::None,
        new: Value::I64(1),
    }
}

#[test]
fn a_lock_taken_by_many_requests_in_turn_keeps_a_small_clock() {
    const LOCKS: u32 = 1_000;
    const ROUNDS: u32 = 100;
    let lock_kind = LockKind::Mutex;
    let lock_name = |k: u32| Name::forgotten(u64::from(k));
    let mut hb = HappensBefore::new();
    let record = |hb: &mut HappensBefore, thread: u32, kind| {
        hb.observe(&Event::new(0, ThreadId::from_raw(thread), kind))
    };

    // A thread that runs all along and never takes the locks.
    let bystander = 1;
    record(&mut hb, bystander, write("bystander.started".into()));

    let mut first_write = None;
    for request in 0..LOCKS * ROUNDS {
        let (thread, lock) = (10 + request, lock_name(request % LOCKS));
        record(&mut hb, thread, Kind::LockAcquire { lock, lock_kind });
        let observed = record(&mut hb, thread, write(lock));
        first_write.get_or_insert(observed);
        record(&mut hb, thread, Kind::LockRelease { lock, lock_kind });
        record(&mut hb, thread, Kind::ThreadEnd);
    }
    let first_write = first_write.and_then(|o| o.stamp()).unwrap();
    assert!(first_write.held.is_some(), "made under lock 0: stamped");

    let later = 5;
    record(
        &mut hb,
        later,
        Kind::LockAcquire {
            lock: lock_name(0),
            lock_kind,
        },
    );
    record(
        &mut hb,
        later,
        Kind::LockRelease {
            lock: lock_name(0),
            lock_kind,
        },
    );
    let clock = hb.clock(ThreadId::from_raw(later)).unwrap();
    assert!(
        clock.len() <= 16 && clock.ranges() == 0,
        "{ROUNDS} holders of the lock, one clock of {} entries and {} ranges: {clock:?}",
        clock.len(),
        clock.ranges()
    );

    // The first holder is gone from the clock, and its write is still ordered before it.
    assert!(!hb.happens_before(first_write.epoch, clock));
    assert!(hb.happens_before(first_write, clock));
    assert!(!hb.may_have_forgotten(first_write, clock));

    // What no lock orders stays unordered, and nothing says it might not be.
    let unlocked = record(&mut hb, bystander, write("bystander.done".into()));
    let clock = hb.clock(ThreadId::from_raw(later)).unwrap();
    let unlocked = unlocked.stamp().unwrap();
    assert!(!hb.happens_before(unlocked, clock));
    assert!(!hb.may_have_forgotten(unlocked, clock));
    assert!(!hb.uncertain() && !hb.overflowed());
}
