//! [`ConcurrentFuture`]: a loop's future seen from another thread (`concurrent.futures.Future`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::outcome::Receiver;
use super::*;
use crate::context;
use crate::remote::Remote;
use crate::sync_shim::{current_thread_id, ThreadId};

/// The output of a future running on a loop, seen from another thread:
/// `concurrent.futures.Future`, as [`LoopHandle::run_coroutine_threadsafe`] returns it.
///
/// Block for it with [`result`](ConcurrentFuture::result) or
/// [`result_timeout`](ConcurrentFuture::result_timeout), or await it: it is a
/// `std::future::Future`, so another aioloop loop, tokio or any executor can wait for it without
/// blocking. Dropping it detaches the future, which keeps running (its output is then dropped
/// on the loop; a panic in it goes to the loop's exception handler), except when an aioloop task
/// awaiting it is cancelled: as a [`Task`](crate::Task) handle awaited by a cancelled task
/// cancels its task, the `ConcurrentFuture` is then cancelled, and its loop drops the future
/// (asyncio's `wrap_future` chain: cancelling the waiting asyncio future cancels the
/// `concurrent.futures.Future`, and with it the coroutine behind it).
///
/// ```
/// let event_loop = aioloop::EventLoop::new().unwrap();
/// let handle = event_loop.handle();
/// // Awaited from another loop on another thread:
/// let other = std::thread::spawn(move || {
///     let fut = handle.run_future_threadsafe(async { 7 });
///     let out = aioloop::run(fut);
///     handle.stop().unwrap();
///     out.unwrap()
/// });
/// event_loop.run_forever();
/// assert_eq!(other.join().unwrap(), 7);
/// ```
pub struct ConcurrentFuture<T> {
    receiver: Receiver<T>,
    /// The thread that owns the loop producing the output.
    owner: ThreadId,
    /// The address of that loop's `Remote`, only ever compared, never dereferenced: while the
    /// output is pending the loop is not fully closed, so its `Remote` is alive and no other
    /// loop can have this address. (Not an `Arc`: cloning one per submission would make every
    /// submitting thread bounce the cache line that holds the queue's lock.)
    remote: usize,
}

impl<T> ConcurrentFuture<T> {
    /// A future over `receiver`, whose work runs on the loop behind `remote`.
    pub(crate) fn new(receiver: Receiver<T>, remote: &Remote) -> Self {
        ConcurrentFuture {
            receiver,
            owner: remote.owner(),
            remote: remote as *const Remote as usize,
        }
    }

    /// Blocks the calling thread until the output is there: `Ok(output)`, or the reason there
    /// is none.
    ///
    /// # Panics
    /// If the output is not there yet and this is the thread of the loop that must produce it:
    /// from inside that loop (a task or callback: await the `ConcurrentFuture` there instead)
    /// it would deadlock, and outside it (only this thread can run the loop) it would wait
    /// forever.
    #[track_caller]
    pub fn result(self) -> Result<T, ConcurrentError> {
        self.assert_may_block("result");
        self.receiver
            .wait(None)
            .expect("a wait without a deadline ends with the outcome")
    }

    /// Like [`result`](ConcurrentFuture::result), waiting at most `timeout`. If the time runs
    /// out first, the future is cancelled on the loop (as asyncio's `Future.result(timeout)`
    /// followed by `cancel()`) and the result is `Err(ConcurrentError::Timeout)`. An output
    /// that arrives in the very instant of the timeout is returned rather than lost.
    ///
    /// # Panics
    /// As [`result`](ConcurrentFuture::result).
    #[track_caller]
    pub fn result_timeout(self, timeout: Duration) -> Result<T, ConcurrentError> {
        self.assert_may_block("result_timeout");
        let deadline = Instant::now().checked_add(timeout);
        if let Some(outcome) = self.receiver.wait(deadline) {
            return outcome;
        }
        if self.receiver.cancel() {
            return Err(ConcurrentError::Timeout);
        }
        self.receiver
            .try_take()
            .expect("a ConcurrentFuture that cannot be cancelled is done")
    }

    /// Cancels the future: the `ConcurrentFuture` resolves to [`ConcurrentError::Cancelled`] at
    /// once, and the loop drops the future at its next iteration (its destructors run there;
    /// it may not have started at all). Returns false if the output (or an error) was already
    /// there.
    pub fn cancel(&self) -> bool {
        self.receiver.cancel()
    }

    /// True once the output or an error is there (`result` would not block).
    pub fn is_done(&self) -> bool {
        self.receiver.is_done()
    }

    /// True if it was cancelled with [`cancel`](ConcurrentFuture::cancel) (or by a timeout).
    pub fn is_cancelled(&self) -> bool {
        self.receiver.is_cancelled()
    }

    #[track_caller]
    fn assert_may_block(&self, what: &str) {
        if self.is_done() {
            return; // nothing to wait for
        }
        // Pending: its loop has not finished closing, so its `Remote` still has this address.
        let running_here =
            context::with_current(|core| Arc::as_ptr(core.remote_queue()) as usize == self.remote);
        if running_here == Some(true) {
            panic!(
                "aioloop: ConcurrentFuture::{what}() called from inside the event loop that must \
                 complete it: blocking its thread would deadlock. Await the ConcurrentFuture \
                 instead (it implements Future), or call {what}() from another thread."
            );
        }
        if self.owner == current_thread_id() {
            panic!(
                "aioloop: ConcurrentFuture::{what}() called on the thread that owns the event \
                 loop that must complete it, while that loop is not running: only this thread \
                 can run the loop, so it would wait forever. Run the loop (or await the \
                 ConcurrentFuture in it) instead."
            );
        }
    }
}

impl<T> Future for ConcurrentFuture<T> {
    type Output = Result<T, ConcurrentError>;

    /// # Panics
    /// If polled again after it returned `Ready`.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.receiver.poll(cx)
    }
}

impl<T> Drop for ConcurrentFuture<T> {
    fn drop(&mut self) {
        // Awaited (polled and pending) by a task whose cancellation drops it now: cancel the work
        // on its loop too (task/cancel_scope.rs), as asyncio's `_chain_future` cancels the
        // source when the destination is cancelled. Any other drop detaches it.
        self.receiver.cancel_if_dropped_as_cancellation();
    }
}

impl<T> fmt::Debug for ConcurrentFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConcurrentFuture")
            .field("state", &self.receiver.state_name())
            .finish()
    }
}
