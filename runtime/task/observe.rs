//! Observing a cancel request: [`until_cancelled`] and [`cancelled`], the Rust form of asyncio's
//! `except CancelledError: await cleanup(); raise`.
//!
//! A cancelled task's future is normally dropped at its next step. A task that is awaiting
//! [`until_cancelled`] (or [`cancelled`]) *observes* cancellation: its slot is flagged, and the
//! loop polls it instead of dropping it, so the observer resolves and the task runs its async
//! cleanup. The request is then *delivered*: the task goes on running until it returns, and
//! its outcome is still `Cancelled` (the `raise`), unless it calls
//! [`uncancel`](crate::Task::uncancel)... A second `cancel()` while it cleans up drops it.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::scheduler::Scheduler;
use crate::error::CancelledError;

/// Runs `future` until it finishes or the current task is asked to cancel, whichever comes
/// first: `Ok(output)`, or `Err(CancelledError)` once the cancel request arrived (the future
/// was then dropped, as a cancellation). The task can then run async cleanup before it ends;
/// it still ends cancelled. asyncio's
///
/// ```python
/// try:
///     await work()
/// except asyncio.CancelledError:
///     await conn.close()
///     raise
/// ```
///
/// is
///
/// ```
/// # use std::time::Duration;
/// # async fn work() { aioloop::sleep(Duration::from_secs(3600)).await }
/// # async fn close() {}
/// # aioloop::run(async {
/// let task = aioloop::spawn(async {
///     if aioloop::until_cancelled(work()).await.is_err() {
///         close().await; // async cleanup: the task is not dropped while it runs
///     }
/// });
/// aioloop::yield_now().await;
/// task.cancel();
/// assert!(task.await.unwrap_err().is_cancelled());
/// # });
/// ```
///
/// Outside a task (no running loop, or in a callback) it just runs `future`. A task that is
/// not awaiting `until_cancelled` when it is cancelled is dropped, as before: this is opt-in.
/// A second `cancel()` during the cleanup drops the task.
pub fn until_cancelled<F: IntoFuture>(future: F) -> UntilCancelled<F::IntoFuture> {
    UntilCancelled {
        future: Some(future.into_future()),
        task: None,
    }
}

/// A future that resolves when the current task is asked to cancel (see [`until_cancelled`]):
/// for a select between work and cancellation, as `tokio::select!` or
/// `futures::select!`. Never resolves outside a task.
///
/// ```
/// aioloop::run(async {
///     let task = aioloop::spawn(async {
///         aioloop::cancelled().await;
///         "cleaned up" // the task still ends cancelled
///     });
///     aioloop::yield_now().await;
///     task.cancel();
///     assert!(task.await.unwrap_err().is_cancelled());
/// });
/// ```
pub fn cancelled() -> Cancelled {
    Cancelled {
        inner: until_cancelled(std::future::pending()),
    }
}

/// The observed task: its scheduler and slot.
struct Observed {
    sched: Rc<Scheduler>,
    key: u32,
    gen: u16,
}

pin_project! {
    /// The future of [`until_cancelled`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct UntilCancelled<F> {
        #[pin]
        future: Option<F>,
        task: Option<Observed>,
    }

    impl<F> PinnedDrop for UntilCancelled<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(task) = this.project().task.take() {
                task.sched.set_observing(task.key, task.gen, false);
            }
        }
    }
}

impl<F: Future> Future for UntilCancelled<F> {
    type Output = Result<F::Output, CancelledError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if this.task.is_none() {
            *this.task = super::current::current().and_then(|sched| {
                let (key, gen) = sched.current_key()?;
                Some(Observed { sched, key, gen })
            });
        }
        if let Some(task) = this.task.as_ref() {
            if task.sched.deliver_cancel(task.key, task.gen) {
                let message = task.sched.cancel_message(task.key, task.gen);
                super::cancel_scope::cancelling_with(message, || this.future.set(None));
                if let Some(task) = this.task.take() {
                    task.sched.set_observing(task.key, task.gen, false);
                }
                return Poll::Ready(Err(CancelledError));
            }
        }
        let future = this
            .future
            .as_mut()
            .as_pin_mut()
            .expect("aioloop: until_cancelled was polled after it completed");
        match future.poll(cx) {
            Poll::Ready(output) => {
                this.future.set(None);
                if let Some(task) = this.task.take() {
                    task.sched.set_observing(task.key, task.gen, false);
                }
                Poll::Ready(Ok(output))
            }
            Poll::Pending => {
                if let Some(task) = this.task.as_ref() {
                    task.sched.set_observing(task.key, task.gen, true);
                }
                Poll::Pending
            }
        }
    }
}

impl<F> fmt::Debug for UntilCancelled<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UntilCancelled")
            .field("running", &self.future.is_some())
            .finish()
    }
}

/// The future of [`cancelled`].
#[must_use = "futures do nothing unless awaited"]
pub struct Cancelled {
    inner: UntilCancelled<std::future::Pending<()>>,
}

impl Future for Cancelled {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.inner).poll(cx).map(|_| ())
    }
}

impl fmt::Debug for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cancelled")
    }
}

impl Scheduler {
    /// Flags (or unflags) the task at `key`/`gen` as observing cancellation.
    pub(crate) fn set_observing(&self, key: u32, gen: u16, on: bool) {
        if let Some(slot) = self.tasks.borrow_mut().get_mut(key, gen) {
            slot.state.set_observing(on);
        }
    }

    /// If the task at `key`/`gen` was asked to cancel and the request was not delivered yet,
    /// delivers it (the task now runs its cleanup) and returns true.
    pub(crate) fn deliver_cancel(&self, key: u32, gen: u16) -> bool {
        let mut tasks = self.tasks.borrow_mut();
        let Some(slot) = tasks.get_mut(key, gen) else {
            return false;
        };
        if !slot.state.cancel_requested() || slot.state.cancel_delivered() {
            return false;
        }
        slot.state.set_cancel_delivered(true);
        true
    }

    /// True if the task at `key`/`gen` was asked to cancel and must be dropped: it neither
    /// observes the request nor had it delivered.
    #[inline]
    pub(crate) fn cancel_pending(&self, key: u32, gen: u16) -> bool {
        self.tasks
            .borrow()
            .get(key, gen)
            .is_some_and(|slot| slot.state.cancel_pending())
    }
}
