//! The loop's exception handler: where panics that nobody awaits are reported
//! (asyncio's `set_exception_handler` and "Task exception was never retrieved").
//!
//! [`Reporter`] holds the handler and is the one primitive for "run user code that must not
//! unwind into the loop (a drop, a callback), and report a panic": [`Reporter::catch`] and
//! [`Reporter::drop_reporting`]. The scheduler owns it, so whatever holds the scheduler (a
//! [`Task`](crate::Task) handle dropping a finished task's outcome) can report.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::rc::Rc;

use super::{panic_message, TaskId};

/// What went wrong, handed to the loop's exception handler.
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
///
/// let seen = Rc::new(RefCell::new(Vec::new()));
/// let sink = seen.clone();
/// let event_loop = aioloop::EventLoop::builder()
///     .debug(true) // records where tasks are spawned
///     .exception_handler(move |ctx| {
///         // Debug mode also reports slow steps; keep the panics.
///         if let Some(message) = ctx.panic_message() {
///             sink.borrow_mut().push((
///                 ctx.task_name().map(String::from),
///                 ctx.spawn_location().map(|l| l.file().to_owned()),
///                 message.to_owned(),
///             ))
///         }
///     })
///     .build()
///     .unwrap();
/// event_loop.run_until_complete(async {
///     drop(aioloop::spawn_named("worker", async { panic!("boom") }));
///     aioloop::yield_now().await;
/// });
/// let (name, file, message) = seen.borrow()[0].clone();
/// assert_eq!(name.as_deref(), Some("worker"));
/// assert!(file.is_some(), "known in debug mode only");
/// assert_eq!(message, "boom");
/// ```
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

    /// Where the task involved was spawned, if a task was and it was spawned while debug mode
    /// was on ([`Builder::debug`](crate::Builder::debug)): like asyncio, which records a task's
    /// creation traceback only in debug mode, aioloop keeps spawn locations only then, so that
    /// a task costs no memory for them otherwise.
    pub fn spawn_location(&self) -> Option<&'static Location<'static>> {
        self.task.as_ref().and_then(|t| t.location)
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
            write!(f, " (task '{}', id {}", task.name, task.id)?;
            if let Some(location) = task.location {
                write!(f, ", spawned at {location}")?;
            }
            f.write_str(")")?;
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
    /// Where the task was spawned: known for tasks spawned in debug mode.
    pub(crate) location: Option<&'static Location<'static>>,
}

/// A panic that left an in-place task (a gathered coroutine, the main task): the payload
/// travels on (unwinding into the task that polls the gather) with the identity of the task
/// it came from, so the awaiter's [`TaskError`](crate::TaskError) and the exception handler
/// name that task, as they name a spawned task that panicked. Only the innermost in-place task
/// names a panic; [`panic_message`] and [`TaskError::into_panic`](crate::TaskError::into_panic)
/// see through the wrapper.
pub(crate) struct TaskPanic {
    pub(crate) task: TaskLabel,
    pub(crate) payload: Payload,
}

/// `payload`, a panic out of the task `task()` names, carrying that task's identity unless it
/// already carries one (from a task nested deeper).
pub(crate) fn name_panic(payload: Payload, task: impl FnOnce() -> Option<TaskLabel>) -> Payload {
    if payload.is::<TaskPanic>() {
        return payload;
    }
    match task() {
        Some(task) => Box::new(TaskPanic { task, payload }),
        None => payload,
    }
}

/// The task a panic came from, if it carries one, and the original payload.
pub(crate) fn unname_panic(payload: Payload) -> (Option<TaskLabel>, Payload) {
    match payload.downcast::<TaskPanic>() {
        Ok(named) => (Some(named.task), named.payload),
        Err(payload) => (None, payload),
    }
}

/// The task a panic payload names, if any.
pub(crate) fn panic_task(payload: &(dyn Any + Send)) -> Option<&TaskLabel> {
    payload.downcast_ref::<TaskPanic>().map(|named| &named.task)
}

/// A copy of a panic payload (payloads are not `Clone`): its message as a `String`, with the
/// task it names, for every holder of a [`SharedTask`](crate::SharedTask).
pub(crate) fn copy_panic(payload: &(dyn Any + Send)) -> Payload {
    let message = panic_message(payload)
        .unwrap_or("a panic with a non-string payload")
        .to_owned();
    match panic_task(payload) {
        Some(task) => Box::new(TaskPanic {
            task: task.clone(),
            payload: Box::new(message),
        }),
        None => Box::new(message),
    }
}

/// The handler used when none is set: one line on stderr.
fn default_handler(context: &ExceptionContext) {
    eprintln!("aioloop: {context}");
}

/// The exception handler type.
pub(crate) type ExceptionHandler = Rc<dyn Fn(&ExceptionContext)>;

/// A panic payload.
pub(crate) type Payload = Box<dyn Any + Send>;

/// The loop's exception handler, and the catch-then-report primitive built on it.
pub(crate) struct Reporter {
    handler: RefCell<Option<ExceptionHandler>>,
}

impl Reporter {
    /// A reporter that hands errors to `handler`, or prints them when it is `None`.
    pub(crate) fn new(handler: Option<ExceptionHandler>) -> Self {
        Reporter {
            handler: RefCell::new(handler),
        }
    }

    /// Replaces the handler.
    pub(crate) fn set_handler(&self, handler: ExceptionHandler) {
        let old = self.handler.replace(Some(handler));
        drop(old);
    }

    /// Hands an error to the exception handler (outside any borrow); a panicking handler is
    /// reported on stderr and the loop goes on.
    pub(crate) fn report(&self, message: &str, task: Option<TaskLabel>, payload: Option<Payload>) {
        // A panic that came from a gathered coroutine names that task.
        let (task, payload) = match payload.map(unname_panic) {
            Some((Some(origin), payload)) => (Some(origin), Some(payload)),
            Some((None, payload)) => (task, Some(payload)),
            None => (task, None),
        };
        let context = ExceptionContext {
            message: message.to_owned(),
            task,
            payload,
        };
        let handler = self.handler.borrow().clone();
        let outcome = catch_unwind(AssertUnwindSafe(|| match handler {
            Some(handler) => handler(&context),
            None => default_handler(&context),
        }));
        if outcome.is_err() {
            eprintln!("aioloop: the exception handler panicked while handling: {context}");
        }
    }

    /// Runs `f`, user code that must not unwind into the loop. A panic is reported as
    /// `message` about the task `task()` names (asked only then) and gives `None`.
    #[inline]
    pub(crate) fn catch<R>(
        &self,
        message: &str,
        task: impl FnOnce() -> Option<TaskLabel>,
        f: impl FnOnce() -> R,
    ) -> Option<R> {
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(value) => Some(value),
            Err(payload) => {
                self.report(message, task(), Some(payload));
                None
            }
        }
    }

    /// Drops `value` (its destructor is user code); a panic is reported as [`Reporter::catch`] does.
    #[inline]
    pub(crate) fn drop_reporting<T>(
        &self,
        value: T,
        message: &str,
        task: impl FnOnce() -> Option<TaskLabel>,
    ) {
        self.catch(message, task, move || drop(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(id: u64) -> TaskLabel {
        TaskLabel {
            id: TaskId(id),
            name: format!("Task-{id}"),
            location: None,
        }
    }

    #[test]
    fn the_innermost_task_names_a_panic_and_unnaming_gives_the_payload_back() {
        let named = name_panic(Box::new("boom"), || Some(label(3)));
        let named = name_panic(named, || Some(label(1)));
        assert_eq!(panic_task(named.as_ref()).map(|t| t.id), Some(TaskId(3)));
        assert_eq!(panic_message(named.as_ref()), Some("boom"));
        let (task, payload) = unname_panic(named);
        assert_eq!(task.map(|t| t.name), Some(String::from("Task-3")));
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
        let (task, _) = unname_panic(Box::new(5u8));
        assert!(task.is_none());
    }

    #[test]
    fn a_copied_panic_keeps_its_message_and_task() {
        let copy = copy_panic(name_panic(Box::new(String::from("x")), || Some(label(2))).as_ref());
        assert_eq!(panic_message(copy.as_ref()), Some("x"));
        assert_eq!(panic_task(copy.as_ref()).map(|t| t.id), Some(TaskId(2)));
        let copy = copy_panic(&7u32);
        assert_eq!(
            panic_message(copy.as_ref()),
            Some("a panic with a non-string payload")
        );
    }
}
