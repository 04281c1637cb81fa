//! [`CellBox`]: the owner of one task cell (cell.rs), as `Pin<Box<dyn RawTask>>` is, except
//! that the memory of a cell whose layout the loop's pool takes belongs to the pool's arena
//! (cell_pool.rs) instead of the global allocator.
//!
//! **B1.** A `CellBox` points to a live cell that nothing else owns, which never moves while
//! the `CellBox` lives (it is pinned, as in a `Pin<Box<_>>`). Its memory is the pool's arena if
//! the cell's layout has a pool class ([`pooled`]), else a `Box`'s (the zero-sized vacant
//! stand-in included: its `Box` allocates nothing). Every constructor keeps this: the pool
//! makes arena cells of pooled layouts only, and [`CellBox::from_box`] refuses a `Box` of a
//! pooled layout. A `CellBox` lives no longer than the pool its memory came from: cells are
//! held by the scheduler that owns the pool, and its task table is dropped before the pool.

use std::alloc::Layout;
use std::ops::Deref;
use std::pin::Pin;
use std::ptr::NonNull;

use super::cell::RawTask;
use super::cell_pool::pooled;

/// The owner of one task cell (B1).
pub(crate) struct CellBox(NonNull<dyn RawTask>);

impl CellBox {
    /// Owns the cell at `cell`, memory of the pool's arena.
    ///
    /// # Safety
    /// `cell` points to a live cell of a pooled layout, in memory of the pool's arena that
    /// nothing else owns or uses (B1).
    #[inline]
    pub(super) unsafe fn from_arena(cell: NonNull<dyn RawTask>) -> Self {
        debug_assert!(pooled(Layout::for_value(
            // SAFETY: the caller's contract: `cell` points to a live cell.
            unsafe { cell.as_ref() }
        )));
        CellBox(cell)
    }

    /// Owns a cell the global allocator holds (a cell built on another thread, or one too
    /// large for the pool).
    ///
    /// # Panics
    /// If the pool takes cells of its layout: such a cell must live in the arena (B1), which
    /// is what the constructors in cell.rs arrange.
    #[inline]
    pub(crate) fn from_box(cell: Pin<Box<dyn RawTask>>) -> Self {
        assert!(
            !pooled(Layout::for_value(&*cell)),
            "aioloop: a boxed task cell of a pooled layout (loop bug)"
        );
        // SAFETY: the value is never moved: `CellBox` pins it as the `Pin<Box<_>>` did (B1).
        let raw = Box::into_raw(unsafe { Pin::into_inner_unchecked(cell) });
        CellBox(NonNull::new(raw).expect("a Box is not null"))
    }

    /// The cell, pinned.
    #[inline]
    pub(crate) fn as_mut(&mut self) -> Pin<&mut dyn RawTask> {
        // SAFETY: B1: the cell is live, owned by `self` (borrowed mutably here) and never moved.
        unsafe { Pin::new_unchecked(self.0.as_mut()) }
    }

    /// Gives up ownership: the caller drops the cell in place and keeps its arena memory.
    #[inline]
    pub(super) fn into_raw(self) -> NonNull<dyn RawTask> {
        let raw = self.0;
        std::mem::forget(self);
        raw
    }
}

impl Deref for CellBox {
    type Target = dyn RawTask;

    #[inline]
    fn deref(&self) -> &Self::Target {
        // SAFETY: B1: the cell is live and owned by `self`.
        unsafe { self.0.as_ref() }
    }
}

impl Drop for CellBox {
    /// Drops the cell (user code). A `Box`'s memory is freed; an arena cell's stays in the
    /// arena until the pool drops (the pool's `recycle` is how a cell's memory is reused: the
    /// loop drops cells this way only when it closes or in paths not expected to run).
    fn drop(&mut self) {
        if pooled(Layout::for_value(&**self)) {
            // SAFETY: B1: the cell is live and owned by `self`, which is going away; its
            // memory is the arena's, which frees it.
            unsafe { std::ptr::drop_in_place(self.0.as_ptr()) };
        } else {
            // SAFETY: B1: a cell of this layout came from `Box::into_raw` (`from_box`).
            drop(unsafe { Box::from_raw(self.0.as_ptr()) });
        }
    }
}
