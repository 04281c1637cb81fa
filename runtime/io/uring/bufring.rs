//! [`BufRing`]: the loop's provided-buffer ring (`IORING_REGISTER_PBUF_RING`), the buffers the
//! kernel fills ahead for the streams' multishot receives (invariants U5-U7 in the module above).
//!
//! The ring is an array of `{addr, len, bid}` entries the kernel takes buffers from at its head;
//! we publish buffers by writing entries at our tail and storing the tail (the `resv` field of
//! entry 0) with release ordering. Each of the `entries` buffers is, at any time, either in
//! the ring (the kernel's, U5) or held by us: named by a completion and not yet given back.

use std::alloc::{self, Layout};
use std::io;
use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::types::BufRingEntry;
use io_uring::Submitter;

/// The buffer group id of the ring (one ring per loop).
pub(crate) const GROUP: u16 = 0;
/// Bytes per buffer.
pub(crate) const BUF_SIZE: usize = 4096;
/// Buffers in the ring (a power of two, at most 2^15). 4 MiB of address space, touched only as
/// the kernel fills the buffers.
pub(crate) const ENTRIES: u16 = 1024;
/// The ring's and the buffers' alignment (the kernel wants the ring page-aligned).
const ALIGN: usize = 4096;

/// The provided-buffer ring and its buffers.
pub(crate) struct BufRing {
    ring: NonNull<BufRingEntry>,
    bufs: NonNull<u8>,
    /// Our tail (the next entry we write); the kernel sees it once published.
    tail: u16,
    /// Buffers a completion named that were not given back yet.
    held: u16,
    /// Registered with the kernel (it may take buffers and write them, U5/U6).
    registered: bool,
}

fn ring_layout() -> Layout {
    Layout::from_size_align(ENTRIES as usize * size_of::<BufRingEntry>(), ALIGN).expect("ring layout")
}

fn bufs_layout() -> Layout {
    Layout::from_size_align(ENTRIES as usize * BUF_SIZE, ALIGN).expect("buffers layout")
}

impl BufRing {
    /// Allocates the ring and its buffers, publishes every buffer and registers the ring with
    /// `submitter` under [`GROUP`].
    ///
    /// # Errors
    /// The kernel refusing the registration (before 5.19: `EINVAL`).
    pub(crate) fn new(submitter: &Submitter<'_>) -> io::Result<BufRing> {
        // SAFETY: both layouts have a non-zero size.
        let (ring, bufs) = unsafe {
            (
                alloc::alloc_zeroed(ring_layout()),
                alloc::alloc_zeroed(bufs_layout()),
            )
        };
        let (Some(ring), Some(bufs)) = (NonNull::new(ring.cast::<BufRingEntry>()), NonNull::new(bufs)) else {
            alloc::handle_alloc_error(bufs_layout());
        };
        let mut this = BufRing {
            ring,
            bufs,
            tail: 0,
            held: 0,
            registered: false,
        };
        for bid in 0..ENTRIES {
            this.write_entry(bid);
        }
        this.publish();
        // SAFETY: U6: the ring's memory is page-aligned, `ENTRIES` entries long, and lives
        // (with the buffers its entries name) until `unregister` succeeded: `Drop` leaks it
        // otherwise.
        unsafe { submitter.register_buf_ring_with_flags(ring.as_ptr() as u64, ENTRIES, GROUP, 0)? };
        this.registered = true;
        Ok(this)
    }

    /// Buffers the kernel can take now.
    pub(crate) fn available(&self) -> u16 {
        ENTRIES - self.held
    }

    /// Buffers held by us (named by completions, not given back).
    #[cfg(test)]
    pub(crate) fn held(&self) -> u16 {
        self.held
    }

    /// Records that a completion handed us buffer `bid` (U5: the kernel is done writing it).
    pub(crate) fn took(&mut self, bid: u16) {
        debug_assert!(
            bid < ENTRIES && self.held < ENTRIES,
            "aioloop: buffer {bid} taken twice (U5)"
        );
        self.held += 1;
    }

    /// The first `len` bytes of buffer `bid` from `offset`, which a completion handed us.
    ///
    /// # Panics
    /// If the range leaves the buffer.
    pub(crate) fn bytes(&self, bid: u16, offset: usize, len: usize) -> &[u8] {
        assert!(
            bid < ENTRIES && offset + len <= BUF_SIZE,
            "aioloop: a receive beyond its buffer"
        );
        // SAFETY: U5: buffer `bid` was named by a completion and not given back, so the kernel
        // neither holds nor writes it; the range lies inside the allocation (checked above), and
        // the kernel wrote the bytes the completion counted (the caller asks only for those).
        unsafe { std::slice::from_raw_parts(self.bufs.as_ptr().add(bid as usize * BUF_SIZE + offset), len) }
    }

    /// Gives buffer `bid` back to the kernel: after this the kernel may write it (U5).
    pub(crate) fn give_back(&mut self, bid: u16) {
        debug_assert!(self.held > 0, "aioloop: a buffer given back twice (U5)");
        self.held -= 1;
        self.write_entry(bid);
        self.publish();
    }

    /// Writes buffer `bid` at our tail and advances it (not yet published).
    fn write_entry(&mut self, bid: u16) {
        let index = (self.tail & (ENTRIES - 1)) as usize;
        // SAFETY: U5: the entry at our tail is not one the kernel reads (it reads only entries
        // between its head and the published tail, and at most `ENTRIES` buffers are ever
        // published, so our tail never reaches its head); `index < ENTRIES`.
        let entry = unsafe { &mut *self.ring.as_ptr().add(index) };
        entry.set_addr(self.bufs.as_ptr() as u64 + bid as u64 * BUF_SIZE as u64);
        entry.set_len(BUF_SIZE as u32);
        entry.set_bid(bid);
        self.tail = self.tail.wrapping_add(1);
    }

    /// Publishes our tail: the entries before it are the kernel's (release: the entries first).
    fn publish(&self) {
        // SAFETY: U5/U6: the tail field is entry 0's `resv`, inside the live, initialised
        // ring; the kernel reads it concurrently, hence the atomic store (`u16` is aligned
        // there).
        let tail = unsafe { AtomicU16::from_ptr(BufRingEntry::tail(self.ring.as_ptr()).cast_mut()) };
        tail.store(self.tail, Ordering::Release);
    }

    /// Unregisters the ring: after this the kernel takes no buffer of it. Call only when no
    /// receive that selects from it can complete any more (U6).
    pub(crate) fn unregister(&mut self, submitter: &Submitter<'_>) {
        if self.registered && submitter.unregister_buf_ring(GROUP).is_ok() {
            self.registered = false;
        }
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        if self.registered {
            // U6: the kernel may still write these buffers: leak them rather than free them.
            return;
        }
        // SAFETY: allocated in `new` with these layouts; unregistered, so the kernel holds no
        // reference to either (U6).
        unsafe {
            alloc::dealloc(self.ring.as_ptr().cast(), ring_layout());
            alloc::dealloc(self.bufs.as_ptr(), bufs_layout());
        }
    }
}

/// Copies `src` to the front of `dst` (which is at least as long).
pub(crate) fn copy_to(dst: &mut [MaybeUninit<u8>], src: &[u8]) {
    assert!(dst.len() >= src.len(), "aioloop: a copy beyond its destination");
    // SAFETY: `dst` holds at least `src.len()` elements (the caller's slice bound), `u8` and
    // `MaybeUninit<u8>` have the same layout, and the two cannot overlap (`dst` is a unique
    // borrow, `src` a shared one).
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr().cast::<u8>(), src.len()) };
}
