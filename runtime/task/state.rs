//! [`SlotState`]: a task slot's id and flags, packed into one `u64` so the slot stays small
//! (table.rs).
//!
//! Layout: bits 11..64 the task id (53 bits), bits 0..11 the flags. The slot's generation is not
//! stored: it is the id's low 16 bits, since every insert takes the next id (see
//! [`SlotState::gen`]).

use super::TaskId;

/// The largest task id a loop can hand out: 2^53 - 1 (at 100 million spawns a second, 2.8
/// years).
pub(crate) const MAX_ID: u64 = (1 << ID_BITS) - 1;

/// The id sits above the flags.
const ID_SHIFT: u32 = 11;
const ID_BITS: u32 = u64::BITS - ID_SHIFT;

/// A task's id and flags in one word.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct SlotState(u64);

impl SlotState {
    /// The state of a task just spawned: id `id`, every flag clear.
    ///
    /// # Panics
    /// If `id` does not fit in 53 bits.
    #[inline]
    pub(crate) fn new(id: TaskId) -> Self {
        assert!(
            id.0 <= MAX_ID,
            "aioloop: task ids exhausted (this loop spawned 2^53 - 1 tasks)"
        );
        SlotState(id.0 << ID_SHIFT)
    }

    /// The task's id.
    #[inline]
    pub(crate) fn id(self) -> TaskId {
        TaskId(self.0 >> ID_SHIFT)
    }

    /// The slot's generation: the id's low 16 bits. Ids are handed out one per insert, so a
    /// reused key gets a generation that differs from its previous occupant's (T4, in table.rs).
    #[inline]
    pub(crate) fn gen(self) -> u16 {
        (self.0 >> ID_SHIFT) as u16
    }

    #[inline]
    fn get(self, bit: u64) -> bool {
        self.0 & bit != 0
    }

    /// Branch-free: the flags are set on the hot path.
    #[inline]
    fn set(&mut self, bit: u64, on: bool) {
        self.0 = (self.0 & !bit) | (bit * on as u64);
    }
}

/// Defines one flag: its bit, a getter and a setter.
macro_rules! flags {
    ($($(#[$doc:meta])* $bit:ident = $n:literal: $get:ident, $set:ident;)*) => {
        $(const $bit: u64 = 1 << $n;)*
        impl SlotState {
            $(
                $(#[$doc])*
                #[inline]
                pub(crate) fn $get(self) -> bool {
                    self.get($bit)
                }

                #[doc = concat!("Sets or clears [`SlotState::", stringify!($get), "`].")]
                #[inline]
                pub(crate) fn $set(&mut self, on: bool) {
                    self.set($bit, on)
                }
            )*
        }
    };
}

flags! {
    /// One entry for this slot sits in the ready queue (T2, in table.rs).
    SCHEDULED = 0: scheduled, set_scheduled;
    /// The task finished; its cell holds the outcome.
    DONE = 1: done, set_done;
    /// `cancel()` was called and the task has not finished yet.
    CANCEL_REQUESTED = 2: cancel_requested, set_cancel_requested;
    /// The outcome was `Cancelled` (kept for `is_cancelled` after the fact).
    CANCELLED = 3: cancelled, set_cancelled;
    /// The `Task` handle was dropped: nobody will take the outcome.
    DETACHED = 4: detached, set_detached;
    /// The table's side table holds a [`TaskMeta`](super::meta::TaskMeta) for this slot.
    HAS_META = 5: has_meta, set_has_meta;
    /// That `TaskMeta` has a spawn trace (debug mode), whose poll count the loop bumps.
    TRACED = 6: traced, set_traced;
    /// A task polled in place by its owner (task/inplace.rs): an identity with no cell,
    /// never queued.
    IN_PLACE = 7: in_place, set_in_place;
    /// The task awaits `until_cancelled`: a cancel request is delivered to it, not dropped on it.
    /// (Read through `cancel_pending`.)
    #[allow(dead_code)]
    OBSERVING = 8: observing, set_observing;
    /// A cancel request was delivered: the task runs its cleanup and ends cancelled.
    CANCEL_DELIVERED = 9: cancel_delivered, set_cancel_delivered;
    /// The task's `TaskMeta` holds its context (context_var.rs), made current around its steps.
    HAS_CONTEXT = 10: has_context, set_has_context;
}

impl SlotState {
    /// Cancellation was requested and the task must be dropped for it: it neither observes
    /// the request nor had it delivered.
    #[inline]
    pub(crate) fn cancel_pending(self) -> bool {
        self.0 & (CANCEL_REQUESTED | OBSERVING | CANCEL_DELIVERED) == CANCEL_REQUESTED
    }
}

/// Every flag, for tests.
#[cfg(test)]
const ALL_FLAGS: [u64; 11] = [
    SCHEDULED,
    DONE,
    CANCEL_REQUESTED,
    CANCELLED,
    DETACHED,
    HAS_META,
    TRACED,
    IN_PLACE,
    OBSERVING,
    CANCEL_DELIVERED,
    HAS_CONTEXT,
];

#[cfg(test)]
mod tests {
    use super::*;

    type Accessors = (fn(SlotState) -> bool, fn(&mut SlotState, bool));

    const ACCESSORS: [Accessors; 11] = [
        (SlotState::scheduled, SlotState::set_scheduled),
        (SlotState::done, SlotState::set_done),
        (SlotState::cancel_requested, SlotState::set_cancel_requested),
        (SlotState::cancelled, SlotState::set_cancelled),
        (SlotState::detached, SlotState::set_detached),
        (SlotState::has_meta, SlotState::set_has_meta),
        (SlotState::traced, SlotState::set_traced),
        (SlotState::in_place, SlotState::set_in_place),
        (SlotState::observing, SlotState::set_observing),
        (SlotState::cancel_delivered, SlotState::set_cancel_delivered),
        (SlotState::has_context, SlotState::set_has_context),
    ];

    #[test]
    fn flags_are_distinct_bits_below_the_id() {
        let mut seen = 0;
        for bit in ALL_FLAGS {
            assert_eq!(bit.count_ones(), 1);
            assert_eq!(seen & bit, 0, "two flags share a bit");
            assert!(bit < 1 << ID_SHIFT, "a flag overlaps the id");
            seen |= bit;
        }
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "bit arithmetic on a u64, no unsafe code for Miri to check; minutes there"
    )]
    fn every_flag_combination_keeps_the_id_and_the_other_flags() {
        for id in [0, 1, 0xffff, 0x1_0000, 0xdead_beef, MAX_ID] {
            for mask in 0u32..1 << ACCESSORS.len() {
                let mut state = SlotState::new(TaskId(id));
                for (i, (_, set)) in ACCESSORS.iter().enumerate() {
                    set(&mut state, mask & (1 << i) != 0);
                }
                for (i, (get, _)) in ACCESSORS.iter().enumerate() {
                    assert_eq!(get(state), mask & (1 << i) != 0, "flag {i}, mask {mask:b}");
                }
                assert_eq!(state.id(), TaskId(id));
                assert_eq!(state.gen(), id as u16);
                // Clearing one flag leaves the others alone.
                for (i, (get, set)) in ACCESSORS.iter().enumerate() {
                    let mut cleared = state;
                    set(&mut cleared, false);
                    assert!(!get(cleared));
                    for (j, (other, _)) in ACCESSORS.iter().enumerate() {
                        if j != i {
                            assert_eq!(other(cleared), other(state));
                        }
                    }
                    assert_eq!(cleared.id(), TaskId(id));
                }
            }
        }
    }

    #[test]
    fn generation_is_the_low_16_bits_of_the_id() {
        assert_eq!(SlotState::new(TaskId(0x1_0005)).gen(), 5);
        assert_ne!(SlotState::new(TaskId(41)).gen(), SlotState::new(TaskId(42)).gen());
    }

    #[test]
    #[should_panic(expected = "task ids exhausted")]
    fn an_id_beyond_53_bits_panics_clearly() {
        SlotState::new(TaskId(MAX_ID + 1));
    }
}
