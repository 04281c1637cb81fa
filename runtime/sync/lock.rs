//! [`Lock`]: asyncio's `Lock`, mutual exclusion between the tasks of one loop.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::task::waiters::{leave, poll_turn, wake_one, WaitList};
use crate::InvalidStateError;

/// A lock for tasks on one loop: asyncio's `asyncio.Lock`.
///
/// [`lock`](Lock::lock) waits until the lock is free and returns a [`LockGuard`] that releases
/// it when dropped (asyncio's `async with lock:`). Waiters are served strictly in FIFO order:
/// a release hands the lock directly to the first waiter, and a task that arrives meanwhile
/// queues behind it instead of barging in. One release wakes exactly one waiter.
///
/// `Lock` is a cheap handle: clones share the same lock. It is `!Send` (it lives on the loop's
/// thread) and uses no atomics. It is cancellation-safe: a waiter dropped while queued leaves
/// the queue, and a waiter dropped after the lock was handed to it (but before it ran) passes
/// the lock on to the next waiter.
///
/// ```
/// use aioloop::sync::Lock;
/// use std::{cell::RefCell, rc::Rc};
///
/// aioloop::run(async {
///     let lock = Lock::new();
///     let log = Rc::new(RefCell::new(Vec::new()));
///     let tasks: Vec<_> = (0..3)
///         .map(|i| {
///             let (lock, log) = (lock.clone(), log.clone());
///             aioloop::spawn(async move {
///                 let _guard = lock.lock().await;
///                 log.borrow_mut().push(format!("{i} in"));
///                 aioloop::yield_now().await; // others queue up meanwhile
///                 log.borrow_mut().push(format!("{i} out"));
///             })
///         })
///         .collect();
///     for task in tasks {
///         task.await.unwrap();
///     }
///     assert_eq!(*log.borrow(), ["0 in", "0 out", "1 in", "1 out", "2 in", "2 out"]);
///     assert!(!lock.locked());
/// });
/// ```
#[derive(Clone, Default)]
pub struct Lock {
    inner: Rc<LockInner>,
}

#[derive(Default)]
struct LockInner {
    /// Held, or handed to a woken waiter that has not run yet: a newcomer cannot take it.
    locked: Cell<bool>,
    /// Handed to a woken waiter that has not run yet (`locked` is true meanwhile): nobody
    /// holds it to release it.
    handed: Cell<bool>,
    waiters: RefCell<WaitList>,
}

impl Lock {
    /// A new, unlocked lock.
    pub fn new() -> Self {
        Lock::default()
    }

    /// Waits until the lock is free, takes it and returns a guard that releases it on drop.
    /// asyncio's `await lock.acquire()` / `async with lock:`.
    ///
    /// Fair: waiters get the lock in the order they started waiting. Dropping the returned
    /// future gives up the place in the queue (and the lock, if it was already handed over).
    pub fn lock(&self) -> LockAcquire<'_> {
        LockAcquire {
            lock: self,
            key: None,
        }
    }

    /// Takes the lock if it is free, without waiting.
    pub fn try_lock(&self) -> Option<LockGuard<'_>> {
        if self.inner.locked.replace(true) {
            None
        } else {
            Some(LockGuard { lock: self })
        }
    }

    /// True while some task holds the lock, or it has been handed to a waiter that has not run
    /// yet: asyncio's `locked()`. (asyncio reads such a lock as unlocked until the waiter has
    /// run, but then counts a waiter whose task was cancelled as gone at once, where aioloop
    /// passes the lock on one iteration later: reading it as locked keeps the two in step for
    /// CPython's `test_finished_waiter_cancelled`. A newcomer cannot take a handed lock in
    /// either.)
    pub fn locked(&self) -> bool {
        self.inner.locked.get()
    }

    /// Releases a lock whose guard was [forgotten](LockGuard::forget): asyncio's `release()`.
    /// Any task may call it (as in asyncio); the first waiter, if any, gets the lock. Releasing
    /// a lock that is still held through a live guard is a logic error: two tasks would then
    /// think they hold it.
    ///
    /// # Errors
    /// If the lock is not locked, or was released already and waits for the waiter it was
    /// handed to (asyncio raises `RuntimeError` for both: two releases never make two holders).
    pub fn release(&self) -> Result<(), InvalidStateError> {
        if !self.locked() || self.inner.handed.get() {
            return Err(InvalidStateError {
                what: "release of an unlocked Lock",
            });
        }
        self.unlock();
        Ok(())
    }

    /// Hands the lock to the first waiter, or frees it if nobody waits.
    fn unlock(&self) {
        let handed = wake_one(&self.inner.waiters);
        self.inner.handed.set(handed);
        if !handed {
            self.inner.locked.set(false);
        }
    }

    /// True if `self` and `other` are handles to the same lock.
    pub(crate) fn same_as(&self, other: &Lock) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("locked", &self.locked())
            .finish_non_exhaustive()
    }
}

/// Holds a [`Lock`]; dropping it releases the lock (to the first waiter, if any).
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a> {
    lock: &'a Lock,
}

impl<'a> LockGuard<'a> {
    /// The lock this guard holds.
    pub(crate) fn lock(&self) -> &'a Lock {
        self.lock
    }

    /// Keeps the lock locked without a guard, for asyncio's manual style: release it later
    /// with [`Lock::release`].
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}

impl fmt::Debug for LockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard").finish_non_exhaustive()
    }
}

/// The future returned by [`Lock::lock`]; resolves to a [`LockGuard`].
#[must_use = "futures do nothing unless awaited"]
pub struct LockAcquire<'a> {
    lock: &'a Lock,
    /// Our entry in the waiter list while queued.
    key: Option<usize>,
}

impl<'a> Future for LockAcquire<'a> {
    type Output = LockGuard<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard<'a>> {
        let lock = self.lock;
        let inner = &*lock.inner;
        // Notified means the releaser handed the lock to us: it stayed locked.
        poll_turn(&inner.waiters, &mut self.key, cx, || !inner.locked.replace(true)).map(|()| {
            inner.handed.set(false);
            LockGuard { lock }
        })
    }
}

impl Drop for LockAcquire<'_> {
    fn drop(&mut self) {
        if leave(&self.lock.inner.waiters, self.key) {
            self.lock.unlock(); // handed over but never taken: pass it on
        }
    }
}

impl fmt::Debug for LockAcquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockAcquire")
            .field("queued", &self.key.is_some())
            .finish_non_exhaustive()
    }
}
