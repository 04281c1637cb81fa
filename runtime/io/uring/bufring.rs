//! [`BufRing`]: the loop's provided-buffer ring (`IORING_REGISTER_PBUF_RING`), the buffers the
//! kernel fills ahead for the streams' multishot receives (invariants U5-U7 in the module above).
//!
//! The ring is an array of `{addr, len, bid}` entries the kernel takes buffers from at its head;
//! we publish buffers by writing entries at our tail and storing the tail (the `resv` field of
//! entry 0) with release ordering. Each of the `entries` buffers is, at any time, either in
//! the ring (the kernel's, U5) or held by us: consumed by the kernel and not yet given back.
//!
//! Where the kernel has it (6.12), the ring is registered for incremental consumption
//! (`IOU_PBUF_RING_INC`): a receive takes only the bytes it needs from the buffer at the head,
//! which stays there for the next receives (of any stream) until it is full; the completions
//! of its pieces carry `IORING_CQE_F_BUF_MORE` but the last one's. So sixty-four 64-byte
//! messages share one 4 KiB buffer instead of taking one each. We count each buffer's pieces
//! not yet read and give it back once the kernel consumed it and every piece was read. On an
//! older kernel each receive consumes its buffer whole (one piece), and the same bookkeeping
//! holds.

use std::alloc::{self, Layout};
use std::io;
use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::types::{BufRingEntry, IOU_PBUF_RING_INC};
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
    /// Buffers the kernel consumed that were not given back yet.
    held: u16,
    /// Registered with the kernel (it may take buffers and write them, U5/U6).
    registered: bool,
    /// Registered for incremental consumption (`IOU_PBUF_RING_INC`).
    incremental: bool,
    /// Per buffer, what its completions named: the bytes filled from its start, the pieces
    /// not read yet, and whether the kernel consumed it (U5).
    state: Box<[BufState]>,
}

/// One buffer's bookkeeping (see [`BufRing`]).
#[derive(Clone, Copy, Debug, Default)]
struct BufState {
    filled: u32,
    pieces: u16,
    consumed: bool,
}

fn ring_layout() -> Layout {
    Layout::from_size_align(ENTRIES as usize * size_of::<BufRingEntry>(), ALIGN).expect("ring layout")
}

fn bufs_layout() -> Layout {
    Layout::from_size_align(ENTRIES as usize * BUF_SIZE, ALIGN).expect("buffers layout")
}

impl BufRing {
    /// Allocates the ring and its buffers, publishes every buffer and registers the ring with
    /// `submitter` under [`GROUP`]: for incremental consumption if the kernel takes it (6.12),
    /// else (`EINVAL`) whole buffers per receive.
    ///
    /// # Errors
    /// The kernel refusing the registration (before 5.19: `EINVAL`).
    pub(crate) fn new(submitter: &Submitter<'_>) -> io::Result<BufRing> {
        let mut ring = Self::allocate();
        for flags in [IOU_PBUF_RING_INC as u16, 0] {
            // SAFETY: U6: the ring's memory is page-aligned, `ENTRIES` entries long, and lives
            // (with the buffers its entries name) until `unregister` succeeded: `Drop` leaks it
            // otherwise.
            let registered = unsafe {
                submitter.register_buf_ring_with_flags(ring.ring.as_ptr() as u64, ENTRIES, GROUP, flags)
            };
            match registered {
                Ok(()) => {
                    ring.registered = true;
                    ring.incremental = flags != 0;
                    return Ok(ring);
                }
                Err(err) if flags != 0 && err.raw_os_error() == Some(libc::EINVAL) => {}
                Err(err) => return Err(err),
            }
        }
        unreachable!("the last attempt returns")
    }

    /// The ring and its buffers, every buffer published, not registered.
    fn allocate() -> BufRing {
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
            incremental: false,
            state: vec![BufState::default(); ENTRIES as usize].into_boxed_slice(),
        };
        for bid in 0..ENTRIES {
            this.write_entry(bid);
        }
        this.publish();
        this
    }

    /// True if the kernel consumes the buffers incrementally (`IOU_PBUF_RING_INC`).
    #[cfg(test)]
    pub(crate) fn incremental(&self) -> bool {
        self.incremental
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

    /// Records a completion that named buffer `bid` with `len` bytes (`more`: the kernel keeps
    /// the buffer for further pieces, `IORING_CQE_F_BUF_MORE`). Returns where in the buffer
    /// the bytes start (U5: the kernel writes them no more; a piece of `len > 0` is ours until
    /// [`BufRing::release`]d). A consumed buffer with no piece left goes back at once.
    pub(crate) fn took(&mut self, bid: u16, len: u32, more: bool) -> u32 {
        let state = &mut self.state[bid as usize];
        debug_assert!(
            !state.consumed,
            "aioloop: buffer {bid} named after it was consumed (U5)"
        );
        let start = state.filled;
        state.filled += len;
        if len > 0 {
            state.pieces += 1;
        }
        if !more {
            state.consumed = true;
            self.held += 1;
            if self.state[bid as usize].pieces == 0 {
                self.give_back(bid);
            }
        }
        start
    }

    /// Records that a piece of buffer `bid` was read (or dropped): the buffer goes back to the
    /// kernel once it is consumed and no piece of it is left (U5).
    pub(crate) fn release(&mut self, bid: u16) {
        let state = &mut self.state[bid as usize];
        debug_assert!(
            state.pieces > 0,
            "aioloop: a piece of buffer {bid} released twice (U5)"
        );
        state.pieces -= 1;
        if state.pieces == 0 && state.consumed {
            self.give_back(bid);
        }
    }

    /// `len` bytes of buffer `bid` from `offset`, inside a piece a completion handed us.
    ///
    /// # Panics
    /// If the range leaves the buffer.
    pub(crate) fn bytes(&self, bid: u16, offset: usize, len: usize) -> &[u8] {
        assert!(
            bid < ENTRIES && offset + len <= BUF_SIZE,
            "aioloop: a receive beyond its buffer"
        );
        // SAFETY: U5: the caller asks only for bytes of a piece a completion named and that
        // was not released: the kernel wrote them and writes them no more (it fills a buffer
        // only past its pieces, and the buffer is not given back while a piece is left); the
        // range lies inside the allocation (checked above).
        unsafe { std::slice::from_raw_parts(self.bufs.as_ptr().add(bid as usize * BUF_SIZE + offset), len) }
    }

    /// Gives buffer `bid` back to the kernel: after this the kernel may write it (U5).
    fn give_back(&mut self, bid: u16) {
        debug_assert!(self.held > 0, "aioloop: a buffer given back twice (U5)");
        self.held -= 1;
        self.state[bid as usize] = BufState::default();
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
