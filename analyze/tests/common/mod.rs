//! A tiny instrumented runtime for the scenario tests: real threads, a real `Recorder`, and
//! helpers that record on the right side of each synchronisation, as the std client does.
#![allow(dead_code)] // Each test file uses a different part.

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::{Scope, ScopedJoinHandle};

use raceway_core::recorder::Recorder;
use raceway_core::ring::{Ring, Slot};
use raceway_core::{Access, Event, Kind, LockKind, ThreadId, Value};

/// A program under test: its recorder and the events drained so far.
pub struct Program {
    recorder: Recorder<Box<[Slot]>>,
    drained: Mutex<Vec<Event>>,
}

fn no_time() -> u64 {
    0
}

impl Program {
    pub fn new() -> Self {
        Self::with_ring(1 << 14)
    }

    pub fn with_ring(capacity: usize) -> Self {
        Program {
            recorder: Recorder::new(Ring::with_capacity(capacity), no_time),
            drained: Mutex::new(Vec::new()),
        }
    }

    pub fn thread(&self) -> ThreadId {
        self.recorder.new_thread()
    }

    #[track_caller]
    pub fn record(&self, thread: ThreadId, kind: Kind) {
        self.recorder.record(thread, kind);
    }

    #[track_caller]
    pub fn read(&self, thread: ThreadId, variable: &'static str, value: i64) {
        self.access(
            thread,
            variable,
            Access::Read,
            Value::None,
            Value::I64(value),
        );
    }

    #[track_caller]
    pub fn write(&self, thread: ThreadId, variable: &'static str, old: i64, new: i64) {
        self.access(
            thread,
            variable,
            Access::Write,
            Value::I64(old),
            Value::I64(new),
        );
    }

    #[track_caller]
    pub fn access(
        &self,
        thread: ThreadId,
        variable: &'static str,
        access: Access,
        old: Value,
        new: Value,
    ) {
        self.record(
            thread,
            Kind::StateChange {
                variable: variable.into(),
                access,
                old,
                new,
            },
        );
    }

    /// Locks `mutex` and records the acquire once it is held; the guard records the release
    /// before it unlocks.
    #[track_caller]
    pub fn lock<'a, T>(
        &'a self,
        thread: ThreadId,
        lock: &'static str,
        mutex: &'a Mutex<T>,
    ) -> Held<'a, MutexGuard<'a, T>> {
        let guard = mutex.lock().unwrap();
        self.held(thread, lock, LockKind::Mutex, guard)
    }

    #[track_caller]
    pub fn read_lock<'a, T>(
        &'a self,
        thread: ThreadId,
        lock: &'static str,
        rw: &'a RwLock<T>,
    ) -> Held<'a, RwLockReadGuard<'a, T>> {
        let guard = rw.read().unwrap();
        self.held(thread, lock, LockKind::RwRead, guard)
    }

    #[track_caller]
    pub fn write_lock<'a, T>(
        &'a self,
        thread: ThreadId,
        lock: &'static str,
        rw: &'a RwLock<T>,
    ) -> Held<'a, RwLockWriteGuard<'a, T>> {
        let guard = rw.write().unwrap();
        self.held(thread, lock, LockKind::RwWrite, guard)
    }

    #[track_caller]
    fn held<'a, G>(
        &'a self,
        thread: ThreadId,
        lock: &'static str,
        kind: LockKind,
        guard: G,
    ) -> Held<'a, G> {
        self.record(
            thread,
            Kind::LockAcquire {
                lock: lock.into(),
                lock_kind: kind,
            },
        );
        Held {
            program: self,
            thread,
            lock,
            kind,
            guard: Some(guard),
        }
    }

    /// Records the spawn before the OS thread exists, and `ThreadEnd` as the child's last event.
    pub fn spawn<'scope, 'env>(
        &'env self,
        scope: &'scope Scope<'scope, 'env>,
        parent: ThreadId,
        body: impl FnOnce(ThreadId) + Send + 'scope,
    ) -> Child<'scope> {
        let child = self.thread();
        self.record(parent, Kind::Spawn { child });
        let handle = scope.spawn(move || {
            body(child);
            self.record(child, Kind::ThreadEnd);
        });
        Child {
            thread: child,
            handle,
        }
    }

    /// Waits for `child`, then records the join.
    pub fn join(&self, parent: ThreadId, child: Child<'_>) {
        child.handle.join().unwrap();
        self.record(
            parent,
            Kind::Join {
                child: child.thread,
            },
        );
    }

    /// Moves what the ring holds now into the program's stream.
    pub fn drain(&self) {
        let mut consumer = self.recorder.consumer().expect("one drain at a time");
        self.drained.lock().unwrap().extend(consumer.by_ref());
    }

    /// Every event recorded, in ring order, with loss markers.
    pub fn events(self) -> Vec<Event> {
        self.drain();
        self.drained.into_inner().unwrap()
    }
}

/// A lock guard that records its release before unlocking.
pub struct Held<'a, G> {
    program: &'a Program,
    thread: ThreadId,
    lock: &'static str,
    kind: LockKind,
    guard: Option<G>,
}

impl<G: std::ops::Deref> std::ops::Deref for Held<'_, G> {
    type Target = G::Target;
    fn deref(&self) -> &G::Target {
        self.guard.as_ref().unwrap()
    }
}

impl<G: std::ops::DerefMut> std::ops::DerefMut for Held<'_, G> {
    fn deref_mut(&mut self) -> &mut G::Target {
        self.guard.as_mut().unwrap()
    }
}

impl<G> Drop for Held<'_, G> {
    fn drop(&mut self) {
        self.program.record(
            self.thread,
            Kind::LockRelease {
                lock: self.lock.into(),
                lock_kind: self.kind,
            },
        );
        self.guard.take();
    }
}

/// A spawned child: its logical thread and its OS thread.
pub struct Child<'scope> {
    pub thread: ThreadId,
    handle: ScopedJoinHandle<'scope, ()>,
}

/// An access of `variable`, for tests that build event streams by hand.
pub fn access(variable: impl Into<raceway_core::Name>, access: Access) -> Kind {
    Kind::StateChange {
        variable: variable.into(),
        access,
        old: Value::None,
        new: Value::I64(1),
    }
}

/// A plain write of `variable`, for tests that build event streams by hand.
pub fn write(variable: impl Into<raceway_core::Name>) -> Kind {
    access(variable, Access::Write)
}
