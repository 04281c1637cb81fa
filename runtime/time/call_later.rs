//! [`call_later`] and [`call_at`]: callbacks on a timer, cancellable through a [`TimerHandle`].

use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::clock::add_saturating;
use super::driver::TimeDriver;
use super::wheel::TimerKey;
use crate::task::CallbackCell;

/// A callback scheduled with [`call_later`] or [`call_at`]: asyncio's `TimerHandle`.
/// Dropping it does not cancel the callback.
pub struct TimerHandle {
    driver: Rc<TimeDriver>,
    cell: Rc<CallbackCell>,
    timer: TimerKey,
    when: Instant,
}

impl TimerHandle {
    /// Cancels the callback if it has not run yet: its timer is removed and its closure dropped.
    pub fn cancel(&self) {
        let entry = self.driver.remove(self.timer);
        drop(entry);
        let callback = self.cell.take();
        drop(callback);
    }

    /// True if the callback can no longer run: cancelled, or already run.
    pub fn is_cancelled(&self) -> bool {
        self.cell.is_empty()
    }

    /// When the callback is (or was) due, on the loop's clock.
    pub fn when(&self) -> Instant {
        self.when
    }
}

impl fmt::Debug for TimerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerHandle")
            .field("when", &self.when)
            .field("pending", &!self.is_cancelled())
            .finish()
    }
}

/// Runs `callback` on the running loop once `delay` has passed: asyncio's `loop.call_later`.
/// Callbacks due at the same instant run in the order they were scheduled.
///
/// # Panics
/// If no loop is running on this thread.
///
/// ```
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// let fired = Rc::new(Cell::new(false));
/// let flag = fired.clone();
/// aioloop::run(async move {
///     aioloop::call_later(Duration::from_millis(2), move || flag.set(true));
///     aioloop::sleep(Duration::from_millis(5)).await;
/// });
/// assert!(fired.get());
/// ```
#[track_caller]
pub fn call_later(delay: Duration, callback: impl FnOnce() + 'static) -> TimerHandle {
    let driver = TimeDriver::current("call_later");
    let when = add_saturating(driver.now(), delay);
    call_at_on(driver, when, Box::new(callback))
}

/// Runs `callback` on the running loop when its clock reads `when`: asyncio's `loop.call_at`.
///
/// # Panics
/// If no loop is running on this thread.
#[track_caller]
pub fn call_at(when: Instant, callback: impl FnOnce() + 'static) -> TimerHandle {
    call_at_on(TimeDriver::current("call_at"), when, Box::new(callback))
}

/// Sets a timer on `driver` that queues `callback` when its clock reads `when`.
pub(crate) fn call_at_on(driver: Rc<TimeDriver>, when: Instant, callback: Box<dyn FnOnce()>) -> TimerHandle {
    // asyncio's `TimerHandle`: the callback runs in a copy of the current context.
    let cell = CallbackCell::new(crate::context_var::bind(callback));
    let timer = driver.insert_call(when, cell.clone());
    TimerHandle {
        driver,
        cell,
        timer,
        when,
    }
}
