//! [`to_thread`] / [`run_in_executor`]: a blocking closure on the loop's pool of threads
//! (blocking.rs), and the future that resolves on the loop when it returns.

use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::outcome::{self, Receiver};
use super::ConcurrentError;
use crate::blocking::{Job, OnClose};
use crate::context;
use crate::task::TaskError;

/// Runs the blocking closure `f` on the running loop's pool of threads and returns a future
/// for its result: asyncio's `asyncio.to_thread(f)`.
///
/// The closure is handed to the pool at once (the returned future only waits); awaiting gives
/// `Ok(value)`, or `Err(TaskError::Panicked(..))` if the closure panicked (the loop is not
/// affected). At most the pool's bound of closures run at a time (see
/// [`Builder::blocking_threads`](crate::Builder::blocking_threads)); more wait their turn.
/// Dropping the future does not stop the closure (a thread cannot be interrupted); its result
/// is then dropped on the pool thread. But a task cancelled while it awaits the future cancels
/// the call: if the closure is still waiting for a thread, it never runs (asyncio's
/// `run_in_executor` future is cancelled with the awaiting task, and `ThreadPoolExecutor`
/// skips a cancelled work item). Closing the loop drops the closures still waiting for
/// a thread (they never run; tokio's runtime does the same with `spawn_blocking`) and does not
/// wait for the running ones; only [`fs::File`](crate::fs::File)'s writes are still run and
/// waited for, so no written byte is lost. [`run`](crate::run) does wait for the running ones
/// (for at most 300 s) before it closes the loop, as `asyncio.run` joins its default
/// executor's threads.
///
/// # Panics
/// If no loop is running on this thread.
///
/// ```
/// use std::time::Duration;
/// aioloop::run(async {
///     // Both sleeps run at once, on two pool threads, while the loop goes on.
///     let a = aioloop::to_thread(|| { std::thread::sleep(Duration::from_millis(20)); 1 });
///     let b = aioloop::to_thread(|| { std::thread::sleep(Duration::from_millis(20)); 2 });
///     assert_eq!(a.await.unwrap() + b.await.unwrap(), 3);
///
///     let err = aioloop::to_thread(|| -> u32 { panic!("boom") }).await.unwrap_err();
///     assert_eq!(err.panic_message(), Some("boom"));
/// });
/// ```
#[track_caller]
pub fn to_thread<F, T>(f: F) -> ToThread<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    to_thread_on_close(f, OnClose::Drop)
}

/// [`to_thread`], saying what closing the loop does with `f` if it has not run yet
/// ([`OnClose::Finish`]: it still runs, and the close waits for it).
#[track_caller]
pub(crate) fn to_thread_on_close<F, T>(f: F, on_close: OnClose) -> ToThread<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let core = context::expect_current("to_thread");
    // A call that must finish whatever happens (`fs::File`'s writes) is not cancelled with its
    // awaiter either.
    let cancel_on_drop = matches!(on_close, OnClose::Drop);
    let (sender, receiver) = outcome::channel();
    // Holds a paused clock while `f` runs (blocking.rs, "Virtual time"); dropped after the
    // send, so a loop that finds the count down has the outcome's wake pending already and
    // does not jump the clock past it (dropped before, a loop could read zero in between and
    // time out the awaiter: a panicking job lost that race in CI).
    let in_flight = core.blocking_pool().in_flight(core.remote_queue().clone());
    let job: Job = Box::new(move || {
        if sender.is_cancelled() {
            // Its awaiter was cancelled before a thread was free: skipped, as asyncio's
            // executor skips a cancelled work item. `f` is dropped here, on the pool thread.
            return;
        }
        let outcome = catch_unwind(AssertUnwindSafe(f)).map_err(ConcurrentError::Panicked);
        let _ = sender.send(outcome);
        drop(in_flight);
    });
    match core.blocking_pool().submit(job, on_close) {
        Ok(()) => ToThread {
            receiver: Some(receiver),
            failed: None,
            cancel_on_drop,
        },
        Err(err) => ToThread {
            receiver: None,
            cancel_on_drop,
            failed: Some(TaskError::Panicked(Box::new(format!(
                "aioloop::to_thread: could not start a thread: {err}"
            )))),
        },
    }
}

/// asyncio's `loop.run_in_executor(None, f)`: the same as [`to_thread`], on the loop's default
/// (and only) executor, its blocking pool.
///
/// ```
/// let n = aioloop::run(async { aioloop::run_in_executor(|| 40 + 2).await.unwrap() });
/// assert_eq!(n, 42);
/// ```
#[track_caller]
pub fn run_in_executor<F, T>(f: F) -> ToThread<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    to_thread(f)
}

/// The future of a blocking call sent to a thread by [`to_thread`] or [`run_in_executor`]:
/// `Ok(value)`, or `Err(TaskError::Panicked(..))` if the closure panicked.
pub struct ToThread<T> {
    receiver: Option<Receiver<T>>,
    failed: Option<TaskError>,
    /// Whether a cancellation of the awaiting task cancels the call (see [`to_thread`]).
    cancel_on_drop: bool,
}

impl<T> Drop for ToThread<T> {
    fn drop(&mut self) {
        // Awaited (polled and pending) by a task whose cancellation drops it now
        // (task/cancel_scope.rs): cancel the call, so that a closure still queued never runs.
        if let (true, Some(receiver)) = (self.cancel_on_drop, &self.receiver) {
            receiver.cancel_if_dropped_as_cancellation();
        }
    }
}

impl<T> Future for ToThread<T> {
    type Output = Result<T, TaskError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(error) = self.failed.take() {
            return Poll::Ready(Err(error));
        }
        let receiver = self
            .receiver
            .as_mut()
            .expect("aioloop: a ToThread was polled after it returned its outcome");
        let outcome = match receiver.poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(outcome) => outcome,
        };
        self.receiver = None;
        Poll::Ready(outcome.map_err(|error| match error {
            ConcurrentError::Panicked(payload) => TaskError::Panicked(payload),
            // The pool dropped the closure unrun: its loop closed.
            _ => TaskError::Cancelled,
        }))
    }
}

impl<T> fmt::Debug for ToThread<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match (&self.receiver, &self.failed) {
            (_, Some(_)) => "failed",
            (Some(receiver), None) => receiver.state_name(),
            (None, None) => "taken",
        };
        f.debug_struct("ToThread").field("state", &state).finish()
    }
}
