//! [`WakerSlot`]: the one place that stores the waker of a task waiting for something.
//!
//! Every waiter in aioloop keeps its waker the same way: a new poll replaces the stored waker
//! unless the stored one already wakes the same task (`Waker::will_wake`), and a replaced waker
//! is dropped only after the caller's `RefCell` borrow or lock has ended, because dropping a
//! foreign waker runs foreign code (T1, in task/scheduler.rs). [`WakerSlot::register`] does the
//! first half and hands the replaced waker back for the caller to drop after the borrow.
//!
//! [`WakerSet`] is its sibling for a thing several tasks may wait for at once with no entry of
//! their own to leave by (a socket's direction: two tasks accepting on one listener, or
//! reading one datagram socket). It keeps one waker per distinct task (the same `will_wake`
//! rule), never replaces one, and hands them all out together: a waiter that lost the race
//! for what woke it polls again and waits again, and none is left asleep.

use std::task::Waker;

/// An optional stored waker; see the module doc.
#[derive(Default, Debug)]
pub(crate) struct WakerSlot(Option<Waker>);

impl WakerSlot {
    /// An empty slot.
    pub(crate) const fn new() -> Self {
        WakerSlot(None)
    }

    /// Stores `waker` unless the slot already holds one that wakes the same task. Returns the
    /// waker it replaced: drop it once the borrow of the slot's owner has ended.
    #[must_use = "drop the replaced waker after the borrow ends"]
    pub(crate) fn register(&mut self, waker: &Waker) -> Option<Waker> {
        match &self.0 {
            Some(stored) if stored.will_wake(waker) => None,
            _ => self.0.replace(waker.clone()),
        }
    }

    /// The stored waker, if any (clone it to wake it after the borrow).
    pub(crate) fn get(&self) -> Option<&Waker> {
        self.0.as_ref()
    }

    /// Takes the stored waker out, leaving the slot empty (to wake or drop after the borrow).
    #[must_use = "wake or drop the waker after the borrow ends"]
    pub(crate) fn take(&mut self) -> Option<Waker> {
        self.0.take()
    }
}

/// The wakers of every task waiting for one thing; see the module doc. The first waiter's is
/// kept inline (the usual case: one task), the others in a list allocated on the first
/// contention and kept for the next.
#[derive(Default, Debug)]
pub(crate) struct WakerSet {
    first: Option<Waker>,
    // One word while no second task waits (a `Vec` takes three): the reactor keeps two sets
    // per socket in its slab, and contention is rare.
    #[allow(clippy::box_collection)]
    others: Option<Box<Vec<Waker>>>,
}

impl WakerSet {
    /// An empty set.
    pub(crate) const fn new() -> Self {
        WakerSet {
            first: None,
            others: None,
        }
    }

    /// Adds `waker` unless the set already holds one that wakes the same task.
    #[inline]
    pub(crate) fn register(&mut self, waker: &Waker) {
        match &self.first {
            None => self.first = Some(waker.clone()),
            Some(stored) if stored.will_wake(waker) => {}
            Some(_) => self.register_other(waker),
        }
    }

    #[cold]
    fn register_other(&mut self, waker: &Waker) {
        let others = self.others.get_or_insert_default();
        if !others.iter().any(|stored| stored.will_wake(waker)) {
            others.push(waker.clone());
        }
    }

    /// Moves every waker onto `out`, in the order their tasks first waited, leaving the set
    /// empty (wake or drop them after the borrow ends).
    #[inline]
    pub(crate) fn take_into(&mut self, out: &mut Vec<Waker>) {
        out.extend(self.first.take());
        if let Some(others) = &mut self.others {
            out.append(others);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{WakerSet, WakerSlot};
    use crate::wake_counter::wake_counter;
    use std::task::Waker;

    #[test]
    fn keeps_a_waker_of_the_same_task_and_hands_back_a_replaced_one() {
        let (first, first_waker) = wake_counter();
        let (second, second_waker) = wake_counter();
        let mut slot = WakerSlot::new();
        assert!(slot.register(&first_waker).is_none());
        assert!(slot.register(&first_waker.clone()).is_none(), "same task: kept");
        let replaced = slot.register(&second_waker).expect("another task replaces");
        replaced.wake();
        assert_eq!(first.wakes(), 1);
        slot.take().expect("stored").wake();
        assert_eq!(second.wakes(), 1);
        assert!(slot.take().is_none());
    }

    #[test]
    fn a_set_keeps_one_waker_per_task_and_hands_all_out_in_order() {
        let (first, first_waker) = wake_counter();
        let (second, second_waker) = wake_counter();
        let (third, third_waker) = wake_counter();
        let mut set = WakerSet::new();
        for waker in [
            &first_waker,
            &second_waker,
            &first_waker,
            &third_waker,
            &second_waker,
        ] {
            set.register(waker);
        }
        let mut out = Vec::new();
        set.take_into(&mut out);
        // Miri may give each use of std's `Arc` waker vtable (a const) an address of its own,
        // so there `will_wake` can be false for two wakers of one task: the count of one waker
        // per task, in order, is checked outside Miri.
        if !cfg!(miri) {
            assert_eq!(out.len(), 3, "one waker per task");
            assert!(out[0].will_wake(&first_waker) && out[1].will_wake(&second_waker));
        }
        out.drain(..).for_each(Waker::wake);
        if !cfg!(miri) {
            assert_eq!((first.wakes(), second.wakes(), third.wakes()), (1, 1, 1));
        }
        assert!(first.wakes() >= 1 && second.wakes() >= 1 && third.wakes() >= 1);
        set.take_into(&mut out);
        assert!(out.is_empty(), "taken: the set is empty");
        set.register(&third_waker);
        set.take_into(&mut out);
        assert_eq!(out.len(), 1);
    }
}
