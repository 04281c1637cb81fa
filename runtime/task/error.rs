//! The error a [`Task`](crate::Task) resolves to when it did not return normally.

use std::any::Any;
use std::fmt;

use super::report::{copy_panic, panic_task, unname_panic, TaskPanic};
use super::{TaskId, TaskLabel};

/// Why a task did not produce its output: it was cancelled, or its future panicked.
///
/// This is asyncio's `CancelledError` and "the task raised an exception" in one Rust enum.
///
/// ```
/// let err = aioloop::run(async {
///     let task = aioloop::spawn(async { panic!("boom") });
///     task.await.unwrap_err()
/// });
/// assert!(err.is_panic());
/// assert_eq!(err.panic_message(), Some("boom"));
/// ```
pub enum TaskError {
    /// The task was cancelled with [`Task::cancel`](crate::Task::cancel) (or its loop closed)
    /// before it finished; its future was dropped.
    Cancelled,
    /// The task's future panicked; this is the panic payload. A panic that came from a
    /// gathered coroutine carries that coroutine's task with it (see
    /// [`panicked_task_name`](TaskError::panicked_task_name)), so downcast the payload as it
    /// was raised through [`into_panic`](TaskError::into_panic), or read
    /// [`panic_message`](TaskError::panic_message).
    Panicked(Box<dyn Any + Send + 'static>),
}

impl TaskError {
    /// True if the task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TaskError::Cancelled)
    }

    /// True if the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskError::Panicked(_))
    }

    /// The panic payload, as the panicking code gave it; resume it with
    /// [`std::panic::resume_unwind`] to propagate the panic.
    ///
    /// # Panics
    /// Panics if the error is [`TaskError::Cancelled`]; use [`TaskError::try_into_panic`] to check.
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self {
            TaskError::Panicked(payload) => unname_panic(payload).1,
            TaskError::Cancelled => panic!("TaskError::into_panic called on a cancelled task"),
        }
    }

    /// The panic payload, or `Err(self)` if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, TaskError> {
        match self {
            TaskError::Panicked(payload) => Ok(unname_panic(payload).1),
            cancelled => Err(cancelled),
        }
    }

    /// The name of the gathered coroutine (a task of its own, see [`gather`](crate::gather()))
    /// whose panic unwound into the awaited task, as [`current_task`](crate::current_task)
    /// inside it reports it; `None` if the awaited task panicked in its own code, or was
    /// cancelled. The [`Display`](fmt::Display) form names it too.
    ///
    /// ```
    /// let err = aioloop::run(async {
    ///     aioloop::spawn(async {
    ///         aioloop::gather([async { panic!("boom") }]).await;
    ///     })
    ///     .await
    ///     .unwrap_err()
    /// });
    /// assert_eq!(err.panic_message(), Some("boom"));
    /// assert!(err.panicked_task_name().unwrap().starts_with("Task-"));
    /// ```
    pub fn panicked_task_name(&self) -> Option<&str> {
        self.panicked_task().map(|task| task.name.as_str())
    }

    /// The id of the task [`panicked_task_name`](TaskError::panicked_task_name) names.
    pub fn panicked_task_id(&self) -> Option<TaskId> {
        self.panicked_task().map(|task| task.id)
    }

    fn panicked_task(&self) -> Option<&TaskLabel> {
        match self {
            TaskError::Panicked(payload) => panic_task(payload.as_ref()),
            TaskError::Cancelled => None,
        }
    }

    /// A copy for another holder of a shared task (payloads are not `Clone`: see
    /// [`copy_panic`]).
    pub(crate) fn copy(&self) -> TaskError {
        match self {
            TaskError::Cancelled => TaskError::Cancelled,
            TaskError::Panicked(payload) => TaskError::Panicked(copy_panic(payload.as_ref())),
        }
    }

    /// The panic message when the payload is a string (as `panic!("...")` makes it).
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            TaskError::Panicked(payload) => panic_message(payload.as_ref()),
            TaskError::Cancelled => None,
        }
    }
}

/// The text of a panic payload, if it is a `&str` or a `String`.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    if let Some(named) = payload.downcast_ref::<TaskPanic>() {
        return panic_message(named.payload.as_ref());
    }
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Cancelled => f.write_str("Cancelled"),
            TaskError::Panicked(_) => f
                .debug_tuple("Panicked")
                .field(&self.panic_message().unwrap_or("<non-string payload>"))
                .finish(),
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Cancelled => f.write_str("task was cancelled"),
            TaskError::Panicked(_) => {
                f.write_str("task panicked")?;
                if let Some(task) = self.panicked_task() {
                    write!(f, " in gathered task '{}' (id {})", task.name, task.id)?;
                }
                match self.panic_message() {
                    Some(msg) => write!(f, ": {msg}"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl std::error::Error for TaskError {}
