//! [`Task<T>`]: the handle of a spawned task, awaitable for its outcome.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::cell::take_output;
use super::Scheduler;
use super::{TaskError, TaskId};

/// A spawned task: asyncio's `Task`. Await it for `Ok(output)`, or `Err(TaskError)` if the task
/// was cancelled or panicked.
///
/// Dropping a `Task` detaches it: the loop owns every task and keeps running it (asyncio's
/// semantics, without its garbage-collection footgun). Cancel with [`Task::cancel`]. A panic in
/// a task whose handle was dropped without taking the outcome goes to the loop's exception handler.
///
/// ```
/// aioloop::run(async {
///     let task = aioloop::spawn(async { 6 * 7 });
///     assert_eq!(task.await.unwrap(), 42);
///
///     let forever = aioloop::spawn(std::future::pending::<()>());
///     assert!(forever.cancel());
///     assert!(forever.await.unwrap_err().is_cancelled());
/// });
/// ```
#[must_use = "dropping a Task detaches it; call .cancel() to stop it, or await it for its output"]
pub struct Task<T> {
    sched: Rc<Scheduler>,
    key: u32,
    gen: u16,
    id: TaskId,
    name: Option<Rc<str>>,
    /// The outcome was handed out (or found gone): the slot is no longer ours.
    finished: bool,
    _output: PhantomData<fn() -> T>,
}

impl<T: 'static> Task<T> {
    pub(crate) fn new(sched: Rc<Scheduler>, key: u32, gen: u16, id: TaskId, name: Option<Rc<str>>) -> Self {
        Task {
            sched,
            key,
            gen,
            id,
            name,
            finished: false,
            _output: PhantomData,
        }
    }

    /// Requests cancellation: at the loop's next iteration the task's future is dropped
    /// (its destructors run) and awaiting the task gives `Err(TaskError::Cancelled)`.
    ///
    /// Returns false if the task had already finished (asyncio's `Task.cancel()`), true
    /// otherwise. A task that finishes during the same step in which it is cancelled counts as
    /// cancelled, as in asyncio.
    pub fn cancel(&self) -> bool {
        !self.finished && self.sched.cancel(self.key, self.gen)
    }

    /// True once the task has finished: returned, panicked or been cancelled.
    pub fn is_done(&self) -> bool {
        self.finished || self.sched.is_done(self.key, self.gen)
    }

    /// True once the task has finished by cancellation (so `is_cancelled` implies `is_done`,
    /// as asyncio's `cancelled()` does).
    pub fn is_cancelled(&self) -> bool {
        !self.finished && self.sched.is_cancelled(self.key, self.gen)
    }

    /// True once the task has panicked and the outcome was not taken yet (asyncio's
    /// `task.exception() is not None`), for `wait(.., FirstException)`.
    pub(crate) fn is_panicked(&self) -> bool {
        !self.finished && self.sched.is_panicked(self.key, self.gen)
    }

    /// An untyped reference to this task, for combinators that cancel tasks they hand out.
    pub(crate) fn task_ref(&self) -> super::TaskRef {
        super::TaskRef {
            sched: self.sched.clone(),
            key: self.key,
            gen: self.gen,
            id: self.id,
            name: self.name(),
        }
    }

    /// The task's id, unique on its loop.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The task's name: the one given to [`spawn_named`](crate::spawn_named), else `Task-<id>`.
    pub fn name(&self) -> String {
        super::meta::display_name(self.id, self.name.as_deref())
    }
}

impl<T: 'static> Future for Task<T> {
    type Output = Result<T, TaskError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        assert!(
            !self.finished,
            "aioloop: a Task was polled after it returned its outcome"
        );
        match self.sched.poll_join(self.key, self.gen, cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(cell) => {
                self.finished = true;
                Poll::Ready(match cell {
                    Some(mut cell) => take_output::<T>(cell.as_mut()),
                    // The loop closed and dropped the unfinished task.
                    None => Err(TaskError::Cancelled),
                })
            }
        }
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        if !self.finished {
            self.sched.detach(self.key, self.gen);
        }
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
