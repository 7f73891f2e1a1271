//! Futures that carry a context across `.await` and across executor threads.
//!
//! [`FutureExt::in_context`] wraps a future so that every poll enters the context, whichever
//! worker thread polls it: one task, one logical thread, with no dependency on any runtime.
//! Concurrent branches of one request must be distinct logical threads:
//!
//! * for branches polled *by the request's own task* (`join!`, `select!`, a `FuturesUnordered`),
//!   wrap each in [`Context::branch`]: a child context with a spawn edge, and a join edge recorded
//!   in the parent when the branch completes;
//! * for a task handed to an executor (`tokio::spawn`), give it `fut.in_context(ctx.child())`
//!   and call [`Context::join`] after awaiting its handle (or never, if it runs detached).
//!
//! # Examples
//!
//! ```
//! use std::future::Future;
//! use std::pin::pin;
//! use std::sync::Arc;
//! use std::task::{Context as TaskContext, Poll, Wake, Waker};
//! use raceway::future::FutureExt;
//! use raceway::sink::MemorySink;
//! use raceway::{Client, Config, Context};
//!
//! let (sink, _captured) = MemorySink::new(1000);
//! let client = Client::new(Config::default(), sink)?;
//! let request = client.start_trace();
//!
//! let task = async { Context::current().map(|ctx| ctx.thread_id()) }.in_context(request.clone());
//! struct Noop;
//! impl Wake for Noop {
//!     fn wake(self: Arc<Self>) {}
//! }
//! let waker = Waker::from(Arc::new(Noop));
//! let mut task = pin!(task);
//! let poll = task.as_mut().poll(&mut TaskContext::from_waker(&waker));
//! assert_eq!(poll, Poll::Ready(Some(request.thread_id())));
//! assert!(Context::current().is_none()); // only entered while polled
//! # Ok::<(), std::io::Error>(())
//! ```

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{self, Poll};

use raceway_core::Kind;

use crate::context::Context;

pin_project_lite::pin_project! {
    /// A future that enters its context on every poll. From [`FutureExt::in_context`] or
    /// [`Context::branch`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Instrumented<F> {
        #[pin]
        inner: F,
        context: Option<Context>,
        // For a branch: the parent that records the join when the branch completes or is
        // dropped.
        join_into: Option<(Context, &'static Location<'static>)>,
    }

    impl<F> PinnedDrop for Instrumented<F> {
        // A branch dropped before it completed (the losing arm of a `select!`) ran only inside
        // the parent's task, so all it did happened before the parent goes on: a join.
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let (Some((parent, location)), Some(child)) = (this.join_into.take(), this.context.take()) {
                parent.join_at(child, location);
            }
        }
    }
}

impl<F> Instrumented<F> {
    /// The context the future runs in (`None` once a branch has completed).
    pub fn context(&self) -> Option<&Context> {
        self.context.as_ref()
    }
}

impl<F: Future> Future for Instrumented<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let poll = match this.context {
            Some(ctx) => {
                let _entered = ctx.enter();
                this.inner.poll(cx)
            }
            None => this.inner.poll(cx),
        };
        if poll.is_ready() {
            if let Some((parent, location)) = this.join_into.take() {
                if let Some(child) = this.context.take() {
                    parent.join_at(child, location);
                }
            }
        }
        poll
    }
}

/// Adds [`in_context`](FutureExt::in_context) to every future.
pub trait FutureExt: Future + Sized {
    /// Polls this future with `ctx` entered, on whatever thread polls it.
    fn in_context(self, ctx: Context) -> Instrumented<Self> {
        Instrumented {
            inner: self,
            context: Some(ctx),
            join_into: None,
        }
    }
}

impl<F: Future> FutureExt for F {}

impl Context {
    /// A concurrent branch of this logical thread: `fut` runs in a [child](Context::child)
    /// context (spawn edge now), and when it completes the child ends and this context records
    /// the join. Poll it from this context's own task (`join!`, `select!`); for executor tasks
    /// see the [module docs](crate::future).
    #[track_caller]
    pub fn branch<F: Future>(&self, fut: F) -> Instrumented<F> {
        let location = Location::caller();
        Instrumented {
            inner: fut,
            context: Some(self.child()),
            join_into: Some((self.clone(), location)),
        }
    }

    pub(crate) fn join_at(&self, child: Context, location: &'static Location<'static>) {
        let thread = child.thread_id();
        drop(child);
        self.record_at(Kind::Join { child: thread }, location);
    }
}
