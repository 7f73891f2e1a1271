//! A finished run joins a clock's ranges once the clock has seen its last access. But a join is
//! a point too: the joined child's accesses are ordered through the joiner's entry at the join.
//! A parent that released a lock, then spawned and joined a child, was taken as completely
//! known by a clock that had only seen the release, which hid the child's race with the lock's
//! next holder.

use raceway_core::causality::HappensBefore;
use raceway_core::{Access, Event, Kind, LockKind, ThreadId, Value};

fn write(variable: &'static str) -> Kind {
    Kind::StateChange {
        variable: variable.into(),
        access: Access::Write,
        old: Value::None,
        new: Value::I64(1),
    }
}

#[test]
fn a_join_after_the_last_access_is_not_known_early() {
    let (parent, child, next) = (
        ThreadId::from_raw(1),
        ThreadId::from_raw(2),
        ThreadId::from_raw(3),
    );
    let (lock, lock_kind) = ("config".into(), LockKind::Mutex);
    // A small clock, so that it retires finished runs as soon as it joins anything.
    let mut hb = HappensBefore::<8>::new();
    let mut record = |thread, kind| hb.observe(&Event::new(0, thread, kind));

    record(parent, write("parent.state"));
    record(parent, Kind::LockAcquire { lock, lock_kind });
    record(parent, Kind::LockRelease { lock, lock_kind });
    record(parent, Kind::Spawn { child });
    let child_write = record(child, write("shared")).stamp().unwrap();
    record(child, Kind::ThreadEnd);
    record(parent, Kind::Join { child });
    record(parent, Kind::ThreadEnd);

    // Takes the lock after the parent's release only: the child ran after that release.
    record(next, Kind::LockAcquire { lock, lock_kind });
    record(next, write("shared"));

    let clock = hb.clock(next).unwrap();
    assert!(
        !hb.happens_before(child_write, clock),
        "the child's write is not ordered before the lock's next holder: {clock:?}"
    );
}
