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

/// Restores the previous scheduler when dropped.
pub(crate) type EnterGuard = crate::current::EnterGuard<Scheduler>;

/// Makes `sched` this thread's running scheduler until the guard drops.
pub(crate) fn enter(sched: &Rc<Scheduler>) -> EnterGuard {
    crate::current::enter(&CURRENT, sched)
}

/// Runs `f` with the running scheduler, if any. `f` must not run user code.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Rc<Scheduler>) -> R) -> Option<R> {
    crate::current::with(&CURRENT, f)
}

/// True if `sched` is the running loop's scheduler.
#[inline]
pub(crate) fn is_current(sched: &Rc<Scheduler>) -> bool {
    crate::current::is(&CURRENT, sched)
}

/// The running scheduler, if a loop runs on this thread.
pub(crate) fn current() -> Option<Rc<Scheduler>> {
    crate::current::get(&CURRENT)
}
