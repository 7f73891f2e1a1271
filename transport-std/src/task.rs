//! `tokio::spawn` and `spawn_blocking` that carry the context (feature `tokio`).
//!
//! [`spawn`] runs the future in a [child](crate::Context::child) of the spawner's current
//! context (a spawn edge), and awaiting the returned [`JoinHandle`] records the join in the
//! context that awaits it. Without these, every task needs three hand steps
//! (`in_context(ctx.child())`, keeping the child, `ctx.join(child)` after the await), and a
//! forgotten join makes everything the task did look concurrent with what follows the await:
//! false races.
//!
//! # What a join means here
//!
//! The join is recorded whenever the handle yields, whatever it yields: `Ok`, a panic, or
//! cancellation (`abort`, runtime shutdown). tokio drops a task's future before it completes the
//! handle, in every one of these cases, so everything the task recorded really happened before
//! the awaiter goes on. A handle that is dropped, or never awaited, records nothing: the task
//! runs on detached, and its events stay unordered with the spawner's later ones, as they really
//! are. Nothing else is recorded on `abort` itself, because aborting orders nothing: the task may
//! still be running.
//!
//! The join goes to the context current where the handle is awaited (the one that waited), at
//! the `spawn` call's location. Without a current context at the spawn the task runs untracked,
//! exactly as `tokio::spawn`.
//!
//! # Examples
//!
//! ```
//! use raceway::sink::MemorySink;
//! use raceway::{Client, Config, FutureExt};
//!
//! let (sink, _captured) = MemorySink::new(1000);
//! let client = Client::new(Config::default(), sink)?;
//! let runtime = tokio::runtime::Builder::new_multi_thread().build()?;
//! let request = client.start_trace();
//!
//! let total = runtime.block_on(
//!     async {
//!         let price = raceway::task::spawn(async {
//!             raceway::track_write("cart.price", 0, 40); // in a child context
//!             40
//!         });
//!         let shipping = raceway::task::spawn_blocking(|| 2);
//!         price.await.unwrap() + shipping.await.unwrap() // each await records a join
//!     }
//!     .in_context(request.clone()),
//! );
//! assert_eq!(total, 42);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{self, Poll};

use raceway_core::{Kind, ThreadId};

use crate::context::{with_current, Context};

/// Spawns `future` on the current tokio runtime in a child of the current context.
///
/// # Panics
///
/// Outside a tokio runtime, as `tokio::spawn` does.
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let location = Location::caller();
    let child = child_of_current();
    let child_thread = child.as_ref().map(Context::thread_id);
    let inner = tokio::spawn(InChild {
        inner: future,
        child,
    });
    JoinHandle {
        inner,
        child: child_thread,
        location,
    }
}

/// Runs `f` on tokio's blocking thread pool in a child of the current context.
///
/// # Panics
///
/// Outside a tokio runtime, as `tokio::task::spawn_blocking` does.
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let location = Location::caller();
    let child = child_of_current();
    let child_thread = child.as_ref().map(Context::thread_id);
    let inner = tokio::task::spawn_blocking(move || crate::thread::run_in(child, f));
    JoinHandle {
        inner,
        child: child_thread,
        location,
    }
}

/// A child of the current context, if there is one, with the spawn edge at the caller's location.
#[track_caller]
fn child_of_current() -> Option<Context> {
    // A direct call, not a closure, so that the spawn edge carries the caller's location.
    #[allow(clippy::manual_map)]
    match Context::current() {
        Some(parent) => Some(parent.child()),
        None => None,
    }
}

pin_project_lite::pin_project! {
    /// A task's future, polled in its child context, which ends as soon as the future is done
    /// (or dropped, if the task is cancelled): before tokio completes the handle.
    struct InChild<F> {
        #[pin]
        inner: F,
        child: Option<Context>,
    }
}

impl<F: Future> Future for InChild<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let poll = match this.child {
            Some(child) => {
                let _entered = child.enter();
                this.inner.poll(cx)
            }
            None => this.inner.poll(cx),
        };
        if poll.is_ready() {
            // Ends the child's logical thread (if this was its last handle) now, not whenever
            // tokio gets round to dropping the finished future.
            *this.child = None;
        }
        poll
    }
}

/// A [`tokio::task::JoinHandle`] that records the join when awaited. See the
/// [module docs](self) for what is recorded on cancellation and drop.
#[must_use = "a dropped handle detaches the task: its events stay unordered with later ones"]
pub struct JoinHandle<T> {
    inner: tokio::task::JoinHandle<T>,
    child: Option<ThreadId>,
    location: &'static Location<'static>,
}

impl<T> JoinHandle<T> {
    /// Asks the task to stop (see [`tokio::task::JoinHandle::abort`]). Records nothing: the
    /// join, if the handle is awaited, is what orders the task's events.
    pub fn abort(&self) {
        self.inner.abort();
    }

    /// Whether the task has finished.
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// The task's logical thread, if it was spawned in a context.
    pub fn thread_id(&self) -> Option<ThreadId> {
        self.child
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Self::Output> {
        let poll = Pin::new(&mut self.inner).poll(cx);
        if poll.is_ready() {
            if let Some(child) = self.child.take() {
                // Completed, panicked or cancelled: tokio dropped the task's future first.
                with_current(|ctx| ctx.record_at(Kind::Join { child }, self.location));
            }
        }
        poll
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("child", &self.child)
            .field("finished", &self.inner.is_finished())
            .finish()
    }
}
