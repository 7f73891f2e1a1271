//! Which locks each logical thread holds, interned so that an access stores one small id.
//!
//! Happens-before already orders two accesses made under the same lock, so the lockset is a
//! second opinion: it suppresses a race only where happens-before was under-estimated (an
//! overflowed clock, a release lost with dropped events). Two holds of one lock protect a pair of
//! accesses only if at least one of them is exclusive: readers of an `RwLock` do not exclude
//! each other, so a write made under a shared hold is not protected by it.

use raceway_core::{LockKind, Name, ThreadId};

use crate::HashMap;

/// Distinct locksets kept; beyond it a new lockset is treated as empty (counted), which can
/// only leave the decision to happens-before, never hide a race.
pub(crate) const MAX_LOCKSETS: usize = 4096;

/// An interned lockset; [`Locksets::EMPTY`] holds nothing.
pub(crate) type LocksetId = u32;

/// One lock in a lockset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Held {
    /// The lock's identity ([`Name::id`]).
    lock: u64,
    exclusive: bool,
}

/// What one thread holds right now (only threads holding something have an entry).
#[derive(Debug, Default)]
struct Holding {
    /// Each hold with its re-entry depth.
    holds: Vec<(u64, LockKind, u32)>,
    id: LocksetId,
}

#[derive(Debug)]
pub(crate) struct Locksets {
    /// Sets by id, each sorted by lock identity.
    sets: Vec<Box<[Held]>>,
    ids: HashMap<Box<[Held]>, LocksetId>,
    threads: HashMap<ThreadId, Holding>,
    /// Emptied hold lists of threads that let go of everything, for the next thread to take a
    /// lock: a service's request takes one and lets it go, and allocating and freeing a list
    /// for each was most of what a lock cost here.
    spare: Vec<Vec<(u64, LockKind, u32)>>,
    /// Where [`refresh`](Self::refresh) builds a set to look it up.
    scratch: Vec<Held>,
    /// Locksets that did not fit in the table and were treated as empty.
    pub(crate) capped: u64,
}

/// Emptied hold lists kept for reuse.
const MAX_SPARE: usize = 64;

impl Locksets {
    pub(crate) const EMPTY: LocksetId = 0;

    pub(crate) fn new() -> Self {
        let empty: Box<[Held]> = Box::new([]);
        Locksets {
            sets: vec![empty.clone()],
            ids: HashMap::from_iter([(empty, Self::EMPTY)]),
            threads: HashMap::default(),
            spare: Vec::new(),
            scratch: Vec::new(),
            capped: 0,
        }
    }

    /// The lockset `thread` holds now.
    pub(crate) fn current(&self, thread: ThreadId) -> LocksetId {
        self.threads.get(&thread).map_or(Self::EMPTY, |h| h.id)
    }

    pub(crate) fn acquire(&mut self, thread: ThreadId, lock: Name, kind: LockKind) {
        let lock = lock.id();
        let spare = &mut self.spare;
        let holding = self.threads.entry(thread).or_insert_with(|| Holding {
            holds: spare.pop().unwrap_or_default(),
            id: Self::EMPTY,
        });
        match holding
            .holds
            .iter_mut()
            .find(|(l, k, _)| *l == lock && *k == kind)
        {
            Some((_, _, depth)) => *depth += 1,
            None => holding.holds.push((lock, kind, 1)),
        }
        self.refresh(thread);
    }

    /// Releasing a lock the thread does not hold (its acquire was dropped) is ignored.
    pub(crate) fn release(&mut self, thread: ThreadId, lock: Name, kind: LockKind) {
        let lock = lock.id();
        let Some(holding) = self.threads.get_mut(&thread) else {
            return;
        };
        if let Some(index) = holding
            .holds
            .iter()
            .position(|(l, k, _)| *l == lock && *k == kind)
        {
            holding.holds[index].2 -= 1;
            if holding.holds[index].2 == 0 {
                holding.holds.swap_remove(index);
            }
        }
        if holding.holds.is_empty() {
            if let Some(Holding { holds, .. }) = self.threads.remove(&thread) {
                if self.spare.len() < MAX_SPARE {
                    self.spare.push(holds);
                }
            }
        } else {
            self.refresh(thread);
        }
    }

    /// `thread` records nothing more: forget what it held.
    pub(crate) fn end(&mut self, thread: ThreadId) {
        self.threads.remove(&thread);
    }

    /// Forgets what every thread holds (after events were lost: see the analyzer's docs).
    pub(crate) fn clear(&mut self) {
        self.threads.clear();
    }

    /// Whether some lock is held in both sets, exclusively in at least one.
    pub(crate) fn protects(&self, a: LocksetId, b: LocksetId) -> bool {
        if a == Self::EMPTY || b == Self::EMPTY {
            return false;
        }
        let (a, b) = (&self.sets[a as usize], &self.sets[b as usize]);
        a.iter().any(|x| {
            b.iter()
                .any(|y| x.lock == y.lock && (x.exclusive || y.exclusive))
        })
    }

    /// The identities of the locks in a set.
    pub(crate) fn locks(&self, id: LocksetId) -> impl Iterator<Item = u64> + '_ {
        self.sets
            .get(id as usize)
            .into_iter()
            .flat_map(|set| set.iter().map(|held| held.lock))
    }

    fn refresh(&mut self, thread: ThreadId) {
        let Some(holding) = self.threads.get_mut(&thread) else {
            return;
        };
        let set = &mut self.scratch;
        set.clear();
        for &(lock, kind, _) in &holding.holds {
            match set.iter_mut().find(|held| held.lock == lock) {
                Some(held) => held.exclusive |= kind.is_exclusive(),
                None => set.push(Held {
                    lock,
                    exclusive: kind.is_exclusive(),
                }),
            }
        }
        set.sort_unstable();
        holding.id = match self.ids.get(set.as_slice()) {
            Some(&id) => id,
            None if self.sets.len() < MAX_LOCKSETS => {
                let id = self.sets.len() as LocksetId;
                let set: Box<[Held]> = set.as_slice().into();
                self.sets.push(set.clone());
                self.ids.insert(set, id);
                id
            }
            None => {
                self.capped += 1;
                Self::EMPTY
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: ThreadId = ThreadId::from_raw(1);
    const B: ThreadId = ThreadId::from_raw(2);

    #[test]
    fn shared_holds_do_not_protect_each_other() {
        let mut sets = Locksets::new();
        sets.acquire(A, "config".into(), LockKind::RwRead);
        sets.acquire(B, "config".into(), LockKind::RwRead);
        assert!(!sets.protects(sets.current(A), sets.current(B)));
        sets.release(B, "config".into(), LockKind::RwRead);
        sets.acquire(B, "config".into(), LockKind::RwWrite);
        assert!(sets.protects(sets.current(A), sets.current(B)));
    }

    #[test]
    fn reentrant_holds_need_every_release() {
        let mut sets = Locksets::new();
        sets.acquire(A, "m".into(), LockKind::Mutex);
        sets.acquire(A, "m".into(), LockKind::Mutex);
        sets.release(A, "m".into(), LockKind::Mutex);
        assert_ne!(sets.current(A), Locksets::EMPTY);
        sets.release(A, "m".into(), LockKind::Mutex);
        assert_eq!(sets.current(A), Locksets::EMPTY);
        // A release with no acquire (lost to a drop) is ignored.
        sets.release(A, "m".into(), LockKind::Mutex);
        assert_eq!(sets.current(A), Locksets::EMPTY);
    }

    #[test]
    fn same_set_gets_the_same_id_and_names_compare_by_content() {
        let mut sets = Locksets::new();
        let dynamic: &'static str = String::from("m").leak();
        sets.acquire(A, "m".into(), LockKind::Mutex);
        sets.acquire(B, dynamic.into(), LockKind::Mutex);
        assert_eq!(sets.current(A), sets.current(B));
        assert!(sets.protects(sets.current(A), sets.current(B)));
    }
}
