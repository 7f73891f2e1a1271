//! Tracked [`tokio::sync::Mutex`] and [`tokio::sync::RwLock`] (feature `tokio`).
//!
//! The async locks a tokio service holds across `.await`s, recorded as the std ones are: the
//! acquire once the lock is really held (when `lock().await` returns), the release before it
//! is really let go (when the guard drops), into the context current when the lock is taken —
//! the task's, so the guard may move between worker threads. Names work as for
//! [the std locks](super#names).
//!
//! # Examples
//!
//! ```
//! use raceway::sink::MemorySink;
//! use raceway::sync::tokio::{Mutex, RwLock};
//! use raceway::{Client, Config, FutureExt};
//!
//! static STOCK: Mutex<u32> = Mutex::const_named("stock", 3);
//!
//! let (sink, _captured) = MemorySink::new(1000);
//! let client = Client::new(Config::default(), sink)?;
//! let runtime = tokio::runtime::Builder::new_multi_thread().enable_time().build()?;
//! let prices = RwLock::named("prices", vec![10, 20]);
//! let left = runtime.block_on(
//!     async {
//!         let mut stock = STOCK.lock().await; // acquire recorded here
//!         tokio::time::sleep(std::time::Duration::from_millis(1)).await; // held across .await
//!         *stock -= 1;
//!         let total: u32 = prices.read().await.iter().sum();
//!         *stock + total
//!     } // release recorded, then unlocked
//!     .in_context(client.start_trace()),
//! );
//! assert_eq!(left, 32);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::future::Future;
use std::panic::Location;

use raceway_core::{LockKind, Name};

use super::LockName;

tracked_lock! {
    /// A tracked [`tokio::sync::Mutex`]. See the [module docs](self).
    Mutex(tokio::sync::Mutex)
}

tracked_guard! {
    /// Holds a tokio [`Mutex`]; records the release, then unlocks, when dropped.
    MutexGuard(tokio::sync::MutexGuard) mut
}

impl<T> Mutex<T> {
    /// A mutex whose name is derived from its creation site on first use.
    #[track_caller]
    pub fn new(value: T) -> Self {
        Mutex {
            name: LockName::derived("mutex"),
            inner: tokio::sync::Mutex::new(value),
        }
    }

    /// A mutex with an explicit name (use [`crate::names::intern`] for a dynamic one).
    pub fn named(name: impl Into<Name>, value: T) -> Self {
        Mutex {
            name: LockName::Given(name.into()),
            inner: tokio::sync::Mutex::new(value),
        }
    }

    /// A named mutex for a `static` (tokio's `const_new`).
    pub const fn const_named(name: &'static str, value: T) -> Self {
        Mutex {
            name: LockName::Given(Name::new(name)),
            inner: tokio::sync::Mutex::const_new(value),
        }
    }

    /// The protected value, consuming the mutex.
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits until the lock is held, then records the acquire in the current context.
    #[track_caller]
    pub fn lock(&self) -> impl Future<Output = MutexGuard<'_, T>> + '_ {
        let location = Location::caller();
        async move {
            let inner = self.inner.lock().await;
            MutexGuard::acquire(self.name(), LockKind::Mutex, location, inner)
        }
    }

    /// Takes the lock if it is free (recording the acquire), without waiting.
    #[track_caller]
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, tokio::sync::TryLockError> {
        let location = Location::caller();
        let inner = self.inner.try_lock()?;
        Ok(MutexGuard::acquire(
            self.name(),
            LockKind::Mutex,
            location,
            inner,
        ))
    }

    /// The value through a unique borrow: no locking, nothing recorded.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }
}

tracked_lock! {
    /// A tracked [`tokio::sync::RwLock`]. See the [module docs](self).
    RwLock(tokio::sync::RwLock)
}

tracked_guard! {
    /// Holds a tokio [`RwLock`] for reading; records the release, then unlocks, when dropped.
    RwLockReadGuard(tokio::sync::RwLockReadGuard)
}

tracked_guard! {
    /// Holds a tokio [`RwLock`] for writing; records the release, then unlocks, when dropped.
    RwLockWriteGuard(tokio::sync::RwLockWriteGuard) mut
}

impl<T> RwLock<T> {
    /// A reader-writer lock whose name is derived from its creation site on first use.
    #[track_caller]
    pub fn new(value: T) -> Self {
        RwLock {
            name: LockName::derived("rwlock"),
            inner: tokio::sync::RwLock::new(value),
        }
    }

    /// A reader-writer lock with an explicit name.
    pub fn named(name: impl Into<Name>, value: T) -> Self {
        RwLock {
            name: LockName::Given(name.into()),
            inner: tokio::sync::RwLock::new(value),
        }
    }

    /// A named reader-writer lock for a `static` (tokio's `const_new`).
    pub const fn const_named(name: &'static str, value: T) -> Self {
        RwLock {
            name: LockName::Given(Name::new(name)),
            inner: tokio::sync::RwLock::const_new(value),
        }
    }

    /// The protected value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits until held for reading (shared), then records the acquire.
    #[track_caller]
    pub fn read(&self) -> impl Future<Output = RwLockReadGuard<'_, T>> + '_ {
        let location = Location::caller();
        async move {
            let inner = self.inner.read().await;
            RwLockReadGuard::acquire(self.name(), LockKind::RwRead, location, inner)
        }
    }

    /// Waits until held for writing (exclusive), then records the acquire.
    #[track_caller]
    pub fn write(&self) -> impl Future<Output = RwLockWriteGuard<'_, T>> + '_ {
        let location = Location::caller();
        async move {
            let inner = self.inner.write().await;
            RwLockWriteGuard::acquire(self.name(), LockKind::RwWrite, location, inner)
        }
    }

    /// Takes the lock for reading if possible, without waiting.
    #[track_caller]
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, tokio::sync::TryLockError> {
        let location = Location::caller();
        let inner = self.inner.try_read()?;
        Ok(RwLockReadGuard::acquire(
            self.name(),
            LockKind::RwRead,
            location,
            inner,
        ))
    }

    /// Takes the lock for writing if possible, without waiting.
    #[track_caller]
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, tokio::sync::TryLockError> {
        let location = Location::caller();
        let inner = self.inner.try_write()?;
        Ok(RwLockWriteGuard::acquire(
            self.name(),
            LockKind::RwWrite,
            location,
            inner,
        ))
    }

    /// The value through a unique borrow: no locking, nothing recorded.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }
}
