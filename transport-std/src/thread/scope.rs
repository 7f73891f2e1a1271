//! `std::thread::scope` whose workers are children of the current context.

use std::fmt;
use std::panic::Location;
use std::sync::{Arc, Mutex, PoisonError};

use raceway_core::{Kind, ThreadId};

use crate::context::{with_current, Context};

/// Runs `f` with a [`Scope`] for spawning borrowing threads, like [`std::thread::scope`]: every
/// worker runs in a [child](Context::child) of the current context (a spawn edge), and when
/// the scope ends — after std has waited for every worker — a join is recorded for each worker
/// not joined by hand. Without a current context it is a plain `std::thread::scope`.
///
/// # Panics
///
/// As [`std::thread::scope`]: if a worker panicked and was not joined by hand (no joins are
/// recorded then).
///
/// # Examples
///
/// ```
/// use raceway::sink::MemorySink;
/// use raceway::{Client, Config};
///
/// let (sink, _captured) = MemorySink::new(1000);
/// let client = Client::new(Config::default(), sink)?;
/// let _entered = client.start_trace().enter();
///
/// let mut totals = [0u64; 2];
/// raceway::thread::scope(|s| {
///     for (i, total) in totals.iter_mut().enumerate() {
///         s.spawn(move || {
///             raceway::track_write(if i == 0 { "totals.0" } else { "totals.1" }, 0, 7);
///             *total = 7;
///         });
///     }
/// }); // both joins recorded here
/// assert_eq!(totals, [7, 7]);
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&Scope<'scope, 'env>) -> T,
{
    let location = Location::caller();
    let parent = Context::current();
    let unjoined: Unjoined = Arc::default();
    let result = std::thread::scope(|inner| {
        f(&Scope {
            inner,
            parent: parent.clone(),
            unjoined: Arc::clone(&unjoined),
        })
    });
    // std has waited for every worker: each one's events happen before what follows.
    if let Some(parent) = &parent {
        let unjoined =
            std::mem::take(&mut *unjoined.lock().unwrap_or_else(PoisonError::into_inner));
        for child in unjoined {
            parent.record_at(Kind::Join { child }, location);
        }
    }
    result
}

/// The workers not joined by hand yet, joined at the end of the scope.
type Unjoined = Arc<Mutex<Vec<ThreadId>>>;

/// Spawns workers in a [`scope`]. Unlike [`std::thread::Scope`] it is lent to the scope's
/// closure only, so workers cannot spawn siblings through it.
pub struct Scope<'scope, 'env: 'scope> {
    inner: &'scope std::thread::Scope<'scope, 'env>,
    parent: Option<Context>,
    unjoined: Unjoined,
}

impl<'scope> Scope<'scope, '_> {
    /// Spawns a worker that may borrow from outside the scope, in a child of the scope's
    /// context.
    #[track_caller]
    pub fn spawn<F, T>(&self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        // A direct call, not a closure, so that the spawn edge carries the caller's location.
        #[allow(clippy::manual_map)]
        let child = match &self.parent {
            Some(parent) => Some(parent.child()),
            None => None,
        };
        let child_thread = child.as_ref().map(Context::thread_id);
        if let Some(thread) = child_thread {
            self.unjoined
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(thread);
        }
        let inner = self.inner.spawn(move || super::run_in(child, f));
        ScopedJoinHandle {
            inner,
            child: child_thread,
            unjoined: Arc::clone(&self.unjoined),
        }
    }
}

impl fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("parent", &self.parent.as_ref().map(Context::thread_id))
            .finish_non_exhaustive()
    }
}

/// A worker of a [`scope`]; joining it by hand records the join in the joining context.
pub struct ScopedJoinHandle<'scope, T> {
    inner: std::thread::ScopedJoinHandle<'scope, T>,
    child: Option<ThreadId>,
    unjoined: Unjoined,
}

impl<T> ScopedJoinHandle<'_, T> {
    /// Waits for the worker to finish, then records the join (the scope's end then has
    /// nothing left to record for it).
    #[track_caller]
    pub fn join(self) -> std::thread::Result<T> {
        let location = Location::caller();
        let result = self.inner.join();
        if let Some(child) = self.child {
            self.unjoined
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|&unjoined| unjoined != child);
            with_current(|ctx| ctx.record_at(Kind::Join { child }, location));
        }
        result
    }

    /// The worker's std thread.
    pub fn thread(&self) -> &std::thread::Thread {
        self.inner.thread()
    }

    /// Whether the worker has finished.
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }
}

impl<T> fmt::Debug for ScopedJoinHandle<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedJoinHandle")
            .field("thread", self.inner.thread())
            .field("child", &self.child)
            .finish()
    }
}
