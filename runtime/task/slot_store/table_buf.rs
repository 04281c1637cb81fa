//! [`TableBuf`]: the task table's growable array (slot_store.rs), a `Vec` whose growth past
//! [`MAP_THRESHOLD`] never copies the entries and, from a thread's second table on, takes no
//! fresh pages from the kernel (issue 19 item 6).
//!
//! A `Vec` doubles by asking for a buffer twice the size and copying every entry into it: at
//! 32,768 live tasks a 1.25 MiB copy inside one spawn (30-40 µs), more when the new buffer's
//! pages are fresh (a first touch of a page costs 2-6 µs on the 2026-11 benchmark machine).
//! `mremap` moves page-table entries instead of bytes, but measured there it still costs
//! 8-25 µs per call, and a mapping's new pages fault one by one, so that every hundredth
//! spawn paid a fault (p99 2 µs instead of 0.1). So this buffer never moves once mapped:
//!
//! - below [`MAP_THRESHOLD`] bytes it lives on the heap and grows as a `Vec` does (a copy of
//!   less than 128 KiB: 2,048 entries of 40 bytes);
//! - past it, on 64-bit Linux outside Miri, it moves once into an anonymous mapping that
//!   reserves [`RESERVE`] bytes of address space (`MAP_NORESERVE`: untouched pages take no
//!   memory), and grows in place: only beyond the reservation (26 million tasks of 40 bytes)
//!   is it remapped, twice as long, with `mremap(MREMAP_MAYMOVE)`;
//! - a dropped mapping is kept, one per thread (`map::SPARE`, the one whose touched prefix is
//!   longest), and the next table to pass the threshold on that thread takes it with its
//!   pages already in place, as glibc keeps freed heap memory for the next allocation. A
//!   fresh loop per run (`aioloop::run`) then pays no fault for its table; a thread's first
//!   mapping faults its pages in as entries reach them (one spawn in ~100, for 40-byte
//!   entries), as any fresh memory does. A spare keeps at most `map::SPARE_KEEP` (8 MiB) of
//!   its pages: the rest go back to the kernel (`MADV_DONTNEED`) when it becomes the spare,
//!   so a thread that once ran millions of tasks does not hold their table for its life.
//!
//! If the kernel refuses the reservation (a strict overcommit policy, an address-space
//! limit), the mapping is only as long as the entries need, and grows with `mremap`. Lookups
//! are what a `Vec`'s are: one bounds check and one multiply-add from the base pointer, and
//! the buffer is a `Vec`'s three words (whether it is a mapping follows from its capacity).
//!
//! Invariant (every `unsafe` block below relies on it):
//! - `cap == 0`: `ptr` is dangling and `len == 0`;
//! - `cap > 0` and `cap * size_of::<E>() < MAP_THRESHOLD`: `ptr` came from the global
//!   allocator with the layout `Layout::array::<E>(cap)`;
//! - `cap * size_of::<E>() >= MAP_THRESHOLD`: `ptr` is the start of an anonymous private
//!   read-write mapping of `map_len()` bytes that this buffer alone owns (the spare slot owns
//!   the one it holds), whose length is a multiple of [`MAP_THRESHOLD`] and at least twice
//!   it, and `cap` is that length divided by `size_of::<E>()`, so that (elements being at
//!   most [`MAP_THRESHOLD`] bytes) `map_len()` recovers it by rounding `cap * size_of::<E>()`
//!   up;
//! - the first `len <= cap` elements are initialized and owned by the buffer, the rest not
//!   (a reused mapping's old bytes are not elements: nothing reads past `len`).
//!
//! Moving into the mapping (and a remap) moves the elements to another address: Rust values
//! may be moved bitwise, and nothing points into the buffer across a `push`, which takes
//! `&mut self` (the table hands out only borrows, and `SlotStore::prefetch` only hints an
//! address, which reads nothing).

use std::alloc::{self, Layout};
use std::marker::PhantomData;
use std::mem::size_of;
use std::ptr::{self, NonNull};

/// The size, in bytes, from which the buffer is a mapping of its own (module doc).
pub(super) const MAP_THRESHOLD: usize = 128 << 10;

/// The address space a mapping reserves when it is made: 1 GiB (smaller in the unit tests,
/// so that they reach the remap). Unused where buffers are never mappings.
#[cfg(not(test))]
#[cfg_attr(
    not(all(target_os = "linux", target_pointer_width = "64", not(miri))),
    allow(dead_code)
)]
const RESERVE: usize = 1 << 30;
#[cfg(test)]
const RESERVE: usize = 1 << 20;

/// Whether buffers of `E` can be mappings: on 64-bit Linux (room for reservations), outside
/// Miri (no `mmap`), for elements whose alignment a page start meets and of at most
/// [`MAP_THRESHOLD`] bytes (so a mapping's length follows from its capacity).
const fn mappable<E>() -> bool {
    cfg!(all(target_os = "linux", target_pointer_width = "64", not(miri)))
        && std::mem::align_of::<E>() <= 4096
        && size_of::<E>() <= MAP_THRESHOLD
}

/// A growable array of `E` with a `Vec`'s layout and lookups (module doc).
pub(super) struct TableBuf<E> {
    ptr: NonNull<E>,
    len: usize,
    cap: usize,
    _owns: PhantomData<E>,
}

impl<E> Default for TableBuf<E> {
    fn default() -> Self {
        const { assert!(size_of::<E>() > 0, "TableBuf holds no zero-sized elements") };
        TableBuf {
            ptr: NonNull::dangling(),
            len: 0,
            cap: 0,
            _owns: PhantomData,
        }
    }
}

impl<E> TableBuf<E> {
    /// The number of elements.
    #[inline]
    pub(super) fn len(&self) -> usize {
        // SAFETY: `len <= cap` (module invariant); said to the compiler as `Vec::len` does.
        unsafe { std::hint::assert_unchecked(self.len <= self.cap) };
        self.len
    }

    /// The start of the elements (an address for a cache hint: see the module doc on moves).
    #[inline]
    pub(super) fn as_ptr(&self) -> *const E {
        self.ptr.as_ptr()
    }

    /// The elements.
    #[inline]
    pub(super) fn as_slice(&self) -> &[E] {
        // SAFETY: the first `len` elements are initialized (module invariant); `ptr` is
        // non-null and aligned, dangling only when `len == 0`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len()) }
    }

    /// The elements, mutably.
    #[inline]
    pub(super) fn as_mut_slice(&mut self) -> &mut [E] {
        // SAFETY: as in `as_slice`; `&mut self` makes the borrow unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len()) }
    }

    /// Appends `value`, growing the buffer if it is full.
    #[inline]
    pub(super) fn push(&mut self, value: E) {
        if self.len == self.cap {
            self.grow();
        }
        // SAFETY: `len < cap` now, so the element at `len` lies inside the allocation and is
        // not initialized (module invariant); writing it and counting it keeps the invariant.
        unsafe { self.ptr.as_ptr().add(self.len).write(value) };
        self.len += 1;
    }

    /// The number of elements the buffer holds without growing.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.cap
    }

    /// Whether the buffer is a mapping of its own.
    #[cfg(test)]
    pub(super) fn is_mapped(&self) -> bool {
        self.map_len() > 0
    }

    /// The length of the buffer's mapping, or 0 while it is on the heap (module invariant).
    fn map_len(&self) -> usize {
        let bytes = self.cap * size_of::<E>();
        if mappable::<E>() && bytes >= MAP_THRESHOLD {
            bytes.next_multiple_of(MAP_THRESHOLD)
        } else {
            0
        }
    }

    /// Makes room for at least one more element: doubles a heap buffer (4 elements at first,
    /// as `Vec`), moves it into a mapping once it would reach [`MAP_THRESHOLD`] bytes, and
    /// remaps a full mapping twice as long (module doc).
    ///
    /// # Panics
    /// If the new size overflows `isize` ("capacity overflow", as `Vec`). Aborts through
    /// `handle_alloc_error` if the allocator or the kernel refuses the memory, as `Vec` does.
    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let new_cap = if self.cap == 0 {
            4
        } else {
            self.cap.checked_mul(2).expect("capacity overflow")
        };
        let bytes = new_cap.checked_mul(size_of::<E>()).expect("capacity overflow");
        if bytes > isize::MAX as usize {
            panic!("capacity overflow");
        }
        if self.map_len() > 0 {
            self.remap();
        } else if mappable::<E>() && bytes >= MAP_THRESHOLD {
            self.move_to_mapping(bytes);
        } else {
            self.grow_heap(new_cap);
        }
    }

    /// Moves the buffer to the heap allocation for `new_cap` elements (`cap == 0`, or a heap
    /// buffer).
    fn grow_heap(&mut self, new_cap: usize) {
        debug_assert_eq!(self.map_len(), 0);
        let new_layout = Layout::array::<E>(new_cap).expect("capacity overflow");
        let new_ptr = if self.cap == 0 {
            // SAFETY: `new_layout` has a non-zero size (`E` is not zero-sized, `new_cap >= 4`).
            unsafe { alloc::alloc(new_layout) }
        } else {
            let old_layout = Layout::array::<E>(self.cap).expect("the layout it was allocated with");
            // SAFETY: `ptr` came from the global allocator with `old_layout` (module invariant:
            // a heap buffer, `cap > 0`); the new size is non-zero and fits `isize` (checked by
            // `Layout::array`). `realloc` keeps the first `len` elements.
            unsafe { alloc::realloc(self.ptr.as_ptr().cast(), old_layout, new_layout.size()) }
        };
        self.ptr = NonNull::new(new_ptr.cast()).unwrap_or_else(|| alloc::handle_alloc_error(new_layout));
        self.cap = new_cap;
    }

    /// Moves a heap buffer's elements (less than [`MAP_THRESHOLD`] bytes) into this thread's
    /// spare mapping, a new reservation, or failing that a mapping of `bytes` or more.
    fn move_to_mapping(&mut self, bytes: usize) {
        debug_assert_eq!(self.map_len(), 0);
        let Some((map, map_len)) = map::take(bytes) else {
            alloc::handle_alloc_error(
                Layout::from_size_align(bytes, std::mem::align_of::<E>()).expect("capacity overflow"),
            )
        };
        let map = map.cast::<E>();
        if self.cap > 0 {
            // SAFETY: the heap buffer holds `len` initialized elements, the mapping (which
            // we own now, and which is `bytes` or more long) has room for them, and the two
            // do not overlap. The copies move the values (module doc): the heap buffer is
            // freed without dropping them. `ptr` came from the global allocator with this
            // layout (module invariant: a heap buffer).
            unsafe {
                ptr::copy_nonoverlapping(self.ptr.as_ptr(), map.as_ptr(), self.len);
                let old_layout = Layout::array::<E>(self.cap).expect("the layout it was allocated with");
                alloc::dealloc(self.ptr.as_ptr().cast(), old_layout);
            }
        }
        self.ptr = map;
        self.cap = map_len / size_of::<E>();
    }

    /// Remaps a full mapping twice as long (past the reservation: 26 million tasks).
    fn remap(&mut self) {
        let map_len = self.map_len();
        let new_len = map_len.checked_mul(2).expect("capacity overflow");
        // SAFETY: `ptr` starts a mapping of `map_len` bytes that this buffer owns (module
        // invariant); after the call only the returned address is used.
        let map = unsafe { map::remap(self.ptr.cast(), map_len, new_len) };
        let map = map.unwrap_or_else(|| {
            alloc::handle_alloc_error(
                Layout::from_size_align(new_len, std::mem::align_of::<E>()).expect("capacity overflow"),
            )
        });
        self.ptr = map.cast();
        self.cap = new_len / size_of::<E>();
    }
}

impl<E> Drop for TableBuf<E> {
    fn drop(&mut self) {
        let map_len = self.map_len();
        let _release = Release {
            ptr: self.ptr.cast(),
            heap: (self.cap > 0 && map_len == 0)
                .then(|| Layout::array::<E>(self.cap).expect("the layout it was allocated with")),
            map_len,
            touched: self.len * size_of::<E>(),
        };
        // SAFETY: the first `len` elements are initialized and owned (module invariant), and
        // are dropped once here: the buffer is not used again. A slice's `drop_in_place`
        // drops every element even if one's drop panics; `_release` frees the memory after,
        // on the way out of such a panic too.
        unsafe { ptr::drop_in_place(self.as_mut_slice()) };
    }
}

/// Frees the memory of a buffer whose elements are dropped (or are being dropped, when a
/// drop panics), from its own `Drop` so that it runs on the way out of such a panic too.
struct Release {
    ptr: NonNull<u8>,
    heap: Option<Layout>,
    map_len: usize,
    touched: usize,
}

impl Drop for Release {
    fn drop(&mut self) {
        if let Some(layout) = self.heap {
            // SAFETY: taken from a heap buffer's `ptr` and layout (module invariant), once.
            unsafe { alloc::dealloc(self.ptr.as_ptr(), layout) };
        } else if self.map_len > 0 {
            // SAFETY: taken from a mapped buffer's `ptr` and length (module invariant), once;
            // its elements are dropped and nothing refers to the mapping any more.
            unsafe { map::give_back(self.ptr, self.map_len, self.touched) };
        }
    }
}

/// The kernel calls and the spare mapping.
#[cfg(all(target_os = "linux", target_pointer_width = "64", not(miri)))]
mod map {
    use std::cell::Cell;
    use std::ptr::{self, NonNull};

    use super::{MAP_THRESHOLD, RESERVE};

    /// A mapping with nothing in it: its start, length and the length of its prefix whose
    /// pages were touched.
    struct Spare {
        ptr: NonNull<u8>,
        len: usize,
        touched: usize,
    }

    impl Drop for Spare {
        fn drop(&mut self) {
            // SAFETY: a spare owns its mapping (module invariant), which is unmapped once.
            unsafe { unmap(self.ptr, self.len) };
        }
    }

    /// The most of a spare's touched pages kept in memory (module doc): 8 MiB, the table of
    /// about 200,000 live tasks. A thread that once ran more keeps no more than this.
    pub(super) const SPARE_KEEP: usize = 8 << 20;

    /// The page size the mapping's offsets are rounded to (a multiple of the real one does
    /// as well: `madvise` needs a page-aligned start).
    const PAGE: usize = 4096;

    thread_local! {
        /// The mapping of the last table dropped on this thread (module doc).
        static SPARE: Cell<Option<Spare>> = const { Cell::new(None) };
    }

    /// A mapping for a buffer that passes the threshold with `bytes`, and its length (a
    /// multiple of [`MAP_THRESHOLD`], at least twice it): this thread's spare, else a new
    /// reservation of [`RESERVE`] bytes, else (the kernel refused it) a mapping of `bytes`
    /// rounded up; `None` if the kernel refuses that too.
    pub(super) fn take(bytes: usize) -> Option<(NonNull<u8>, usize)> {
        if let Some(spare) = SPARE.try_with(Cell::take).ok().flatten() {
            let spare = std::mem::ManuallyDrop::new(spare);
            return Some((spare.ptr, spare.len));
        }
        let exact = bytes.next_multiple_of(MAP_THRESHOLD).max(2 * MAP_THRESHOLD);
        new_mapping(RESERVE, libc::MAP_NORESERVE)
            .map(|map| (map, RESERVE))
            .or_else(|| new_mapping(exact, 0).map(|map| (map, exact)))
    }

    /// A new anonymous private read-write mapping of `len` bytes, with `flags` added.
    fn new_mapping(len: usize, flags: libc::c_int) -> Option<NonNull<u8>> {
        // SAFETY: a new anonymous private mapping; it aliases nothing.
        let map = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | flags,
                -1,
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return None;
        }
        NonNull::new(map.cast())
    }

    /// `mremap(MREMAP_MAYMOVE)` of the mapping at `ptr` to `new_len` bytes; `None` (the old
    /// mapping left as it was) if the kernel refuses.
    ///
    /// # Safety
    /// `ptr` starts a mapping of `len` bytes that the caller owns and no longer uses if this
    /// returns `Some`.
    pub(super) unsafe fn remap(ptr: NonNull<u8>, len: usize, new_len: usize) -> Option<NonNull<u8>> {
        // SAFETY: the caller's contract; the kernel moves the pages with their contents.
        let map = unsafe { libc::mremap(ptr.as_ptr().cast(), len, new_len, libc::MREMAP_MAYMOVE) };
        if map == libc::MAP_FAILED {
            return None;
        }
        NonNull::new(map.cast())
    }

    /// Keeps the emptied mapping at `ptr` as this thread's spare if its touched prefix is the
    /// longer one, and unmaps the other.
    ///
    /// # Safety
    /// `ptr` starts a mapping of `len` bytes that the caller owns, holds no value any more and
    /// no longer uses.
    pub(super) unsafe fn give_back(ptr: NonNull<u8>, len: usize, touched: usize) {
        // SAFETY: the caller's contract: the mapping is ours and holds no value.
        let touched = unsafe { release_beyond(ptr, touched, SPARE_KEEP) };
        let mine = Spare { ptr, len, touched };
        // Outside the thread's life (a loop dropped by a thread-local destructor) there is no
        // slot, and `mine` is unmapped here.
        let _ = SPARE.try_with(|slot| {
            let kept = match slot.take() {
                Some(old) if old.touched >= mine.touched => old,
                _ => mine,
            };
            slot.set(Some(kept));
        });
    }

    /// Gives the pages of the mapping at `ptr` past its first `keep` bytes (rounded up to a
    /// page) back to the kernel, when more than that was touched, and returns the length of
    /// the touched prefix left. The range stays mapped: a later touch gets a zeroed page,
    /// which is all a spare's memory may hold (nothing reads a buffer past its `len`).
    ///
    /// # Safety
    /// `ptr` starts a mapping of at least `touched` bytes that the caller owns and that holds
    /// no value.
    pub(super) unsafe fn release_beyond(ptr: NonNull<u8>, touched: usize, keep: usize) -> usize {
        let keep = keep.next_multiple_of(PAGE);
        if touched <= keep {
            return touched;
        }
        // SAFETY: the range lies inside the caller's mapping (`keep < touched <=` its
        // length) and starts on a page (the mapping does, and `keep` is a multiple of a
        // page); it holds no value, so dropping its contents loses nothing.
        let released =
            unsafe { libc::madvise(ptr.as_ptr().add(keep).cast(), touched - keep, libc::MADV_DONTNEED) };
        match released {
            0 => keep,
            // The pages stay (the kernel refused): the touched prefix is unchanged.
            _ => touched,
        }
    }

    /// Unmaps the mapping at `ptr`.
    ///
    /// # Safety
    /// `ptr` starts a mapping of `len` bytes that the caller owns and never uses again.
    unsafe fn unmap(ptr: NonNull<u8>, len: usize) {
        // SAFETY: the caller's contract.
        let unmapped = unsafe { libc::munmap(ptr.as_ptr().cast(), len) };
        debug_assert_eq!(unmapped, 0, "munmap of a task table failed");
    }
}

/// Where buffers are never mappings (`mappable` is false): nothing to call.
#[cfg(not(all(target_os = "linux", target_pointer_width = "64", not(miri))))]
mod map {
    use std::ptr::NonNull;

    pub(super) fn take(_: usize) -> Option<(NonNull<u8>, usize)> {
        None
    }

    pub(super) unsafe fn remap(_: NonNull<u8>, _: usize, _: usize) -> Option<NonNull<u8>> {
        unreachable!("aioloop: the task table is never a mapping on this target")
    }

    pub(super) unsafe fn give_back(_: NonNull<u8>, _: usize, _: usize) {
        unreachable!("aioloop: the task table is never a mapping on this target")
    }

    #[cfg(test)]
    pub(super) unsafe fn release_beyond(_: NonNull<u8>, _: usize, _: usize) -> usize {
        unreachable!("aioloop: the task table is never a mapping on this target")
    }
}

#[cfg(test)]
#[path = "table_buf_tests.rs"]
mod tests;
