//! [`as_completed`]: the outputs of many futures in the order they finish, as a `Stream`.

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::{FusedStream, Stream};

use super::child::ChildSet;
use crate::time::{Sleep, TimeoutError};

/// Runs every future of `futures` concurrently and yields their outputs in the order they
/// finish: asyncio's `as_completed(aws)`. The result is a [`Stream`]; read it with
/// [`AsCompleted::next`] (no extension trait needed) or any `Stream` combinator library.
///
/// Futures that finish in the same loop iteration come out in the order they were woken (for
/// timers: deadline order), and in argument order on the first poll. Each future is polled only
/// when its own waker fires, as in [`gather`](crate::gather()). Dropping the stream drops the
/// futures still running (tasks given as children are cancelled if it is dropped as a
/// cancellation, detached otherwise, see [`gather`](crate::gather())).
/// For an overall deadline, see [`AsCompleted::with_timeout`].
///
/// ```
/// use std::time::Duration;
///
/// let order = aioloop::run(async {
///     let mut done = aioloop::as_completed([30u64, 10, 20].map(|ms| async move {
///         aioloop::sleep(Duration::from_millis(ms)).await;
///         ms
///     }));
///     let mut order = Vec::new();
///     while let Some(ms) = done.next().await {
///         order.push(ms);
///     }
///     order
/// });
/// assert_eq!(order, [10, 20, 30]);
/// ```
pub fn as_completed<I>(futures: I) -> AsCompleted<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    AsCompleted {
        set: ChildSet::new(futures),
        finished: VecDeque::new(),
    }
}

/// The stream of [`as_completed`].
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<F: Future> {
    set: ChildSet<F>,
    /// Outputs of children that finished in the last round, not yielded yet.
    finished: VecDeque<F::Output>,
}

impl<F: Future> AsCompleted<F> {
    /// The next output in completion order, or `None` once every future's output was yielded.
    #[allow(clippy::should_implement_trait)] // Stream has no `next`; this saves an extension trait
    pub fn next(&mut self) -> impl Future<Output = Option<F::Output>> + '_ {
        std::future::poll_fn(move |cx| Pin::new(&mut *self).poll_next(cx))
    }

    /// How many outputs are still to come.
    pub fn remaining(&self) -> usize {
        self.set.pending + self.finished.len()
    }

    /// Gives the stream an overall deadline, `timeout` after its first poll: asyncio's
    /// `as_completed(aws, timeout=...)`. Outputs come as `Ok`; if the deadline passes first,
    /// the stream yields one `Err(TimeoutError)`, drops the futures still running, and ends.
    ///
    /// # Panics
    /// The returned stream panics when first polled outside a running loop.
    ///
    /// ```
    /// use std::time::Duration;
    /// use aioloop::TimeoutError;
    ///
    /// let got = aioloop::run(async {
    ///     let mut done = aioloop::as_completed([1u64, 50].map(|ms| async move {
    ///         aioloop::sleep(Duration::from_millis(ms)).await;
    ///         ms
    ///     }))
    ///     .with_timeout(Duration::from_millis(10));
    ///     let mut got = Vec::new();
    ///     while let Some(item) = done.next().await {
    ///         got.push(item);
    ///     }
    ///     got
    /// });
    /// assert_eq!(got, [Ok(1), Err(TimeoutError)]);
    /// ```
    pub fn with_timeout(self, timeout: Duration) -> AsCompletedTimeout<F> {
        AsCompletedTimeout {
            inner: self,
            timeout,
            sleep: None,
            ended: false,
        }
    }
}

// Children live in a box and outputs are never pinned.
impl<F: Future> Unpin for AsCompleted<F> {}

impl<F: Future> Stream for AsCompleted<F> {
    type Item = F::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        let this = self.get_mut();
        if let Some(output) = this.finished.pop_front() {
            return Poll::Ready(Some(output));
        }
        if this.set.pending == 0 {
            return Poll::Ready(None);
        }
        let finished = &mut this.finished;
        let _ = this.set.poll_woken(cx, |children, index| {
            finished.push_back(ChildSet::take_output(children, index));
            ControlFlow::Continue(())
        });
        match this.finished.pop_front() {
            Some(output) => Poll::Ready(Some(output)),
            None => Poll::Pending,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining(), Some(self.remaining()))
    }
}

impl<F: Future> FusedStream for AsCompleted<F> {
    fn is_terminated(&self) -> bool {
        self.remaining() == 0
    }
}

impl<F: Future> fmt::Debug for AsCompleted<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("children", &self.set.len())
            .field("remaining", &self.remaining())
            .finish()
    }
}

/// The stream of [`AsCompleted::with_timeout`]: outputs as `Ok` in completion order, then one
/// `Err(TimeoutError)` if the deadline passed first.
#[must_use = "streams do nothing unless polled"]
pub struct AsCompletedTimeout<F: Future> {
    inner: AsCompleted<F>,
    timeout: Duration,
    /// Armed at the first poll.
    sleep: Option<Sleep>,
    ended: bool,
}

impl<F: Future> AsCompletedTimeout<F> {
    /// The next output (or the timeout), or `None` once the stream has ended.
    #[allow(clippy::should_implement_trait)] // as AsCompleted::next
    pub fn next(&mut self) -> impl Future<Output = Option<Result<F::Output, TimeoutError>>> + '_ {
        std::future::poll_fn(move |cx| Pin::new(&mut *self).poll_next(cx))
    }

    /// How many outputs are still to come if the deadline does not pass first.
    pub fn remaining(&self) -> usize {
        if self.ended {
            0
        } else {
            self.inner.remaining()
        }
    }
}

impl<F: Future> Unpin for AsCompletedTimeout<F> {}

impl<F: Future> Stream for AsCompletedTimeout<F> {
    type Item = Result<F::Output, TimeoutError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        let sleep = this.sleep.get_or_insert_with(|| crate::time::sleep(this.timeout));
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(output)) => return Poll::Ready(Some(Ok(output))),
            Poll::Ready(None) => {
                this.ended = true;
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        if Pin::new(sleep).poll(cx).is_ready() {
            this.ended = true;
            this.inner.set.clear();
            this.inner.finished.clear();
            return Poll::Ready(Some(Err(TimeoutError)));
        }
        Poll::Pending
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining = self.remaining();
        (0, Some(remaining + usize::from(!self.ended)))
    }
}

impl<F: Future> FusedStream for AsCompletedTimeout<F> {
    fn is_terminated(&self) -> bool {
        self.ended
    }
}

impl<F: Future> fmt::Debug for AsCompletedTimeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompletedTimeout")
            .field("inner", &self.inner)
            .field("timeout", &self.timeout)
            .field("ended", &self.ended)
            .finish()
    }
}
