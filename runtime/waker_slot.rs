//! [`WakerSlot`]: the one place that stores the waker of a task waiting for something.
//!
//! Every waiter in aioloop keeps its waker the same way: a new poll replaces the stored waker
//! unless the stored one already wakes the same task (`Waker::will_wake`), and a replaced waker
//! is dropped only after the caller's `RefCell` borrow or lock has ended, because dropping a
//! foreign waker runs foreign code (T1, in task/scheduler.rs). [`WakerSlot::register`] does the
//! first half and hands the replaced waker back for the caller to drop after the borrow.

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

#[cfg(test)]
mod tests {
    use super::WakerSlot;
    use crate::wake_counter::wake_counter;

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
}
