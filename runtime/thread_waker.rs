//! [`thread_waker`]: the waker of state that lives on one thread (a loop's, held by an `Rc`).
//! A `Waker` must be `Send`, an `Rc` is not: this waker holds only its thread and a key into
//! the thread's table of targets ([`TARGETS`]), where the target is held weakly with what a
//! wake does. A wake on the thread that made the waker upgrades the target and calls the
//! function, on another thread it does nothing (the reactor wakes on the loop's own thread).
//! `add_reader`'s watches (runtime/fd_watch/watch.rs) and the signal dispatcher
//! (runtime/signal/driver.rs) queue their next loop callback through it.
//!
//! A key is never reused on its thread, so a late wake (of a waker its loop's reactor still
//! held) never reaches another target: not one a later loop made at the same address. The
//! table entry goes with the last clone of the waker (dropped on its thread; one dropped on
//! another thread leaves its entry, a weak reference, until the thread ends).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::thread::{self, ThreadId};

/// What a wake does: upgrade the target and call the function (nothing once it is gone).
type Target = Rc<dyn Fn()>;

thread_local! {
    /// This thread's waker targets, by key.
    static TARGETS: RefCell<HashMap<u64, Target>> = RefCell::default();
    /// The key of the next waker made on this thread.
    static NEXT_KEY: Cell<u64> = const { Cell::new(0) };
}

/// A waker's thread and its key in that thread's [`TARGETS`].
struct ThreadWaker {
    thread: ThreadId,
    key: u64,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if thread::current().id() != self.thread {
            return;
        }
        // Cloned out: the call runs outside the table's borrow.
        let target = TARGETS
            .try_with(|targets| targets.borrow().get(&self.key).cloned())
            .ok()
            .flatten();
        if let Some(target) = target {
            target();
        }
    }
}

impl Drop for ThreadWaker {
    fn drop(&mut self) {
        if thread::current().id() == self.thread {
            let removed = TARGETS.try_with(|targets| targets.borrow_mut().remove(&self.key));
            drop(removed); // a weak reference: dropping it runs nothing
        }
    }
}

/// A waker whose wake calls `wake` with `target` (if it is still alive) on this thread, and
/// does nothing on another.
pub(crate) fn thread_waker<T: 'static>(target: Weak<T>, wake: impl Fn(&Rc<T>) + 'static) -> Waker {
    let key = NEXT_KEY.with(|next| next.replace(next.get() + 1));
    let call: Target = Rc::new(move || {
        if let Some(target) = target.upgrade() {
            wake(&target);
        }
    });
    TARGETS.with(|targets| targets.borrow_mut().insert(key, call));
    Waker::from(Arc::new(ThreadWaker {
        thread: thread::current().id(),
        key,
    }))
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;

    use super::{thread_waker, TARGETS};

    #[test]
    fn wakes_its_target_while_it_lives_and_leaves_no_entry() {
        let target = Rc::new(Cell::new(0));
        let waker = thread_waker(Rc::downgrade(&target), |count| count.set(count.get() + 1));
        let clone = waker.clone();
        waker.wake_by_ref();
        std::thread::scope(|scope| {
            scope.spawn(|| clone.wake_by_ref()); // another thread: nothing
        });
        assert_eq!(target.get(), 1);
        let later = thread_waker(Rc::downgrade(&target), |count| count.set(count.get() + 10));
        drop(target);
        waker.wake_by_ref(); // gone: nothing
        let entries = || TARGETS.with(|targets| targets.borrow().len());
        assert_eq!(entries(), 2);
        drop((waker, clone, later));
        assert_eq!(entries(), 0, "the last clone removes its entry");
    }
}
