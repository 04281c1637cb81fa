//! The loop's exception handler: where panics that nobody awaits are reported
//! (asyncio's `set_exception_handler` and "Task exception was never retrieved").

use std::any::Any;
use std::fmt;
use std::panic::Location;

use crate::task::{panic_message, TaskId};

/// What went wrong, handed to the loop's exception handler.
pub struct ExceptionContext {
    pub(crate) message: String,
    pub(crate) task: Option<TaskLabel>,
    pub(crate) payload: Option<Box<dyn Any + Send>>,
}

impl ExceptionContext {
    /// A short description, e.g. "Task exception was never retrieved".
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The id of the task involved, if a task was.
    pub fn task_id(&self) -> Option<TaskId> {
        self.task.as_ref().map(|t| t.id)
    }

    /// The name of the task involved, if a task was.
    pub fn task_name(&self) -> Option<&str> {
        self.task.as_ref().map(|t| t.name.as_str())
    }

    /// Where the task involved was spawned, if a task was.
    pub fn spawn_location(&self) -> Option<&'static Location<'static>> {
        self.task.as_ref().map(|t| t.location)
    }

    /// The panic payload, if a panic was caught.
    pub fn payload(&self) -> Option<&(dyn Any + Send)> {
        self.payload.as_deref()
    }

    /// The panic message, when the payload is a string.
    pub fn panic_message(&self) -> Option<&str> {
        self.payload().and_then(panic_message)
    }
}

impl fmt::Display for ExceptionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(task) = &self.task {
            write!(
                f,
                " (task '{}', id {}, spawned at {})",
                task.name, task.id, task.location
            )?;
        }
        match (self.panic_message(), &self.payload) {
            (Some(msg), _) => write!(f, ": panicked with '{msg}'"),
            (None, Some(_)) => f.write_str(": panicked with a non-string payload"),
            (None, None) => Ok(()),
        }
    }
}

impl fmt::Debug for ExceptionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExceptionContext")
            .field("message", &self.message)
            .field("task", &self.task)
            .field("panic_message", &self.panic_message())
            .finish()
    }
}

/// Which task an [`ExceptionContext`] is about.
#[derive(Debug, Clone)]
pub(crate) struct TaskLabel {
    pub(crate) id: TaskId,
    pub(crate) name: String,
    pub(crate) location: &'static Location<'static>,
}

/// The handler used when none is set: one line on stderr.
pub(crate) fn default_handler(context: &ExceptionContext) {
    eprintln!("aioloop: {context}");
}
