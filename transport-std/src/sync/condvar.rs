//! A condition variable for the tracked [`Mutex`](super::Mutex).

use std::fmt;
use std::sync::{LockResult, PoisonError, WaitTimeoutResult};
use std::time::Duration;

use super::{Held, MutexGuard};

/// A [`std::sync::Condvar`] that waits on a tracked [`MutexGuard`].
///
/// A wait is a release and a re-acquire of the mutex, and is recorded as such: the release
/// before the lock is really let go, the acquire after it is really held again, in the context
/// that held it. So whatever the notifier wrote under the lock happens before what the waiter
/// reads after waking, through the lock, with no hand-placed `track_lock_*` calls. Notifying
/// records nothing: the ordering comes from the mutex, as it really does.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use raceway::sink::MemorySink;
/// use raceway::sync::{Condvar, Mutex};
/// use raceway::{Client, Config};
///
/// let (sink, _captured) = MemorySink::new(1000);
/// let client = Client::new(Config::default(), sink)?;
/// let _entered = client.start_trace().enter();
///
/// let ready = Arc::new((Mutex::named("ready", false), Condvar::new()));
/// let producer = raceway::thread::spawn({
///     let ready = Arc::clone(&ready);
///     move || {
///         *ready.0.lock().unwrap() = true;
///         ready.1.notify_one();
///     }
/// });
/// let (lock, condvar) = &*ready;
/// let guard = condvar.wait_while(lock.lock().unwrap(), |ready| !*ready).unwrap();
/// assert!(*guard);
/// drop(guard);
/// producer.join().unwrap();
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Default)]
pub struct Condvar {
    inner: std::sync::Condvar,
}

/// A guard's [`Held`] during a wait: its release is recorded and its context set aside, so that
/// dropping it (were the std wait to panic) records nothing more.
struct Released {
    held: Held,
    context: Option<crate::Context>,
}

impl Released {
    /// Records the release and hands back the std guard, still locked.
    fn release<'a, T: ?Sized>(guard: MutexGuard<'a, T>) -> (Self, std::sync::MutexGuard<'a, T>) {
        let MutexGuard { mut held, inner } = guard;
        held.record_release();
        let context = held.context.take();
        (Released { held, context }, inner)
    }

    /// Records the acquire: the std wait has returned, so the lock is held again.
    fn reacquire<T: ?Sized>(self, inner: std::sync::MutexGuard<'_, T>) -> MutexGuard<'_, T> {
        let Released { mut held, context } = self;
        held.context = context;
        held.record_acquire();
        MutexGuard { held, inner }
    }
}

impl Condvar {
    /// A condition variable nobody waits on yet.
    pub const fn new() -> Self {
        Condvar {
            inner: std::sync::Condvar::new(),
        }
    }

    /// Releases the lock, waits for a notification (or a spurious wake-up), and re-acquires it.
    pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> LockResult<MutexGuard<'a, T>> {
        let (released, inner) = Released::release(guard);
        super::map_lock(self.inner.wait(inner), |inner| released.reacquire(inner))
    }

    /// Waits until `condition` is false, re-checking after each wake-up with the lock held.
    pub fn wait_while<'a, T, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: F,
    ) -> LockResult<MutexGuard<'a, T>>
    where
        F: FnMut(&mut T) -> bool,
    {
        while condition(&mut *guard) {
            guard = self.wait(guard)?;
        }
        Ok(guard)
    }

    /// [`wait`](Self::wait) for at most `timeout`; the lock is re-acquired (and recorded) either
    /// way. (There is no `wait_timeout_while`: loop over this one, so that every re-acquire is
    /// recorded.)
    pub fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
        let (released, inner) = Released::release(guard);
        match self.inner.wait_timeout(inner, timeout) {
            Ok((inner, timed_out)) => Ok((released.reacquire(inner), timed_out)),
            Err(poisoned) => {
                let (inner, timed_out) = poisoned.into_inner();
                Err(PoisonError::new((released.reacquire(inner), timed_out)))
            }
        }
    }

    /// Wakes one waiter. Records nothing: the mutex orders the two sides.
    pub fn notify_one(&self) {
        self.inner.notify_one();
    }

    /// Wakes every waiter. Records nothing: the mutex orders the two sides.
    pub fn notify_all(&self) {
        self.inner.notify_all();
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}
