//! `std::thread::spawn` that carries the context: the new thread runs in a
//! [child](crate::Context::child) of the spawner's current context (a spawn edge), and joining
//! it records a join edge.
//!
//! Without a current context it is a plain `std::thread::spawn`. [`scope`] does the same for
//! scoped threads, joining every worker at the end of the scope.
//!
//! # Examples
//!
//! ```
//! use raceway::sink::MemorySink;
//! use raceway::{Client, Config};
//!
//! let (sink, _captured) = MemorySink::new(1000);
//! let client = Client::new(Config::default(), sink)?;
//! let _entered = client.start_trace().enter();
//!
//! let parent = raceway::Context::current().unwrap();
//! let handle = raceway::thread::spawn(move || {
//!     // A child of the spawner's context: same trace, its own logical thread.
//!     let ctx = raceway::Context::current().unwrap();
//!     raceway::track_write("report.rows", 0, 10);
//!     (ctx.trace_id(), ctx.thread_id())
//! });
//! let (trace, thread) = handle.join().unwrap(); // records the join
//! assert_eq!(trace, parent.trace_id());
//! assert_ne!(thread, parent.thread_id());
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::panic::Location;

use raceway_core::{Kind, ThreadId};

use crate::context::Context;

mod scope;

pub use scope::{scope, Scope, ScopedJoinHandle};

/// Spawns an OS thread running `f` in a child of the current context.
#[track_caller]
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let parent = Context::current();
    // A direct call, not a function passed to `map`, so that the spawn edge carries the
    // caller's location.
    #[allow(clippy::manual_map)]
    let child = match &parent {
        Some(parent) => Some(parent.child()),
        None => None,
    };
    let child_thread = child.as_ref().map(Context::thread_id);
    let inner = std::thread::spawn(move || run_in(child, f));
    JoinHandle {
        inner,
        parent,
        child_thread,
    }
}

/// Runs `f` in `child` (if any), then drops this last handle of it, so that its `ThreadEnd` is
/// recorded before whoever waits for `f` can see it finish.
pub(crate) fn run_in<R>(child: Option<Context>, f: impl FnOnce() -> R) -> R {
    match child {
        Some(child) => {
            let result = child.run(f);
            drop(child);
            result
        }
        None => f(),
    }
}

/// An owned permission to join a thread from [`spawn`]; joining records the join edge in the
/// context that spawned it.
pub struct JoinHandle<T> {
    inner: std::thread::JoinHandle<T>,
    parent: Option<Context>,
    child_thread: Option<ThreadId>,
}

impl<T> JoinHandle<T> {
    /// Waits for the thread to finish, then records the join.
    #[track_caller]
    pub fn join(self) -> std::thread::Result<T> {
        let location = Location::caller();
        let result = self.inner.join();
        if let (Some(parent), Some(child)) = (&self.parent, self.child_thread) {
            parent.record_at(Kind::Join { child }, location);
        }
        result
    }

    /// The underlying std thread.
    pub fn thread(&self) -> &std::thread::Thread {
        self.inner.thread()
    }

    /// Whether the thread has finished.
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("thread", self.inner.thread())
            .field("child", &self.child_thread)
            .finish()
    }
}
