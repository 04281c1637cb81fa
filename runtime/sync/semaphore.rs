//! [`Semaphore`]: asyncio's `Semaphore`, a counter of permits handed out in FIFO order.
//! [`BoundedSemaphore`](super::BoundedSemaphore) is the same machinery with an upper bound.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::task::waiters::{leave, poll_turn, wake_one, WaitList};
use crate::InvalidStateError;

/// A semaphore for tasks on one loop: asyncio's `asyncio.Semaphore`.
///
/// It holds a number of permits. [`acquire`](Semaphore::acquire) takes one, waiting while there
/// are none, and returns a [`SemaphorePermit`] that gives it back when dropped (asyncio's
/// `async with sem:`). Waiters are served in FIFO order: a released permit goes straight to the
/// first waiter, so a task that arrives later never overtakes one that waits. As in asyncio
/// 3.12, a waiter that was woken but has not run yet still counts as waiting: a task that
/// releases and acquires again meanwhile queues behind it, even if a permit is free.
///
/// ```
/// use aioloop::sync::Semaphore;
///
/// aioloop::run(async {
///     let sem = Semaphore::new(2);
///     let a = sem.acquire().await;
///     let _b = sem.acquire().await;
///     assert!(sem.locked());
///     assert!(sem.try_acquire().is_none());
///     drop(a);
///     assert_eq!(sem.available(), 1);
/// });
/// ```
///
/// `Semaphore` is a cheap handle: clones share the permits. It is `!Send` and uses no atomics.
/// It is cancellation-safe: a waiter dropped while queued leaves the queue, and one dropped
/// after a permit was handed to it passes the permit on.
#[derive(Clone)]
pub struct Semaphore {
    inner: Rc<SemInner>,
}

struct SemInner {
    /// Free permits. Invariant: while it is above zero, a waiter is queued (not yet woken) only
    /// while a woken one has not run yet; that one hands the free permits on when it runs or is
    /// dropped (asyncio 3.12's `finally` of `acquire`).
    value: Cell<usize>,
    /// Permits handed to woken waiters that have not run yet: neither free nor held by a
    /// task, but counted against a `BoundedSemaphore`'s bound (asyncio counts them in its
    /// `_value` until the waiter runs).
    handed: Cell<usize>,
    /// `BoundedSemaphore`'s initial value; `None` for a plain semaphore.
    bound: Option<usize>,
    waiters: RefCell<WaitList>,
}

impl Semaphore {
    /// A semaphore with `permits` permits.
    pub fn new(permits: usize) -> Self {
        Semaphore::with_bound(permits, None)
    }

    pub(crate) fn with_bound(permits: usize, bound: Option<usize>) -> Self {
        Semaphore {
            inner: Rc::new(SemInner {
                value: Cell::new(permits),
                handed: Cell::new(0),
                bound,
                waiters: RefCell::default(),
            }),
        }
    }

    /// Waits for a permit and takes it: asyncio's `await sem.acquire()`. Dropping the future
    /// gives up the place in the queue (and passes on a permit already handed to it).
    pub fn acquire(&self) -> SemaphoreAcquire<'_> {
        SemaphoreAcquire { sem: self, key: None }
    }

    /// Takes a permit if one is free and nobody waits for one (see
    /// [`locked`](Semaphore::locked)), without waiting.
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        self.take_permit().then(|| SemaphorePermit { sem: self })
    }

    /// Adds a permit (asyncio's `release()`): it goes to the first waiter, if any. Use it with
    /// [`SemaphorePermit::forget`], or to raise the number of permits.
    pub fn release(&self) {
        let unbounded = self.add_permit();
        debug_assert!(unbounded.is_ok(), "a plain Semaphore has no bound");
    }

    /// True if [`acquire`](Semaphore::acquire) would wait: no permit is free, or some task
    /// waits for one (possibly woken but not run yet). asyncio 3.12's `locked()`.
    pub fn locked(&self) -> bool {
        self.inner.value.get() == 0 || !self.inner.waiters.borrow().is_empty()
    }

    /// The number of free permits: those neither held nor handed to a woken waiter. A free
    /// permit is not taken by a newcomer while a woken waiter has not run yet (see
    /// [`locked`](Semaphore::locked)).
    pub fn available(&self) -> usize {
        self.inner.value.get()
    }

    /// Takes a free permit unless the semaphore is [`locked`](Semaphore::locked).
    fn take_permit(&self) -> bool {
        if self.locked() {
            return false;
        }
        self.inner.value.set(self.inner.value.get() - 1);
        true
    }

    /// Hands free permits to queued waiters, one each (asyncio 3.12's `finally` of `acquire`):
    /// they queued behind a woken waiter while permits were free, and that waiter has now run
    /// (or is gone).
    fn hand_on_free_permits(&self) {
        let inner = &*self.inner;
        while inner.value.get() > 0 && wake_one(&inner.waiters) {
            inner.value.set(inner.value.get() - 1);
            inner.handed.set(inner.handed.get() + 1);
        }
    }

    /// Gives a permit to the first waiter, or back to the pool. Errors, changing nothing, if a
    /// bounded semaphore would exceed its bound.
    pub(crate) fn add_permit(&self) -> Result<(), InvalidStateError> {
        let inner = &*self.inner;
        if inner
            .bound
            .is_some_and(|bound| inner.value.get() + inner.handed.get() >= bound)
        {
            return Err(InvalidStateError {
                what: "BoundedSemaphore released too many times",
            });
        }
        if wake_one(&inner.waiters) {
            inner.handed.set(inner.handed.get() + 1);
        } else {
            let value = inner.value.get().checked_add(1);
            inner
                .value
                .set(value.expect("aioloop: Semaphore released past usize::MAX permits"));
        }
        Ok(())
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("available", &self.available())
            .finish_non_exhaustive()
    }
}

/// One permit of a [`Semaphore`] or [`BoundedSemaphore`](super::BoundedSemaphore); dropping it
/// releases the permit (to the first waiter, if any).
#[must_use = "the permit is released as soon as it is dropped"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
}

impl SemaphorePermit<'_> {
    /// Keeps the permit taken without a guard, for asyncio's manual style: give it back later
    /// with `release()`.
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        // Errs only if a bounded semaphore is already full because of an extra manual
        // `release()`; the permit is then simply discarded (no panic in drop).
        let _ = self.sem.add_permit();
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit").finish_non_exhaustive()
    }
}

/// The future returned by `acquire()`; resolves to a [`SemaphorePermit`].
#[must_use = "futures do nothing unless awaited"]
pub struct SemaphoreAcquire<'a> {
    sem: &'a Semaphore,
    key: Option<usize>,
}

impl<'a> Future for SemaphoreAcquire<'a> {
    type Output = SemaphorePermit<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<SemaphorePermit<'a>> {
        let sem = self.sem;
        let queued = self.key.is_some();
        std::task::ready!(poll_turn(&sem.inner.waiters, &mut self.key, cx, || sem.take_permit()));
        if queued {
            // Notified: a releaser handed its permit to us.
            sem.inner.handed.set(sem.inner.handed.get() - 1);
        }
        sem.hand_on_free_permits();
        Poll::Ready(SemaphorePermit { sem })
    }
}

impl Drop for SemaphoreAcquire<'_> {
    fn drop(&mut self) {
        if self.key.is_none() {
            return; // never queued, or done (and it handed free permits on then)
        }
        if leave(&self.sem.inner.waiters, self.key) {
            // Handed over but never taken: pass it on.
            self.sem.inner.handed.set(self.sem.inner.handed.get() - 1);
            drop(SemaphorePermit { sem: self.sem });
        }
        self.sem.hand_on_free_permits();
    }
}

impl fmt::Debug for SemaphoreAcquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreAcquire")
            .field("queued", &self.key.is_some())
            .finish_non_exhaustive()
    }
}
