//! [`SlotStore`]: the task table's slab, an array of entries addressed by key, with vacant
//! entries threaded into a free list (the `slab` crate's layout and costs), plus what the
//! `slab` crate cannot give: [`SlotStore::prefetch`], a cache hint for the entry of a key the
//! loop will touch a few steps later. Tasks are woken and stepped in scattered order (timers
//! fire in deadline order, not spawn order), and over 100k tasks each step's first touch of
//! its slot is a cache miss; hinting ahead lets those misses overlap.
//!
//! The entries live in a [`TableBuf`] rather than a `Vec`: the same layout and lookups, but
//! past 128 KiB it grows in place, in a reserved mapping, instead of copying the table
//! (slot_store/table_buf.rs; issue 19 item 6: a spawn that doubled a 1.25 MiB table took 30-140 µs).
//!
//! Invariants: `len` counts the occupied entries; `next` is the head of the free list, a key
//! whose entry is vacant, or `entries.len()` when no entry is vacant; every vacant entry is on
//! the list exactly once.

mod table_buf;

use self::table_buf::TableBuf;
use crate::prefetch::prefetch_read;

enum Entry<T> {
    /// A free entry and the next free key.
    Vacant(usize),
    Occupied(T),
}

/// Values addressed by stable `usize` keys, reused after removal.
pub(super) struct SlotStore<T> {
    entries: TableBuf<Entry<T>>,
    len: usize,
    next: usize,
}

impl<T> Default for SlotStore<T> {
    fn default() -> Self {
        SlotStore {
            entries: TableBuf::default(),
            len: 0,
            next: 0,
        }
    }
}

impl<T> SlotStore<T> {
    /// Stores `value` and returns its key: the most recently freed one, else a new one.
    #[cfg(test)]
    fn insert(&mut self, value: T) -> usize {
        self.insert_with(|| value)
    }

    /// Stores the value `make` returns and returns its key: the most recently freed one, else
    /// a new one.
    ///
    /// The value is made in the branch that stores it, and a reused entry is read before it
    /// is overwritten (not swapped with `mem::replace`), so the spawn path (always inlined)
    /// stores it field by field straight into its entry. Built once on the stack for both
    /// branches and copied, it was read back with wider loads than the stores that wrote it,
    /// which stalled every spawn (a failed store-to-load forward).
    #[inline(always)]
    pub(super) fn insert_with(&mut self, make: impl FnOnce() -> T) -> usize {
        let key = self.next;
        if key == self.entries.len() {
            self.entries.push(Entry::Occupied(make()));
            self.next = key + 1;
        } else {
            let entry = &mut self.entries.as_mut_slice()[key];
            let Entry::Vacant(next) = *entry else {
                unreachable!("aioloop: the task table's free list holds an occupied key")
            };
            *entry = Entry::Occupied(make());
            self.next = next;
        }
        self.len += 1;
        key
    }

    /// The value at `key`, if there is one.
    #[inline]
    pub(super) fn get(&self, key: usize) -> Option<&T> {
        match self.entries.as_slice().get(key) {
            Some(Entry::Occupied(value)) => Some(value),
            _ => None,
        }
    }

    /// Mutable form of [`SlotStore::get`].
    #[inline]
    pub(super) fn get_mut(&mut self, key: usize) -> Option<&mut T> {
        match self.entries.as_mut_slice().get_mut(key) {
            Some(Entry::Occupied(value)) => Some(value),
            _ => None,
        }
    }

    /// Takes the value at `key` out; its key goes back to the free list.
    ///
    /// # Panics
    /// If `key` holds no value.
    #[inline]
    pub(super) fn remove(&mut self, key: usize) -> T {
        let entry = self
            .entries
            .as_mut_slice()
            .get_mut(key)
            .map(|entry| std::mem::replace(entry, Entry::Vacant(self.next)));
        match entry {
            Some(Entry::Occupied(value)) => {
                self.next = key;
                self.len -= 1;
                value
            }
            other => {
                // Put a vacant entry back as it was: the free list is unchanged.
                if let Some(vacant) = other {
                    self.entries.as_mut_slice()[key] = vacant;
                }
                panic!("aioloop: no task slot at key {key} (loop bug)")
            }
        }
    }

    /// A cache hint for the entry at `key` (module doc). Reads nothing: a key out of range
    /// hints nothing.
    #[inline]
    pub(super) fn prefetch(&self, key: usize) {
        if key < self.entries.len() {
            prefetch_read(self.entries.as_ptr().wrapping_add(key));
        }
    }

    /// The number of values.
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The bytes one entry takes (a value with its vacancy tag), for the size tests.
    #[cfg(test)]
    pub(super) fn entry_size() -> usize {
        std::mem::size_of::<Entry<T>>()
    }

    /// Every value with its key, in key order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (usize, &T)> {
        self.entries
            .as_slice()
            .iter()
            .enumerate()
            .filter_map(|(key, entry)| match entry {
                Entry::Occupied(value) => Some((key, value)),
                Entry::Vacant(_) => None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_reused_last_freed_first() {
        let mut store = SlotStore::default();
        let keys: Vec<usize> = (0..4).map(|v| store.insert(v)).collect();
        assert_eq!(keys, [0, 1, 2, 3]);
        assert_eq!(store.remove(1), 1);
        assert_eq!(store.remove(3), 3);
        assert_eq!(store.len(), 2);
        assert_eq!(store.get(1), None);
        assert_eq!(store.insert(30), 3, "the last freed key first");
        assert_eq!(store.insert(10), 1);
        assert_eq!(store.insert(4), 4, "then a new key");
        let all: Vec<(usize, i32)> = store.iter().map(|(k, v)| (k, *v)).collect();
        assert_eq!(all, [(0, 0), (1, 10), (2, 2), (3, 30), (4, 4)]);
        *store.get_mut(2).unwrap() = 20;
        assert_eq!(store.get(2), Some(&20));
        assert_eq!(store.len(), 5);
    }

    #[test]
    fn prefetch_out_of_range_is_harmless() {
        let mut store = SlotStore::default();
        store.prefetch(0);
        store.insert(1u8);
        store.prefetch(0);
        store.prefetch(usize::MAX);
        assert_eq!(store.get(0), Some(&1));
    }

    #[test]
    fn removing_a_vacant_key_panics_and_keeps_the_free_list() {
        let mut store = SlotStore::default();
        let a = store.insert('a');
        store.insert('b');
        store.remove(a);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| store.remove(a)));
        assert!(caught.is_err());
        assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| store.remove(9))).is_err());
        assert_eq!(
            store.insert('c'),
            a,
            "the free list still starts at the freed key"
        );
        assert_eq!(store.insert('d'), 2);
    }
}
