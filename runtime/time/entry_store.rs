//! The timer wheel's entry storage: a `Vec` of optional entries with a stack of free indices.
//!
//! Why not the `slab` crate: a slab threads its free list through the vacant entries, so each
//! insertion reads the entry it reuses to learn the next free one — a chain of dependent cache
//! misses when 100k timers are set at once into a slab whose entries were freed in deadline
//! order. Here the free indices sit in their own `Vec`: successive insertions are independent,
//! and the CPU overlaps their misses.
//!
//! Each time the store empties, the free stack is dropped and indices are handed out again
//! from 0 upwards (`cursor`), in O(1): a burst of timers then fills memory in order, which the
//! prefetcher follows, instead of in the random order the previous burst fired in.
//!
//! Invariants: every cell at or above `cursor` is `None`; `free` holds exactly the indices of
//! the `None` cells below `cursor`, each once; `len` counts the `Some` cells.

use std::ops::{Index, IndexMut};

/// Entries addressed by stable `usize` indices, reused after removal.
pub(crate) struct EntryStore<E> {
    cells: Vec<Option<E>>,
    free: Vec<usize>,
    cursor: usize,
    len: usize,
}

impl<E> EntryStore<E> {
    /// An empty store with room for `n` entries.
    pub(crate) fn with_capacity(n: usize) -> Self {
        EntryStore {
            cells: Vec::with_capacity(n),
            free: Vec::new(),
            cursor: 0,
            len: 0,
        }
    }

    /// Stores `entry`, returning its index.
    pub(crate) fn insert(&mut self, entry: E) -> usize {
        self.len += 1;
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.cursor += 1;
                self.cursor - 1
            }
        };
        match self.cells.get_mut(index) {
            Some(cell) => *cell = Some(entry),
            None => self.cells.push(Some(entry)),
        }
        index
    }

    /// Removes and returns the entry at `index`.
    ///
    /// # Panics
    /// If `index` holds no entry (a wheel bug, never user input).
    pub(crate) fn remove(&mut self, index: usize) -> E {
        let entry = self.cells[index]
            .take()
            .expect("timer wheel: removing a vacant entry");
        self.len -= 1;
        if self.len == 0 {
            self.free.clear();
            self.cursor = 0;
        } else {
            self.free.push(index);
        }
        entry
    }

    /// The entry at `index`, if any.
    pub(crate) fn get(&self, index: usize) -> Option<&E> {
        self.cells.get(index)?.as_ref()
    }

    /// The entry at `index`, if any, mutably.
    pub(crate) fn get_mut(&mut self, index: usize) -> Option<&mut E> {
        self.cells.get_mut(index)?.as_mut()
    }

    /// The number of entries.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no entries.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every entry with its index.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &E)> {
        self.cells
            .iter()
            .enumerate()
            .filter_map(|(index, cell)| Some((index, cell.as_ref()?)))
    }
}

impl<E> Index<usize> for EntryStore<E> {
    type Output = E;

    /// # Panics
    /// If `index` holds no entry.
    fn index(&self, index: usize) -> &E {
        self.get(index).expect("timer wheel: vacant entry")
    }
}

impl<E> IndexMut<usize> for EntryStore<E> {
    /// # Panics
    /// If `index` holds no entry.
    fn index_mut(&mut self, index: usize) -> &mut E {
        self.get_mut(index).expect("timer wheel: vacant entry")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_freed_indices_and_counts() {
        let mut store = EntryStore::with_capacity(0);
        let a = store.insert("a");
        let b = store.insert("b");
        assert_eq!((a, b, store.len()), (0, 1, 2));
        assert_eq!(store.remove(a), "a");
        assert!(store.get(a).is_none());
        assert_eq!(store.len(), 1);
        assert_eq!(store.insert("c"), a, "a freed index is reused");
        assert_eq!(store[a], "c");
        store[b] = "B";
        assert_eq!(store.iter().collect::<Vec<_>>(), [(0, &"c"), (1, &"B")]);
        store.remove(0);
        store.remove(1);
        assert!(store.is_empty());
        assert_eq!(store.insert("d"), 0, "an emptied store hands out indices from 0");
        assert_eq!(store.insert("e"), 1);
        assert_eq!(store.insert("f"), 2);
        store.remove(1);
        assert_eq!(store.insert("g"), 1, "freed indices come before fresh ones");
        assert_eq!(store.iter().count(), 3);
        assert!(store.get(7).is_none(), "out of range is vacant, not a panic");
    }

    #[test]
    #[should_panic(expected = "removing a vacant entry")]
    fn removing_twice_panics_clearly() {
        let mut store = EntryStore::with_capacity(1);
        let a = store.insert(1);
        store.remove(a);
        store.remove(a);
    }
}
