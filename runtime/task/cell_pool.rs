//! [`CellPool`]: one loop's memory for task cells (cell.rs): an arena carved into cells, and
//! a free list of cells by size.
//!
//! A spawn needs one cell and a join gives it back. Taking every cell from malloc cost ~200
//! instructions a spawn on a fresh loop (glibc's per-thread cache holds 7 chunks per size, so
//! a round of hundreds of spawns takes malloc's slow path), and freeing them as many again.
//! The pool carves cells out of larger chunks it allocates (the arena: 2 KiB, doubling up to
//! [`MAX_CHUNK`]), keeps the memory of every cell given back in a free list by exact layout,
//! and hands the next spawn of that layout a free cell first. The arena is freed when the pool
//! is, with its loop's scheduler; until then it holds as many cells of each size as were ever
//! live at once, as the task slab holds as many slots.
//!
//! Only cells of alignment 8 and of a size that is a multiple of 8 up to [`MAX_SIZE`] bytes
//! are pooled ([`pooled`]; every `Stage` holds a pointer-sized `TaskError`, so alignment 8 is
//! the usual one); any other cell is an ordinary `Box`.
//!
//! **P1.** Every cell in class `c`'s free list lies in a chunk of `chunks`, is aligned to 8,
//! and is memory of class `c`'s size that holds no live value and that no other free cell,
//! live cell or the last chunk's uncarved part overlaps; its first word holds the next free
//! cell of its class (`Option<NonNull<u8>>`, `None` at the end). Chunks are freed only when
//! the pool drops, after every cell carved from them (B1, in cell_box.rs). This is the
//! invariant behind every `unsafe` block here. No user code runs while the pool is borrowed.

use std::alloc::Layout;
use std::cell::RefCell;
use std::future::Future;
use std::ptr::NonNull;

use super::cell::{RawTask, Stage};
use super::cell_box::CellBox;

/// The largest cell the pool keeps.
const MAX_SIZE: usize = 256;
/// The alignment of every pooled cell.
const ALIGN: usize = 8;
/// Size classes: 8, 16, .. `MAX_SIZE` bytes.
const CLASSES: usize = MAX_SIZE / ALIGN;
/// The first chunk of the arena; each next one is twice the last, up to [`MAX_CHUNK`].
const FIRST_CHUNK: usize = 2 * 1024;
/// The largest chunk of the arena.
const MAX_CHUNK: usize = 64 * 1024;

/// The cell memory of one loop.
#[derive(Default)]
pub(crate) struct CellPool {
    arena: RefCell<Arena>,
}

/// The arena and its free cells.
#[derive(Default)]
struct Arena {
    /// The first free cell of each class; each free cell's first word holds the next (P1).
    free: [Option<NonNull<u8>>; CLASSES],
    /// Every chunk, with its size (each at least [`MAX_SIZE`] bytes).
    chunks: Vec<(NonNull<u8>, usize)>,
    /// Bytes of the last chunk carved into cells; the rest is free (P1).
    carved: usize,
}

/// True if the pool takes cells of `layout` (and its arena holds every such cell, B1).
#[inline]
pub(super) fn pooled(layout: Layout) -> bool {
    class_of(layout).is_some()
}

/// The class of a cell of `layout`, if the pool keeps such cells.
#[inline]
fn class_of(layout: Layout) -> Option<usize> {
    let size = layout.size();
    let pooled = layout.align() == ALIGN && size != 0 && size <= MAX_SIZE && size % ALIGN == 0;
    pooled.then(|| size / ALIGN - 1)
}

/// The size of the cells of class `class`.
#[inline]
fn class_size(class: usize) -> usize {
    (class + 1) * ALIGN
}

impl CellPool {
    /// Makes the cell for `future` (what a spawn costs): a free cell of its layout if there
    /// is one, else one carved from the arena, else (a layout the pool does not take) a `Box`.
    #[inline]
    pub(crate) fn new_cell<F>(&self, future: F) -> CellBox
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let Some(class) = class_of(Layout::new::<Stage<F>>()) else {
            return CellBox::from_box(Box::pin(Stage::Running { future }));
        };
        // The memory first, then the stage written straight into it: built before a call, the
        // stage would go through the stack, and copying it out with wider loads than the
        // stores that built it stalls the spawn (a failed store-to-load forward).
        let cell = self.take(class).cast::<Stage<F>>();
        // SAFETY: P1: `cell` is free arena memory, aligned to 8 (the alignment of `Stage<F>`,
        // since it has a class), with the class's size, `size_of::<Stage<F>>()`, after it
        // (`class_of` maps exactly one size to each class); nothing else uses it. Written, it
        // is a live cell of a pooled layout in arena memory, which B1 asks of `from_arena`.
        unsafe {
            cell.as_ptr().write(Stage::Running { future });
            CellBox::from_arena(cell as NonNull<dyn RawTask>)
        }
    }

    /// Drops `cell` and keeps its memory for a later spawn if it is arena memory; else frees
    /// it as a `Box`. Dropping runs the cell's contents' destructors (user code, which may
    /// spawn or panic): the pool is not borrowed meanwhile, and a panic unwinds to the caller
    /// (the cell's memory stays in the arena, unused, until the pool drops). (The loop only
    /// gives back emptied cells, [`CellPool::recycle_emptied`].)
    #[cfg(test)]
    fn recycle(&self, cell: CellBox) {
        self.give_back(cell, true);
    }

    /// `CellPool::recycle` (test builds) for a finished cell whose outcome was taken out: it holds nothing
    /// to drop, so its destructor is not called (a call through its vtable saved per join).
    #[inline]
    pub(crate) fn recycle_emptied(&self, cell: CellBox) {
        self.give_back(cell, false);
    }

    #[inline(always)]
    fn give_back(&self, cell: CellBox, drop_it: bool) {
        let Some(class) = class_of(Layout::for_value(&*cell)) else {
            drop(cell);
            return;
        };
        let cell = cell.into_raw();
        if drop_it {
            // SAFETY: B1: `cell` is a live cell that nothing else owns (`into_raw` gave up its
            // owner); after this it is only memory.
            unsafe { std::ptr::drop_in_place(cell.as_ptr()) };
        }
        // Not dropped (`recycle_emptied`): the caller took everything that needed dropping
        // out; forgetting the rest is what `mem::forget` does, which is safe.
        let memory = cell.cast::<u8>();
        let mut arena = self.arena.borrow_mut();
        let next = arena.free[class].replace(memory);
        // SAFETY: B1 puts a cell of a pooled layout in arena memory, aligned to 8, of its
        // class's size (at least 8 bytes); its value is gone and nothing refers to it, so its
        // first word may hold the link, which makes it a free cell of `class` (P1).
        unsafe { memory.cast::<Option<NonNull<u8>>>().write(next) };
    }

    /// A free cell of class `class`: from its free list, else carved from the arena.
    #[inline]
    fn take(&self, class: usize) -> NonNull<u8> {
        let mut arena = self.arena.borrow_mut();
        match arena.free[class] {
            Some(memory) => {
                // SAFETY: P1: the head of class `class`'s list is a free cell whose first word
                // holds the next one (written by `give_back`).
                arena.free[class] = unsafe { memory.cast::<Option<NonNull<u8>>>().read() };
                memory
            }
            None => arena.carve(class_size(class)),
        }
    }

    /// Bytes of free cells held (for tests).
    #[cfg(test)]
    fn free_bytes(&self) -> usize {
        let arena = self.arena.borrow();
        let mut bytes = 0;
        for class in 0..CLASSES {
            let mut at = arena.free[class];
            while let Some(memory) = at {
                bytes += class_size(class);
                // SAFETY: P1, as in `take`.
                at = unsafe { memory.cast::<Option<NonNull<u8>>>().read() };
            }
        }
        bytes
    }

    /// Bytes of arena chunks allocated (for tests).
    #[cfg(test)]
    fn arena_bytes(&self) -> usize {
        self.arena.borrow().chunks.iter().map(|(_, size)| size).sum()
    }
}

impl Arena {
    /// `size` bytes (a multiple of 8, at most [`MAX_SIZE`]) of new arena memory.
    #[inline]
    fn carve(&mut self, size: usize) -> NonNull<u8> {
        let (chunk, chunk_size) = match self.chunks.last() {
            Some(&(chunk, chunk_size)) if chunk_size - self.carved >= size => (chunk, chunk_size),
            _ => self.grow(),
        };
        debug_assert!(self.carved + size <= chunk_size);
        // SAFETY: `carved + size` is at most the chunk's size (checked above, or a new chunk
        // of at least `MAX_SIZE` bytes), so the offset stays inside the chunk's allocation.
        let memory = unsafe { chunk.add(self.carved) };
        self.carved += size;
        memory
    }

    /// Starts a new chunk and returns it with its size (what is left of the last one, under
    /// [`MAX_SIZE`] bytes, is not used).
    #[cold]
    fn grow(&mut self) -> (NonNull<u8>, usize) {
        let size = match self.chunks.last() {
            Some(&(_, last)) => (last * 2).min(MAX_CHUNK),
            None => FIRST_CHUNK,
        };
        let layout = Layout::from_size_align(size, ALIGN).expect("a small, aligned size");
        // SAFETY: `layout` has a non-zero size.
        let chunk = unsafe { std::alloc::alloc(layout) };
        let Some(chunk) = NonNull::new(chunk) else {
            std::alloc::handle_alloc_error(layout)
        };
        self.chunks.push((chunk, size));
        self.carved = 0;
        (chunk, size)
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        for &(chunk, size) in &self.chunks {
            let layout = Layout::from_size_align(size, ALIGN).expect("a small, aligned size");
            // SAFETY: `chunk` was allocated in `grow` with this layout, and P1: no cell carved
            // from it is live any more.
            unsafe { std::alloc::dealloc(chunk.as_ptr(), layout) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;
    use std::task::{Context, Poll, Waker};

    use crate::task::cell::take_output;

    fn address(cell: &CellBox) -> *const u8 {
        &**cell as *const dyn RawTask as *const u8
    }

    /// Counts its drops.
    struct Guard(Rc<Cell<u32>>);

    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }

    #[test]
    fn a_recycled_cell_is_reused_by_a_future_of_its_layout() {
        let pool = CellPool::default();
        let mut cell = pool.new_cell(async { 7u64 });
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(cell.as_mut().poll_task(&mut cx), Poll::Ready(()));
        assert_eq!(take_output::<u64>(cell.as_mut()).unwrap(), 7);
        let first = address(&cell);
        let size = std::mem::size_of_val(&*cell);
        pool.recycle_emptied(cell);
        assert_eq!(pool.free_bytes(), size);
        let mut again = pool.new_cell(async { 8u64 });
        assert_eq!(address(&again), first);
        assert_eq!(pool.free_bytes(), 0);
        assert_eq!(again.as_mut().poll_task(&mut cx), Poll::Ready(()));
        assert_eq!(take_output::<u64>(again.as_mut()).unwrap(), 8);
        // A future of another size does not take it.
        pool.recycle_emptied(again);
        let big = [0u8; 100];
        let other = pool.new_cell(async move { big.len() });
        assert_ne!(address(&other), first);
        assert_eq!(pool.free_bytes(), size);
        drop(other);
    }

    #[test]
    fn recycling_drops_the_contents() {
        let pool = CellPool::default();
        let drops = Rc::new(Cell::new(0));
        let guard = Guard(drops.clone());
        let cell = pool.new_cell(async move {
            std::future::pending::<()>().await;
            drop(guard);
        });
        pool.recycle(cell);
        assert_eq!(drops.get(), 1);
        assert!(pool.free_bytes() > 0);
    }

    #[test]
    fn dropping_a_cell_drops_its_contents_in_the_arena_or_its_box() {
        let pool = CellPool::default();
        let drops = Rc::new(Cell::new(0));
        let (small, large) = (Guard(drops.clone()), Guard(drops.clone()));
        let in_arena = pool.new_cell(async move {
            std::future::pending::<()>().await;
            drop(small);
        });
        let ballast = [0u8; 2 * MAX_SIZE];
        let boxed = pool.new_cell(async move {
            std::future::pending::<()>().await;
            drop((large, ballast));
        });
        assert!(pooled(Layout::for_value(&*in_arena)));
        assert!(!pooled(Layout::for_value(&*boxed)));
        drop(in_arena);
        drop(boxed);
        assert_eq!(drops.get(), 2);
        // Not given back through `recycle`: its memory waits for the pool's drop.
        assert_eq!(pool.free_bytes(), 0);
    }

    #[test]
    fn a_panicking_drop_unwinds_and_the_memory_is_not_reused() {
        let pool = CellPool::default();
        struct Bomb;
        impl Drop for Bomb {
            fn drop(&mut self) {
                panic!("boom");
            }
        }
        let bomb = Bomb;
        let cell = pool.new_cell(async move {
            std::future::pending::<()>().await;
            drop(bomb);
        });
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pool.recycle(cell)));
        assert!(unwound.is_err());
        assert_eq!(
            pool.free_bytes(),
            0,
            "a half-dropped cell is not handed out again"
        );
    }

    #[test]
    fn a_drop_that_recycles_into_the_same_pool_is_fine() {
        // A cell whose future owns another cell of the same pool: dropping the outer one
        // recycles the inner one from inside `recycle`.
        struct Owner(Rc<CellPool>, Option<CellBox>);
        impl Drop for Owner {
            fn drop(&mut self) {
                if let Some(cell) = self.1.take() {
                    self.0.recycle(cell);
                }
            }
        }
        let pool = Rc::new(CellPool::default());
        let owner = Owner(pool.clone(), Some(pool.new_cell(async { 1u64 })));
        let outer = pool.new_cell(async move {
            std::future::pending::<()>().await;
            drop(owner);
        });
        pool.recycle(outer);
        assert!(pool.free_bytes() > 0);
    }

    #[test]
    fn the_arena_grows_in_chunks_and_holds_what_was_live_at_once() {
        let pool = CellPool::default();
        // Under Miri (slow) a few chunks; natively many, up to the largest chunk size.
        let count = if cfg!(miri) { 600 } else { 20_000 };
        let cells: Vec<_> = (0..count)
            .map(|i| pool.new_cell(async move { i as u64 }))
            .collect();
        let each = std::mem::size_of_val(&*cells[0]);
        let arena = pool.arena_bytes();
        assert!(arena >= count * each);
        assert!(
            arena < count * each + 2 * MAX_CHUNK,
            "chunks are used up before the next"
        );
        let mut addresses: Vec<_> = cells.iter().map(address).collect();
        addresses.sort_unstable();
        addresses.dedup();
        assert_eq!(addresses.len(), count, "every cell has its own memory");
        for cell in cells {
            pool.recycle(cell);
        }
        assert_eq!(pool.free_bytes(), count * each);
        let again: Vec<_> = (0..count)
            .map(|i| pool.new_cell(async move { i as u64 }))
            .collect();
        assert_eq!(
            pool.arena_bytes(),
            arena,
            "the second round reuses the first's cells"
        );
        assert_eq!(pool.free_bytes(), 0);
        drop(again);
    }

    #[test]
    fn classes_are_exact() {
        assert_eq!(class_of(Layout::from_size_align(8, 8).unwrap()), Some(0));
        assert_eq!(
            class_of(Layout::from_size_align(256, 8).unwrap()),
            Some(CLASSES - 1)
        );
        assert_eq!(class_of(Layout::from_size_align(264, 8).unwrap()), None);
        assert_eq!(class_of(Layout::from_size_align(16, 16).unwrap()), None);
        assert_eq!(class_of(Layout::from_size_align(12, 4).unwrap()), None);
        assert_eq!(class_of(Layout::from_size_align(0, 8).unwrap()), None);
        for class in 0..CLASSES {
            let layout = Layout::from_size_align(class_size(class), ALIGN).unwrap();
            assert_eq!(class_of(layout), Some(class));
        }
    }
}
