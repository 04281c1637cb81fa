//! One list of the timer wheel (a slot, or the ready list): entry indices in append-only
//! blocks, with removal by tombstone.
//!
//! Why not a linked list: walking a linked list is a chain of dependent loads, one cache miss
//! after another when the entries are spread over a large slab (a cascade of 100k timers). The
//! indices of an array are read in sequence, so the loads of the entries they name are
//! independent and the CPU overlaps their misses. Removal writes a tombstone at the entry's
//! recorded position (O(1)), which keeps the list in insertion order.
//!
//! Why blocks and not one `Vec` (issue 19, item 6): a list that grows by doubling copies all of
//! itself at every power of two, so one insert among a burst of timers sharing a slot (a
//! server arming the same 30 s timeout on every connection) paid a copy of 128 KiB at 32,768
//! entries. Here the list is a `tail` `Vec` of at most [`BLOCK`] indices, which grows by
//! doubling while the list is short and is moved whole, without copying, into `full` when it
//! fills; the next tail starts at its full size. The worst push copies 2 KiB (the tail's last
//! doubling) or allocates one block. A push touches only the header and the tail, as before.
//!
//! Invariants:
//! 1. Position `p` names `full[p / BLOCK][p % BLOCK]` below `full.len() * BLOCK`, else
//!    `tail[p - full.len() * BLOCK]`; every block in `full` holds exactly `BLOCK` items.
//! 2. Positions `..head` have been consumed by [`SlotList::pop_front`]; positions from `head`
//!    hold `live` indices and any number of [`TOMB`]s.
//! 3. A list with no live index is fully cleared (no items, `head` 0, `full` empty), so
//!    positions restart at 0 and a cleared list costs nothing to scan.
//! 4. Tombstones never outnumber live indices by more than [`SlotList::needs_compaction`]
//!    allows once the caller compacts when told, which keeps memory and scans O(live).

use std::iter::Zip;
use std::ops::RangeFrom;
use std::vec;

/// A removed index.
pub(crate) const TOMB: u32 = u32::MAX;

/// Indices per block (4 KiB). Under Miri, 32: its tests then cross block boundaries with a
/// few dozen items instead of thousands (each step runs ~1,000x slower there).
const BLOCK: usize = if cfg!(miri) { 32 } else { 1024 };

/// A full block of indices.
type Block = Box<[u32; BLOCK]>;

/// Entry indices in insertion order, with tombstones.
#[derive(Default)]
pub(crate) struct SlotList {
    /// The last, partly filled block.
    tail: Vec<u32>,
    /// The full blocks before it.
    full: Vec<Block>,
    head: u32,
    live: u32,
}

/// The items of a list emptied by [`SlotList::take`], to walk and hand back.
pub(crate) struct TakenItems {
    tail: Vec<u32>,
    full: Vec<Block>,
    head: usize,
}

impl TakenItems {
    /// The items from the first unconsumed one, tombstones included, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        slices(&self.full, &self.tail, self.head).flatten().copied()
    }
}

/// The items of blocks `full` then `tail` from position `head` on, as slices.
fn slices<'a>(full: &'a [Block], tail: &'a [u32], head: usize) -> impl Iterator<Item = &'a [u32]> {
    let first = head / BLOCK;
    let skip = head % BLOCK;
    full.iter()
        .map(|block| &block[..])
        .chain(std::iter::once(tail))
        .skip(first)
        .enumerate()
        .map(move |(i, items)| {
            if i == 0 {
                &items[skip.min(items.len())..]
            } else {
                items
            }
        })
}

impl SlotList {
    /// The number of positions handed out (consumed ones included).
    fn len(&self) -> usize {
        self.full.len() * BLOCK + self.tail.len()
    }

    /// The item at position `pos`.
    fn at(&mut self, pos: usize) -> &mut u32 {
        let (block, offset) = (pos / BLOCK, pos % BLOCK);
        let sealed = self.full.len();
        match self.full.get_mut(block) {
            Some(full) => &mut full[offset],
            None => &mut self.tail[pos - sealed * BLOCK],
        }
    }

    /// Empties the list, keeping the tail's allocation (at most one block).
    fn clear(&mut self) {
        self.tail.clear();
        self.full.clear();
        self.head = 0;
    }

    /// Appends `index`; returns its position (valid until the list is drained or compacted).
    #[inline]
    pub(crate) fn push(&mut self, index: u32) -> u32 {
        if self.tail.len() == BLOCK {
            self.seal_tail();
        }
        let pos = self.len();
        self.tail.push(index);
        self.live += 1;
        u32::try_from(pos).expect("timer wheel list longer than u32::MAX")
    }

    /// Moves the full tail into `full` and starts a new one at its full size.
    #[cold]
    fn seal_tail(&mut self) {
        let tail = std::mem::replace(&mut self.tail, Vec::with_capacity(BLOCK));
        let block: Block = tail
            .into_boxed_slice()
            .try_into()
            .unwrap_or_else(|_| unreachable!("a sealed tail holds exactly BLOCK items"));
        self.full.push(block);
    }

    /// Removes the index at `pos` (given by [`push`](Self::push) or a compaction). Returns
    /// whether the list is empty now.
    pub(crate) fn kill(&mut self, pos: u32) -> bool {
        let item = self.at(pos as usize);
        debug_assert_ne!(*item, TOMB, "timer wheel: double removal");
        *item = TOMB;
        self.live -= 1;
        if self.live == 0 {
            self.clear();
            return true;
        }
        false
    }

    /// Whether no live index is left.
    pub(crate) fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The item `ahead` positions after the first unconsumed one (a tombstone included), if
    /// the list is that long.
    #[inline]
    pub(crate) fn peek(&self, ahead: usize) -> Option<u32> {
        let pos = self.head as usize + ahead;
        let sealed = self.full.len() * BLOCK;
        match pos.checked_sub(sealed) {
            Some(in_tail) => self.tail.get(in_tail).copied(),
            None => Some(self.full[pos / BLOCK][pos % BLOCK]),
        }
    }

    /// Takes out the first live index.
    pub(crate) fn pop_front(&mut self) -> Option<u32> {
        while self.live > 0 {
            let index = *self.at(self.head as usize);
            self.head += 1;
            if index != TOMB {
                self.live -= 1;
                if self.live == 0 {
                    self.clear();
                }
                return Some(index);
            }
        }
        None
    }

    /// Empties the list, returning its items (tombstones included) for the caller to walk;
    /// hand them back with [`restore`](Self::restore) to keep the tail's allocation.
    pub(crate) fn take(&mut self) -> TakenItems {
        let taken = TakenItems {
            tail: std::mem::take(&mut self.tail),
            full: std::mem::take(&mut self.full),
            head: self.head as usize,
        };
        self.head = 0;
        self.live = 0;
        taken
    }

    /// Gives back the items of [`take`](Self::take) for reuse of the tail's allocation (at
    /// most one block), if the list is still empty; full blocks are freed.
    pub(crate) fn restore(&mut self, mut items: TakenItems) {
        if self.tail.capacity() == 0 && self.full.is_empty() {
            items.tail.clear();
            self.tail = items.tail;
        }
    }

    /// The live indices, in order.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        slices(&self.full, &self.tail, self.head as usize)
            .flatten()
            .copied()
            .filter(|&index| index != TOMB)
    }

    /// Whether the list holds no position at all, consumed or tombstone (for invariant checks:
    /// most of a wheel's lists are blank, and under Miri walking each through
    /// [`iter`](Self::iter) dominated the checks' cost).
    #[cfg(test)]
    pub(crate) fn is_blank(&self) -> bool {
        self.len() == self.head as usize
    }

    /// The live indices with their positions (for invariant checks).
    #[cfg(test)]
    pub(crate) fn iter_positions(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        slices(&self.full, &self.tail, self.head as usize)
            .flatten()
            .copied()
            .zip(self.head..)
            .filter(|&(index, _)| index != TOMB)
            .map(|(index, pos)| (pos, index))
    }

    /// Whether tombstones have piled up enough that [`compact`](Self::compact) should run.
    pub(crate) fn needs_compaction(&self) -> bool {
        let len = self.len() - self.head as usize;
        len >= 32 && (self.live as usize) * 4 < len
    }

    /// Drops consumed items and tombstones and stable-sorts the live indices by `key`; returns
    /// them as `(index, new position)`, for the caller to record. O(length) when the list is
    /// already sorted but for a short unsorted tail.
    pub(crate) fn sort_by_key(
        &mut self,
        key: impl FnMut(&u32) -> u64,
    ) -> Zip<vec::IntoIter<u32>, RangeFrom<u32>> {
        let mut items: Vec<u32> = slices(&self.full, &self.tail, self.head as usize)
            .flatten()
            .copied()
            .filter(|&index| index != TOMB)
            .collect();
        items.sort_by_key(key);
        self.clear();
        self.live = 0;
        for &index in &items {
            self.push(index);
        }
        items.into_iter().zip(0..)
    }

    /// Drops consumed items and tombstones, telling `moved` each live index's new position.
    /// O(length); run only when [`needs_compaction`](Self::needs_compaction) says so, which
    /// makes its cost amortised O(1) per removal.
    pub(crate) fn compact(&mut self, mut moved: impl FnMut(u32, u32)) {
        let mut write = 0;
        for read in self.head as usize..self.len() {
            let index = *self.at(read);
            if index != TOMB {
                *self.at(write) = index;
                moved(index, write as u32);
                write += 1;
            }
        }
        // Positions `..write` now hold the live indices: keep the blocks they fill.
        let keep_full = write / BLOCK;
        if keep_full < self.full.len() {
            let mut tail = Vec::with_capacity(BLOCK);
            tail.extend_from_slice(&self.full[keep_full][..write % BLOCK]);
            self.full.truncate(keep_full);
            self.tail = tail;
        } else {
            self.tail.truncate(write - keep_full * BLOCK);
        }
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
        assert_eq!(items.iter().collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert!(list.is_empty());
        let cap = items.tail.capacity();
        list.restore(items);
        assert_eq!(list.push(9), 0);
        assert!(list.tail.capacity() >= cap);
    }

    /// A list spanning several blocks against a plain `Vec` model: kills, pops, compaction,
    /// sorting and take keep positions and order (item 6's blocks).
    #[test]
    fn many_blocks_behave_like_one_vec() {
        let n = 3 * BLOCK as u32 + 77 % BLOCK as u32; // three blocks and a partial tail
        let mut list = SlotList::default();
        let mut pos: Vec<u32> = (0..n).map(|i| list.push(i)).collect();
        assert_eq!(pos, (0..n).collect::<Vec<_>>());
        assert_eq!(list.full.len(), 3, "three sealed blocks");
        let mut model: Vec<u32> = (0..n).collect();
        // Pops cross a block boundary; kills spread over every block.
        // (The model is updated in linear passes, so the test stays quick under Miri.)
        for expected in model.drain(..BLOCK + 5) {
            assert_eq!(list.pop_front(), Some(expected));
        }
        for i in (BLOCK as u32 + 5..n).filter(|i| i % 7 != 0) {
            // The multiples of 7 stay: no kill empties the list.
            assert!(!list.kill(pos[i as usize]), "kill of {i} emptied the list");
        }
        model.retain(|&m| m % 7 == 0);
        assert_eq!(list.iter().collect::<Vec<_>>(), model);
        assert!(list.needs_compaction());
        list.compact(|index, p| pos[index as usize] = p);
        assert_eq!(list.iter().collect::<Vec<_>>(), model);
        for (p, index) in list.iter_positions() {
            assert_eq!(pos[index as usize], p, "position of {index}");
        }
        // Grow across blocks again after compaction, then sort (descending key).
        for i in n..n + 2 * BLOCK as u32 {
            pos[0] = list.push(i);
            model.push(i);
        }
        let sorted: Vec<(u32, u32)> = list.sort_by_key(|&i| u64::from(u32::MAX - i)).collect();
        model.reverse();
        assert_eq!(sorted.iter().map(|s| s.0).collect::<Vec<_>>(), model);
        for (index, p) in list.iter_positions().map(|(p, i)| (i, p)) {
            assert_eq!(sorted[p as usize], (index, p));
        }
        // A kill at a sorted position removes exactly that index.
        let (victim, at) = sorted[BLOCK + 3];
        list.kill(at);
        model.retain(|&m| m != victim);
        let taken = list.take();
        assert_eq!(taken.iter().filter(|&i| i != TOMB).collect::<Vec<_>>(), model);
        assert!(list.is_empty());
        list.restore(taken);
        assert!(
            list.tail.capacity() <= BLOCK,
            "only the tail's allocation is kept"
        );
        assert_eq!(list.push(1), 0);
    }

    #[test]
    fn peek_reads_ahead_of_the_head_across_blocks() {
        let mut list = SlotList::default();
        let n = BLOCK as u32 + 10;
        let pos: Vec<u32> = (0..n).map(|i| list.push(i)).collect();
        assert_eq!(list.peek(0), Some(0));
        assert_eq!(list.peek(BLOCK + 3), Some(BLOCK as u32 + 3), "in the tail");
        assert_eq!(list.peek(n as usize), None, "past the end");
        for _ in 0..BLOCK - 2 {
            list.pop_front();
        }
        assert_eq!(list.peek(1), Some(BLOCK as u32 - 1), "last of the sealed block");
        assert_eq!(list.peek(2), Some(BLOCK as u32), "first of the tail");
        list.kill(pos[BLOCK]);
        assert_eq!(list.peek(2), Some(TOMB), "a tombstone is reported as it is");
    }
}
