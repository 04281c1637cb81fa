//! The task that `run_coroutine_threadsafe` sends to the loop, and how the loop links it in.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;

use super::outcome::Sender;
use super::*;
use crate::context;
use crate::task::panic_message;

pin_project! {
    /// The task that serves a `ConcurrentFuture` on the loop: polls the user's future, catches
    /// its panic, sends the outcome, and ends early (dropping the future) once the
    /// `ConcurrentFuture` was cancelled. Dropped unfinished (the loop closed), it drops its
    /// `Sender`, which resolves the `ConcurrentFuture` to `LoopClosed`.
    pub(crate) struct RemoteTask<F: Future> {
        // `None` once dropped early, as a cancellation (the `ConcurrentFuture` was cancelled).
        #[pin]
        future: Option<F>,
        sender: Option<Sender<F::Output>>,
        // The waker given to the sender for cancellation (a task's waker never changes, so it
        // is registered once).
        registered: Option<Waker>,
    }

    impl<F: Future> PinnedDrop for RemoteTask<F> {
        /// Dropped unfinished as a cancellation (the task was cancelled on the loop): the
        /// `ConcurrentFuture` reports `Cancelled`. Dropped otherwise (the loop closed), its
        /// sender's drop reports `LoopClosed`.
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(sender) = this.sender.take() {
                if crate::task::cancel_scope::active() {
                    let _ = sender.send(Err(ConcurrentError::Cancelled));
                }
            }
        }
    }
}

impl<F: Future> RemoteTask<F> {
    /// A task body that runs `future` and sends its outcome through `sender`.
    pub(crate) fn new(future: F, sender: Sender<F::Output>) -> Self {
        RemoteTask {
            future: Some(future),
            sender: Some(sender),
            registered: None,
        }
    }
}

impl<F: Future> Future for RemoteTask<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        let (Some(sender), Some(future)) = (this.sender.as_ref(), this.future.as_mut().as_pin_mut()) else {
            return Poll::Ready(());
        };
        if sender.is_cancelled() {
            *this.sender = None;
            drop_cancelled(this.future);
            return Poll::Ready(());
        }
        let outcome = match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => {
                let known = this
                    .registered
                    .as_ref()
                    .is_some_and(|waker| waker.will_wake(cx.waker()));
                if !known {
                    if !sender.register_task(cx.waker()) {
                        // Cancelled meanwhile: end now.
                        *this.sender = None;
                        drop_cancelled(this.future);
                        return Poll::Ready(());
                    }
                    *this.registered = Some(cx.waker().clone());
                }
                return Poll::Pending;
            }
            Ok(Poll::Ready(output)) => Ok(output),
            Err(payload) => Err(ConcurrentError::Panicked(payload)),
        };
        let sender = this.sender.take().expect("checked above");
        match outcome {
            // Nobody will see this panic: the loop's exception handler does.
            Err(ConcurrentError::Panicked(payload)) if sender.receiver_gone() => report_unretrieved(payload),
            outcome => drop(sender.send(outcome)),
        }
        Poll::Ready(())
    }
}

/// Drops the future of a cancelled `ConcurrentFuture` as a cancellation (task/cancel_scope.rs),
/// as the loop drops a cancelled task's: a task it awaits is cancelled in turn, as asyncio's
/// `Task.cancel()` (which the cancelled `concurrent.futures.Future` calls) cancels `_fut_waiter`.
fn drop_cancelled<F>(mut future: Pin<&mut Option<F>>) {
    crate::task::cancel_scope::cancelling(|| future.set(None));
}

/// A panic whose `ConcurrentFuture` was dropped: nobody will see it, so the loop's exception
/// handler does (as asyncio reports "exception was never retrieved").
fn report_unretrieved(payload: Box<dyn Any + Send>) {
    let message = "Exception in a run_coroutine_threadsafe future whose ConcurrentFuture was dropped";
    match context::current() {
        Some(core) => {
            let task = core.sched().current_label();
            core.report(message, task, Some(payload));
        }
        None => eprintln!(
            "aioloop: {message}: {}",
            panic_message(payload.as_ref()).unwrap_or("<non-string payload>")
        ),
    }
}
