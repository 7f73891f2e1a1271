//! Contexts: which trace and which logical thread the code running now belongs to.
//!
//! A [`Context`] is what Go's `context.Context` carries for Raceway: the trace, the span, and a
//! logical thread of its own (one vector clock component). Each OS thread has a *current*
//! context, and every tracking call records into it. A context is a cheap handle (`Clone`,
//! `Send`, `Sync`): move it to another thread and [`enter`](Context::enter) it there, or wrap a
//! future with [`in_context`](crate::future::FutureExt::in_context) so every poll enters it.
//!
//! * [`Client::start_trace`](crate::Client::start_trace) starts a trace by hand; the middleware
//!   and [`Client::continue_trace`](crate::Client::continue_trace) continue one from headers.
//! * [`Context::child`] starts a new logical thread in the same trace with a spawn edge (one per
//!   concurrent branch, thread or task), and [`Context::join`] records that it was waited for.
//!   [`Context::detach`] is the same edge for background work nobody waits for.
//! * A context records [`Kind::TraceStart`] as its logical thread's first event and
//!   [`Kind::ThreadEnd`] when its last handle is dropped.
//!
//! Two concurrent pieces of code must never share one context: their events would look like one
//! thread's program order and hide exactly the races Raceway looks for. Give each a child.
//!
//! # Examples
//!
//! ```
//! use raceway::sink::MemorySink;
//! use raceway::{Client, Config};
//!
//! let (sink, _captured) = MemorySink::new(1000);
//! let client = Client::new(Config::default(), sink)?;
//! let request = client.start_trace();
//! let _entered = request.enter();
//! raceway::track_read("cart.items", 3);
//!
//! // A worker thread gets its own logical thread in the same trace.
//! let worker = request.child();
//! let handle = std::thread::spawn({
//!     let worker = worker.clone();
//!     move || worker.run(|| raceway::track_write("cart.items", 3, 4))
//! });
//! handle.join().unwrap();
//! request.join(worker);
//! assert_eq!(raceway::Context::current().unwrap().trace_id(), request.trace_id());
//! # Ok::<(), std::io::Error>(())
//! ```

use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;
use std::panic::Location;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use raceway_core::symbol::Symbol;
use raceway_core::trace_context::{SpanId, TraceFlags, TraceId, TraceState};
use raceway_core::{Kind, ThreadId, Value};

use crate::record::LastLane;
use crate::shared::{Shared, MISORDERED, OTHER_TASKS, UNTRACKED};

/// A trace as seen by this service: shared by every logical thread working on it.
#[derive(Debug)]
pub(crate) struct Trace {
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    pub(crate) upstream: Option<String>,
    pub(crate) flags: TraceFlags,
    pub(crate) state: TraceState,
    /// Clock entries received from upstream services, passed on in outbound `raceway-clock`s.
    pub(crate) remote_clock: Vec<(Symbol, u64)>,
    pub(crate) distributed: bool,
}

impl Trace {
    /// A new trace started here: random trace and span ids, not distributed.
    pub(crate) fn fresh() -> Trace {
        Trace {
            trace_id: crate::ids::trace_id(),
            span_id: crate::ids::span_id(),
            upstream: None,
            flags: TraceFlags::SAMPLED,
            state: TraceState::new(),
            remote_clock: Vec::new(),
            distributed: false,
        }
    }
}

/// A trace and a logical thread of it. See the [module docs](self).
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    thread: ThreadId,
    last_lane: LastLane,
    trace: Arc<Trace>,
    /// The deepest remote event this logical thread (or its spawner, before the spawn) hangs
    /// from, as declared by the headers that named it ([`Kind::RemoteParent`]); 0 with none.
    /// The exchange ends it exports are declared [`EXCHANGE_DEPTH_SPAN`] deeper, which the
    /// encoder keeps true because it tracks the same maximum.
    ///
    /// [`EXCHANGE_DEPTH_SPAN`]: raceway_transport_http::EXCHANGE_DEPTH_SPAN
    link_depth: AtomicU32,
    /// Where the context was made: the location of its `ThreadEnd`.
    site: &'static Location<'static>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shared
            .recorder
            .end(self.thread, self.site, &self.last_lane);
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("thread", &self.inner.thread)
            .field("trace_id", &self.inner.trace.trace_id)
            .field("span_id", &self.inner.trace.span_id)
            .field("upstream_span", &self.inner.trace.upstream)
            .field("distributed", &self.inner.trace.distributed)
            .finish()
    }
}

thread_local! {
    /// The contexts entered on this thread, innermost last: a guard dropped out of order
    /// removes its own entry and leaves the others current.
    static CURRENT: RefCell<Vec<Current>> = const { RefCell::new(Vec::new()) };
    static NEXT_GUARD: Cell<u64> = const { Cell::new(0) };
}

/// One entered context.
struct Current {
    /// Its guard's number.
    guard: u64,
    /// The tokio task that entered it (none outside tasks): only that task records into it.
    task: Task,
    context: Context,
}

/// A tokio task, or none (outside tasks, and always without the `tokio` feature).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Task(#[cfg(feature = "tokio")] Option<tokio::task::Id>);

impl Task {
    /// The task running now.
    #[inline]
    fn current() -> Task {
        Task(
            #[cfg(feature = "tokio")]
            tokio::task::try_id(),
        )
    }
}

/// Records `kind` into the current context, or counts the call as untracked when there is none.
#[inline]
pub(crate) fn record_current(kind: Kind, location: &'static Location<'static>) {
    if with_current(|ctx| ctx.record_at(kind, location)).is_none() {
        no_context();
    }
}

/// Runs `f` with the current context, if there is one. A context entered by another tokio task
/// is not this task's: its guard is held across an `.await` while this task runs on the same
/// thread, so this task has no context (counted in
/// [`Stats::guards_of_other_tasks`](crate::Stats::guards_of_other_tasks)).
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Context) -> R) -> Option<R> {
    CURRENT
        .try_with(|current| {
            let current = current.borrow();
            let entered = current.last()?;
            if entered.task != Task::current() {
                held_across_await();
                return None;
            }
            Some(f(&entered.context))
        })
        .ok()
        .flatten()
}

#[cold]
fn held_across_await() {
    if OTHER_TASKS.fetch_add(1, Ordering::Relaxed) == 0 {
        log::warn!(
            target: "raceway",
            "a context entered by another tokio task is current here: its guard is held across \
             an .await. This task records nothing into it; use FutureExt::in_context for futures"
        );
    }
}

/// The caller's span as [`Kind::TraceStart`] carries it: a W3C span id as its number, any other
/// text (other SDKs send e.g. `parent-span-1111`) interned verbatim. Left out, and counted in
/// [`Stats::names_overflowed`](crate::Stats::names_overflowed), when the name table is full.
fn upstream_value(upstream: Option<&str>) -> Value {
    let Some(span) = upstream else {
        return Value::None;
    };
    match SpanId::parse_hex16(span) {
        Ok(id) => Value::U64(crate::ids::span_number(id)),
        Err(_) => crate::names::symbol(span).map_or(Value::None, Value::Str),
    }
}

#[cold]
pub(crate) fn no_context() {
    if UNTRACKED.fetch_add(1, Ordering::Relaxed) == 0 {
        log::warn!(
            target: "raceway",
            "a tracking call ran with no current context and recorded nothing: start a trace \
             (Client::start_trace), use the middleware, or enter a context on this thread/task"
        );
    }
}

impl Context {
    /// Starts a logical thread of `trace`: a fresh one ([`Trace::fresh`]) or one continued
    /// from headers ([`Incoming::trace`](crate::propagation::Incoming::trace)), hung from the
    /// caller's request event `parent_event` (and how deep that may be) when they named one.
    #[track_caller]
    pub(crate) fn start(
        shared: Arc<Shared>,
        trace: Trace,
        parent_event: Option<([u8; 16], u32)>,
    ) -> Context {
        let site = Location::caller();
        let ctx = Context::on_new_thread(shared, Arc::new(trace), site, 0);
        let trace = &ctx.inner.trace;
        ctx.record_at(
            Kind::TraceStart {
                trace_id: trace.trace_id,
                span_id: trace.span_id,
                upstream: upstream_value(trace.upstream.as_deref()),
            },
            site,
        );
        for &(component, counter) in &trace.remote_clock {
            ctx.record_at(Kind::RemoteClock { component, counter }, site);
        }
        if let Some((event, depth)) = parent_event {
            ctx.hang_from(event, depth, site);
        }
        ctx
    }

    fn on_new_thread(
        shared: Arc<Shared>,
        trace: Arc<Trace>,
        site: &'static Location<'static>,
        link_depth: u32,
    ) -> Context {
        let thread = shared.recorder.new_thread();
        Context {
            inner: Arc::new(Inner {
                shared,
                thread,
                last_lane: LastLane::new(),
                trace,
                link_depth: AtomicU32::new(link_depth),
                site,
            }),
        }
    }

    /// Records that this logical thread's next event continues from the remote `event`, at
    /// most `depth` deep (the caller's request for a callee, the callee's response for a
    /// caller), so the Raceway server sees the ordering.
    pub(crate) fn hang_from(&self, event: [u8; 16], depth: u32, site: &'static Location<'static>) {
        self.inner.link_depth.fetch_max(depth, Ordering::Relaxed);
        self.record_at(Kind::RemoteParent { event, depth }, site);
    }

    /// How deep an exchange end this logical thread records now is declared to be.
    pub(crate) fn exchange_depth(&self) -> u32 {
        self.inner.link_depth.load(Ordering::Relaxed) + raceway_transport_http::EXCHANGE_DEPTH_SPAN
    }

    /// The context current on this thread, if any.
    pub fn current() -> Option<Context> {
        with_current(Context::clone)
    }

    /// Makes this context current on this thread until the guard is dropped. Guards belong
    /// in scopes and are dropped in the reverse order of entering; one dropped out of order
    /// still ends only its own context (the rest stay current as they were), and is counted in
    /// [`Stats::misordered_guards`](crate::Stats::misordered_guards). Do not hold a guard across
    /// an `.await`; use [`FutureExt::in_context`](crate::FutureExt::in_context) for futures.
    /// With the `tokio` feature a context belongs to the task that entered it: other tasks
    /// polled on this thread while the guard is held do not record into it (they are counted
    /// in [`Stats::guards_of_other_tasks`](crate::Stats::guards_of_other_tasks)).
    pub fn enter(&self) -> Entered {
        let id = NEXT_GUARD
            .try_with(|next| {
                let id = next.get();
                next.set(id + 1);
                id
            })
            .unwrap_or(u64::MAX);
        let _ = CURRENT.try_with(|current| {
            current.borrow_mut().push(Current {
                guard: id,
                task: Task::current(),
                context: self.clone(),
            })
        });
        Entered {
            id,
            _not_send: PhantomData,
        }
    }

    /// Runs `f` with this context current, restoring the previous one afterwards (also on panic).
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        let _entered = self.enter();
        f()
    }

    /// A new logical thread in the same trace, for a concurrent branch, thread or task: records
    /// a spawn edge here, then the child's [`Kind::TraceStart`]. Join it with [`Context::join`].
    #[track_caller]
    pub fn child(&self) -> Context {
        let site = Location::caller();
        let child = Context::on_new_thread(
            Arc::clone(&self.inner.shared),
            Arc::clone(&self.inner.trace),
            site,
            self.inner.link_depth.load(Ordering::Relaxed),
        );
        self.record_at(
            Kind::Spawn {
                child: child.inner.thread,
            },
            site,
        );
        child.record_at(
            Kind::TraceStart {
                trace_id: self.inner.trace.trace_id,
                span_id: self.inner.trace.span_id,
                upstream: Value::None,
            },
            site,
        );
        child
    }

    /// A new logical thread for background work that outlives this one (a request): the same
    /// trace, with a spawn edge, and nobody joins it. Move it to the worker and enter it there.
    #[track_caller]
    pub fn detach(&self) -> Context {
        self.child()
    }

    /// Records that this logical thread waited for `child` to finish: everything `child`
    /// recorded happens before what this one records next. Takes the handle, so that the child
    /// ends (if this was its last handle) before the join is recorded.
    #[track_caller]
    pub fn join(&self, child: Context) {
        let thread = child.inner.thread;
        drop(child);
        self.record(Kind::Join { child: thread });
    }

    /// Records `kind` in this context at the caller's location.
    #[track_caller]
    #[inline]
    pub fn record(&self, kind: Kind) {
        self.record_at(kind, Location::caller());
    }

    /// Records `kind` in this context at an explicit location.
    #[inline]
    pub fn record_at(&self, kind: Kind, location: &'static Location<'static>) {
        let inner = &*self.inner;
        inner
            .shared
            .recorder
            .record(inner.thread, kind, location, &inner.last_lane);
    }

    /// This context's logical thread.
    pub fn thread_id(&self) -> ThreadId {
        self.inner.thread
    }

    /// The trace id.
    pub fn trace_id(&self) -> TraceId {
        self.inner.trace.trace_id
    }

    /// This service's span in the trace (`distributed_span_id` on the wire).
    pub fn span_id(&self) -> SpanId {
        self.inner.trace.span_id
    }

    /// The caller's span when the trace came from another service.
    pub fn upstream_span(&self) -> Option<&str> {
        self.inner.trace.upstream.as_deref()
    }

    /// The W3C trace flags, passed on to downstream services.
    pub fn flags(&self) -> TraceFlags {
        self.inner.trace.flags
    }

    /// The W3C `tracestate` received, passed on unchanged.
    pub fn trace_state(&self) -> &TraceState {
        &self.inner.trace.state
    }

    /// Whether the trace was continued from another service's headers.
    pub fn is_distributed(&self) -> bool {
        self.inner.trace.distributed
    }

    /// The vector clock this service passes on: the entries received from upstream, then its
    /// own `service#instance` entry.
    pub fn clock(&self) -> Vec<(String, u64)> {
        let own = &self.inner.shared.component;
        let mut own_counter = self.inner.shared.recorder.lanes().tickets();
        let mut clock: Vec<(String, u64)> =
            Vec::with_capacity(self.inner.trace.remote_clock.len() + 1);
        for &(component, counter) in &self.inner.trace.remote_clock {
            if component.as_str() == own {
                own_counter = own_counter.max(counter.saturating_add(1));
            } else {
                clock.push((component.as_str().to_owned(), counter));
            }
        }
        clock.push((own.clone(), own_counter));
        clock
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.inner.shared
    }

    pub(crate) fn trace(&self) -> &Trace {
        &self.inner.trace
    }
}

/// Keeps a context current; restores the previous one when dropped. Not `Send`: it belongs to
/// the thread that entered.
pub struct Entered {
    /// Its entry in this thread's stack of current contexts.
    id: u64,
    _not_send: PhantomData<*const ()>,
}

impl fmt::Debug for Entered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entered").finish_non_exhaustive()
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let left = CURRENT
            .try_with(|current| {
                let mut current = current.borrow_mut();
                let position = current.iter().rposition(|entered| entered.guard == self.id)?;
                if position + 1 != current.len() && MISORDERED.fetch_add(1, Ordering::Relaxed) == 0
                {
                    log::warn!(
                        target: "raceway",
                        "a context guard was dropped before one entered after it (held across \
                         an .await, or moved out of its scope?): each guard ends only its own context"
                    );
                }
                Some(current.remove(position).context)
            })
            .ok()
            .flatten();
        // Dropped outside the borrow: this may be the last handle and record `ThreadEnd`.
        drop(left);
    }
}
