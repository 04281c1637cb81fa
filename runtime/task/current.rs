//! The running loop's [`Scheduler`] on this thread, for task/'s own futures that hold no
//! scheduler of their own (the in-place identities, `until_cancelled`). The loop enters it
//! whenever it becomes the running loop, beside the drivers (context.rs), so task/ needs no
//! import of the loop or its context (the layering rule of .ci/layering).

use std::cell::RefCell;
use std::rc::Rc;

use super::scheduler::Scheduler;

thread_local! {
    static CURRENT: RefCell<Option<Rc<Scheduler>>> = const { RefCell::new(None) };
}

/// Makes `sched` this thread's running scheduler until the guard drops.
pub(crate) fn enter(sched: &Rc<Scheduler>) -> EnterGuard {
    let previous = CURRENT.with(|current| current.replace(Some(sched.clone())));
    EnterGuard { previous }
}

/// Restores the previous scheduler (none, in practice: loops do not nest).
pub(crate) struct EnterGuard {
    previous: Option<Rc<Scheduler>>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // Swap first, drop after: dropping the Rc must not happen inside the borrow.
        let left = CURRENT.with(|current| current.replace(previous));
        drop(left);
    }
}

/// Runs `f` with the running scheduler, if any. `f` must not run user code.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Rc<Scheduler>) -> R) -> Option<R> {
    CURRENT
        .try_with(|current| current.borrow().as_ref().map(f))
        .ok()
        .flatten()
}

/// The running scheduler, if a loop runs on this thread.
pub(crate) fn current() -> Option<Rc<Scheduler>> {
    with_current(Rc::clone)
}
