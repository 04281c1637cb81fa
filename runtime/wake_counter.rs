//! [`WakeCounter`]: a waker that counts its wakes, for the unit tests of wake-up logic.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};

/// Counts the wakes of the wakers made from it ([`wake_counter`]).
pub(crate) struct WakeCounter(AtomicUsize);

impl Wake for WakeCounter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl WakeCounter {
    /// How many times its wakers were woken.
    pub(crate) fn wakes(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A new counter at zero, and a waker that counts on it.
pub(crate) fn wake_counter() -> (Arc<WakeCounter>, Waker) {
    let counter = Arc::new(WakeCounter(AtomicUsize::new(0)));
    (counter.clone(), Waker::from(counter))
}
