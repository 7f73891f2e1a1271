//! Under tokio's multi-thread runtime, a future wrapped with `in_context` records every event in
//! its one logical thread whichever worker polls it, and concurrent branches of one request are
//! distinct logical threads with spawn and join edges.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use raceway::future::FutureExt;
use raceway::{Context, Kind};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_task_is_one_logical_thread_across_awaits_and_workers() {
    let (client, captured) = common::client();
    let request = client.start_trace();
    let child = request.child();
    let child_thread = child.thread_id();
    let task = tokio::spawn(
        async {
            let mut workers = HashSet::new();
            for i in 0..20 {
                workers.insert(std::thread::current().id());
                raceway::track_write("task.step", i, i + 1);
                tokio::time::sleep(Duration::from_millis(1)).await;
                tokio::task::yield_now().await;
            }
            (workers.len(), Context::current().map(|c| c.thread_id()))
        }
        .in_context(child),
    );
    let (workers, seen) = task.await.unwrap();
    assert_eq!(seen, Some(child_thread));
    let events = common::drained(&client, &captured);
    let steps: Vec<_> = events
        .iter()
        .filter(|e| e.kind.variable().is_some_and(|v| v == "task.step"))
        .collect();
    assert_eq!(steps.len(), 20);
    assert!(steps.iter().all(|e| e.thread == child_thread));
    // Not required for correctness, but shows the test exercised migration when it happened.
    eprintln!("the task ran on {workers} worker thread(s)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_branches_are_distinct_logical_threads() {
    let (client, captured) = common::client();
    let request = client.start_trace();
    let parent = request.thread_id();
    let branch = |name: &'static str| async move {
        for i in 0..5 {
            raceway::track_write(name, i, i + 1);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Context::current().unwrap().thread_id()
    };
    let (a, b) = async {
        let ctx = Context::current().unwrap();
        tokio::join!(
            ctx.branch(branch("branch.a")),
            ctx.branch(branch("branch.b"))
        )
    }
    .in_context(request.clone())
    .await;
    assert_ne!(a, b);
    assert_ne!(a, parent);
    let events = common::drained(&client, &captured);
    for (name, thread) in [("branch.a", a), ("branch.b", b)] {
        assert!(events
            .iter()
            .filter(|e| e.kind.variable().is_some_and(|v| v == name))
            .all(|e| e.thread == thread));
    }
    let parent_kinds = common::kinds_of(&events, parent);
    for child in [a, b] {
        assert!(parent_kinds.contains(&Kind::Spawn { child }));
        assert!(parent_kinds.contains(&Kind::Join { child }));
        // The branch ended before its join was recorded.
        let end = events
            .iter()
            .position(|e| e.thread == child && e.kind == Kind::ThreadEnd);
        let join = events.iter().position(|e| e.kind == Kind::Join { child });
        assert!(end.unwrap() < join.unwrap());
    }
}
