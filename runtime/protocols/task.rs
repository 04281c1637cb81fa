//! What the task of a stream connection (protocols/driver.rs) and of a datagram endpoint
//! (protocols/datagram/driver.rs) share: the budgeted poll of its turns ([`poll_turns`]),
//! waking it ([`wake`]), and its end ([`call_connection_lost`]).

use std::any::Any;
use std::cell::RefCell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::task::{Context, Poll};

use crate::waker_slot::WakerSlot;

/// Turns (a send and a receive each) taken in one poll before the task yields to the others
/// (asyncio reads once per ready event and iteration).
const BUDGET: usize = 16;

/// Polls a transport's task: stores its waker in `driver` (unless the same task's is there),
/// then takes turns until neither
/// `send` nor `receive` made progress (`Pending`, the socket wakes the task) or the budget is
/// spent (`Pending`, woken again at once). Before each `send` and each `receive`, `due` makes
/// the protocol calls due and answers whether `connection_lost` is: then `Ready`.
pub(super) fn poll_turns(
    cx: &mut Context<'_>,
    driver: &RefCell<WakerSlot>,
    mut due: impl FnMut() -> bool,
    mut send: impl FnMut(&mut Context<'_>) -> bool,
    mut receive: impl FnMut(&mut Context<'_>) -> bool,
) -> Poll<()> {
    let replaced = driver.borrow_mut().register(cx.waker());
    drop(replaced);
    for _ in 0..BUDGET {
        if due() {
            return Poll::Ready(());
        }
        let sent = send(cx);
        if due() {
            return Poll::Ready(());
        }
        let received = receive(cx);
        if !sent && !received {
            return Poll::Pending;
        }
    }
    cx.waker().wake_by_ref();
    Poll::Pending
}

/// Wakes the transport's task, if it waits.
pub(super) fn wake(driver: &RefCell<WakerSlot>) {
    let waker = driver.borrow().get().cloned();
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// The end of a transport's task (asyncio's `_call_connection_lost`): calls the protocol's
/// `connection_lost` (`lost`), then `finish` (which closes the socket), then resumes the
/// panic a protocol method left in `panic`, or else the one of `connection_lost`.
pub(super) fn call_connection_lost(
    lost: impl FnOnce(),
    finish: impl FnOnce(),
    panic: &RefCell<Option<Box<dyn Any + Send>>>,
) {
    let lost = catch_unwind(AssertUnwindSafe(lost));
    finish();
    let panicked = panic.borrow_mut().take();
    if let Some(payload) = panicked.or(lost.err()) {
        resume_unwind(payload);
    }
}
