//! The losing arm of a `select!` is dropped without completing. It ran only inside the parent's
//! own task, so everything it recorded happened before the parent goes on: dropping a branch
//! records its join. (It used to record nothing, and the parent's next access was a false race.)

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Wake, Waker};
use std::time::Duration;

use raceway::analysis::AnalyzerSink;
use raceway::{Client, Config};

struct Noop;
impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

/// A future that writes `variable` on its first poll and is pending forever after.
async fn write_then_wait(variable: &'static str) {
    raceway::track_write(variable, 0, 1);
    std::future::pending::<()>().await;
}

#[test]
fn a_cancelled_branch_still_orders_the_parents_next_access() {
    let (sink, analysis) = AnalyzerSink::new();
    let client = Client::new(Config::default(), sink.quiet()).unwrap();
    let request = client.start_trace();
    request.run(|| {
        let ctx = raceway::Context::current().unwrap();
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = TaskContext::from_waker(&waker);
        {
            // select! { _ = winner => .., _ = loser => .. }: both polled, the winner completes,
            // the loser is dropped.
            let mut winner = pin!(ctx.branch(async { raceway::track_write("cart.total", 0, 2) }));
            let mut loser = pin!(ctx.branch(write_then_wait("cart.items")));
            assert!(loser.as_mut().poll(&mut cx).is_pending());
            assert!(winner.as_mut().poll(&mut cx).is_ready());
        }
        raceway::track_write("cart.items", 1, 0);
        raceway::track_write("cart.total", 2, 0);
    });
    drop(request);
    client.shutdown(Duration::from_secs(5));
    let report = analysis.report();
    assert!(report.races.is_empty(), "{report}");
    assert!(report.summary.events > 6, "{report}");
}
