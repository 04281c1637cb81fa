//! The custom waker: (loop id, slot key, generation) packed into the waker's data word.
//!
//! No allocation and no reference count exist: cloning copies the word, dropping does nothing.
//! Waking decodes the word; on the thread where that loop is running it pushes the task onto
//! the loop's local ready queue (deduplicated by the slot's `scheduled` flag); anywhere else it
//! goes through the loop's remote queue, found in the global registry by loop id. A stale word
//! (the loop is gone, the slot finished or was reused) wakes nothing, or at worst causes one
//! spurious poll of the slot's new task, which the `Future` contract allows.
//!
//! Layout of the 64-bit word: bits 48..64 loop id, 32..48 generation, 0..32 slot key.

use std::task::{RawWaker, RawWakerVTable, Waker};

#[cfg(not(target_pointer_width = "64"))]
compile_error!("aioloop packs its waker into a 64-bit data word and supports 64-bit targets only");

/// The slot key reserved for the future passed to `run_until_complete`.
pub(crate) const MAIN_KEY: u32 = u32::MAX;

/// Where a wake goes: which loop, which slot, which occupant of the slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WakeTarget {
    pub(crate) loop_id: u16,
    pub(crate) key: u32,
    pub(crate) gen: u16,
}

impl WakeTarget {
    fn pack(self) -> usize {
        ((self.loop_id as usize) << 48) | ((self.gen as usize) << 32) | self.key as usize
    }

    fn unpack(word: usize) -> Self {
        WakeTarget {
            loop_id: (word >> 48) as u16,
            gen: (word >> 32) as u16,
            key: word as u32,
        }
    }
}

/// A waker for `target`. Free to create, clone and drop.
pub(crate) fn waker_for(target: WakeTarget) -> Waker {
    let raw = RawWaker::new(target.pack() as *const (), &VTABLE);
    // SAFETY (docs/architecture.md, W1): every vtable function treats the data word as a plain
    // integer (it is never dereferenced), so any value is valid; the functions are thread-safe
    // (`wake` either touches the calling thread's own loop or goes through the registry's
    // lock), and `clone` returns a waker with the same vtable, as the RawWaker contract requires.
    unsafe { Waker::from_raw(raw) }
}

/// A `static`, not a `const`: every waker must point at the same vtable, or `will_wake` would
/// compare unequal (a `const` may be materialised at several addresses).
static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake, drop_waker);

fn clone(data: *const ()) -> RawWaker {
    RawWaker::new(data, &VTABLE)
}

fn wake(data: *const ()) {
    crate::event_loop::wake(WakeTarget::unpack(data as usize));
}

fn drop_waker(_: *const ()) {}

/// Decodes a waker made by [`waker_for`]; `None` for any other waker.
#[cfg(test)]
pub(crate) fn target_of(waker: &Waker) -> Option<WakeTarget> {
    (waker.vtable() == &VTABLE).then(|| WakeTarget::unpack(waker.data() as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

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
