//! [`Condition`]: asyncio's `Condition`, a condition variable over a [`Lock`].

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::lock::{Lock, LockAcquire, LockGuard};
use crate::task::waiters::{wake_all, wake_one, WaitList};

/// A condition variable: asyncio's `asyncio.Condition`. Tasks holding its lock wait for a
/// notification, releasing the lock while they wait and taking it back before they resume.
///
/// ```
/// use aioloop::sync::Condition;
/// use std::{cell::Cell, rc::Rc};
///
/// aioloop::run(async {
///     let cond = Condition::new();
///     let items = Rc::new(Cell::new(0));
///     let consumer = aioloop::spawn({
///         let (cond, items) = (cond.clone(), items.clone());
///         async move {
///             let guard = cond.lock().await;
///             let _guard = cond.wait_for(guard, || items.get() > 0).await;
///             items.replace(0)
///         }
///     });
///     aioloop::yield_now().await;
///     {
///         let _guard = cond.lock().await;
///         items.set(3);
///         cond.notify(1);
///     }
///     assert_eq!(consumer.await.unwrap(), 3);
/// });
/// ```
///
/// Waiters are notified in FIFO order. A notified waiter that is dropped (cancelled) before it
/// has taken the lock back passes its notification on to the next waiter, as asyncio 3.13 does;
/// so, as with any condition variable, wake-ups can be spurious: re-check the predicate, or use
/// [`wait_for`](Condition::wait_for). Unlike asyncio, `notify` does not require holding the
/// lock: on one thread no notification can slip between a predicate check and the wait.
///
/// `Condition` is a cheap handle: clones share the lock and the waiters. It is `!Send`.
#[derive(Clone, Default)]
pub struct Condition {
    lock: Lock,
    waiters: Rc<RefCell<WaitList>>,
}

impl Condition {
    /// A condition with a lock of its own.
    pub fn new() -> Self {
        Condition::default()
    }

    /// A condition over `lock` (asyncio's `Condition(lock)`), for several conditions that
    /// share one lock.
    pub fn with_lock(lock: Lock) -> Self {
        Condition {
            lock,
            waiters: Rc::default(),
        }
    }

    /// Takes the condition's lock: see [`Lock::lock`].
    pub fn lock(&self) -> LockAcquire<'_> {
        self.lock.lock()
    }

    /// True while the condition's lock is held.
    pub fn locked(&self) -> bool {
        self.lock.locked()
    }

    /// Releases the lock held by `guard`, waits for a notification, then takes the lock back
    /// and returns the new guard. asyncio's `await cond.wait()`.
    ///
    /// If the returned future is dropped while waiting, the lock is not taken back (the guard
    /// is gone with the future).
    ///
    /// # Panics
    /// If `guard` holds a lock other than this condition's.
    pub fn wait<'a, 'g>(&'a self, guard: LockGuard<'g>) -> ConditionWait<'a, 'g> {
        assert!(
            guard.lock().same_as(&self.lock),
            "aioloop: Condition::wait was given the guard of another lock"
        );
        ConditionWait {
            cond: self,
            phase: Phase::Start(guard),
        }
    }

    /// Waits (as [`wait`](Condition::wait) does, any number of times) until `predicate`
    /// returns true, and returns the guard; returns at once if it is true already. asyncio's
    /// `await cond.wait_for(predicate)`. The predicate runs with the lock held.
    ///
    /// # Panics
    /// If `guard` holds a lock other than this condition's.
    pub async fn wait_for<'g>(
        &self,
        mut guard: LockGuard<'g>,
        mut predicate: impl FnMut() -> bool,
    ) -> LockGuard<'g> {
        while !predicate() {
            guard = self.wait(guard).await;
        }
        guard
    }

    /// Wakes up to `n` waiting tasks, first come first served. asyncio's `notify(n)`.
    pub fn notify(&self, n: usize) {
        for _ in 0..n {
            if !wake_one(&self.waiters) {
                break;
            }
        }
    }

    /// Wakes every waiting task. asyncio's `notify_all()`.
    pub fn notify_all(&self) {
        let wakers = self.waiters.borrow_mut().notify_all();
        wake_all(wakers);
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("locked", &self.locked())
            .finish_non_exhaustive()
    }
}

/// The future returned by [`Condition::wait`]; resolves to the guard of the retaken lock.
#[must_use = "futures do nothing unless awaited"]
pub struct ConditionWait<'a, 'g> {
    cond: &'a Condition,
    phase: Phase<'g>,
}

enum Phase<'g> {
    /// Not polled yet: still holding the lock.
    Start(LockGuard<'g>),
    /// Lock released, queued for a notification.
    Waiting {
        lock: &'g Lock,
        key: usize,
    },
    /// Notified; taking the lock back.
    Reacquiring(LockAcquire<'g>),
    Done,
}

impl<'g> Future for ConditionWait<'_, 'g> {
    type Output = LockGuard<'g>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard<'g>> {
        let this = self.get_mut();
        loop {
            match &mut this.phase {
                Phase::Start(_) => {
                    let Phase::Start(guard) = std::mem::replace(&mut this.phase, Phase::Done) else {
                        unreachable!()
                    };
                    let lock = guard.lock();
                    let key = this.cond.waiters.borrow_mut().push(cx.waker());
                    this.phase = Phase::Waiting { lock, key };
                    drop(guard); // releases the lock, possibly to one of its waiters
                    return Poll::Pending;
                }
                Phase::Waiting { lock, key } => {
                    let turn = this.cond.waiters.borrow_mut().poll_notified(*key, cx.waker());
                    if !turn.notified() {
                        return Poll::Pending;
                    }
                    this.phase = Phase::Reacquiring(lock.lock());
                }
                Phase::Reacquiring(acquire) => {
                    let guard = std::task::ready!(Pin::new(acquire).poll(cx));
                    this.phase = Phase::Done;
                    return Poll::Ready(guard);
                }
                Phase::Done => panic!("aioloop: ConditionWait polled after completion"),
            }
        }
    }
}

impl Drop for ConditionWait<'_, '_> {
    fn drop(&mut self) {
        let notified = match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Waiting { key, .. } => self.cond.waiters.borrow_mut().remove(key),
            // Dropping the acquire future gives up (or passes on) the lock.
            Phase::Reacquiring(_) => true,
            Phase::Start(_) | Phase::Done => false,
        };
        if notified {
            // asyncio 3.13: a notified waiter that does not complete wakes another instead.
            self.cond.notify(1);
        }
    }
}

impl fmt::Debug for ConditionWait<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = match self.phase {
            Phase::Start(_) => "start",
            Phase::Waiting { .. } => "waiting",
            Phase::Reacquiring(_) => "reacquiring",
            Phase::Done => "done",
        };
        f.debug_struct("ConditionWait").field("phase", &phase).finish()
    }
}
