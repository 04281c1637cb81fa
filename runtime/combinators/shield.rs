//! [`shield`]: await a task without letting the awaiter's cancellation reach it.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::task::{claim_current, SharedTask, Task, TaskError};

/// Awaits `task`, protecting it from the awaiter's cancellation: asyncio's `shield(aw)`.
///
/// - Cancelling the outer awaiter (dropping the `Shield`, for instance because the task awaiting
///   it was cancelled, or a [`wait_for`](crate::wait_for) around it timed out) leaves the inner
///   task running to completion. Its outcome is then discarded; a panic goes to the loop's
///   exception handler, as for any detached task.
/// - Cancelling the inner task (with [`Task::cancel`]) makes the outer see it:
///   `Err(TaskError::Cancelled)`.
///
/// Without `shield`, cancelling a task that awaits another cancels that one too (cancellation
/// travels through awaits, as in asyncio). To shield a plain future, spawn it first:
/// `shield(aioloop::spawn(fut))`.
///
/// ```
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// aioloop::run(async {
///     let saved = Rc::new(Cell::new(false));
///     let flag = saved.clone();
///     let inner = aioloop::spawn(async move {
///         aioloop::sleep(Duration::from_millis(5)).await;
///         flag.set(true);
///     });
///     // The outer wait gives up after 1 ms; the shielded task goes on.
///     let outer = aioloop::wait_for(aioloop::shield(inner), Duration::from_millis(1)).await;
///     assert!(outer.is_err());
///     aioloop::sleep(Duration::from_millis(10)).await;
///     assert!(saved.get());
/// });
/// ```
///
/// A [`SharedTask`] can be shielded too: `shield(task.clone())` in one task while other
/// holders await the task itself (asyncio's `await shield(task)` beside `await task`).
/// Cancelling the shielded awaiter leaves the task running for the others.
pub fn shield<T: 'static, H: Shieldable<T>>(task: H) -> Shield<T, H> {
    Shield {
        task: Some(task),
        _output: PhantomData,
    }
}

/// A task handle [`shield`] can hold: a [`Task`] or a [`SharedTask`] holder.
pub trait Shieldable<T>: Future<Output = Result<T, TaskError>> + Unpin + sealed::Sealed {
    /// Dropped from now on, the handle leaves its task running whatever the scope.
    #[doc(hidden)]
    fn detach_on_drop(&mut self);
}

mod sealed {
    pub trait Sealed {}
    impl<T> Sealed for crate::Task<T> {}
    impl<T> Sealed for crate::SharedTask<T> {}
}

impl<T: 'static> Shieldable<T> for Task<T> {
    fn detach_on_drop(&mut self) {
        Task::detach_on_drop(self)
    }
}

impl<T: Clone + 'static> Shieldable<T> for SharedTask<T> {
    fn detach_on_drop(&mut self) {
        SharedTask::detach_on_drop(self)
    }
}

/// The future of [`shield`]: resolves to the inner task's outcome.
#[must_use = "futures do nothing unless awaited"]
pub struct Shield<T, H: Shieldable<T> = Task<T>> {
    /// Always `Some` but in `into_task`.
    task: Option<H>,
    _output: PhantomData<fn() -> T>,
}

impl<T: 'static, H: Shieldable<T>> Shield<T, H> {
    /// The shielded task, to inspect or cancel it.
    pub fn task(&self) -> &H {
        self.task.as_ref().expect("a Shield holds its task")
    }
}

impl<T: 'static> Shield<T> {
    /// Gives back the shielded task.
    pub fn into_task(mut self) -> Task<T> {
        let mut task = self.task.take().expect("a Shield holds its task");
        task.unawait();
        task
    }
}

impl<T: 'static, H: Shieldable<T>> Future for Shield<T, H> {
    type Output = Result<T, TaskError>;

    #[inline(never)] // one address, for `Scheduler::claim`
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        claim_current(&*self);
        let task = self.task.as_mut().expect("a Shield holds its task");
        Pin::new(task).poll(cx)
    }
}

impl<T, H: Shieldable<T>> Drop for Shield<T, H> {
    /// The shielded task is detached, never cancelled, even when the shield is dropped because
    /// its awaiter was cancelled.
    fn drop(&mut self) {
        if let Some(task) = self.task.as_mut() {
            task.detach_on_drop();
        }
    }
}

impl<T, H: Shieldable<T> + fmt::Debug> fmt::Debug for Shield<T, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shield").field("task", &self.task).finish()
    }
}
