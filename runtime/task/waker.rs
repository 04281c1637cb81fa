//! The custom waker: (loop id, slot key, generation) packed into the waker's data word.
//!
//! No allocation and no reference count exist: cloning copies the word, dropping does nothing.
//! Waking decodes the word and hands it to the schedule hook, a [`WakeHook`] the loop
//! implements (task/ does not know the loop): on the thread where that loop is running it
//! pushes the task onto the scheduler's ready queue (deduplicated by the slot's `scheduled`
//! flag); anywhere else it goes through the loop's remote queue, found in the global registry
//! by loop id. A stale word (the loop is gone, the slot finished or was reused) wakes nothing,
//! or at worst causes one spurious poll of the slot's new task, which the `Future` contract
//! allows.
//!
//! Layout of the 64-bit word: bits 48..64 loop id, 32..48 generation, 0..32 slot key.
//!
//! - **W1.** The vtable functions treat the data word as an integer and never dereference it,
//!   so any value is a valid waker: clone copies the word, drop does nothing, and no reference
//!   count exists. This is the invariant behind the one `unsafe` block here.
//! - **W2.** A wake on the thread where that loop is running schedules the slot directly (T2
//!   deduplicates). Any other wake goes through the global registry (remote.rs, by loop id) to
//!   that loop's remote queue. A wake for a loop that no longer exists is dropped; a loop id
//!   reused by a newer loop can at most cause a spurious poll (T4's argument).

use std::task::{RawWaker, RawWakerVTable, Waker};

#[cfg(not(target_pointer_width = "64"))]
compile_error!("aioloop packs its waker into a 64-bit data word and supports 64-bit targets only");

/// The slot key reserved for the future passed to `run_until_complete`.
pub(crate) const MAIN_KEY: u32 = u32::MAX;

/// Where a wake goes: which loop, which slot, which occupant of the slot.
///
/// Laid out as the packed word is (key, then generation, then loop id, on a little-endian
/// 64-bit target), so packing and unpacking compile to nothing: a wake hands the word on as is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(8))]
pub(crate) struct WakeTarget {
    pub(crate) key: u32,
    pub(crate) gen: u16,
    pub(crate) loop_id: u16,
}

impl WakeTarget {
    #[inline]
    fn pack(self) -> usize {
        ((self.loop_id as usize) << 48) | ((self.gen as usize) << 32) | self.key as usize
    }

    #[inline]
    fn unpack(word: usize) -> Self {
        WakeTarget {
            loop_id: (word >> 48) as u16,
            gen: (word >> 32) as u16,
            key: word as u32,
        }
    }
}

/// The schedule hook: where a wake goes. The loop implements it on a marker type and keeps
/// the vtable of its wakers in a `static` built by [`vtable`].
///
/// # Safety
/// [`WakeHook::vtable`] must return a `static` built by `vtable::<Self>()` (so the waker's
/// functions are the ones [`waker_for`] vouches for), and [`WakeHook::wake`] must be callable
/// from any thread.
pub(crate) unsafe trait WakeHook: 'static {
    /// Delivers a wake for `target` to its loop.
    fn wake(target: WakeTarget);

    /// The `static` built by [`vtable::<Self>()`](vtable). A `static`, not a `const`: every
    /// waker must point at the same vtable, or `will_wake` would compare unequal (a `const`
    /// may be materialised at several addresses).
    fn vtable() -> &'static RawWakerVTable;
}

/// The vtable of wakers whose wake goes to `H`.
pub(crate) const fn vtable<H: WakeHook>() -> RawWakerVTable {
    RawWakerVTable::new(clone::<H>, wake::<H>, wake::<H>, drop_waker)
}

/// A waker for `target` whose wake goes to `H`. Free to create, clone and drop.
#[inline]
pub(crate) fn waker_for<H: WakeHook>(target: WakeTarget) -> Waker {
    let raw = RawWaker::new(target.pack() as *const (), H::vtable());
    // SAFETY: W1 (module doc). `H::vtable()` is the one `vtable::<H>()` built (`WakeHook`'s
    // contract), whose functions treat the data word as a plain integer (it is never
    // dereferenced), so any value is valid; they are thread-safe (a `WakeHook` either touches
    // the calling thread's own loop or goes through the registry's lock), and `clone` returns a
    // waker with the same vtable, as the RawWaker contract requires.
    unsafe { Waker::from_raw(raw) }
}

/// The target of `waker` if it is one of [`waker_for::<H>`](waker_for)'s; `None` for any
/// other waker.
#[inline]
pub(crate) fn target_of<H: WakeHook>(waker: &Waker) -> Option<WakeTarget> {
    std::ptr::eq(waker.vtable(), H::vtable()).then(|| WakeTarget::unpack(waker.data() as usize))
}

fn clone<H: WakeHook>(data: *const ()) -> RawWaker {
    RawWaker::new(data, H::vtable())
}

fn wake<H: WakeHook>(data: *const ()) {
    H::wake(WakeTarget::unpack(data as usize));
}

fn drop_waker(_: *const ()) {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hook that drops every wake: these tests only decode wakers.
    struct Nowhere;

    static NOWHERE: RawWakerVTable = vtable::<Nowhere>();

    // SAFETY: `vtable` returns `NOWHERE`, built by `vtable::<Nowhere>()`; `wake` does nothing.
    unsafe impl WakeHook for Nowhere {
        fn wake(_: WakeTarget) {}

        fn vtable() -> &'static RawWakerVTable {
            &NOWHERE
        }
    }

    fn waker_for(target: WakeTarget) -> Waker {
        super::waker_for::<Nowhere>(target)
    }

    fn target_of(waker: &Waker) -> Option<WakeTarget> {
        super::target_of::<Nowhere>(waker)
    }

    #[test]
    fn pack_round_trips_extremes() {
        for target in [
            WakeTarget {
                loop_id: 0,
                key: 0,
                gen: 0,
            },
            WakeTarget {
                loop_id: u16::MAX,
                key: MAIN_KEY,
                gen: u16::MAX,
            },
            WakeTarget {
                loop_id: 7,
                key: 123_456,
                gen: 65_000,
            },
        ] {
            assert_eq!(WakeTarget::unpack(target.pack()), target);
        }
    }

    #[test]
    fn clone_keeps_the_word_and_will_wake() {
        let target = WakeTarget {
            loop_id: 3,
            key: 42,
            gen: 9,
        };
        let waker = waker_for(target);
        let copy = waker.clone();
        assert_eq!(target_of(&copy), Some(target));
        assert!(waker.will_wake(&copy));
        assert!(!waker.will_wake(&waker_for(WakeTarget { gen: 10, ..target })));
    }

    #[test]
    fn foreign_wakers_are_not_decoded() {
        assert_eq!(target_of(Waker::noop()), None);
    }
}
