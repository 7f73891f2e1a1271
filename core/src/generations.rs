//! A map bounded by what is in use: entries nobody touched for a whole generation are forgotten,
//! and a late user of a forgotten key learns that it came too late.
//!
//! Tables keyed by names a program makes up as it runs (a lock per object, a variable per
//! account) cannot keep every key for the life of a service. [`Generations`] keeps two
//! generations of at most `capacity / 2` entries each: new and touched entries live in the
//! young one; when it is full the old one is dropped ([`evicted`](Generations::evicted) counts
//! its entries), the young one becomes old, and a fresh young one starts. An entry survives as
//! long as it is touched at least once per generation, so a working set up to half the
//! capacity is never evicted; every operation is O(1).
//!
//! Keys are marked in a filter as they enter the young generation, so a lookup of a recently
//! dropped key says [`Lookup::Forgotten`] instead of [`Lookup::Missing`]: that is how a caller
//! counts the results that may have depended on what was forgotten. Marking as keys come in
//! rather than when their generation is dropped spreads the work over the inserts: dropping a
//! generation of a million keys visits none of them (marking them all at once stalled the
//! replay for 25–35 ms). Each generation has its own filter of 32 bits per key it can take, four
//! bits per key, all on one cache line; the filters of the two generations dropped last are
//! consulted. So a key dropped at one of the last two generation changes is always known; one
//! dropped longer ago looks new ([`evicted`](Generations::evicted) still counts it, and callers
//! say that results may have been missed whenever it is not zero). A key never seen shares all
//! its bits with kept or dropped ones about five times in ten thousand, which costs a needless
//! count, never a verdict.
//!
//! # Examples
//!
//! ```
//! use raceway_core::generations::{Generations, Lookup};
//!
//! let mut locks = Generations::<u64, &str>::new(6); // two generations of 3
//! locks.insert(1, "hot");
//! locks.insert(2, "cold");
//! locks.insert(3, "cold");
//! locks.insert(4, "new"); // the young generation was full: 1, 2, 3 are old now
//! assert!(matches!(locks.get_mut(&1), Lookup::Found(_))); // touched: young again
//! locks.insert(5, "new");
//! locks.insert(6, "new"); // full again: 2 and 3, never touched, are dropped
//!
//! assert!(matches!(locks.get_mut(&1), Lookup::Found(&mut "hot")));
//! assert!(matches!(locks.get_mut(&2), Lookup::Forgotten));
//! assert!(matches!(locks.get_mut(&9), Lookup::Missing));
//! assert_eq!(locks.evicted(), 2);
//! ```

use alloc::vec::Vec;
use core::fmt;
use core::hash::{BuildHasher, Hash};

use foldhash::fast::FixedState;
use hashbrown::HashTable;

/// Keys are names and ids the program chose, not an attacker: a fast hash, fixed so that a
/// replay of the same stream reaches the same verdicts.
pub(crate) type Hasher = FixedState;

/// A map that keeps entries touched in the current or the previous generation (see the
/// [module docs](self)).
///
/// Every operation hashes its key once: the analyzer looks up a variable per access, and
/// hashing the name four times (`contains_key` then `get_mut`, twice) was a quarter of its
/// time on request-shaped streams.
#[derive(Clone)]
pub struct Generations<K, V> {
    young: HashTable<(K, V)>,
    rest: Rest<K, V>,
}

/// Everything but the young generation, so that an entry of it can be handed out while the
/// rest changes.
#[derive(Clone)]
struct Rest<K, V> {
    old: HashTable<(K, V)>,
    hasher: Hasher,
    forgotten: Forgotten,
    half: usize,
    evicted: u64,
    turnovers: u64,
}

impl<K, V> fmt::Debug for Generations<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Generations")
            .field("young", &self.young.len())
            .field("old", &self.rest.old.len())
            .field("half", &self.rest.half)
            .field("evicted", &self.rest.evicted)
            .finish_non_exhaustive()
    }
}

/// What [`Generations::get_mut`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup<V> {
    /// The entry, now young.
    Found(V),
    /// The key had an entry that was dropped for capacity (or, rarely, shares its filter
    /// bits with keys that had).
    Forgotten,
    /// No entry, and none dropped.
    Missing,
}

impl<K: Hash + Eq + Copy, V> Generations<K, V> {
    /// An empty map that keeps at most `capacity` entries (at least 2).
    pub fn new(capacity: usize) -> Self {
        Generations {
            young: HashTable::new(),
            rest: Rest {
                old: HashTable::new(),
                hasher: Hasher::default(),
                forgotten: Forgotten::default(),
                half: (capacity / 2).max(1),
                evicted: 0,
                turnovers: 0,
            },
        }
    }

    /// The entry for `key`, touched (it survives the next generation change).
    pub fn get_mut(&mut self, key: &K) -> Lookup<&mut V> {
        let hash = self.rest.hasher.hash_one(key);
        let young = match self.young.find_entry(hash, |(k, _)| k == key) {
            Ok(entry) => return Lookup::Found(&mut entry.into_mut().1),
            Err(absent) => absent.into_table(),
        };
        match self.rest.old.find_entry(hash, |(k, _)| k == key) {
            Ok(entry) => {
                let (entry, _) = entry.remove();
                Lookup::Found(&mut self.rest.insert_young(young, hash, entry).1)
            }
            Err(_) if self.rest.forgotten.contains(hash) => Lookup::Forgotten,
            Err(_) => Lookup::Missing,
        }
    }

    /// The entry for `key`, untouched (it may still be dropped with its generation).
    pub fn get(&self, key: &K) -> Lookup<&V> {
        let hash = self.rest.hasher.hash_one(key);
        let eq = |(k, _): &(K, V)| k == key;
        match self
            .young
            .find(hash, eq)
            .or_else(|| self.rest.old.find(hash, eq))
        {
            Some((_, value)) => Lookup::Found(value),
            None if self.rest.forgotten.contains(hash) => Lookup::Forgotten,
            None => Lookup::Missing,
        }
    }

    /// The entry for `key` (touched), or a new one from `make`; says whether a new entry replaced
    /// a forgotten one.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> (&mut V, bool) {
        let hash = self.rest.hasher.hash_one(key);
        let young = match self.young.find_entry(hash, |(k, _)| *k == key) {
            Ok(entry) => return (&mut entry.into_mut().1, false),
            Err(absent) => absent.into_table(),
        };
        let (entry, forgotten) = match self.rest.old.find_entry(hash, |(k, _)| *k == key) {
            Ok(entry) => (entry.remove().0, false),
            Err(_) => ((key, make()), self.rest.forgotten.contains(hash)),
        };
        (&mut self.rest.insert_young(young, hash, entry).1, forgotten)
    }

    /// Sets the entry for `key` (touched).
    pub fn insert(&mut self, key: K, value: V) {
        let hash = self.rest.hasher.hash_one(key);
        if let Ok(entry) = self.rest.old.find_entry(hash, |(k, _)| *k == key) {
            entry.remove();
        }
        match self.young.find_entry(hash, |(k, _)| *k == key) {
            Ok(entry) => entry.into_mut().1 = value,
            Err(absent) => {
                self.rest
                    .insert_young(absent.into_table(), hash, (key, value));
            }
        }
    }

    /// Entries kept now.
    pub fn len(&self) -> usize {
        self.young.len() + self.rest.old.len()
    }

    /// Whether no entry is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries dropped for capacity so far.
    pub fn evicted(&self) -> u64 {
        self.rest.evicted
    }

    /// Generation changes so far: each drops what was neither inserted nor touched since the
    /// one before.
    pub fn turnovers(&self) -> u64 {
        self.rest.turnovers
    }

    /// Every entry kept, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.young
            .iter()
            .chain(self.rest.old.iter())
            .map(|(_, value)| value)
    }
}

impl<K: Hash + Eq + Copy, V> Rest<K, V> {
    /// Adds `entry`, absent from both generations, to `young`, first turning a full young
    /// generation old and dropping the old one.
    fn insert_young<'a>(
        &mut self,
        young: &'a mut HashTable<(K, V)>,
        hash: u64,
        entry: (K, V),
    ) -> &'a mut (K, V) {
        if young.len() >= self.half {
            // The next generation fills up as this one did: sized for it now, it never stops
            // to grow and rehash, a stall of its own at half a million entries.
            let next = HashTable::with_capacity(self.half);
            let old = core::mem::replace(&mut self.old, core::mem::replace(young, next));
            self.evicted += old.len() as u64;
            self.turnovers += 1;
            self.forgotten.turn_over();
        }
        self.forgotten.mark(hash, self.half);
        let hasher = &self.hasher;
        if young.len() == young.capacity() && young.len() >= self.half / 16 {
            // A big first generation: grow to its full size at once, one rehash of a sixteenth
            // of it instead of ever longer ones (22–30 ms for the last, at 917 504 entries of a
            // table of 2^21).
            young.reserve(self.half - young.len(), |(key, _)| hasher.hash_one(key));
        }
        young
            .insert_unique(hash, entry, |(key, _)| hasher.hash_one(key))
            .into_mut()
    }
}

/// Filter bits set per key.
const BITS_PER_KEY: usize = 4;
/// Generations with a filter: the young one, the old one, and the two dropped last.
const FILTERS: usize = 4;

/// The keys of the latest generations, each generation's in a filter of its own.
#[derive(Debug, Clone, Default)]
struct Forgotten {
    /// By generation number, modulo [`FILTERS`].
    filters: [Filter; FILTERS],
    /// The young generation's number.
    young: usize,
}

impl Forgotten {
    /// Marks a key that enters the young generation.
    fn mark(&mut self, hash: u64, half: usize) {
        self.filters[self.young % FILTERS].mark(hash, half);
    }

    /// The young generation turns old and the old one is dropped: the filter of the oldest
    /// dropped one is freed for the next young generation.
    fn turn_over(&mut self) {
        self.young += 1;
        self.filters[self.young % FILTERS] = Filter::default();
    }

    /// Whether `hash` was marked in a dropped generation (the young and old generations' filters
    /// hold keys that are kept).
    fn contains(&self, hash: u64) -> bool {
        (2..FILTERS).any(|age| {
            self.young >= age && self.filters[(self.young - age) % FILTERS].contains(hash)
        })
    }
}

/// One generation's keys: 512-bit blocks, one cache line each.
#[derive(Debug, Clone, Default)]
struct Filter {
    /// The blocks, from the first 64-byte boundary in it (7 words to spare). Words, not an
    /// aligned block type, so that the allocator hands out zeroed pages it touches only when
    /// they are marked: a map that keeps a few keys costs a few pages.
    words: Vec<u64>,
}

impl Filter {
    fn mark(&mut self, hash: u64, half: usize) {
        if self.words.is_empty() {
            // 32 bits per key: a generation takes `half` of them.
            self.words = alloc::vec![0; half.div_ceil(16) * 8 + 7];
        }
        let (block, masks) = self.bits(hash);
        let start = self.start(block);
        for (word, mask) in self.words[start..start + 8].iter_mut().zip(masks) {
            *word |= mask;
        }
    }

    fn contains(&self, hash: u64) -> bool {
        if self.words.is_empty() {
            return false;
        }
        let (block, masks) = self.bits(hash);
        let start = self.start(block);
        (self.words[start..start + 8].iter())
            .zip(masks)
            .all(|(word, mask)| word & mask == mask)
    }

    /// The first word of `block`.
    fn start(&self, block: usize) -> usize {
        let misaligned = (self.words.as_ptr().addr() / 8) % 8;
        (8 - misaligned) % 8 + 8 * block
    }

    /// The key's [`BITS_PER_KEY`] bits, all in one block: a key costs one cache line.
    fn bits(&self, hash: u64) -> (usize, [u64; 8]) {
        let blocks = (self.words.len() / 8) as u128;
        // The high bits choose the block (a multiply-shift range reduction), the low ones the
        // bits in it, nine bits each.
        let block = ((u128::from(hash) * blocks) >> 64) as usize;
        let mut masks = [0u64; 8];
        for i in 0..BITS_PER_KEY {
            let bit = (hash >> (9 * i)) & 511;
            masks[(bit / 64) as usize] |= 1 << (bit % 64);
        }
        (block, masks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_working_set_of_half_the_capacity_is_never_evicted() {
        let mut map = Generations::<u32, u32>::new(200);
        for round in 0..50 {
            for key in 0..100 {
                let (value, forgotten) = map.get_or_insert_with(key, || 0);
                *value += 1;
                assert!(!forgotten);
                assert_eq!(*value, round + 1);
            }
        }
        assert_eq!(map.evicted(), 0);
        assert!(map.len() <= 200);
    }

    #[test]
    fn keys_dropped_at_either_of_the_last_two_changes_are_known_touched_or_not() {
        let mut map = Generations::<u32, u32>::new(8);
        for key in 0..5 {
            map.insert(key, key); // at 4: 0..4 turn old
        }
        assert!(matches!(map.get_mut(&0), Lookup::Found(_))); // touched: young again
        for key in 5..8 {
            map.insert(key, key); // at 7: 1, 2, 3 are dropped; 4, 0, 5, 6 turn old
        }
        for key in 8..12 {
            map.insert(key, key); // at 11: 4, 0, 5, 6 are dropped
        }
        for key in 0..7 {
            assert_eq!(map.get(&key), Lookup::Forgotten, "{key}");
        }
        assert!(matches!(map.get(&7), Lookup::Found(_)));
        assert_eq!(map.evicted(), 7);
    }

    #[test]
    #[cfg_attr(miri, ignore = "75 000 keys: too slow under Miri")]
    fn memory_stays_bounded_by_the_capacity_and_late_users_are_told() {
        let mut map = Generations::<u32, u32>::new(64);
        for key in 0..10_000 {
            map.insert(key, key);
            assert!(map.len() <= 64);
        }
        assert_eq!(map.evicted() + map.len() as u64, 10_000);
        // The last 64 dropped keys (at least) are known as forgotten; the kept ones are found.
        let kept = map.len() as u32;
        for key in 10_000 - kept - 64..10_000 - kept {
            assert_eq!(map.get_mut(&key), Lookup::Forgotten, "{key}");
        }
        assert_eq!(map.get_mut(&9_999), Lookup::Found(&mut 9_999));
        let (_, was_forgotten) = map.get_or_insert_with(10_000 - kept - 1, || 7);
        assert!(was_forgotten);
        // Keys never seen rarely look forgotten: about 0.04 % with both halves full.
        let mut roomy = Generations::<u32, u32>::new(1 << 12);
        for key in 0..1 << 16 {
            roomy.insert(key, key);
        }
        let false_alarms = (1_000_000..1_010_000)
            .filter(|key| roomy.get_mut(key) == Lookup::Forgotten)
            .count();
        assert!(
            false_alarms < 20,
            "{false_alarms} of 10 000 fresh keys look forgotten"
        );
    }
}
