//! `call_soon`: callbacks on the loop's ready queue, cancellable through a [`Handle`].

use crate::context;
pub use crate::task::Handle;

/// Schedules `callback` to run on the running loop at its next iteration, after everything
/// already scheduled (callbacks and task steps run in FIFO order). asyncio's `loop.call_soon`.
///
/// A panic in the callback goes to the loop's exception handler; the loop keeps running.
///
/// # Panics
/// If no loop is running on this thread; use [`Loop::call_soon`](crate::Loop::call_soon) to
/// schedule on a loop that is not running yet.
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let seen = log.clone();
/// aioloop::run(async move {
///     let l1 = seen.clone();
///     aioloop::call_soon(move || l1.borrow_mut().push(1));
///     let l2 = seen.clone();
///     aioloop::call_soon(move || l2.borrow_mut().push(2)).cancel();
///     aioloop::yield_now().await;
/// });
/// assert_eq!(*log.borrow(), [1]);
/// ```
#[track_caller]
pub fn call_soon(callback: impl FnOnce() + 'static) -> Handle {
    context::expect_current("call_soon").call_soon(Box::new(callback))
}
