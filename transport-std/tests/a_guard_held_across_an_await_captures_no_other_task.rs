//! A context guard held across an `.await` on a current-thread runtime (`#[tokio::test]`'s
//! default, `block_on`, `LocalSet`) stays entered while other tasks run on the same thread.
//! They used to record into it: another task's accesses joined that request's logical thread and
//! looked ordered with it, which hides races. Now a context belongs to the task that entered
//! it: the other tasks get no context (counted), and their own `in_context` still works.

mod analyzed;

use analyzed::Analyzed;
use raceway::{FutureExt, Kind};

#[test]
fn a_guard_held_across_an_await_captures_no_other_task() {
    let run = Analyzed::new();
    let (a, b) = (run.client.start_trace(), run.client.start_trace());
    let before = run.client.stats();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let tasks = tokio::task::LocalSet::new();
    tasks.block_on(&runtime, async {
        let holder = tokio::task::spawn_local({
            let a = a.clone();
            async move {
                let _guard = a.enter(); // the misuse: held across the await below
                raceway::track_write("a.own", 0, 1);
                tokio::task::yield_now().await;
                raceway::track_write("a.own", 1, 2);
            }
        });
        let other = tokio::task::spawn_local(async move {
            // Runs while `holder` waits, on the same thread, with `a` still entered.
            raceway::track_write("other.untracked", 0, 1);
            async { raceway::track_write("b.own", 0, 1) }
                .in_context(b.clone())
                .await;
        });
        holder.await.unwrap();
        other.await.unwrap();
    });
    drop(a.clone());

    let (events, _report) = run.finish();
    let written_by = |variable: &str| -> Vec<_> {
        events
            .iter()
            .filter(|event| {
                matches!(&event.kind, Kind::StateChange { variable: v, .. } if *v == variable)
            })
            .map(|event| event.thread)
            .collect()
    };
    assert_eq!(written_by("a.own"), [a.thread_id(), a.thread_id()]);
    assert_eq!(written_by("b.own").len(), 1);
    assert_ne!(written_by("b.own")[0], a.thread_id());
    assert!(
        written_by("other.untracked").is_empty(),
        "recorded into a's context"
    );
    let after = run.client.stats();
    assert!(after.guards_of_other_tasks > before.guards_of_other_tasks);
    assert!(after.untracked > before.untracked);
}
