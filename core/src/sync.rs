//! The one place that chooses the atomics: `portable-atomic` normally (CAS emulated through a
//! critical section on targets without it), loom's model-checked types under `cfg(loom)`.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use portable_atomic::{AtomicUsize, Ordering};

#[cfg(all(loom, feature = "alloc"))]
pub(crate) use loom::sync::atomic::{AtomicPtr, AtomicU64};
#[cfg(all(not(loom), feature = "alloc"))]
pub(crate) use portable_atomic::{AtomicPtr, AtomicU64};

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

#[cfg(all(not(loom), feature = "alloc"))]
pub(crate) use core::hint::spin_loop;
/// Waits a moment for another thread; under loom, lets the model run the others.
#[cfg(all(loom, feature = "alloc"))]
pub(crate) use loom::thread::yield_now as spin_loop;

/// `core::cell::UnsafeCell` with loom's closure-based access, so the ring reads the same under
/// both.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        UnsafeCell(core::cell::UnsafeCell::new(value))
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Defines a function that is `const` except under loom, whose atomics cannot be built in one.
macro_rules! const_unless_loom {
    ($(#[$meta:meta])* $vis:vis fn $($rest:tt)*) => {
        #[cfg(not(loom))]
        $(#[$meta])* $vis const fn $($rest)*
        #[cfg(loom)]
        $(#[$meta])* $vis fn $($rest)*
    };
}
pub(crate) use const_unless_loom;

/// An atomic counter alone on its cache line. The line is filled with explicit padding bytes
/// rather than by alignment, so a zero-initialised ring has no undefined padding and a `static`
/// one lands in `.bss` instead of costing flash for its start-up image.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct PaddedAtomicUsize {
    value: AtomicUsize,
    _line: [u8; CACHE_LINE - core::mem::size_of::<usize>()],
}

const CACHE_LINE: usize = 64;

impl PaddedAtomicUsize {
    const_unless_loom! {
        pub(crate) fn new(value: usize) -> Self {
            PaddedAtomicUsize {
                value: AtomicUsize::new(value),
                _line: [0; CACHE_LINE - core::mem::size_of::<usize>()],
            }
        }
    }
}

impl core::ops::Deref for PaddedAtomicUsize {
    type Target = AtomicUsize;
    fn deref(&self) -> &AtomicUsize {
        &self.value
    }
}
