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

use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LockResult, OnceLock, PoisonError, TryLockError, TryLockResult};

use raceway_core::{Kind, LockKind, Name};

use crate::context::Context;
use crate::names::IntoName;

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

impl LockName {
    /// A name derived on first use from `prefix` and the caller's site (see [Names](self#names)).
    #[track_caller]
    const fn derived(prefix: &'static str) -> Self {
        LockName::Derived {
            prefix,
            site: Location::caller(),
            name: OnceLock::new(),
        }
    }
}

/// Records the acquire (the lock is held now) and keeps what the release needs; records the
/// release as it drops. Every tracked guard, std or tokio, holds one.
struct Held {
    context: Option<Context>,
    lock: Name,
    lock_kind: LockKind,
    location: &'static Location<'static>,
}

impl Held {
    fn acquire(lock: Name, lock_kind: LockKind, location: &'static Location<'static>) -> Self {
        let held = Held {
            context: Context::current(),
            lock,
            lock_kind,
            location,
        };
        if held.context.is_none() {
            crate::context::no_context();
        }
        held.record_acquire();
        held
    }

    fn record_acquire(&self) {
        self.record(Kind::LockAcquire {
            lock: self.lock,
            lock_kind: self.lock_kind,
        });
    }

    fn record_release(&self) {
        self.record(Kind::LockRelease {
            lock: self.lock,
            lock_kind: self.lock_kind,
        });
    }

    fn record(&self, kind: Kind) {
        if let Some(ctx) = &self.context {
            ctx.record_at(kind, self.location);
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.record_release();
    }
}

/// Declares a tracked lock type (std or tokio): the lock and its name, with `name()` and a
/// `Debug` that shows both.
macro_rules! tracked_lock {
    ($(#[$doc:meta])* $lock:ident($($inner:ident)::+)) => {
        $(#[$doc])*
        pub struct $lock<T: ?Sized> {
            name: $crate::sync::LockName,
            inner: $($inner)::+<T>,
        }

        impl<T: ?Sized> $lock<T> {
            /// The name events use for this lock.
            pub fn name(&self) -> ::raceway_core::Name {
                self.name.get()
            }
        }

        impl<T: ?Sized + ::std::fmt::Debug> ::std::fmt::Debug for $lock<T> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($lock))
                    .field("name", &self.name())
                    .field("inner", &&self.inner)
                    .finish()
            }
        }
    };
}

/// Declares a tracked guard type (std or tokio): the inner guard beside the [`Held`] that
/// records its release, dereferencing to the value (mutably with `mut`), with a `Debug` that
/// shows the lock's name and the value.
macro_rules! tracked_guard {
    ($(#[$doc:meta])* $guard:ident($($inner:ident)::+) mut) => {
        tracked_guard!($(#[$doc])* $guard($($inner)::+));

        impl<T: ?Sized> ::std::ops::DerefMut for $guard<'_, T> {
            fn deref_mut(&mut self) -> &mut T {
                &mut self.inner
            }
        }
    };
    ($(#[$doc:meta])* $guard:ident($($inner:ident)::+)) => {
        $(#[$doc])*
        #[must_use = "the lock is released as soon as the guard is dropped"]
        pub struct $guard<'a, T: ?Sized> {
            // Field order matters: `held` records the release in `Drop` before `inner` unlocks.
            held: $crate::sync::Held,
            inner: $($inner)::+<'a, T>,
        }

        impl<'a, T: ?Sized> $guard<'a, T> {
            /// The guard of `inner`, just taken: records the acquire.
            fn acquire(
                lock: ::raceway_core::Name,
                lock_kind: ::raceway_core::LockKind,
                location: &'static ::std::panic::Location<'static>,
                inner: $($inner)::+<'a, T>,
            ) -> Self {
                $guard {
                    held: $crate::sync::Held::acquire(lock, lock_kind, location),
                    inner,
                }
            }
        }

        impl<T: ?Sized> ::std::ops::Deref for $guard<'_, T> {
            type Target = T;
            fn deref(&self) -> &T {
                &self.inner
            }
        }

        impl<T: ?Sized + ::std::fmt::Debug> ::std::fmt::Debug for $guard<'_, T> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($guard))
                    .field("lock", &self.held.lock)
                    .field("value", &&*self.inner)
                    .finish()
            }
        }
    };
}

mod condvar;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use condvar::Condvar;

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

tracked_lock! {
    /// A tracked [`std::sync::Mutex`]. See the [module docs](self).
    Mutex(std::sync::Mutex)
}

tracked_guard! {
    /// Holds a [`Mutex`]; records the release, then unlocks, when dropped.
    MutexGuard(std::sync::MutexGuard) mut
}

impl<T> Mutex<T> {
    /// A mutex whose name is derived from its creation site on first use.
    #[track_caller]
    pub const fn new(value: T) -> Self {
        Mutex {
            name: LockName::derived("mutex"),
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
    /// Blocks until the lock is held, then records the acquire. A poisoned lock is still held
    /// (and recorded); the guard is inside the error, as with std.
    #[track_caller]
    pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
        let location = Location::caller();
        let result = self.inner.lock();
        map_lock(result, |inner| {
            MutexGuard::acquire(self.name(), LockKind::Mutex, location, inner)
        })
    }

    /// Takes the lock if it is free (recording the acquire), without blocking.
    #[track_caller]
    pub fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
        let location = Location::caller();
        let result = self.inner.try_lock();
        map_try_lock(result, |inner| {
            MutexGuard::acquire(self.name(), LockKind::Mutex, location, inner)
        })
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
}

impl<T: Default> Default for Mutex<T> {
    #[track_caller]
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

tracked_lock! {
    /// A tracked [`std::sync::RwLock`]. See the [module docs](self).
    RwLock(std::sync::RwLock)
}

tracked_guard! {
    /// Holds an [`RwLock`] for reading; records the release, then unlocks, when dropped.
    RwLockReadGuard(std::sync::RwLockReadGuard)
}

tracked_guard! {
    /// Holds an [`RwLock`] for writing; records the release, then unlocks, when dropped.
    RwLockWriteGuard(std::sync::RwLockWriteGuard) mut
}

impl<T> RwLock<T> {
    /// A reader-writer lock whose name is derived from its creation site on first use.
    #[track_caller]
    pub const fn new(value: T) -> Self {
        RwLock {
            name: LockName::derived("rwlock"),
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
    /// Blocks until held for reading (shared), then records the acquire.
    #[track_caller]
    pub fn read(&self) -> LockResult<RwLockReadGuard<'_, T>> {
        let location = Location::caller();
        let result = self.inner.read();
        map_lock(result, |inner| {
            RwLockReadGuard::acquire(self.name(), LockKind::RwRead, location, inner)
        })
    }

    /// Blocks until held for writing (exclusive), then records the acquire.
    #[track_caller]
    pub fn write(&self) -> LockResult<RwLockWriteGuard<'_, T>> {
        let location = Location::caller();
        let result = self.inner.write();
        map_lock(result, |inner| {
            RwLockWriteGuard::acquire(self.name(), LockKind::RwWrite, location, inner)
        })
    }

    /// Takes the lock for reading if possible, without blocking.
    #[track_caller]
    pub fn try_read(&self) -> TryLockResult<RwLockReadGuard<'_, T>> {
        let location = Location::caller();
        let result = self.inner.try_read();
        map_try_lock(result, |inner| {
            RwLockReadGuard::acquire(self.name(), LockKind::RwRead, location, inner)
        })
    }

    /// Takes the lock for writing if possible, without blocking.
    #[track_caller]
    pub fn try_write(&self) -> TryLockResult<RwLockWriteGuard<'_, T>> {
        let location = Location::caller();
        let result = self.inner.try_write();
        map_try_lock(result, |inner| {
            RwLockWriteGuard::acquire(self.name(), LockKind::RwWrite, location, inner)
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
