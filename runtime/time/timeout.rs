//! [`wait_for`] and [`timeout_at`]: a deadline around any future.
//!
//! The argument order follows the name, as in asyncio and tokio: `wait_for` (asyncio's
//! `wait_for(aw, timeout)`, like `wait(aws, ..., timeout)`) takes what it waits for first;
//! `timeout_at` (tokio's `timeout_at(deadline, future)`) is named after its time and takes it
//! first, as `call_at(when, cb)`, `call_later(delay, cb)`, `sleep_until(when)` and
//! `interval_at(start, period)` do. A deadline the bounded code can move is a
//! [`TimeoutScope`](super::TimeoutScope) (asyncio's `async with timeout(...)`).

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use super::bounded::{Bounded, Expiry};
use super::sleep::{sleep, sleep_until, Sleep};
use crate::error::CancelledError;

/// The deadline passed before the future finished: asyncio's `TimeoutError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeoutError;

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

/// Its [`source`](std::error::Error::source) is a [`CancelledError`]: the future was cancelled
/// because the deadline passed (asyncio: `raise TimeoutError from CancelledError`).
impl std::error::Error for TimeoutError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&CancelledError)
    }
}

/// Runs `future` for at most `timeout`: asyncio's `wait_for(aw, timeout)`. For a deadline the
/// code inside can read and move (`async with asyncio.timeout(...)`), see
/// [`timeout_scope`](crate::timeout_scope).
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
        inner: Bounded::new(future.into_future(), sleep(timeout), timeout.is_zero()),
    }
}

/// Runs `future` until the loop's clock reads `deadline`, as [`wait_for`] (tokio's
/// `timeout_at(deadline, future)`; the time comes first, as in every time function named
/// after it).
///
/// # Panics
/// When first polled outside a running loop.
///
/// ```
/// use std::time::Duration;
/// aioloop::run(async {
///     let deadline = aioloop::get_running_loop().time() + Duration::from_millis(2);
///     let slow = aioloop::timeout_at(deadline, aioloop::sleep(Duration::from_secs(10))).await;
///     assert_eq!(slow, Err(aioloop::TimeoutError));
///     assert!(aioloop::get_running_loop().time() >= deadline);
/// });
/// ```
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        inner: Bounded::new(future.into_future(), sleep_until(deadline), false),
    }
}

pin_project! {
    /// The future of [`wait_for`] and [`timeout_at`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct Timeout<F> {
        #[pin]
        inner: Bounded<F, Sleep>,
    }
}

impl<F> Timeout<F> {
    /// The deadline.
    pub fn deadline(&self) -> Instant {
        self.inner.expiry().deadline()
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, TimeoutError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}

/// A plain sleep as a deadline.
impl Expiry for Sleep {
    fn start(&mut self) {
        self.bind();
    }

    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(self).poll(cx)
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("deadline", &self.deadline())
            .field("running", &self.inner.is_running())
            .finish()
    }
}
