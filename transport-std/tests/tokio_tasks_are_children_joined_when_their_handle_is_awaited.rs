//! `raceway::task::spawn` and `spawn_blocking` run the task in a child context (spawn edge) and
//! record the join when the handle is awaited — also when the task panicked or was cancelled,
//! since tokio drops the task's future before the handle yields. A dropped handle records no
//! join, so the detached task's writes really race with the spawner's later ones.

mod analyzed;

use std::time::Duration;

use analyzed::{racing, Analyzed};
use raceway::{FutureExt, Kind};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_awaited_task_happens_before_what_follows_the_await() {
    let run = Analyzed::new();
    let request = run.client.start_trace();
    let (task_thread, blocking_thread) = async {
        let task = raceway::task::spawn(async {
            for i in 0..10 {
                raceway::track_write("order.total", i, i + 1);
                tokio::task::yield_now().await;
            }
        });
        let blocking = raceway::task::spawn_blocking(|| raceway::track_write("order.items", 0, 3));
        let ids = (task.thread_id().unwrap(), blocking.thread_id().unwrap());
        task.await.unwrap();
        blocking.await.unwrap();
        raceway::track_write("order.total", 10, 0);
        raceway::track_read("order.items", 3);
        ids
    }
    .in_context(request.clone())
    .await;

    let (events, report) = run.finish();
    assert_eq!(racing(&report), Vec::<String>::new(), "{report}");
    let parent = analyzed_kinds(&events, request.thread_id());
    for child in [task_thread, blocking_thread] {
        let spawn = parent.iter().position(|k| *k == Kind::Spawn { child });
        let join = parent.iter().position(|k| *k == Kind::Join { child });
        assert!(spawn.unwrap() < join.unwrap(), "{parent:?}");
        // The child's logical thread ended before its join was recorded.
        let end = events
            .iter()
            .position(|e| e.thread == child && e.kind == Kind::ThreadEnd)
            .unwrap();
        let joined = events
            .iter()
            .position(|e| e.thread == request.thread_id() && e.kind == Kind::Join { child })
            .unwrap();
        assert!(end < joined);
    }
    assert!(events
        .iter()
        .filter(
            |e| e.kind.variable() == Some("order.items".into()) && e.thread != request.thread_id()
        )
        .all(|e| e.thread == blocking_thread));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_or_panicked_task_is_still_ordered_before_the_await() {
    let run = Analyzed::new();
    let request = run.client.start_trace();
    async {
        let (written, wait) = tokio::sync::oneshot::channel();
        let stuck = raceway::task::spawn(async move {
            raceway::track_write("cart.state", 0, 1);
            written.send(()).unwrap();
            std::future::pending::<()>().await;
        });
        wait.await.unwrap();
        stuck.abort();
        assert!(stuck.await.unwrap_err().is_cancelled());

        let panicking = raceway::task::spawn(async {
            raceway::track_write("cart.owner", 0, 1);
            panic!("the task fails after its write");
        });
        assert!(panicking.await.unwrap_err().is_panic());

        raceway::track_write("cart.state", 1, 2);
        raceway::track_write("cart.owner", 1, 2);
    }
    .in_context(request.clone())
    .await;

    let (events, report) = run.finish();
    assert_eq!(racing(&report), Vec::<String>::new(), "{report}");
    let joins = analyzed_kinds(&events, request.thread_id())
        .into_iter()
        .filter(|k| matches!(k, Kind::Join { .. }))
        .count();
    assert_eq!(joins, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_handle_records_no_join_and_its_task_races() {
    let run = Analyzed::new();
    let request = run.client.start_trace();
    let (done, finished) = std::sync::mpsc::channel();
    async {
        drop(raceway::task::spawn(async move {
            raceway::track_write("session.token", 0, 1);
            done.send(()).unwrap();
        }));
        raceway::track_write("session.token", 0, 2);
    }
    .in_context(request.clone())
    .await;
    finished.recv_timeout(Duration::from_secs(10)).unwrap();

    let (events, report) = run.finish();
    assert_eq!(racing(&report), ["session.token"], "{report}");
    assert!(!analyzed_kinds(&events, request.thread_id())
        .iter()
        .any(|k| matches!(k, Kind::Join { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_context_a_task_runs_untracked() {
    let handle = raceway::task::spawn(async { 7 });
    assert_eq!(handle.thread_id(), None);
    assert_eq!(handle.await.unwrap(), 7);
}

fn analyzed_kinds(events: &[raceway::Event], thread: raceway::ThreadId) -> Vec<Kind> {
    events
        .iter()
        .filter(|e| e.thread == thread)
        .map(|e| e.kind)
        .collect()
}
