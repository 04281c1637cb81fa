//! A one-shot result cell between two threads: the loop (or a blocking-pool thread) completes
//! it through a [`Sender`], a [`ConcurrentFuture`](crate::ConcurrentFuture) or a
//! [`ToThread`](crate::ToThread) takes the outcome through a [`Receiver`] by blocking, by
//! awaiting, or not at all.
//!
//! Invariants (all state under one mutex, so each is a plain sequential argument):
//! 1. The slot goes `Pending` → `Ready` exactly once: by the sender's outcome, by `cancel`, or by
//!    the sender's drop (`LoopClosed`: the job or task carrying it was dropped unrun). Whatever
//!    comes second is handed back to its caller.
//! 2. The outcome is dropped exactly once: taken by the receiver, or dropped with the cell (by
//!    whichever half goes last), or handed back to a sender that came second, which drops it.
//! 3. A waker is stored at most once at a time and is either woken by the completion or
//!    dropped by the receiver's drop, never both, and always outside the lock. A receiver that
//!    never stored one drops without taking the lock (the common fire-and-forget case).
//! 4. A thread blocked in [`Receiver::wait`] is counted in `blocked`; completion notifies the
//!    condvar only then (std's condvar makes a syscall on every notify).
//! 5. `cancelled` is set (under the lock) only by a successful [`Receiver::cancel`], so the
//!    sender side can check it without the lock; [`Sender::register_task`] re-checks it under
//!    the lock, so a cancel either sees the task's waker or the task sees the flag.

use std::fmt;
use std::sync::PoisonError;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use super::ConcurrentError;
use crate::sync_shim::{Arc, AtomicBool, Condvar, Mutex, MutexGuard, Ordering};
use crate::waker_slot::WakerSlot;

type Outcome<T> = Result<T, ConcurrentError>;

enum Slot<T> {
    Pending,
    Ready(Outcome<T>),
    Taken,
}

struct Inner<T> {
    slot: Slot<T>,
    /// The receiver's waker, while it is awaited.
    waker: WakerSlot,
    /// The waker of the loop task producing the outcome, so that `cancel` can make the loop
    /// drop the task's future.
    task_waker: Option<Waker>,
    /// Threads blocked in `wait`.
    blocked: usize,
}

struct Shared<T> {
    inner: Mutex<Inner<T>>,
    cond: Condvar,
    cancelled: AtomicBool,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        // No user code runs under the lock (wakers are woken and values dropped after it), so
        // a poisoned lock still holds consistent state.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves the slot to `Ready(outcome)`, or hands `outcome` back if it is already done.
    fn complete(&self, outcome: Outcome<T>) -> Result<(), Outcome<T>> {
        let (waker, task_waker) = self.settle(outcome, false)?;
        drop(task_waker);
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Under the lock: moves a pending slot to `Ready(outcome)` (setting `cancelled` too if
    /// `cancelling`, invariant 5) and signals the threads blocked in `wait`. Returns the
    /// receiver's and the producing task's wakers, for the caller to wake or drop once the lock
    /// is released (invariant 3); hands `outcome` back if the slot is already done.
    fn settle(
        &self,
        outcome: Outcome<T>,
        cancelling: bool,
    ) -> Result<(Option<Waker>, Option<Waker>), Outcome<T>> {
        let mut inner = self.lock();
        if !matches!(inner.slot, Slot::Pending) {
            return Err(outcome);
        }
        inner.slot = Slot::Ready(outcome);
        if cancelling {
            self.cancelled.store(true, Ordering::Release);
        }
        if inner.blocked > 0 {
            self.cond.notify_all();
        }
        Ok((inner.waker.take(), inner.task_waker.take()))
    }
}

/// A new cell: the sending half goes to the loop, the receiving half to the caller.
pub(crate) fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        inner: Mutex::new(Inner {
            slot: Slot::Pending,
            waker: WakerSlot::new(),
            task_waker: None,
            blocked: 0,
        }),
        cond: Condvar::new(),
        cancelled: AtomicBool::new(false),
    });
    (
        Sender {
            shared: shared.clone(),
            sent: false,
        },
        Receiver {
            shared,
            has_waker: false,
        },
    )
}

/// The completing half. Dropping it unsent completes the cell with `LoopClosed`: that is the
/// drop guard inside every queued job and every task that serves a `ConcurrentFuture`.
pub(crate) struct Sender<T> {
    shared: Arc<Shared<T>>,
    sent: bool,
}

impl<T> Sender<T> {
    /// Completes the cell. Hands the outcome back if the cell was cancelled (the caller drops it).
    pub(crate) fn send(mut self, outcome: Outcome<T>) -> Result<(), Outcome<T>> {
        self.sent = true;
        self.shared.complete(outcome)
    }

    /// True if the receiver is gone (nobody will read an outcome). A receiver dropped at this
    /// very moment may still count as there.
    pub(crate) fn receiver_gone(&self) -> bool {
        Arc::strong_count(&self.shared) == 1
    }

    /// True once the receiver cancelled: the work may be skipped.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.shared.cancelled.load(Ordering::Acquire)
    }

    /// Records the waker of the task producing the outcome, for `cancel` to wake. Returns
    /// false (and records nothing) if the cell was cancelled already.
    pub(crate) fn register_task(&self, waker: &Waker) -> bool {
        let mut inner = self.shared.lock();
        if self.shared.cancelled.load(Ordering::Relaxed) {
            return false;
        }
        let old = inner.task_waker.replace(waker.clone());
        drop(inner);
        drop(old);
        true
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if !self.sent {
            // The outcome handed back (if any) is the error itself: nothing to drop but it.
            let _ = self.shared.complete(Err(ConcurrentError::LoopClosed));
        }
    }
}

/// The receiving half.
pub(crate) struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// A waker of ours may be stored in the cell (only then does `drop` take the lock).
    has_waker: bool,
}

impl<T> Receiver<T> {
    /// Takes a ready outcome out of the slot.
    fn take_ready(inner: &mut Inner<T>) -> Option<Outcome<T>> {
        match std::mem::replace(&mut inner.slot, Slot::Taken) {
            Slot::Ready(outcome) => Some(outcome),
            Slot::Pending => {
                inner.slot = Slot::Pending;
                None
            }
            Slot::Taken => panic!("aioloop: the outcome of a ConcurrentFuture was taken twice"),
        }
    }

    /// Completes the cell with `Cancelled` if it is still pending, and wakes the producing
    /// task so that its loop drops the work. False if it was already done.
    pub(crate) fn cancel(&self) -> bool {
        let settled = self.shared.settle(Err(ConcurrentError::Cancelled), true);
        let Ok((waker, task_waker)) = settled else {
            return false;
        };
        if let Some(task_waker) = task_waker {
            task_waker.wake();
        }
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }

    /// For the drop of the future that owns this receiver: if it was being awaited (a poll
    /// left a waker here, still pending) and is dropped as a cancellation of the awaiting task
    /// (task/cancel_scope.rs), cancels the cell, as asyncio's chained futures cancel their
    /// source with their destination. Any other drop changes nothing.
    pub(crate) fn cancel_if_dropped_as_cancellation(&self) {
        if self.has_waker && crate::task::cancel_scope::active() {
            self.cancel();
        }
    }

    /// True once the cell holds (or held) an outcome.
    pub(crate) fn is_done(&self) -> bool {
        !matches!(self.shared.lock().slot, Slot::Pending)
    }

    /// True if the cell was cancelled through [`Receiver::cancel`].
    pub(crate) fn is_cancelled(&self) -> bool {
        self.shared.cancelled.load(Ordering::Acquire)
    }

    /// The outcome if it is ready, without blocking.
    pub(crate) fn try_take(&self) -> Option<Outcome<T>> {
        Self::take_ready(&mut self.shared.lock())
    }

    /// Blocks the calling thread until the outcome is ready (`None` if `deadline` passes first).
    pub(crate) fn wait(&self, deadline: Option<Instant>) -> Option<Outcome<T>> {
        let mut inner = self.shared.lock();
        loop {
            if let Some(outcome) = Self::take_ready(&mut inner) {
                return Some(outcome);
            }
            inner.blocked += 1;
            inner = match deadline {
                None => self
                    .shared
                    .cond
                    .wait(inner)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        inner.blocked -= 1;
                        return None;
                    }
                    self.shared
                        .cond
                        .wait_timeout(inner, deadline - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
            inner.blocked -= 1;
        }
    }

    /// The `Future::poll` of the receiving side.
    ///
    /// # Panics
    /// If polled again after it returned `Ready`.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Outcome<T>> {
        let mut inner = self.shared.lock();
        if let Some(outcome) = Self::take_ready(&mut inner) {
            let waker = inner.waker.take();
            drop(inner);
            drop(waker);
            self.has_waker = false;
            return Poll::Ready(outcome);
        }
        let old = inner.waker.register(cx.waker());
        drop(inner);
        drop(old);
        self.has_waker = true;
        Poll::Pending
    }

    /// "pending", "done" or "cancelled", for `Debug`.
    pub(crate) fn state_name(&self) -> &'static str {
        if self.is_cancelled() {
            "cancelled"
        } else if self.is_done() {
            "done"
        } else {
            "pending"
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // Drop our waker now rather than with the cell (it may hold a whole executor alive).
        if self.has_waker {
            let waker = self.shared.lock().waker.take();
            drop(waker);
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.state_name())
    }
}
