//! [`wait_for`] and [`timeout_at`]: a deadline around any future.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use super::sleep::{sleep, sleep_until, Sleep};
use crate::task::cancel_scope::{cancelling_collect, cancelling_collect_unstarted};
use crate::task::TaskRef;

/// The deadline passed before the future finished: asyncio's `TimeoutError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeoutError;

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for TimeoutError {}

/// Runs `future` for at most `timeout`: asyncio's `wait_for(aw, timeout)` (and
/// `async with timeout(...)`).
///
/// Gives `Ok(output)` if the future finishes in time. Otherwise the future is dropped as a
/// cancellation (its destructors run; a [`Task`](crate::Task) or [`Future`](crate::Future) it
/// awaits is cancelled, as asyncio 3.12 does), and `Err(TimeoutError)` is returned once the
/// tasks so cancelled have finished (one that observes its cancellation with
/// [`until_cancelled`](crate::until_cancelled) finishes its cleanup first). When several nested
/// `wait_for`s share a deadline, the outermost one reports the timeout. With a zero `timeout`
/// the future is never polled (asyncio 3.12: a coroutine is never started).
///
/// Created where no loop runs, it binds to the loop that first polls it, and the clock starts
/// then.
///
/// # Panics
/// When first polled outside a running loop.
///
/// ```
/// use std::time::Duration;
/// aioloop::run(async {
///     let quick = aioloop::wait_for(async { 7 }, Duration::from_secs(1)).await;
///     assert_eq!(quick, Ok(7));
///     let never_started = aioloop::wait_for(async { 7 }, Duration::ZERO).await;
///     assert_eq!(never_started, Err(aioloop::TimeoutError));
///     let slow = aioloop::wait_for(std::future::pending::<()>(), Duration::from_millis(1)).await;
///     assert_eq!(slow, Err(aioloop::TimeoutError));
/// });
/// ```
#[doc(alias = "timeout")]
pub fn wait_for<F: IntoFuture>(future: F, timeout: Duration) -> Timeout<F::IntoFuture> {
    Timeout {
        future: Some(future.into_future()),
        sleep: sleep(timeout),
        started: false,
        never_start: timeout.is_zero(),
        cancelled: None,
    }
}

/// Runs `future` until the loop's clock reads `deadline`, as [`wait_for`].
///
/// # Panics
/// When first polled outside a running loop.
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        future: Some(future.into_future()),
        sleep: sleep_until(deadline),
        started: false,
        never_start: false,
        cancelled: None,
    }
}

pin_project! {
    /// The future of [`wait_for`] and [`timeout_at`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct Timeout<F> {
        #[pin]
        future: Option<F>,
        sleep: Sleep,
        started: bool,
        // A zero timeout (`wait_for`): the future is never polled (asyncio 3.12).
        never_start: bool,
        // Timed out: the tasks that dropping the future cancelled, waited for before the
        // timeout is reported (asyncio 3.12).
        cancelled: Option<Vec<TaskRef>>,
    }
}

impl<F> Timeout<F> {
    /// The deadline.
    pub fn deadline(&self) -> Instant {
        self.sleep.deadline()
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, TimeoutError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let mut unstarted = false;
        let expired = if this.cancelled.is_some() {
            true
        } else if !*this.started {
            *this.started = true;
            // asyncio 3.12: with a timeout of zero, the awaitable is cancelled without being
            // started. (A deadline already past given to `timeout_at` expires through the
            // timer, in deadline order.)
            this.sleep.bind();
            unstarted = *this.never_start;
            unstarted
        } else {
            // After the first poll, the deadline is checked before the inner future: an outer
            // timeout whose timer fired wins over an inner one with the same deadline.
            Pin::new(&mut *this.sleep).poll(cx).is_ready()
        };
        if !expired {
            let inner = this
                .future
                .as_mut()
                .as_pin_mut()
                .expect("aioloop: a Timeout was polled after it completed");
            if let Poll::Ready(output) = inner.poll(cx) {
                this.future.set(None);
                return Poll::Ready(Ok(output));
            }
            if Pin::new(&mut *this.sleep).poll(cx).is_pending() {
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

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("deadline", &self.sleep.deadline())
            .field("running", &self.future.is_some())
            .finish()
    }
}
