//! [`Bounded`]: a future run against a deadline, the poll shared by [`wait_for`] /
//! [`timeout_at`] and [`TimeoutScope::run`].
//!
//! On expiry the inner future is dropped as a cancellation (task/cancel_scope.rs: a task it
//! awaits is cancelled) and the timeout is reported once the tasks so cancelled have finished,
//! as asyncio 3.12 does. After the first poll the deadline is checked before the inner future,
//! so of nested deadlines that fired together the outermost reports.
//!
//! [`wait_for`]: super::wait_for
//! [`timeout_at`]: super::timeout_at
//! [`TimeoutScope::run`]: super::TimeoutScope::run

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::timeout::TimeoutError;
use crate::task::cancel_scope::{cancelling_collect, cancelling_collect_unstarted};
use crate::task::TaskRef;

/// The deadline a [`Bounded`] future runs against.
pub(crate) trait Expiry {
    /// The first poll: binds the timer to the running loop (a relative deadline starts now).
    fn start(&mut self);

    /// `Ready` once the deadline has passed; otherwise registers `cx`'s waker.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()>;
}

pin_project! {
    /// `future` run until `expiry` passes.
    pub(crate) struct Bounded<F, E> {
        #[pin]
        future: Option<F>,
        expiry: E,
        started: bool,
        // A zero timeout (`wait_for`): the future is never polled (asyncio 3.12).
        never_start: bool,
        // Timed out: the tasks that dropping the future cancelled, waited for before the
        // timeout is reported (asyncio 3.12).
        cancelled: Option<Vec<TaskRef>>,
    }
}

impl<F, E> Bounded<F, E> {
    /// `future` bounded by `expiry`; with `never_start`, the future is dropped unpolled and the
    /// timeout reported at the first poll.
    pub(crate) fn new(future: F, expiry: E, never_start: bool) -> Self {
        Bounded {
            future: Some(future),
            expiry,
            started: false,
            never_start,
            cancelled: None,
        }
    }

    /// The deadline.
    pub(crate) fn expiry(&self) -> &E {
        &self.expiry
    }

    /// True until the inner future has finished or been dropped.
    pub(crate) fn is_running(&self) -> bool {
        self.future.is_some()
    }
}

impl<F: Future, E: Expiry> Future for Bounded<F, E> {
    type Output = Result<F::Output, TimeoutError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let mut unstarted = false;
        let expired = if this.cancelled.is_some() {
            true
        } else if !*this.started {
            *this.started = true;
            // asyncio 3.12: with a timeout of zero, the awaitable is cancelled without being
            // started. (A deadline already past expires through the timer, in deadline order.)
            this.expiry.start();
            unstarted = *this.never_start;
            unstarted
        } else {
            // After the first poll, the deadline is checked before the inner future: an outer
            // timeout whose timer fired wins over an inner one with the same deadline.
            this.expiry.poll_expired(cx).is_ready()
        };
        if !expired {
            let inner = this
                .future
                .as_mut()
                .as_pin_mut()
                .expect("aioloop: a timeout's future was polled after it completed");
            if let Poll::Ready(output) = inner.poll(cx) {
                this.future.set(None);
                return Poll::Ready(Ok(output));
            }
            if this.expiry.poll_expired(cx).is_pending() {
                return Poll::Pending;
            }
        }
        // Timed out: the future is dropped as a cancellation (the tasks it awaits are
        // cancelled), and the timeout is reported once those tasks have finished.
        let cancelled = this.cancelled.get_or_insert_with(|| {
            let future = &mut this.future;
            match unstarted {
                true => cancelling_collect_unstarted(|| future.set(None)),
                false => cancelling_collect(|| future.set(None)),
            }
        });
        cancelled.retain(|task| task.poll_finished(cx).is_pending());
        if cancelled.is_empty() {
            Poll::Ready(Err(TimeoutError))
        } else {
            Poll::Pending
        }
    }
}
