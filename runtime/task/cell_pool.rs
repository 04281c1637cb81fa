//! [`CellPool`]: one loop's free list of task-cell allocations, by size.
//!
//! A spawn allocates one cell (cell.rs) and a join frees it. Programs that spawn and join in
//! rounds free hundreds of cells at once and allocate as many again soon after, which glibc's
//! per-thread cache (7 chunks per size) does not hold, so most of them took malloc's slow path.
//! The pool keeps the memory of freed cells instead, by exact layout, and the next spawn of a
//! future of that layout reuses it. It is bounded ([`MAX_BYTES`]) and belongs to the loop's
//! scheduler, so its memory returns to the allocator when the loop is dropped.
//!
//! Only cells of alignment 8 and of a size that is a multiple of 8 up to [`MAX_SIZE`] bytes are
//! pooled (every `Stage` holds a pointer-sized `TaskError`, so alignment 8 is the usual one);
//! any other cell is an ordinary `Box`.
//!
//! **P1.** Every pointer in class `c` was allocated by the global allocator with the layout
//! [`class_layout`]`(c)` and holds no live value (the cell it held was dropped in place). This
//! is the invariant behind every `unsafe` block here: such memory may be written with any value
//! of exactly that layout and then owned by a `Box` (which frees it with that layout), or
//! freed with that layout. No user code runs while the pool is borrowed.

use std::alloc::Layout;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;

use super::cell::{RawTask, Stage};

/// The largest cell the pool keeps.
const MAX_SIZE: usize = 256;
/// The alignment of every pooled cell.
const ALIGN: usize = 8;
/// Size classes: 8, 16, .. `MAX_SIZE` bytes.
const CLASSES: usize = MAX_SIZE / ALIGN;
/// At most this many bytes of free cells are kept per loop (all classes together).
const MAX_BYTES: usize = 256 * 1024;

/// The free cells of one loop.
#[derive(Default)]
pub(crate) struct CellPool {
    classes: RefCell<Classes>,
}

/// The free cells, by class.
#[derive(Default)]
struct Classes {
    free: [Vec<NonNull<u8>>; CLASSES],
    /// Bytes held in `free`.
    bytes: usize,
}

/// The class of a cell of `layout`, if the pool keeps such cells.
#[inline]
fn class_of(layout: Layout) -> Option<usize> {
    let size = layout.size();
    let pooled = layout.align() == ALIGN && size != 0 && size <= MAX_SIZE && size % ALIGN == 0;
    pooled.then(|| size / ALIGN - 1)
}

/// The layout of the cells of class `class` (P1).
#[inline]
fn class_layout(class: usize) -> Layout {
    // `(class + 1) * ALIGN` is a multiple of `ALIGN`, a power of two, and small.
    Layout::from_size_align((class + 1) * ALIGN, ALIGN).expect("a small, aligned size")
}

impl CellPool {
    /// Allocates the cell for `future` (the one allocation a spawn costs), reusing a free cell
    /// of its layout if there is one.
    #[inline]
    pub(crate) fn new_cell<F>(&self, future: F) -> Pin<Box<dyn RawTask>>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let stage = Stage::Running { future };
        let Some(memory) = class_of(Layout::new::<Stage<F>>()).and_then(|class| self.take(class)) else {
            return Box::pin(stage);
        };
        let cell = memory.cast::<Stage<F>>().as_ptr();
        // SAFETY: P1 (module doc): `memory` came from the global allocator with the layout of
        // its class, which is `Layout::new::<Stage<F>>()` (`class_of` maps exactly one size
        // to each class, and the alignment is `ALIGN`), and holds no live value, so it may be
        // written and then owned by a `Box`, which frees it with that same layout.
        unsafe {
            cell.write(stage);
            Box::into_pin(Box::from_raw(cell))
        }
    }

    /// Drops `cell` and keeps its memory for a later spawn, if the pool takes cells of its
    /// layout and has room; else frees it as any `Box`. Dropping runs the cell's contents'
    /// destructors (user code, which may spawn or panic): the pool is not borrowed meanwhile,
    /// and a panic frees the memory and unwinds to the caller.
    #[inline]
    pub(crate) fn recycle(&self, cell: Pin<Box<dyn RawTask>>) {
        let layout = Layout::for_value(&*cell);
        let Some(class) = class_of(layout) else {
            drop(cell);
            return;
        };
        // SAFETY: the value is dropped in place below and its memory is never used as a
        // `Stage` again, so it is not moved while pinned.
        let cell = Box::into_raw(unsafe { Pin::into_inner_unchecked(cell) });
        let memory = NonNull::new(cell.cast::<u8>()).expect("a Box is not null");
        let guard = FreeOnUnwind(memory, layout);
        // SAFETY: `cell` came from `Box::into_raw`, so it points to a live, owned value that
        // nothing else refers to; after this it is only memory (`guard`, then the pool, owns it).
        unsafe { std::ptr::drop_in_place(cell) };
        std::mem::forget(guard);
        // P1 holds for `memory`: a `Box` allocated it with `layout`, which is the layout of
        // `class`, and its value was just dropped.
        self.put(class, memory);
    }

    /// A free cell of class `class`, if there is one.
    #[inline]
    fn take(&self, class: usize) -> Option<NonNull<u8>> {
        let mut classes = self.classes.borrow_mut();
        let memory = classes.free[class].pop()?;
        classes.bytes -= class_layout(class).size();
        Some(memory)
    }

    /// Keeps `memory`, which P1 allows in class `class`, or frees it if the pool is full.
    #[inline]
    fn put(&self, class: usize, memory: NonNull<u8>) {
        let layout = class_layout(class);
        let mut classes = self.classes.borrow_mut();
        if classes.bytes + layout.size() > MAX_BYTES {
            drop(classes);
            // SAFETY: P1: `memory` was allocated with `layout` and holds no live value.
            unsafe { std::alloc::dealloc(memory.as_ptr(), layout) };
            return;
        }
        classes.bytes += layout.size();
        classes.free[class].push(memory);
    }

    /// Bytes of free cells held (for tests).
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.classes.borrow().bytes
    }
}

impl Drop for Classes {
    fn drop(&mut self) {
        for (class, free) in self.free.iter_mut().enumerate() {
            let layout = class_layout(class);
            for memory in free.drain(..) {
                // SAFETY: P1: `memory` was allocated with `layout` and holds no live value.
                unsafe { std::alloc::dealloc(memory.as_ptr(), layout) };
            }
        }
    }
}

/// Frees a cell's memory if dropping its value unwinds (see [`CellPool::recycle`]).
struct FreeOnUnwind(NonNull<u8>, Layout);

impl Drop for FreeOnUnwind {
    fn drop(&mut self) {
        // SAFETY: only armed in `recycle`, over memory a `Box` allocated with this layout whose
        // value has been (partly) dropped and is never used again.
        unsafe { std::alloc::dealloc(self.0.as_ptr(), self.1) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;
    use std::task::{Context, Poll, Waker};

    use crate::task::cell::take_output;

    #[test]
    fn a_recycled_cell_is_reused_by_a_future_of_its_layout() {
        let pool = CellPool::default();
        let mut cell = pool.new_cell(async { 7u64 });
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(cell.as_mut().poll_task(&mut cx), Poll::Ready(()));
        assert_eq!(take_output::<u64>(cell.as_mut()).unwrap(), 7);
        let address = &*cell as *const dyn RawTask as *const u8;
        let size = std::mem::size_of_val(&*cell);
        pool.recycle(cell);
        assert_eq!(pool.bytes(), size);
        let mut again = pool.new_cell(async { 8u64 });
        assert_eq!(&*again as *const dyn RawTask as *const u8, address);
        assert_eq!(pool.bytes(), 0);
        assert_eq!(again.as_mut().poll_task(&mut cx), Poll::Ready(()));
        assert_eq!(take_output::<u64>(again.as_mut()).unwrap(), 8);
        // A future of another size does not take it.
        pool.recycle(again);
        let big = [0u8; 100];
        let other = pool.new_cell(async move { big.len() });
        assert_eq!(pool.bytes(), size);
        drop(other);
    }

    #[test]
    fn recycling_drops_the_contents() {
        let pool = CellPool::default();
        struct Guard(Rc<Cell<u32>>);
        impl Drop for Guard {
            fn drop(&mut self) {
                self.0.set(self.0.get() + 1);
            }
        }
        let drops = Rc::new(Cell::new(0));
        let guard = Guard(drops.clone());
        let cell = pool.new_cell(async move {
            std::future::pending::<()>().await;
            drop(guard);
        });
        pool.recycle(cell);
        assert_eq!(drops.get(), 1);
        assert!(pool.bytes() > 0);
    }

    #[test]
    fn a_panicking_drop_frees_the_memory_and_unwinds() {
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
        assert_eq!(pool.bytes(), 0, "the memory was freed, not kept");
    }

    #[test]
    fn a_drop_that_recycles_into_the_same_pool_is_fine() {
        // A cell whose future owns another cell of the same pool: dropping the outer one
        // recycles the inner one from inside `recycle`.
        struct Owner(Rc<CellPool>, Option<Pin<Box<dyn RawTask>>>);
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
        assert!(pool.bytes() > 0);
    }

    #[test]
    fn the_pool_is_bounded() {
        let pool = CellPool::default();
        // Under Miri (slow) a few cells; natively more than fit.
        let count = if cfg!(miri) { 40 } else { MAX_BYTES / 8 + 10 };
        let cells: Vec<_> = (0..count)
            .map(|i| pool.new_cell(async move { i as u64 }))
            .collect();
        let each = std::mem::size_of_val(&*cells[0]);
        for cell in cells {
            pool.recycle(cell);
        }
        assert_eq!(pool.bytes(), (count * each).min(MAX_BYTES / each * each));
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
            assert_eq!(class_of(class_layout(class)), Some(class));
        }
    }
}
