//! Fairness: the cooperative budget of a task step (tokio's `coop`).
//!
//! A task whose futures are always ready (a socket that always has data, a queue that is
//! never empty) would otherwise never return to the loop, starving timers, I/O and every other
//! task. So each step of a task (and each poll of the `run_until_complete` future) starts with
//! a budget of [`BUDGET`] units, and aioloop's own leaf futures (sockets, queue gets and puts,
//! locks, semaphores, events, `Future`s, `oneshot` receivers, task joins, elapsed timers, stream
//! reads) spend one unit each time they complete. Once the budget is spent, a leaf returns
//! `Pending` once (checking *before* it does any work, so nothing is lost) and wakes its task,
//! which runs again in the next iteration, behind what is ready now.
//!
//! Outside a step (callbacks, a future polled by hand outside the loop) the budget is
//! unconstrained, as it is inside [`unconstrained`].
//!
//! Cost: one thread-local store at each step's start (the loop lifts the budget once per
//! iteration and before anything else it runs, not after each step), one load and store per
//! leaf.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;

/// Units a step may spend (tokio's value).
pub(crate) const BUDGET: u8 = 128;

thread_local! {
    /// The running step's remaining units; `None` when unconstrained.
    static REMAINING: Cell<Option<u8>> = const { Cell::new(None) };
}

/// Runs `f` (one task step) with a fresh budget; the previous budget is restored after, also
/// on unwind.
#[inline]
pub(crate) fn budget<R>(f: impl FnOnce() -> R) -> R {
    with_budget(Some(BUDGET), f)
}

/// Starts a task step's budget without saving the previous one, so the step costs one store:
/// for the loop's iteration, which holds an [`enter_unconstrained`] guard around its steps and
/// calls [`unconstrain`] before anything that is not a task step runs.
#[inline]
pub(crate) fn begin_step() {
    set_remaining(Some(BUDGET));
}

/// Before one poll of an in-place task (a coroutine a gather runs, polled inside its owner's
/// step, inplace.rs): the budget the step has left, for [`end_in_place_step`]. The children
/// share the step's budget, as tokio's `join!` branches do; see [`end_in_place_step`] for the
/// one exception. One load; no guard (see inplace.rs's `poll_in_round`). The main task, which
/// has no siblings, does without.
#[inline]
pub(crate) fn begin_in_place_step() -> Option<u8> {
    REMAINING.with(Cell::get)
}

/// After one poll of an in-place task that began with `before` units left: if the poll spent
/// them all, it gets them back, less one unit, for the siblings polled after it. Otherwise a
/// child that spends the whole budget in every poll would starve them for ever, since a gather
/// polls its children in asyncio's order every time (tokio's `join!` rotates the branch it
/// polls first instead). Each such poll still costs the step a unit, so a loop of gathers over
/// ready futures yields. One load, and a store only after a poll that spent the budget.
#[inline]
pub(crate) fn end_in_place_step(before: Option<u8>) {
    REMAINING.with(|remaining| {
        if remaining.get() == Some(0) {
            if let Some(before @ 1..) = before {
                remaining.set(Some(before - 1));
            }
        }
    })
}

/// Lifts the budget without saving it: what runs next is not a task step (see [`begin_step`]).
#[inline]
pub(crate) fn unconstrain() {
    set_remaining(None);
}

/// Runs `f` with an unconstrained budget, restoring the previous one after.
#[inline]
pub(crate) fn with_unconstrained<R>(f: impl FnOnce() -> R) -> R {
    with_budget(None, f)
}

/// `REMAINING.set`, through `with`: `LocalKey<Cell<_>>::set` and `replace` go through
/// `initialize_with`, which the compiler does not inline (a call per leaf, ~25 instructions).
#[inline(always)]
fn set_remaining(budget: Option<u8>) {
    REMAINING.with(|remaining| remaining.set(budget));
}

/// `REMAINING.replace`, through `with` (see [`set_remaining`]).
#[inline(always)]
fn replace_remaining(budget: Option<u8>) -> Option<u8> {
    REMAINING.with(|remaining| remaining.replace(budget))
}

#[inline]
fn with_budget<R>(budget: Option<u8>, f: impl FnOnce() -> R) -> R {
    let _restore = BudgetGuard(replace_remaining(budget));
    f()
}

/// Lifts the budget until the guard is dropped (then the previous one is back): for code that
/// is not async, so cannot yield, but polls leaves (a `try_*` method, a write without waiting).
#[inline]
pub(crate) fn enter_unconstrained() -> BudgetGuard {
    BudgetGuard(replace_remaining(None))
}

/// Puts the budget it holds back when dropped.
#[must_use = "the budget is restored when the guard drops"]
pub(crate) struct BudgetGuard(Option<u8>);

impl Drop for BudgetGuard {
    #[inline]
    fn drop(&mut self) {
        set_remaining(self.0);
    }
}

/// Permission to proceed, given by [`poll_proceed`]: the unit it took is given back when it
/// is dropped, unless [`made_progress`](RestoreOnPending::made_progress) was called.
#[must_use = "drop it to give the unit back, or call made_progress to spend it"]
pub(crate) struct RestoreOnPending(Option<u8>);

impl RestoreOnPending {
    /// The leaf completed: the unit stays spent.
    #[inline]
    pub(crate) fn made_progress(mut self) {
        self.0 = None;
    }
}

impl Drop for RestoreOnPending {
    #[inline]
    fn drop(&mut self) {
        if let Some(before) = self.0 {
            set_remaining(Some(before));
        }
    }
}

/// Takes one unit of the step's budget: `Ready` with a guard that gives it back unless the
/// leaf reports progress, or, the budget being spent, `Pending` after waking the task (so it
/// runs again in the next iteration). Call it before the leaf does any work.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    let spent = REMAINING.with(|remaining| match remaining.get() {
        None => Some(RestoreOnPending(None)),
        Some(0) => None,
        Some(left) => {
            remaining.set(Some(left - 1));
            Some(RestoreOnPending(Some(left)))
        }
    });
    match spent {
        Some(coop) => Poll::Ready(coop),
        None => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// The check at the start of a [`select!`](crate::select!) poll (tokio's
/// `poll_budget_available`): `Pending` (the task woken) if the step's budget is spent, so a
/// loop of selects over futures that spend no budget themselves still yields; takes no unit.
#[doc(hidden)]
#[inline]
pub fn poll_budget_available(cx: &mut Context<'_>) -> Poll<()> {
    if REMAINING.with(Cell::get) == Some(0) {
        cx.waker().wake_by_ref();
        Poll::Pending
    } else {
        Poll::Ready(())
    }
}

/// The one-line hook of a leaf: polls `f` if the budget allows, spending a unit if it is ready
/// (a `Pending` result gives the unit back). With the budget spent, `f` is not called.
#[inline]
pub(crate) fn poll_coop<T>(cx: &mut Context<'_>, f: impl FnOnce(&mut Context<'_>) -> Poll<T>) -> Poll<T> {
    let coop = ready!(poll_proceed(cx));
    let polled = f(cx);
    if polled.is_ready() {
        coop.made_progress();
    }
    polled
}

/// A future that spends one unit: ready at once while the budget lasts, else `Pending` once
/// (the task is woken). The hook of an `async fn` leaf that may complete without polling
/// another leaf (a read served from a buffer).
pub(crate) async fn proceed() {
    std::future::poll_fn(|cx| poll_proceed(cx).map(RestoreOnPending::made_progress)).await
}

/// Runs `future` without the cooperative budget: aioloop's futures inside it never return
/// `Pending` to make the task yield (tokio's `unconstrained`).
///
/// aioloop gives each task step a budget so that a task whose I/O, queues or locks are always
/// ready still lets timers, I/O and other tasks run (see the guide's "Fairness" section).
/// `unconstrained` opts a future out: it then runs until it waits for real, which can starve
/// the loop, so use it for bounded bursts whose latency matters more than fairness.
///
/// ```
/// aioloop::run(async {
///     let queue = aioloop::sync::Queue::new(0);
///     for i in 0..1000 {
///         queue.put_nowait(i).unwrap();
///     }
///     // A thousand ready gets in one step: no forced yield on the way.
///     let sum = aioloop::unconstrained(async {
///         let mut sum = 0;
///         while !queue.empty() {
///             sum += queue.get().await.unwrap();
///         }
///         sum
///     })
///     .await;
///     assert_eq!(sum, 499_500);
/// });
/// ```
pub fn unconstrained<F: Future>(future: F) -> Unconstrained<F> {
    Unconstrained { inner: future }
}

pin_project! {
    /// The future of [`unconstrained`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless awaited"]
    pub struct Unconstrained<F> {
        #[pin]
        inner: F,
    }
}

impl<F: Future> Future for Unconstrained<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let inner = self.project().inner;
        with_unconstrained(|| inner.poll(cx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    fn remaining() -> Option<u8> {
        REMAINING.get()
    }

    fn ready(cx: &mut Context<'_>) -> Poll<()> {
        poll_coop(cx, |_| Poll::Ready(()))
    }

    #[test]
    fn unconstrained_outside_a_step() {
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..1000 {
            assert!(ready(&mut cx).is_ready());
        }
        assert_eq!(remaining(), None);
    }

    #[test]
    fn a_step_spends_its_budget_then_yields_and_restores() {
        let mut cx = Context::from_waker(Waker::noop());
        budget(|| {
            for _ in 0..BUDGET {
                assert!(ready(&mut cx).is_ready());
            }
            assert_eq!(remaining(), Some(0));
            let mut called = false;
            let polled = poll_coop(&mut cx, |_| {
                called = true;
                Poll::Ready(())
            });
            assert!(polled.is_pending() && !called, "a spent budget runs no work");
            with_unconstrained(|| assert!(ready(&mut cx).is_ready()));
            assert_eq!(remaining(), Some(0));
        });
        assert_eq!(remaining(), None);
    }

    #[test]
    fn pending_gives_the_unit_back() {
        let mut cx = Context::from_waker(Waker::noop());
        budget(|| {
            assert!(poll_coop(&mut cx, |_| Poll::<()>::Pending).is_pending());
            assert_eq!(remaining(), Some(BUDGET));
            assert!(ready(&mut cx).is_ready());
            assert_eq!(remaining(), Some(BUDGET - 1));
        });
    }

    #[test]
    fn the_budget_is_restored_on_unwind() {
        let caught = std::panic::catch_unwind(|| budget(|| panic!("step")));
        assert!(caught.is_err());
        assert_eq!(remaining(), None);
    }
}
