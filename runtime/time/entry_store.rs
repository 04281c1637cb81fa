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
//! The cells live in chunks of [`CHUNK`] that are allocated once and never move: growing adds
//! a chunk instead of copying every entry into an array twice the size, so no single
//! insertion pays for a doubling (issue 19 item 6: a `call_later` took 10-150 µs whenever a
//! single `Vec` doubled). Within a chunk the layout is that of one `Vec`, and indices still
//! fill memory in order; a lookup adds one load of the chunk pointer (the chunk table is tiny
//! and stays in L1).
//!
//! Invariants: every cell at or above `cursor` is `None` or not pushed yet; cells are pushed in
//! index order, so every chunk but the last is full and the cell of every index below `cursor`
//! exists; `free` holds exactly the indices of the `None` cells below `cursor`, each once; `len`
//! counts the `Some` cells.

use std::ops::{Index, IndexMut};

use crate::prefetch::prefetch_read;

/// log2 of the cells per chunk. Under Miri, 5 (32 cells): its tests then cross chunk boundaries
/// with a few dozen entries instead of thousands (each step runs ~1,000x slower there).
const CHUNK_BITS: u32 = if cfg!(miri) { 5 } else { 11 };
/// Cells per chunk: 2,048 (96 KiB for the wheel's 48-byte entries: below glibc's 128 KiB
/// threshold for serving an allocation with its own `mmap`).
const CHUNK: usize = 1 << CHUNK_BITS;

/// Entries addressed by stable `usize` indices, reused after removal.
pub(crate) struct EntryStore<E> {
    /// Each with capacity [`CHUNK`], filled by `push` as the cursor passes.
    chunks: Vec<Vec<Option<E>>>,
    free: Vec<usize>,
    cursor: usize,
    len: usize,
}

impl<E> EntryStore<E> {
    /// An empty store with room for `n` entries.
    pub(crate) fn with_capacity(n: usize) -> Self {
        EntryStore {
            chunks: (0..n.div_ceil(CHUNK))
                .map(|_| Vec::with_capacity(CHUNK))
                .collect(),
            free: Vec::new(),
            cursor: 0,
            len: 0,
        }
    }

    /// Stores `entry`, returning its index.
    #[cfg(test)]
    pub(crate) fn insert(&mut self, entry: E) -> usize {
        self.insert_with(|| entry)
    }

    /// Stores the entry `make` builds, returning its index. The cell is found (and a chunk
    /// added if need be) before `make` runs, so that the entry is built straight into it: an
    /// entry built first waits on the stack through the lookup and is then copied with loads
    /// wider than the stores that built its narrow fields (a store-forwarding stall).
    #[inline]
    pub(crate) fn insert_with(&mut self, make: impl FnOnce() -> E) -> usize {
        self.len += 1;
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.cursor += 1;
                self.cursor - 1
            }
        };
        let chunk = index >> CHUNK_BITS;
        if chunk == self.chunks.len() {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        let cells = &mut self.chunks[chunk];
        let offset = index & (CHUNK - 1);
        if offset == cells.len() {
            cells.push(None);
        }
        // A free or fresh cell is `None` (module invariants): nothing to drop, and no drop
        // code between the lookup and the write.
        let old = cells[offset].replace(make());
        debug_assert!(old.is_none(), "timer wheel: a free cell held an entry");
        std::mem::forget(old);
        index
    }

    /// The index the next [`EntryStore::insert_with`] will return.
    #[inline]
    pub(crate) fn next_index(&self) -> usize {
        self.free.last().copied().unwrap_or(self.cursor)
    }

    /// Removes and returns the entry at `index` if there is one and `matches` it (one lookup
    /// for the test and the removal).
    #[inline]
    pub(crate) fn remove_if(&mut self, index: usize, matches: impl FnOnce(&E) -> bool) -> Option<E> {
        let cell = self
            .chunks
            .get_mut(index >> CHUNK_BITS)
            .and_then(|cells| cells.get_mut(index & (CHUNK - 1)))?;
        let entry = cell.take_if(|entry| matches(entry))?;
        self.vacate(index);
        Some(entry)
    }

    /// Removes and returns the entry at `index`.
    ///
    /// # Panics
    /// If `index` holds no entry (a wheel bug, never user input).
    #[inline]
    pub(crate) fn remove(&mut self, index: usize) -> E {
        let entry = self
            .chunks
            .get_mut(index >> CHUNK_BITS)
            .and_then(|cells| cells.get_mut(index & (CHUNK - 1)))
            .and_then(Option::take)
            .expect("timer wheel: removing a vacant entry");
        self.vacate(index);
        entry
    }

    /// Counts the entry at `index` as removed (its cell was just emptied).
    #[inline]
    fn vacate(&mut self, index: usize) {
        self.len -= 1;
        if self.len == 0 {
            self.free.clear();
            self.cursor = 0;
        } else {
            self.free.push(index);
        }
    }

    /// The entry at `index`, if any.
    pub(crate) fn get(&self, index: usize) -> Option<&E> {
        self.chunks
            .get(index >> CHUNK_BITS)?
            .get(index & (CHUNK - 1))?
            .as_ref()
    }

    /// The entry at `index`, if any, mutably.
    pub(crate) fn get_mut(&mut self, index: usize) -> Option<&mut E> {
        self.chunks
            .get_mut(index >> CHUNK_BITS)?
            .get_mut(index & (CHUNK - 1))?
            .as_mut()
    }

    /// Asks the CPU to start loading the cell of `index` (a hint: no effect on the contents,
    /// and none at all off x86_64 or for an index out of range). The wheel issues it a few
    /// entries ahead of the one it takes, so that the cache misses of successive entries,
    /// scattered over the store, overlap.
    #[inline]
    pub(crate) fn prefetch(&self, index: usize) {
        if let Some(cell) = self
            .chunks
            .get(index >> CHUNK_BITS)
            .and_then(|cells| cells.get(index & (CHUNK - 1)))
        {
            prefetch_read(cell);
        }
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
        self.chunks
            .iter()
            .flatten()
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
    fn grows_by_chunks_without_moving_entries() {
        let mut store = EntryStore::with_capacity(0);
        let n = 2 * CHUNK + 5;
        for i in 0..n {
            assert_eq!(store.insert(i), i);
        }
        let first = &store[0] as *const usize;
        for i in n..n + CHUNK {
            store.insert(i);
        }
        assert_eq!(
            &store[0] as *const usize, first,
            "a new chunk leaves old entries in place"
        );
        assert_eq!(store.len(), n + CHUNK);
        assert!((0..n + CHUNK).all(|i| store[i] == i));
        assert_eq!(store.remove(CHUNK), CHUNK);
        assert_eq!(
            store.insert(7),
            CHUNK,
            "a freed index in a middle chunk is reused"
        );
        assert_eq!(store.iter().count(), n + CHUNK);
        for i in 0..n + CHUNK {
            store.remove(i);
        }
        assert!(store.is_empty());
        assert_eq!(
            store.insert(1),
            0,
            "an emptied store starts from 0 again, chunks kept"
        );
        assert!(store.get(CHUNK).is_none() && store.get(usize::MAX).is_none());
        // A prefetch is a hint: any index, in range or not, changes nothing.
        for index in [0, 1, CHUNK, 3 * CHUNK, usize::MAX] {
            store.prefetch(index);
        }
        assert_eq!((store.len(), store[0]), (1, 1));
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
