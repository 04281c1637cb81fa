//! One list of the timer wheel (a slot, or the ready list): entry indices in an append-only
//! `Vec`, with removal by tombstone.
//!
//! Why not a linked list: walking a linked list is a chain of dependent loads, one cache miss
//! after another when the entries are spread over a large slab (a cascade of 100k timers). The
//! indices of a `Vec` are read in sequence, so the loads of the entries they name are
//! independent and the CPU overlaps their misses. Removal writes a tombstone at the entry's
//! recorded position (O(1)), which keeps the list in insertion order.
//!
//! Invariants:
//! 1. `items[..head]` has been consumed by [`SlotList::pop_front`]; `items[head..]` holds `live`
//!    indices and any number of [`TOMB`]s.
//! 2. A list with no live index is fully cleared (`items` empty, `head` 0), so positions restart
//!    at 0 and a cleared list costs nothing to scan.
//! 3. Tombstones never outnumber live indices by more than [`SlotList::needs_compaction`]
//!    allows once the caller compacts when told, which keeps memory and scans O(live).

/// A removed index.
pub(crate) const TOMB: u32 = u32::MAX;

/// Lists longer than this (in capacity) are not kept for reuse once drained.
const KEEP_CAPACITY: usize = 4096;

/// Entry indices in insertion order, with tombstones.
#[derive(Default)]
pub(crate) struct SlotList {
    items: Vec<u32>,
    head: usize,
    live: u32,
}

impl SlotList {
    /// Appends `index`; returns its position (valid until the list is drained or compacted).
    pub(crate) fn push(&mut self, index: u32) -> u32 {
        let pos = self.items.len();
        self.items.push(index);
        self.live += 1;
        u32::try_from(pos).expect("timer wheel list longer than u32::MAX")
    }

    /// Removes the index at `pos` (given by [`push`](Self::push) or a compaction). Returns
    /// whether the list is empty now.
    pub(crate) fn kill(&mut self, pos: u32) -> bool {
        let item = &mut self.items[pos as usize];
        debug_assert_ne!(*item, TOMB, "timer wheel: double removal");
        *item = TOMB;
        self.live -= 1;
        if self.live == 0 {
            self.items.clear();
            self.head = 0;
            return true;
        }
        false
    }

    /// Whether no live index is left.
    pub(crate) fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Takes out the first live index.
    pub(crate) fn pop_front(&mut self) -> Option<u32> {
        while self.live > 0 {
            let index = self.items[self.head];
            self.head += 1;
            if index != TOMB {
                self.live -= 1;
                if self.live == 0 {
                    self.items.clear();
                    self.head = 0;
                }
                return Some(index);
            }
        }
        None
    }

    /// Empties the list, returning its items (tombstones included) for the caller to walk;
    /// hand the `Vec` back with [`restore`](Self::restore) to keep its allocation.
    pub(crate) fn take(&mut self) -> Vec<u32> {
        let mut items = std::mem::take(&mut self.items);
        items.drain(..self.head);
        self.head = 0;
        self.live = 0;
        items
    }

    /// Gives back a `Vec` from [`take`](Self::take) for reuse, if the list is still empty and the
    /// allocation is not outsized.
    pub(crate) fn restore(&mut self, mut items: Vec<u32>) {
        if self.items.capacity() == 0 && items.capacity() <= KEEP_CAPACITY {
            items.clear();
            self.items = items;
        }
    }

    /// The live indices, in order.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.items[self.head..]
            .iter()
            .copied()
            .filter(|&index| index != TOMB)
    }

    /// The live indices with their positions (for invariant checks).
    #[cfg(test)]
    pub(crate) fn iter_positions(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        (self.head..self.items.len())
            .map(|pos| (pos as u32, self.items[pos]))
            .filter(|&(_, index)| index != TOMB)
    }

    /// Whether tombstones have piled up enough that [`compact`](Self::compact) should run.
    pub(crate) fn needs_compaction(&self) -> bool {
        let len = self.items.len() - self.head;
        len >= 32 && (self.live as usize) * 4 < len
    }

    /// Drops consumed items and tombstones and stable-sorts the live indices by `key`; returns
    /// them, so that the caller can record each one's new position (its index in the slice).
    /// O(length) when the list is already sorted but for a short unsorted tail.
    pub(crate) fn sort_by_key(&mut self, key: impl FnMut(&u32) -> u64) -> &[u32] {
        self.items.drain(..self.head);
        self.head = 0;
        self.items.retain(|&index| index != TOMB);
        self.items.sort_by_key(key);
        &self.items
    }

    /// Drops consumed items and tombstones, telling `moved` each live index's new position.
    /// O(length); run only when [`needs_compaction`](Self::needs_compaction) says so, which
    /// makes its cost amortised O(1) per removal.
    pub(crate) fn compact(&mut self, mut moved: impl FnMut(u32, u32)) {
        let mut write = 0;
        for read in self.head..self.items.len() {
            let index = self.items[read];
            if index != TOMB {
                self.items[write] = index;
                moved(index, write as u32);
                write += 1;
            }
        }
        self.items.truncate(write);
        self.head = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_across_kills_and_pops() {
        let mut list = SlotList::default();
        let pos: Vec<u32> = (10..20).map(|i| list.push(i)).collect();
        assert!(!list.kill(pos[3]));
        assert!(!list.kill(pos[0]));
        assert_eq!(list.pop_front(), Some(11));
        assert_eq!(list.iter().collect::<Vec<_>>(), [12, 14, 15, 16, 17, 18, 19]);
        for &p in &pos[4..9] {
            assert!(!list.kill(p));
        }
        assert!(!list.kill(pos[9]), "12 is still live");
        assert_eq!(list.pop_front(), Some(12));
        assert!(list.is_empty());
        assert_eq!(list.pop_front(), None);
    }

    #[test]
    fn last_kill_clears_and_positions_restart() {
        let mut list = SlotList::default();
        let a = list.push(1);
        let b = list.push(2);
        assert!(!list.kill(a));
        assert!(list.kill(b), "the last live index empties the list");
        assert!(list.is_empty());
        assert_eq!(list.push(3), 0, "a cleared list starts at position 0");
        assert_eq!(list.pop_front(), Some(3));
        assert_eq!(list.pop_front(), None);
        assert_eq!(list.push(4), 0);
    }

    #[test]
    fn compaction_reports_new_positions_and_keeps_order() {
        let mut list = SlotList::default();
        let mut pos: Vec<u32> = (0..100).map(|i| list.push(i)).collect();
        list.pop_front();
        for (i, &p) in pos.iter().enumerate().take(90).skip(1) {
            if i % 10 != 0 {
                list.kill(p);
            }
        }
        assert!(list.needs_compaction());
        list.compact(|index, p| pos[index as usize] = p);
        assert!(!list.needs_compaction());
        let live: Vec<u32> = list.iter().collect();
        assert_eq!(live.len(), 8 + 10);
        for (p, &index) in live.iter().enumerate() {
            assert_eq!(pos[index as usize], p as u32, "position of {index} not updated");
        }
        // A kill at a reported position removes exactly that index.
        list.kill(pos[50]);
        assert!(!list.iter().any(|i| i == 50));
        assert_eq!(list.pop_front(), Some(10));
    }

    #[test]
    fn take_skips_consumed_items_and_restore_reuses_the_allocation() {
        let mut list = SlotList::default();
        for i in 0..5 {
            list.push(i);
        }
        list.pop_front();
        let items = list.take();
        assert_eq!(items, [1, 2, 3, 4]);
        assert!(list.is_empty());
        let cap = items.capacity();
        list.restore(items);
        assert_eq!(list.push(9), 0);
        assert!(list.items.capacity() >= cap);
    }
}
