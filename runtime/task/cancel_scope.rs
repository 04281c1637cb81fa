//! Cancellation travels through awaits (asyncio's `Task.cancel()` cancels `_fut_waiter`).
//!
//! In Rust a cancelled task's future is dropped, and with it whatever the task was awaiting.
//! So the rule is: what is dropped *as a cancellation* cancels what it awaits. The loop drops a
//! cancelled task's future inside [`cancelling`], and so do the combinators that cancel what
//! they own ([`wait_for`](crate::wait_for) on timeout, [`until_cancelled`](crate::until_cancelled),
//! [`TaskGroup::run`](crate::TaskGroup::run)'s body). While a scope is active:
//! - a [`Task`](crate::Task) handle that was awaited (polled and pending) and is dropped cancels
//!   its task, instead of detaching it; the task's own future is dropped at its next step,
//!   in a scope again, so the cancellation goes on down the chain of awaits;
//! - an [`aioloop::Future`](crate::Future) handle being awaited is cancelled when dropped.
//!
//! A handle never awaited, or dropped outside a scope, detaches its task (fire-and-forget);
//! [`shield`](crate::shield) and [`wait`](crate::wait) detach the tasks they hold whatever the
//! scope, as asyncio's `shield` and `wait` leave them running.
//!
//! [`cancelling_collect`] also hands back the tasks the drop cancelled, so `wait_for` can wait
//! until they have finished (asyncio 3.12's `wait_for` returns only then).
//!
//! A cancellation with a message ([`Task::cancel_with`](crate::Task::cancel_with)) hands the
//! message on with it: the tasks cancelled through the awaits get it too, as asyncio's
//! `Task.cancel(msg)` calls `self._fut_waiter.cancel(msg=msg)` ([`cancelling_with`]).
//!
//! The scope is a thread-local depth counter (a loop runs on one thread, and drops nest).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::thread::LocalKey;

use super::TaskRef;

thread_local! {
    /// Depth of the cancellation drops running now.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Depth of the scopes in which every dropped handle counts as awaited.
    static STRICT: Cell<u32> = const { Cell::new(0) };
    static COLLECTED: RefCell<Option<Vec<TaskRef>>> = const { RefCell::new(None) };
    /// The message of the innermost cancellation drop running now, if it has one.
    static MESSAGE: RefCell<Option<Rc<str>>> = const { RefCell::new(None) };
    /// Depth of the scopes in which a detached task's outcome counts as seen.
    static SEEN: Cell<u32> = const { Cell::new(0) };
}

/// Runs `drop_it` (which drops `Task` handles) so that the tasks it detaches have their
/// outcome counted as seen: a panic they end with later is not reported. A `try_gather` that
/// ends at its first error drops the other children so, as asyncio's `gather` marks the later
/// exceptions of its children retrieved. Not a cancellation: the tasks run on.
pub(crate) fn detaching_seen<R>(drop_it: impl FnOnce() -> R) -> R {
    let _seen = Scope::enter(&SEEN);
    drop_it()
}

/// Runs `f` outside every scope of this module: no cancellation drop, strict or seen scope
/// runs, no message or collector is set, as in a task step the loop runs. For a nested task
/// step (an eager task's first step, eager.rs), which may be started from inside a scope (a
/// destructor run as a cancellation that spawns eagerly): the tasks that step drops or
/// cancels are not the enclosing scope's. The scopes are put back after, also on unwind.
pub(crate) fn outside<R>(f: impl FnOnce() -> R) -> R {
    struct Saved {
        depth: u32,
        strict: u32,
        seen: u32,
        message: Option<Rc<str>>,
        collected: Option<Vec<TaskRef>>,
    }
    impl Drop for Saved {
        fn drop(&mut self) {
            DEPTH.with(|c| c.set(self.depth));
            STRICT.with(|c| c.set(self.strict));
            SEEN.with(|c| c.set(self.seen));
            let message = MESSAGE.with(|m| m.replace(self.message.take()));
            let collected = COLLECTED.with(|c| c.replace(self.collected.take()));
            drop((message, collected));
        }
    }
    let _saved = Saved {
        depth: DEPTH.with(|c| c.replace(0)),
        strict: STRICT.with(|c| c.replace(0)),
        seen: SEEN.with(|c| c.replace(0)),
        message: MESSAGE.with(|m| m.replace(None)),
        collected: COLLECTED.with(|c| c.replace(None)),
    };
    f()
}

/// True inside [`detaching_seen`].
#[inline]
pub(crate) fn seen() -> bool {
    inside(&SEEN)
}

/// A scope on one of the depth counters above: entered when made, left when dropped (also on
/// unwind).
struct Scope(&'static LocalKey<Cell<u32>>);

impl Scope {
    fn enter(depth: &'static LocalKey<Cell<u32>>) -> Scope {
        depth.with(|depth| depth.set(depth.get() + 1));
        Scope(depth)
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        self.0.with(|depth| depth.set(depth.get() - 1));
    }
}

/// True inside a scope on `depth`.
#[inline]
fn inside(depth: &'static LocalKey<Cell<u32>>) -> bool {
    depth.with(Cell::get) > 0
}

/// Runs `drop_it` (which drops futures) as a cancellation without a message: see the module
/// docs.
pub(crate) fn cancelling<R>(drop_it: impl FnOnce() -> R) -> R {
    cancelling_with(None, drop_it)
}

/// Runs `drop_it` as a cancellation whose message is `message`: the tasks it cancels through
/// the awaits get the message ([`message`]).
pub(crate) fn cancelling_with<R>(message: Option<Rc<str>>, drop_it: impl FnOnce() -> R) -> R {
    /// Puts the enclosing drop's message back, also on unwind.
    struct Restore(Option<Rc<str>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0.take();
            MESSAGE.with(|m| *m.borrow_mut() = outer);
        }
    }
    let _restore = Restore(MESSAGE.with(|m| m.replace(message)));
    let _cancelling = Scope::enter(&DEPTH);
    drop_it()
}

/// The message of the cancellation drop running now (see [`cancelling_with`]).
pub(crate) fn message() -> Option<Rc<str>> {
    MESSAGE.with(|m| m.borrow().clone())
}

/// Like [`cancelling`], and returns the tasks that the drop cancelled.
pub(crate) fn cancelling_collect(drop_it: impl FnOnce()) -> Vec<TaskRef> {
    /// The enclosing collector, put back when the drop ends (also on unwind).
    struct Outer(Option<Vec<TaskRef>>);
    impl Drop for Outer {
        fn drop(&mut self) {
            let mine = COLLECTED.with(|c| std::mem::replace(&mut *c.borrow_mut(), self.0.take()));
            drop(mine);
        }
    }
    let outer = Outer(COLLECTED.with(|c| c.borrow_mut().replace(Vec::new())));
    cancelling(drop_it);
    let mine = COLLECTED.with(|c| c.borrow_mut().take());
    drop(outer);
    mine.unwrap_or_default()
}

/// Like [`cancelling_collect`] for a future that was never polled (a zero timeout): every
/// `Task` handle it drops counts as awaited, since it was handed over to be awaited.
pub(crate) fn cancelling_collect_unstarted(drop_it: impl FnOnce()) -> Vec<TaskRef> {
    let _strict = Scope::enter(&STRICT);
    cancelling_collect(drop_it)
}

/// True inside [`cancelling_collect_unstarted`].
pub(crate) fn strict() -> bool {
    inside(&STRICT)
}

/// True while a cancellation drop runs on this thread.
#[inline]
pub(crate) fn active() -> bool {
    inside(&DEPTH)
}

/// Records a task cancelled by the drop running now, for [`cancelling_collect`].
pub(crate) fn collect(task: impl FnOnce() -> TaskRef) {
    COLLECTED.with(|c| {
        if let Some(collected) = c.borrow_mut().as_mut() {
            collected.push(task());
        }
    });
}
