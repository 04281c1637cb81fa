//! The errors of [`TaskGroup`](crate::TaskGroup): [`ChildError`] (why a child failed) and
//! [`TaskGroupClosed`] (why a spawn was refused).

use std::any::Any;
use std::fmt;

use crate::task::panic_message;

/// Why a [`TaskGroup`](crate::TaskGroup) child failed: its future returned `Err`, or panicked.
pub enum ChildError<E> {
    /// The child's future returned `Err(e)`.
    Failed(E),
    /// The child's future panicked; this is the payload (resume it with
    /// [`std::panic::resume_unwind`] to propagate the panic).
    Panicked(Box<dyn Any + Send + 'static>),
}

impl<E> ChildError<E> {
    /// True if the child panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, ChildError::Panicked(_))
    }

    /// The error the child returned, if it returned one.
    pub fn into_failure(self) -> Option<E> {
        match self {
            ChildError::Failed(error) => Some(error),
            ChildError::Panicked(_) => None,
        }
    }

    /// The panic message when the child panicked with a string payload.
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            ChildError::Panicked(payload) => panic_message(payload.as_ref()),
            ChildError::Failed(_) => None,
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for ChildError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChildError::Failed(error) => f.debug_tuple("Failed").field(error).finish(),
            ChildError::Panicked(_) => f
                .debug_tuple("Panicked")
                .field(&self.panic_message().unwrap_or("<non-string payload>"))
                .finish(),
        }
    }
}

impl<E: fmt::Display> fmt::Display for ChildError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChildError::Failed(error) => write!(f, "task group child failed: {error}"),
            ChildError::Panicked(_) => match self.panic_message() {
                Some(message) => write!(f, "task group child panicked: {message}"),
                None => f.write_str("task group child panicked"),
            },
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for ChildError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ChildError::Failed(error) => Some(error),
            ChildError::Panicked(_) => None,
        }
    }
}

/// [`TaskGroup::spawn`](crate::TaskGroup::spawn) refused a child: the group no longer takes new ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskGroupClosed {
    /// A child failed; the group is cancelling the others.
    Failing,
    /// The group was cancelled: [`TaskGroup::cancel`](crate::TaskGroup::cancel), or its join future was dropped.
    Cancelled,
    /// The group was joined.
    Joined,
}

impl fmt::Display for TaskGroupClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskGroupClosed::Failing => "the task group is shutting down after a child failed",
            TaskGroupClosed::Cancelled => "the task group was cancelled",
            TaskGroupClosed::Joined => "the task group is finished",
        })
    }
}

impl std::error::Error for TaskGroupClosed {}
