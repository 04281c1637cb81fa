//! The error a [`Task`](crate::Task) resolves to when it did not return normally.

use std::any::Any;
use std::fmt;

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
    /// The task's future panicked; this is the panic payload.
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

    /// The panic payload; resume it with [`std::panic::resume_unwind`] to propagate the panic.
    ///
    /// # Panics
    /// Panics if the error is [`TaskError::Cancelled`]; use [`TaskError::try_into_panic`] to check.
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self {
            TaskError::Panicked(payload) => payload,
            TaskError::Cancelled => panic!("TaskError::into_panic called on a cancelled task"),
        }
    }

    /// The panic payload, or `Err(self)` if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, TaskError> {
        match self {
            TaskError::Panicked(payload) => Ok(payload),
            cancelled => Err(cancelled),
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
            TaskError::Panicked(_) => match self.panic_message() {
                Some(msg) => write!(f, "task panicked: {msg}"),
                None => f.write_str("task panicked"),
            },
        }
    }
}

impl std::error::Error for TaskError {}
