//! The running loop's parts on this thread: one thread-local slot per kind (the scheduler in
//! task/current.rs, the time driver, the io driver), each an `Option<Rc<T>>` that
//! context.rs enters together whenever a loop becomes the running one. The lower layers find
//! their own part here without importing the loop (the layering rule of .ci/layering), and
//! this module imports nothing.

use std::cell::RefCell;
use std::rc::Rc;
use std::thread::LocalKey;

/// A thread-local slot for the running loop's `T`.
pub(crate) type Slot<T> = LocalKey<RefCell<Option<Rc<T>>>>;

/// Makes `value` the slot's running `T` until the guard drops. During thread teardown the
/// slot may be gone already (a loop kept in a thread-local is closed by that thread-local's
/// destructor, possibly after this slot's): the part is then not entered, and code that looks
/// for it finds none, as on a thread with no loop, instead of a panic in a thread-local
/// destructor, which aborts the process.
pub(crate) fn enter<T: 'static>(slot: &'static Slot<T>, value: &Rc<T>) -> EnterGuard<T> {
    let previous = slot
        .try_with(|current| current.replace(Some(value.clone())))
        .ok()
        .flatten();
    EnterGuard { slot, previous }
}

/// Restores the slot's previous value (none, in practice: loops do not nest).
#[must_use = "the slot is restored when the guard drops"]
pub(crate) struct EnterGuard<T: 'static> {
    slot: &'static Slot<T>,
    previous: Option<Rc<T>>,
}

impl<T: 'static> Drop for EnterGuard<T> {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // Swap first, drop after: dropping the Rc must not happen inside the borrow. During
        // thread teardown the slot may be gone already: nothing to restore then.
        let left = self
            .slot
            .try_with(|current| current.replace(previous))
            .ok()
            .flatten();
        drop(left);
    }
}

/// Runs `f` with the slot's running `T`, if any. `f` must not run user code (the slot is
/// borrowed meanwhile).
#[inline]
pub(crate) fn with<T: 'static, R>(slot: &'static Slot<T>, f: impl FnOnce(&Rc<T>) -> R) -> Option<R> {
    slot.try_with(|current| current.borrow().as_ref().map(f))
        .ok()
        .flatten()
}

/// True if `value` is the slot's running `T`: the part belongs to the loop running on this
/// thread. A part of another loop (or of none running) would never be driven here.
#[inline]
pub(crate) fn is<T: 'static>(slot: &'static Slot<T>, value: &Rc<T>) -> bool {
    with(slot, |current| Rc::ptr_eq(current, value)).unwrap_or(false)
}

/// The slot's running `T`, if a loop runs on this thread.
#[inline]
pub(crate) fn get<T: 'static>(slot: &'static Slot<T>) -> Option<Rc<T>> {
    with(slot, Rc::clone)
}

/// The slot's running `T`, or a panic that names the function the user called.
#[track_caller]
pub(crate) fn expect<T: 'static>(slot: &'static Slot<T>, what: &str) -> Rc<T> {
    get(slot).unwrap_or_else(|| {
        panic!("aioloop::{what} called with no running event loop: call it from inside a task or a future run by run_until_complete / aioloop::run")
    })
}
