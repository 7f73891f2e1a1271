//! Context guards dropped out of order (the way a guard held across an `.await` ends up dropped
//! after a guard another task entered later) each end only their own context: the one still
//! entered stays current, and the misuse is counted. (Each guard used to restore whatever was
//! current when it was entered, so the wrong context became current and later calls recorded
//! into a request that had finished.)

use raceway::sink::MemorySink;
use raceway::{Client, Config, Context};

#[test]
fn guards_dropped_out_of_order_end_only_their_own_context() {
    let (sink, _captured) = MemorySink::new(1000);
    let client = Client::new(Config::default(), sink).unwrap();
    let (a, b) = (client.start_trace(), client.start_trace());
    let before = client.stats().misordered_guards;

    let guard_a = a.enter();
    let guard_b = b.enter();
    drop(guard_a); // out of order: b stays current
    assert_eq!(
        Context::current().map(|ctx| ctx.thread_id()),
        Some(b.thread_id())
    );
    assert_eq!(client.stats().misordered_guards, before + 1);
    drop(guard_b); // nothing is current any more, not a
    assert!(Context::current().is_none());

    // In order, nothing is counted.
    {
        let _outer = a.enter();
        let _inner = b.enter();
    }
    assert!(Context::current().is_none());
    assert_eq!(client.stats().misordered_guards, before + 1);
}
