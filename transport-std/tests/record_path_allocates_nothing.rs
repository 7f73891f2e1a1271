//! With literal names and scalar values, tracking through the std API allocates nothing: a
//! counting global allocator sees no allocation on the recording thread.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use raceway::sync::Mutex;
use raceway::{Access, LockKind};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: defers to the system allocator; counting touches only a const-initialised
// thread-local `Cell`, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

static LOCK: Mutex<u64> = Mutex::named("counter-lock", 0);

fn track_everything(ctx: &raceway::Context, i: u64) {
    raceway::track_write("counter", i, i + 1);
    raceway::track_read("counter", i);
    raceway::track_state_change("counter", Access::AtomicRmw, i, i + 1);
    raceway::track_function_call("step", i);
    raceway::track_custom("tick", true);
    raceway::track_lock_acquire("manual", LockKind::Mutex);
    raceway::track_lock_release("manual", LockKind::Mutex);
    raceway::track_error("Timeout", "short");
    ctx.track_write("counter", i, i + 1);
    let value = raceway::track_function("work", || i * 2);
    *LOCK.lock().unwrap() += value;
    LOCK.with_lock(|v| *v += 1);
}

#[test]
fn tracking_with_static_names_and_scalars_never_allocates() {
    let (client, captured) = common::client();
    let ctx = client.start_trace();
    let _entered = ctx.enter();
    // Warm up: the thread's lane lease, thread-local registration and the lazily derived
    // state happen once per thread.
    track_everything(&ctx, 0);

    let before = allocations();
    for i in 1..1000 {
        track_everything(&ctx, i);
    }
    let after = allocations();
    assert_eq!(after - before, 0, "the record path allocated");

    // The counter works: a formatted dynamic name on a fresh string does allocate here.
    let before = allocations();
    raceway::track_write(String::from("dynamic"), 0, 1);
    assert!(allocations() > before);

    client.flush(Duration::from_secs(10)).unwrap();
    assert!(captured.events().len() > 10_000);
}
