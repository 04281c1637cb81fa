//! [`TaskGroup::run`]: asyncio's `async with TaskGroup() as tg: <body>`, where a failing child
//! cancels the body too.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::group_errors::ChildError;
use super::task_group::{poll_join, Phase, TaskGroup, TaskGroupSpawner};
use crate::task::cancel_scope::cancelling;

impl<E: 'static> TaskGroup<E> {
    /// Runs `body` as the group's owner code, asyncio's `async with TaskGroup() as tg:` block:
    /// `body` gets a [`TaskGroupSpawner`] to start children, and the returned future finishes
    /// once the body and every child have finished.
    ///
    /// - Every child succeeds: `Ok` with the body's value.
    /// - A child fails (returns `Err` or panics): its siblings **and the body** are cancelled,
    ///   as asyncio cancels the parent task; the body's future is dropped at the point where
    ///   it waits (its destructors run), then the group waits for the cancelled children and
    ///   returns `Err` with the children's errors.
    /// - The group is cancelled ([`TaskGroupSpawner::cancel`], from the body or a child, asyncio
    ///   3.15's `tg.cancel()`): the children and the body are cancelled as on a failure; `run`
    ///   returns `Err` with the errors of children that failed meanwhile, an empty `Vec` if
    ///   none did (the body's value, if it had returned already, is `Ok`).
    /// - A panic of the body propagates; dropping the returned future (its task was cancelled)
    ///   cancels the body and every child; a [`wait_for`](crate::wait_for) or a
    ///   [`timeout_scope`](crate::timeout_scope) that drops it on expiry waits for those
    ///   children to finish (their `until_cancelled` cleanup) before it reports the timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// use aioloop::{sleep, ChildError, TaskGroup};
    ///
    /// aioloop::run(async {
    ///     let sum = TaskGroup::<String>::run(|tg| async move {
    ///         let a = tg.spawn_plain(async { 20 }).unwrap();
    ///         let b = tg.spawn(async { Ok(22) }).unwrap();
    ///         a.await.unwrap() + b.await.unwrap()
    ///     })
    ///     .await;
    ///     assert_eq!(sum.unwrap(), 42);
    ///
    ///     let failed = TaskGroup::run(|tg| async move {
    ///         tg.spawn(async { Err::<(), _>("broken".to_string()) }).unwrap();
    ///         sleep(Duration::from_secs(3600)).await; // cancelled when the child fails
    ///         "never"
    ///     })
    ///     .await;
    ///     assert!(matches!(&failed.unwrap_err()[..], [ChildError::Failed(e)] if e == "broken"));
    /// });
    /// ```
    pub fn run<B, F>(body: B) -> TaskGroupRun<E, F>
    where
        B: FnOnce(TaskGroupSpawner<E>) -> F,
        F: Future,
    {
        let group = TaskGroup::new();
        let body = body(group.spawner());
        TaskGroupRun {
            group,
            body: Some(body),
            output: None,
        }
    }
}

pin_project! {
    /// The future of [`TaskGroup::run`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct TaskGroupRun<E, F: Future> {
        group: TaskGroup<E>,
        #[pin]
        body: Option<F>,
        output: Option<F::Output>,
    }
}

impl<E, F: Future> Future for TaskGroupRun<E, F> {
    type Output = Result<F::Output, Vec<ChildError<E>>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Some(body) = this.body.as_mut().as_pin_mut() {
            let stopping = matches!(this.group.state.borrow().phase, Phase::Failing | Phase::Cancelled);
            if stopping {
                // Dropped as a cancellation, as asyncio cancels the parent task (a child failed,
                // or the group was cancelled): what the body awaits (a task, a future) is
                // cancelled in turn.
                cancelling(|| this.body.set(None));
            } else if let Poll::Ready(output) = body.poll(cx) {
                this.body.set(None);
                *this.output = Some(output);
            } else {
                let old = this.group.state.borrow_mut().body.register(cx.waker());
                drop(old);
                // The body may have cancelled the group itself in that poll (before its waker
                // was registered, so nothing woke it): then it stops now.
                let stopped = this.group.state.borrow().phase == Phase::Cancelled;
                if !stopped {
                    return Poll::Pending;
                }
                cancelling(|| this.body.set(None));
            }
        }
        match poll_join(&this.group.state, cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(errors)) => Poll::Ready(Err(errors)),
            Poll::Ready(Ok(())) => match this.output.take() {
                Some(output) => Poll::Ready(Ok(output)),
                // The body was cancelled by a cancel of the group itself (`tg.cancel()`), and
                // no child failed: no value, no error.
                None => Poll::Ready(Err(Vec::new())),
            },
        }
    }
}

impl<E, F: Future> fmt::Debug for TaskGroupRun<E, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroupRun")
            .field("group", &self.group)
            .field("body_running", &self.body.is_some())
            .finish()
    }
}
