//! The tracking API: every method the Go SDK has, recording into a context.
//!
//! Each method exists twice: as a free function that records into the [current
//! context](crate::Context::current) (`raceway::track_write(…)`), and as a method of
//! [`Context`] for code that holds one explicitly. With no current context a free function
//! records nothing and counts the call in [`Stats::untracked`](crate::Stats::untracked).
//!
//! Names are [`IntoName`] (string literals are free, dynamic names are interned), values are
//! anything `Into<Value>` (integers, floats, bools, `Option`s of those; strings through
//! [`text`]). The source location is the caller's, captured by
//! `#[track_caller]`. With literal names and scalar values nothing here allocates.
//!
//! | Go SDK | here |
//! |---|---|
//! | `TrackStateChange` | [`track_state_change`], [`track_read`], [`track_write`], [`track_atomic_read`], [`track_atomic_write`], [`track_atomic_rmw`] |
//! | `TrackFunctionCall` | [`track_function_call`] |
//! | `StartFunction` / `TrackFunctionDuration` | [`start_function`] (a guard), [`track_function`] (a closure), [`track_function_async`] (a future) |
//! | function return | [`track_function_return`] |
//! | `TrackHTTPRequest` / `TrackHTTPResponse` | [`track_http_request`], [`track_http_response`]; linked outbound calls: [`Context::outbound`](crate::Context::outbound) |
//! | `TrackAsyncSpawn` / `TrackAsyncAwait` | [`Context::child`](crate::Context::child) / [`Context::join`](crate::Context::join), [`crate::thread::spawn`], [`crate::thread::scope`], `raceway::task::spawn` (feature `tokio`), [`crate::future`] |
//! | `TrackLockAcquire` / `TrackLockRelease` | [`track_lock_acquire`], [`track_lock_release`]; tracked locks in [`crate::sync`] |
//! | `TrackError` | [`track_error`], [`track_error_with_stack`], [`track_error_value`] |
//! | `TrackCustom` | [`track_custom`] |
//!
//! # Examples
//!
//! ```
//! use raceway::sink::MemorySink;
//! use raceway::{Client, Config};
//! use raceway_core::{Access, Kind, Value};
//!
//! let (sink, captured) = MemorySink::new(1000);
//! let client = Client::new(Config::default(), sink)?;
//! let ctx = client.start_trace();
//! let _entered = ctx.enter();
//!
//! let line = line!() + 1;
//! raceway::track_write("accounts.alice.balance", 100, 50);
//! let total = raceway::track_function("settle", || 2 + 2);
//! raceway::track_error("io::Error", "disk full");
//! raceway::track_custom("cache.miss", 7);
//!
//! client.flush(std::time::Duration::from_secs(5))?;
//! let write = captured.events().into_iter().find(|e| e.kind.variable().is_some()).unwrap();
//! assert_eq!(write.kind, Kind::StateChange {
//!     variable: "accounts.alice.balance".into(),
//!     access: Access::Write,
//!     old: Value::I64(100),
//!     new: Value::I64(50),
//! });
//! assert_eq!(write.location.line(), line); // the caller's line, not the SDK's
//! assert_eq!(total, 4);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::panic::Location;
use std::time::{Duration, Instant};

use raceway_core::event::{Direction, FenceOrdering};
use raceway_core::{Access, Kind, LockKind, Name, Value};

use crate::context::{record_current, with_current, Context};
use crate::names::{text, IntoName};

fn state_change(variable: Name, access: Access, old: Value, new: Value) -> Kind {
    Kind::StateChange {
        variable,
        access,
        old,
        new,
    }
}

/// Saturating nanoseconds of a duration.
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

macro_rules! tracking {
    ($(
        $(#[$doc:meta])*
        fn $name:ident($($arg:ident: $ty:ty),*) -> $kind:expr;
    )*) => {
        $(
            $(#[$doc])*
            #[track_caller]
            #[inline]
            pub fn $name($($arg: $ty),*) {
                record_current($kind, Location::caller());
            }
        )*

        impl Context {
            $(
                $(#[$doc])*
                #[track_caller]
                #[inline]
                pub fn $name(&self, $($arg: $ty),*) {
                    self.record_at($kind, Location::caller());
                }
            )*
        }
    };
}

tracking! {
    /// Records an access to shared state: how it was accessed, the value before and after.
    fn track_state_change(
        variable: impl IntoName,
        access: Access,
        old: impl Into<Value>,
        new: impl Into<Value>
    ) -> state_change(variable.into_name(), access, old.into(), new.into());

    /// Records a plain read of `variable`, which had `value`.
    fn track_read(variable: impl IntoName, value: impl Into<Value>)
        -> state_change(variable.into_name(), Access::Read, Value::None, value.into());

    /// Records a plain write of `variable` from `old` to `new`.
    fn track_write(variable: impl IntoName, old: impl Into<Value>, new: impl Into<Value>)
        -> state_change(variable.into_name(), Access::Write, old.into(), new.into());

    /// Records an atomic load of `variable`, which had `value`.
    fn track_atomic_read(variable: impl IntoName, value: impl Into<Value>)
        -> state_change(variable.into_name(), Access::AtomicRead, Value::None, value.into());

    /// Records an atomic store to `variable` from `old` to `new`.
    fn track_atomic_write(variable: impl IntoName, old: impl Into<Value>, new: impl Into<Value>)
        -> state_change(variable.into_name(), Access::AtomicWrite, old.into(), new.into());

    /// Records an atomic read-modify-write of `variable` from `old` to `new`.
    fn track_atomic_rmw(variable: impl IntoName, old: impl Into<Value>, new: impl Into<Value>)
        -> state_change(variable.into_name(), Access::AtomicRmw, old.into(), new.into());

    /// Records a call of `function` with a summary of its arguments.
    fn track_function_call(function: impl IntoName, args: impl Into<Value>)
        -> Kind::FunctionCall { function: function.into_label(), args: args.into() };

    /// Records that `function` returned `value` after `duration`.
    fn track_function_return(function: impl IntoName, duration: Duration, value: impl Into<Value>)
        -> Kind::FunctionReturn {
            function: function.into_label(),
            duration_ns: nanos(duration),
            value: value.into(),
        };

    /// Records taking `lock` (call it after the lock is really held). Prefer the tracked locks
    /// of [`crate::sync`], which do this for you.
    fn track_lock_acquire(lock: impl IntoName, lock_kind: LockKind)
        -> Kind::LockAcquire { lock: lock.into_name(), lock_kind };

    /// Records letting `lock` go (call it before it is really released).
    fn track_lock_release(lock: impl IntoName, lock_kind: LockKind)
        -> Kind::LockRelease { lock: lock.into_name(), lock_kind };

    /// Records an error: its type (e.g. `io::Error`) and message.
    fn track_error(error_type: impl IntoName, message: &str)
        -> Kind::Error {
            error_type: error_type.into_label(),
            message: text(message),
            stack: Value::None,
        };

    /// Records anything else, by name, with a value.
    fn track_custom(name: impl IntoName, data: impl Into<Value>)
        -> Kind::Custom { name: name.into_label(), data: data.into() };

    /// Records a database query that took `duration`.
    fn track_db_query(database: impl IntoName, query: &str, duration: Duration)
        -> Kind::DatabaseQuery {
            database: database.into_label(),
            query: text(query),
            duration_ns: nanos(duration),
        };

    /// Records a database result.
    fn track_db_result(rows_affected: u64) -> Kind::DatabaseResult { rows_affected };

    /// Records a memory fence.
    fn track_fence(ordering: FenceOrdering) -> Kind::MemoryFence { ordering };

    /// Records sending message number `message` on the channel or queue named `channel`: it
    /// happens before its receipt. Numbers need only be unique within one channel.
    fn track_send(channel: &str, message: u64)
        -> Kind::Send { message: message_key(channel, message) };

    /// Records receiving message number `message` from `channel`: everything before its send
    /// happens before this.
    fn track_receive(channel: &str, message: u64)
        -> Kind::Receive { message: message_key(channel, message) };
}

/// Records an HTTP request. `Inbound` ones are linked to the caller through the current
/// context's span; for linked outbound calls use [`Context::outbound`], which also writes the
/// propagation headers.
#[track_caller]
pub fn track_http_request(direction: Direction, method: &str, url: &str) {
    let location = Location::caller();
    if with_current(|ctx| ctx.http_request_at(direction, method, url, location)).is_none() {
        crate::context::no_context();
    }
}

/// Records an HTTP response after `duration`, linked like [`track_http_request`].
#[track_caller]
pub fn track_http_response(direction: Direction, status: u16, duration: Duration) {
    let location = Location::caller();
    if with_current(|ctx| ctx.http_response_at(direction, status, duration, location)).is_none() {
        crate::context::no_context();
    }
}

/// Records an error with its stack trace, frames separated by `'\n'` (e.g. a formatted
/// [`std::backtrace::Backtrace`]). The stack travels inside the error event, interned (cut to
/// [`MAX_INTERNED_LEN`](crate::names::MAX_INTERNED_LEN) bytes): stacks from a fixed set of
/// sites are cheap, unique ones fill the name table, and once it is full the stack is left out
/// (counted in [`Stats::names_overflowed`](crate::Stats::names_overflowed)).
#[track_caller]
pub fn track_error_with_stack(error_type: impl IntoName, message: &str, stack: &str) {
    let location = Location::caller();
    let error_type = error_type.into_label();
    if with_current(|ctx| ctx.error_with_stack_at(error_type, message, stack, location)).is_none() {
        crate::context::no_context();
    }
}

/// Records a Rust error value: its type name and its `Display` message.
#[track_caller]
pub fn track_error_value<E: std::error::Error + ?Sized>(error: &E) {
    let location = Location::caller();
    let error_type = std::any::type_name::<E>();
    if with_current(|ctx| ctx.error_value_at(error_type, error, location)).is_none() {
        crate::context::no_context();
    }
}

/// Records a call of `name` and returns a guard that records its return, with the duration,
/// when dropped (also when unwinding).
#[track_caller]
pub fn start_function(name: impl IntoName) -> FunctionGuard {
    start_function_at(Context::current(), name.into_label(), Location::caller())
}

/// Runs `f` between a recorded call and return of `name` (with the duration), returning what
/// `f` returns. For an `async` function use [`track_function_async`]: this one would time only
/// the making of the future.
#[track_caller]
pub fn track_function<R>(name: impl IntoName, f: impl FnOnce() -> R) -> R {
    let _guard = start_function(name);
    f()
}

/// The async form of [`track_function`]: records the call when `future` is first polled, and
/// the return — with the time from that poll to completion, and the output as its value — when
/// it completes, in the context current at the first poll. A future dropped before it completes
/// (a cancelled request, a lost `select!` branch) records its return with no value, as an
/// unwinding [`track_function`] does.
///
/// # Examples
///
/// ```
/// # use raceway::sink::MemorySink;
/// # use raceway::{Client, Config, FutureExt};
/// # let (sink, _captured) = MemorySink::new(1000);
/// # let client = Client::new(Config::default(), sink)?;
/// # let runtime = tokio::runtime::Builder::new_current_thread().build()?;
/// async fn price(item: u64) -> u64 {
///     item * 10
/// }
/// let total = runtime.block_on(
///     raceway::track_function_async("price", price(4)).in_context(client.start_trace()),
/// );
/// assert_eq!(total, 40); // recorded as the return value, with the run's duration
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn track_function_async<F>(name: impl IntoName, future: F) -> TrackedFunction<F>
where
    F: std::future::Future,
    F::Output: ReturnValue,
{
    TrackedFunction {
        inner: future,
        name: name.into_label(),
        location: Location::caller(),
        guard: None,
    }
}

/// What a function's output records as its return value (see [`track_function_async`]):
/// numbers and booleans as themselves, `Option` and `Result` as what they hold (an `Err` as no
/// value), everything else as no value. Implement it for your own output types.
pub trait ReturnValue {
    /// The value recorded in [`Kind::FunctionReturn`].
    fn return_value(&self) -> Value;
}

macro_rules! return_value_as_itself {
    ($($t:ty),*) => {$(
        impl ReturnValue for $t {
            fn return_value(&self) -> Value {
                Value::from(*self)
            }
        }
    )*};
}
return_value_as_itself!(bool, i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, f32, f64, Value);

impl ReturnValue for () {
    fn return_value(&self) -> Value {
        Value::None
    }
}

impl<T: ReturnValue> ReturnValue for Option<T> {
    fn return_value(&self) -> Value {
        self.as_ref().map_or(Value::None, ReturnValue::return_value)
    }
}

impl<T: ReturnValue, E> ReturnValue for Result<T, E> {
    fn return_value(&self) -> Value {
        self.as_ref().map_or(Value::None, ReturnValue::return_value)
    }
}

impl<T: ReturnValue + ?Sized> ReturnValue for &T {
    fn return_value(&self) -> Value {
        (**self).return_value()
    }
}

pin_project_lite::pin_project! {
    /// A future timed as a function call. From [`track_function_async`].
    #[must_use = "futures do nothing unless polled"]
    pub struct TrackedFunction<F> {
        #[pin]
        inner: F,
        name: &'static str,
        location: &'static Location<'static>,
        // Made at the first poll; records the return when the future completes or is dropped.
        guard: Option<FunctionGuard>,
    }
}

impl<F: std::future::Future> std::future::Future for TrackedFunction<F>
where
    F::Output: ReturnValue,
{
    type Output = F::Output;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let this = self.project();
        let (name, location) = (*this.name, *this.location);
        let guard = this
            .guard
            .get_or_insert_with(|| start_function_at(Context::current(), name, location));
        let poll = this.inner.poll(cx);
        if let std::task::Poll::Ready(output) = &poll {
            guard.set_return_value(output.return_value());
            *this.guard = None;
        }
        poll
    }
}

impl<F> fmt::Debug for TrackedFunction<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackedFunction")
            .field("function", &self.name)
            .field("started", &self.guard.is_some())
            .finish_non_exhaustive()
    }
}

/// Records the call of `name` in `context` and returns the guard for its return.
fn start_function_at(
    context: Option<Context>,
    name: &'static str,
    location: &'static Location<'static>,
) -> FunctionGuard {
    match &context {
        Some(ctx) => ctx.record_at(
            Kind::FunctionCall {
                function: name,
                args: Value::None,
            },
            location,
        ),
        None => crate::context::no_context(),
    }
    FunctionGuard {
        context,
        name,
        location,
        start: Instant::now(),
        value: Value::None,
    }
}

impl Context {
    /// [`track_http_request`] in this context.
    #[track_caller]
    pub fn track_http_request(&self, direction: Direction, method: &str, url: &str) {
        self.http_request_at(direction, method, url, Location::caller());
    }

    /// [`track_http_response`] in this context.
    #[track_caller]
    pub fn track_http_response(&self, direction: Direction, status: u16, duration: Duration) {
        self.http_response_at(direction, status, duration, Location::caller());
    }

    /// [`track_error_with_stack`] in this context.
    #[track_caller]
    pub fn track_error_with_stack(&self, error_type: impl IntoName, message: &str, stack: &str) {
        self.error_with_stack_at(error_type.into_label(), message, stack, Location::caller());
    }

    /// [`track_error_value`] in this context.
    #[track_caller]
    pub fn track_error_value<E: std::error::Error + ?Sized>(&self, error: &E) {
        self.error_value_at(std::any::type_name::<E>(), error, Location::caller());
    }

    /// [`start_function`] in this context.
    #[track_caller]
    pub fn start_function(&self, name: impl IntoName) -> FunctionGuard {
        start_function_at(Some(self.clone()), name.into_label(), Location::caller())
    }

    fn span_for(&self, direction: Direction) -> u64 {
        match direction {
            Direction::Inbound => crate::ids::span_number(self.span_id()),
            Direction::Outbound => 0,
        }
    }

    pub(crate) fn http_request_at(
        &self,
        direction: Direction,
        method: &str,
        url: &str,
        location: &'static Location<'static>,
    ) {
        let kind = Kind::HttpRequest {
            method: crate::names::method_name(method),
            url: text(url),
            direction,
            span: self.span_for(direction),
        };
        self.record_at(kind, location);
    }

    pub(crate) fn http_response_at(
        &self,
        direction: Direction,
        status: u16,
        duration: Duration,
        location: &'static Location<'static>,
    ) {
        let kind = Kind::HttpResponse {
            status,
            duration_ns: nanos(duration),
            direction,
            span: self.span_for(direction),
        };
        self.record_at(kind, location);
    }

    fn error_with_stack_at(
        &self,
        error_type: &'static str,
        message: &str,
        stack: &str,
        location: &'static Location<'static>,
    ) {
        self.record_at(
            Kind::Error {
                error_type,
                message: text(message),
                stack: stack_value(stack),
            },
            location,
        );
    }

    fn error_value_at<E: std::error::Error + ?Sized>(
        &self,
        error_type: &'static str,
        error: &E,
        location: &'static Location<'static>,
    ) {
        let message = error.to_string();
        self.record_at(
            Kind::Error {
                error_type,
                message: text(&message),
                stack: Value::None,
            },
            location,
        );
    }
}

/// An error's stack as [`Kind::Error`] carries it: one interned string, or none when the stack
/// is blank or the name table is full.
fn stack_value(stack: &str) -> Value {
    if stack.trim().is_empty() {
        return Value::None;
    }
    crate::names::symbol(stack).map_or(Value::None, Value::Str)
}

/// Records a function's return, with its duration, when dropped. From [`start_function`].
#[must_use = "the return is recorded when the guard is dropped"]
pub struct FunctionGuard {
    context: Option<Context>,
    name: &'static str,
    location: &'static Location<'static>,
    start: Instant,
    value: Value,
}

impl FunctionGuard {
    /// Records `value` as what the function returned.
    pub fn set_return_value(&mut self, value: impl Into<Value>) {
        self.value = value.into();
    }

    /// Time since the call.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

impl fmt::Debug for FunctionGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FunctionGuard")
            .field("function", &self.name)
            .field("elapsed", &self.elapsed())
            .finish()
    }
}

impl Drop for FunctionGuard {
    fn drop(&mut self) {
        if let Some(ctx) = &self.context {
            ctx.record_at(
                Kind::FunctionReturn {
                    function: self.name,
                    duration_ns: nanos(self.start.elapsed()),
                    value: self.value,
                },
                self.location,
            );
        }
    }
}

/// The edge key that [`track_send`] and [`track_receive`] record for message `message` on
/// `channel` ([`Kind::Send`]'s `message`): a 64-bit hash of both, so two channels that both
/// number their messages 1, 2, 3… never pair one's send with the other's receipt (two keys
/// collide with probability 2⁻⁶⁴). FNV-1a over the name, then a SplitMix64 finaliser over the
/// name's hash and the number.
pub fn message_key(channel: &str, message: u64) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in channel.as_bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = hash ^ message.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
