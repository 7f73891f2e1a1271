//! Tracked locks: `Mutex` and `RwLock` that record their acquire and release, a [`Condvar`]
//! that waits on the tracked `Mutex`, and the same locks for tokio in `sync::tokio` (feature
//! `tokio`).
//!
//! They wrap the std locks and behave like them, poisoning included. The acquire is recorded
//! after the lock is really held and the release before it is really let go, so the event
//! stream orders one holder's accesses before the next holder's (a happens-before edge from
//! release to acquire). A guard dropped while unwinding still records its release, and taking a
//! poisoned lock still records its acquire. Events go to the context current when the lock is
//! taken (nothing is recorded without one); the release is recorded at the acquire's location.
//!
//! # Names
//!
//! The analyzer tells locks apart by name. [`Mutex::named`] gives one explicitly; [`Mutex::new`]
//! derives a unique one the first time the lock is taken, from a process-wide counter and the
//! creation site (`mutex#3@src/bank.rs:42`). Derived names are interned; once the name table is
//! full they keep their identity and are shown by hash, so two locks are never taken for one
//! (see [`crate::names`]). [`Mutex::with_name`] takes a dynamic [`Name`].
//!
//! # Examples
//!
//! ```
//! use raceway::sink::MemorySink;
//! use raceway::sync::{Mutex, RwLock};
//! use raceway::{Client, Config};
//!
//! static ACCOUNTS: Mutex<i64> = Mutex::named("accounts", 100);
//!
//! let (sink, _captured) = MemorySink::new(1000);
//! let client = Client::new(Config::default(), sink)?;
//! let _entered = client.start_trace().enter();
//!
//! {
//!     let mut balance = ACCOUNTS.lock().unwrap(); // acquire recorded here
//!     *balance -= 50;
//! } // release recorded, then unlocked
//! ACCOUNTS.with_lock(|balance| *balance += 10);
//! assert_eq!(*ACCOUNTS.lock().unwrap(), 60);
//!
//! let config = RwLock::new(String::from("v1"));
//! assert_eq!(config.with_read(|c| c.len()), 2);
//! config.with_write(|c| c.push('!'));
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LockResult, OnceLock, PoisonError, TryLockError, TryLockResult};

use raceway_core::{Kind, LockKind, Name};

use crate::context::Context;
use crate::names::IntoName;

mod condvar;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use condvar::Condvar;

enum LockName {
    Given(Name),
    Derived {
        prefix: &'static str,
        site: &'static Location<'static>,
        name: OnceLock<Name>,
    },
}

impl LockName {
    fn get(&self) -> Name {
        match self {
            LockName::Given(name) => *name,
            LockName::Derived { prefix, site, name } => *name.get_or_init(|| {
                static NEXT: AtomicU64 = AtomicU64::new(1);
                let id = NEXT.fetch_add(1, Ordering::Relaxed);
                format_args!("{prefix}#{id}@{}:{}", site.file(), site.line()).into_name()
            }),
        }
    }
}

/// Records the acquire (the lock is held now) and keeps what the release needs.
struct Held {
    context: Option<Context>,
    lock: Name,
    lock_kind: LockKind,
    location: &'static Location<'static>,
}

impl Held {
    fn acquire(lock: Name, lock_kind: LockKind, location: &'static Location<'static>) -> Self {
        let context = Context::current();
        match &context {
            Some(ctx) => ctx.record_at(Kind::LockAcquire { lock, lock_kind }, location),
            None => crate::context::no_context(),
        }
        Held {
            context,
            lock,
            lock_kind,
            location,
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(ctx) = &self.context {
            ctx.record_at(
                Kind::LockRelease {
                    lock: self.lock,
                    lock_kind: self.lock_kind,
                },
                self.location,
            );
        }
    }
}

fn map_lock<G, H>(result: LockResult<G>, wrap: impl FnOnce(G) -> H) -> LockResult<H> {
    match result {
        Ok(guard) => Ok(wrap(guard)),
        Err(poisoned) => Err(PoisonError::new(wrap(poisoned.into_inner()))),
    }
}

fn map_try_lock<G, H>(result: TryLockResult<G>, wrap: impl FnOnce(G) -> H) -> TryLockResult<H> {
    match result {
        Ok(guard) => Ok(wrap(guard)),
        Err(TryLockError::Poisoned(poisoned)) => Err(TryLockError::Poisoned(PoisonError::new(
            wrap(poisoned.into_inner()),
        ))),
        Err(TryLockError::WouldBlock) => Err(TryLockError::WouldBlock),
    }
}

/// A tracked [`std::sync::Mutex`]. See the [module docs](self).
pub struct Mutex<T: ?Sized> {
    name: LockName,
    inner: std::sync::Mutex<T>,
}

/// Holds a [`Mutex`]; records the release, then unlocks, when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    // Field order matters: `held` records the release in `Drop` before `inner` unlocks.
    held: Held,
    inner: std::sync::MutexGuard<'a, T>,
}

impl<T> Mutex<T> {
    /// A mutex whose name is derived from its creation site on first use.
    #[track_caller]
    pub const fn new(value: T) -> Self {
        Mutex {
            name: LockName::Derived {
                prefix: "mutex",
                site: Location::caller(),
                name: OnceLock::new(),
            },
            inner: std::sync::Mutex::new(value),
        }
    }

    /// A mutex with an explicit name ([`with_name`](Self::with_name) for a dynamic one).
    pub const fn named(name: &'static str, value: T) -> Self {
        Self::with_name(Name::new(name), value)
    }

    /// A mutex with a name built at run time, e.g. `Mutex::with_name(raceway::intern(&key), v)`.
    pub const fn with_name(name: Name, value: T) -> Self {
        Mutex {
            name: LockName::Given(name),
            inner: std::sync::Mutex::new(value),
        }
    }

    /// The protected value, consuming the mutex.
    pub fn into_inner(self) -> LockResult<T> {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// The name events use for this lock.
    pub fn name(&self) -> Name {
        self.name.get()
    }

    /// Blocks until the lock is held, then records the acquire. A poisoned lock is still held
    /// (and recorded); the guard is inside the error, as with std.
    #[track_caller]
    pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
        let location = Location::caller();
        let result = self.inner.lock();
        map_lock(result, |inner| self.guard(inner, location))
    }

    /// Takes the lock if it is free (recording the acquire), without blocking.
    #[track_caller]
    pub fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
        let location = Location::caller();
        let result = self.inner.try_lock();
        map_try_lock(result, |inner| self.guard(inner, location))
    }

    /// Runs `f` with the lock held, recovering the value from a poisoned lock (the acquire and
    /// release are recorded either way). Use [`lock`](Self::lock) to observe poisoning.
    #[track_caller]
    pub fn with_lock<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let mut guard = self.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }

    /// Whether a holder panicked.
    pub fn is_poisoned(&self) -> bool {
        self.inner.is_poisoned()
    }

    /// Clears the poisoned state.
    pub fn clear_poison(&self) {
        self.inner.clear_poison();
    }

    /// The value through a unique borrow: no locking, nothing recorded.
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        self.inner.get_mut()
    }

    fn guard<'a>(
        &'a self,
        inner: std::sync::MutexGuard<'a, T>,
        location: &'static Location<'static>,
    ) -> MutexGuard<'a, T> {
        MutexGuard {
            held: Held::acquire(self.name(), LockKind::Mutex, location),
            inner,
        }
    }
}

impl<T: Default> Default for Mutex<T> {
    #[track_caller]
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mutex")
            .field("name", &self.name())
            .field("inner", &&self.inner)
            .finish()
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MutexGuard")
            .field("lock", &self.held.lock)
            .field("value", &&*self.inner)
            .finish()
    }
}

/// A tracked [`std::sync::RwLock`]. See the [module docs](self).
pub struct RwLock<T: ?Sized> {
    name: LockName,
    inner: std::sync::RwLock<T>,
}

/// Holds an [`RwLock`] for reading; records the release, then unlocks, when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    held: Held,
    inner: std::sync::RwLockReadGuard<'a, T>,
}

/// Holds an [`RwLock`] for writing; records the release, then unlocks, when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    held: Held,
    inner: std::sync::RwLockWriteGuard<'a, T>,
}

impl<T> RwLock<T> {
    /// A reader-writer lock whose name is derived from its creation site on first use.
    #[track_caller]
    pub const fn new(value: T) -> Self {
        RwLock {
            name: LockName::Derived {
                prefix: "rwlock",
                site: Location::caller(),
                name: OnceLock::new(),
            },
            inner: std::sync::RwLock::new(value),
        }
    }

    /// A reader-writer lock with an explicit name.
    pub const fn named(name: &'static str, value: T) -> Self {
        Self::with_name(Name::new(name), value)
    }

    /// A reader-writer lock with a name built at run time (see [`crate::names::intern`]).
    pub const fn with_name(name: Name, value: T) -> Self {
        RwLock {
            name: LockName::Given(name),
            inner: std::sync::RwLock::new(value),
        }
    }

    /// The protected value, consuming the lock.
    pub fn into_inner(self) -> LockResult<T> {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// The name events use for this lock.
    pub fn name(&self) -> Name {
        self.name.get()
    }

    /// Blocks until held for reading (shared), then records the acquire.
    #[track_caller]
    pub fn read(&self) -> LockResult<RwLockReadGuard<'_, T>> {
        let location = Location::caller();
        let result = self.inner.read();
        map_lock(result, |inner| RwLockReadGuard {
            held: Held::acquire(self.name(), LockKind::RwRead, location),
            inner,
        })
    }

    /// Blocks until held for writing (exclusive), then records the acquire.
    #[track_caller]
    pub fn write(&self) -> LockResult<RwLockWriteGuard<'_, T>> {
        let location = Location::caller();
        let result = self.inner.write();
        map_lock(result, |inner| RwLockWriteGuard {
            held: Held::acquire(self.name(), LockKind::RwWrite, location),
            inner,
        })
    }

    /// Takes the lock for reading if possible, without blocking.
    #[track_caller]
    pub fn try_read(&self) -> TryLockResult<RwLockReadGuard<'_, T>> {
        let location = Location::caller();
        let result = self.inner.try_read();
        map_try_lock(result, |inner| RwLockReadGuard {
            held: Held::acquire(self.name(), LockKind::RwRead, location),
            inner,
        })
    }

    /// Takes the lock for writing if possible, without blocking.
    #[track_caller]
    pub fn try_write(&self) -> TryLockResult<RwLockWriteGuard<'_, T>> {
        let location = Location::caller();
        let result = self.inner.try_write();
        map_try_lock(result, |inner| RwLockWriteGuard {
            held: Held::acquire(self.name(), LockKind::RwWrite, location),
            inner,
        })
    }

    /// Runs `f` with the lock held for reading (recovering from poison).
    #[track_caller]
    pub fn with_read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        let guard = self.read().unwrap_or_else(PoisonError::into_inner);
        f(&guard)
    }

    /// Runs `f` with the lock held for writing (recovering from poison).
    #[track_caller]
    pub fn with_write<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let mut guard = self.write().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }

    /// Whether a writer panicked.
    pub fn is_poisoned(&self) -> bool {
        self.inner.is_poisoned()
    }

    /// Clears the poisoned state.
    pub fn clear_poison(&self) {
        self.inner.clear_poison();
    }

    /// The value through a unique borrow: no locking, nothing recorded.
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        self.inner.get_mut()
    }
}

impl<T: Default> Default for RwLock<T> {
    #[track_caller]
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLock")
            .field("name", &self.name())
            .field("inner", &&self.inner)
            .finish()
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLockReadGuard")
            .field("lock", &self.held.lock)
            .field("value", &&*self.inner)
            .finish()
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLockWriteGuard")
            .field("lock", &self.held.lock)
            .field("value", &&*self.inner)
            .finish()
    }
}
