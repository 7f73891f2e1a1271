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

use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::OnceLock;

use raceway_core::{LockKind, Name};

use super::{Held, LockName};

/// A tracked [`tokio::sync::Mutex`]. See the [module docs](self).
pub struct Mutex<T: ?Sized> {
    name: LockName,
    inner: tokio::sync::Mutex<T>,
}

/// Holds a tokio [`Mutex`]; records the release, then unlocks, when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    // Field order matters: `held` records the release in `Drop` before `inner` unlocks.
    held: Held,
    inner: tokio::sync::MutexGuard<'a, T>,
}

impl<T> Mutex<T> {
    /// A mutex whose name is derived from its creation site on first use.
    #[track_caller]
    pub fn new(value: T) -> Self {
        Mutex {
            name: LockName::Derived {
                prefix: "mutex",
                site: Location::caller(),
                name: OnceLock::new(),
            },
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
    /// The name events use for this lock.
    pub fn name(&self) -> Name {
        self.name.get()
    }

    /// Waits until the lock is held, then records the acquire in the current context.
    #[track_caller]
    pub fn lock(&self) -> impl Future<Output = MutexGuard<'_, T>> + '_ {
        let location = Location::caller();
        async move {
            let inner = self.inner.lock().await;
            MutexGuard {
                held: Held::acquire(self.name(), LockKind::Mutex, location),
                inner,
            }
        }
    }

    /// Takes the lock if it is free (recording the acquire), without waiting.
    #[track_caller]
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, tokio::sync::TryLockError> {
        let location = Location::caller();
        let inner = self.inner.try_lock()?;
        Ok(MutexGuard {
            held: Held::acquire(self.name(), LockKind::Mutex, location),
            inner,
        })
    }

    /// The value through a unique borrow: no locking, nothing recorded.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
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

/// A tracked [`tokio::sync::RwLock`]. See the [module docs](self).
pub struct RwLock<T: ?Sized> {
    name: LockName,
    inner: tokio::sync::RwLock<T>,
}

/// Holds a tokio [`RwLock`] for reading; records the release, then unlocks, when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    held: Held,
    inner: tokio::sync::RwLockReadGuard<'a, T>,
}

/// Holds a tokio [`RwLock`] for writing; records the release, then unlocks, when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    held: Held,
    inner: tokio::sync::RwLockWriteGuard<'a, T>,
}

impl<T> RwLock<T> {
    /// A reader-writer lock whose name is derived from its creation site on first use.
    #[track_caller]
    pub fn new(value: T) -> Self {
        RwLock {
            name: LockName::Derived {
                prefix: "rwlock",
                site: Location::caller(),
                name: OnceLock::new(),
            },
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
    /// The name events use for this lock.
    pub fn name(&self) -> Name {
        self.name.get()
    }

    /// Waits until held for reading (shared), then records the acquire.
    #[track_caller]
    pub fn read(&self) -> impl Future<Output = RwLockReadGuard<'_, T>> + '_ {
        let location = Location::caller();
        async move {
            let inner = self.inner.read().await;
            RwLockReadGuard {
                held: Held::acquire(self.name(), LockKind::RwRead, location),
                inner,
            }
        }
    }

    /// Waits until held for writing (exclusive), then records the acquire.
    #[track_caller]
    pub fn write(&self) -> impl Future<Output = RwLockWriteGuard<'_, T>> + '_ {
        let location = Location::caller();
        async move {
            let inner = self.inner.write().await;
            RwLockWriteGuard {
                held: Held::acquire(self.name(), LockKind::RwWrite, location),
                inner,
            }
        }
    }

    /// Takes the lock for reading if possible, without waiting.
    #[track_caller]
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, tokio::sync::TryLockError> {
        let location = Location::caller();
        let inner = self.inner.try_read()?;
        Ok(RwLockReadGuard {
            held: Held::acquire(self.name(), LockKind::RwRead, location),
            inner,
        })
    }

    /// Takes the lock for writing if possible, without waiting.
    #[track_caller]
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, tokio::sync::TryLockError> {
        let location = Location::caller();
        let inner = self.inner.try_write()?;
        Ok(RwLockWriteGuard {
            held: Held::acquire(self.name(), LockKind::RwWrite, location),
            inner,
        })
    }

    /// The value through a unique borrow: no locking, nothing recorded.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
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
