//! [`BlockFifo`]: a first-in first-out queue of small `Copy` values kept in fixed blocks, so
//! that it grows without ever copying what it holds.
//!
//! A `VecDeque` that doubles copies every entry and, past the allocator's mapping threshold,
//! lands in a fresh mapping whose pages fault in: one push in thousands costs tens of
//! microseconds. Here the queue is a chain of [`BLOCK`]-entry blocks: a push writes into the
//! back block and takes a new one when it is full; a pop reads from the front block and
//! hands it back when it is used up. Emptied blocks wait in a free list of at most [`SPARE`],
//! so a queue that breathes around a steady size allocates nothing. Each push and each pop
//! is one index, one boundary test and one store or load.
//!
//! Invariants (what the `unsafe` blocks rely on):
//! - `blocks` is never empty; every pointer in it and in `spare` came from
//!   `Box::into_raw` of a [`Block`] and is owned by this queue alone;
//! - `front` is `blocks`' first pointer and `back` its last (the same one when there is a
//!   single block);
//! - `head <= BLOCK` and `tail <= BLOCK`; the live entries are those from `head` in the front
//!   block to just before `tail` in the back block, all of them written, and there are
//!   `len` of them.

use std::collections::VecDeque;
use std::mem::MaybeUninit;
use std::ptr::NonNull;

/// Entries per block: 8 KiB of 8-byte entries, under the allocator's mapping threshold.
pub(super) const BLOCK: usize = 1024;

/// Emptied blocks kept for reuse.
pub(super) const SPARE: usize = 2;

type Block<T> = [MaybeUninit<T>; BLOCK];

/// The queue; see the [module](self) documentation.
pub(super) struct BlockFifo<T: Copy> {
    /// The blocks holding the entries, front first; never empty.
    blocks: VecDeque<NonNull<Block<T>>>,
    /// `blocks`' first block, read by `pop`.
    front: NonNull<Block<T>>,
    /// `blocks`' last block, written by `push`.
    back: NonNull<Block<T>>,
    /// The next entry to read, in `front`.
    head: usize,
    /// The next entry to write, in `back`.
    tail: usize,
    len: usize,
    /// Emptied blocks, at most [`SPARE`].
    spare: Vec<NonNull<Block<T>>>,
}

impl<T: Copy> BlockFifo<T> {
    /// An empty queue with one block.
    pub(super) fn new() -> Self {
        let block = Self::new_block();
        BlockFifo {
            blocks: VecDeque::from([block]),
            front: block,
            back: block,
            head: 0,
            tail: 0,
            len: 0,
            spare: Vec::new(),
        }
    }

    fn new_block() -> NonNull<Block<T>> {
        let block: Box<Block<T>> = Box::new([const { MaybeUninit::uninit() }; BLOCK]);
        NonNull::from(Box::leak(block))
    }

    /// Queues `value` behind everything queued.
    #[inline]
    pub(super) fn push(&mut self, value: T) {
        let mut tail = self.tail;
        if tail >= BLOCK {
            self.push_block();
            tail = 0;
        }
        // SAFETY: `back` is a live block this queue owns alone (module invariants), and
        // `tail < BLOCK`.
        unsafe { (*self.back.as_ptr())[tail] = MaybeUninit::new(value) };
        self.tail = tail + 1;
        self.len += 1;
    }

    /// Takes the value at the front.
    #[inline]
    pub(super) fn pop(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let mut head = self.head;
        if head >= BLOCK {
            self.pop_block();
            head = 0;
        }
        // SAFETY: `front` is a live block this queue owns alone, `head < BLOCK`, and the entry
        // at `head` is live (the queue is not empty), so it was written (module invariants).
        let value = unsafe { (*self.front.as_ptr())[head].assume_init() };
        self.head = head + 1;
        self.len -= 1;
        Some(value)
    }

    /// The value `index` places behind the front, if that many are queued.
    #[inline]
    pub(super) fn get(&self, index: usize) -> Option<T> {
        if index >= self.len {
            return None;
        }
        let at = self.head + index;
        let block = self.blocks[at / BLOCK];
        // SAFETY: `block` is a live block this queue owns alone, and entry `at % BLOCK` of it
        // is the live entry `index` places behind the front, so it was written (module
        // invariants).
        Some(unsafe { (*block.as_ptr())[at % BLOCK].assume_init() })
    }

    /// How many values are queued.
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Blocks held, in use and spare (for the tests).
    #[cfg(test)]
    pub(super) fn blocks_held(&self) -> (usize, usize) {
        (self.blocks.len(), self.spare.len())
    }

    /// `back` is full: a spare block, else a new one, becomes the back.
    #[cold]
    #[inline(never)]
    fn push_block(&mut self) {
        let block = self.spare.pop().unwrap_or_else(Self::new_block);
        self.blocks.push_back(block);
        self.back = block;
    }

    /// `front` is used up and more is queued: the next block becomes the front and the old
    /// one a spare (or is freed).
    #[cold]
    #[inline(never)]
    fn pop_block(&mut self) {
        debug_assert!(
            self.blocks.len() > 1,
            "aioloop: a used-up front block with nothing behind it (loop bug)"
        );
        if let Some(old) = self.blocks.pop_front() {
            self.recycle(old);
        }
        self.front = self.blocks[0];
    }

    fn recycle(&mut self, block: NonNull<Block<T>>) {
        if self.spare.len() < SPARE {
            self.spare.push(block);
        } else {
            // SAFETY: `block` came from `Box::into_raw` and is no longer in `blocks`, so
            // nothing else points to it (module invariants).
            drop(unsafe { Box::from_raw(block.as_ptr()) });
        }
    }
}

impl<T: Copy> Drop for BlockFifo<T> {
    fn drop(&mut self) {
        for block in self.blocks.drain(..).chain(self.spare.drain(..)) {
            // SAFETY: every block came from `Box::into_raw` and is owned by this queue alone
            // (module invariants); `T: Copy` leaves nothing in it to drop.
            drop(unsafe { Box::from_raw(block.as_ptr()) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_holds_across_block_boundaries() {
        let mut fifo = BlockFifo::new();
        let n = 3 * BLOCK + 7;
        for i in 0..n {
            fifo.push(i);
        }
        assert_eq!(fifo.len(), n);
        assert_eq!(fifo.get(BLOCK), Some(BLOCK));
        assert_eq!(fifo.get(n - 1), Some(n - 1));
        assert_eq!(fifo.get(n), None);
        for i in 0..n {
            assert_eq!(fifo.pop(), Some(i));
        }
        assert_eq!(fifo.pop(), None);
    }

    #[test]
    fn interleaved_push_and_pop_at_the_boundaries() {
        let mut fifo = BlockFifo::new();
        let (mut next_in, mut next_out) = (0usize, 0usize);
        // Fill to just below, at and just past each boundary, popping down to 0-2 left.
        // Miri runs a few rounds: each is a thousand pushes and pops.
        let rounds = if cfg!(miri) { 6 } else { 4 * BLOCK };
        for round in 0..rounds {
            let keep = round % 3;
            while fifo.len() < BLOCK - 1 + round % 3 {
                fifo.push(next_in);
                next_in += 1;
            }
            assert_eq!(fifo.get(0), Some(next_out));
            while fifo.len() > keep {
                assert_eq!(fifo.pop(), Some(next_out));
                next_out += 1;
            }
        }
        while let Some(v) = fifo.pop() {
            assert_eq!(v, next_out);
            next_out += 1;
        }
        assert_eq!(next_in, next_out);
    }

    #[test]
    fn used_up_blocks_are_recycled_and_bounded() {
        let mut fifo = BlockFifo::new();
        for i in 0..10 * BLOCK {
            fifo.push(i);
        }
        assert_eq!(fifo.blocks_held(), (10, 0));
        while fifo.pop().is_some() {}
        // The last block stays in use; of the nine used up, SPARE are kept.
        assert_eq!(fifo.blocks_held(), (1, SPARE));
        // A steady state that breathes over block boundaries allocates nothing more.
        for i in 0..20 * BLOCK {
            fifo.push(i);
            if i % 2 == 1 {
                fifo.pop();
                fifo.pop();
            }
        }
        let (used, spare) = fifo.blocks_held();
        assert!(used <= 2 && spare <= SPARE, "{used} used, {spare} spare");
    }
}
