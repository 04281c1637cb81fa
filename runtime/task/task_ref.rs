//! [`TaskRef`]: an untyped reference to a task, as `current_task()` and `all_tasks()` return.

use std::fmt;
use std::rc::Rc;

use super::Scheduler;
use super::TaskId;

/// An untyped reference to a task: what [`current_task`](crate::current_task) and
/// [`all_tasks`](crate::all_tasks) return. It can inspect and cancel the task but not take its
/// output, and it does not keep a finished task's outcome alive.
#[derive(Clone)]
pub struct TaskRef {
    pub(super) sched: Rc<Scheduler>,
    pub(super) key: u32,
    pub(super) gen: u16,
    pub(super) id: TaskId,
    pub(super) name: String,
}

impl TaskRef {
    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The task's name.
    pub fn name(&self) -> String {
        self.name.clone()
    }

    /// Requests cancellation, as [`Task::cancel`](crate::Task::cancel); false if already finished.
    pub fn cancel(&self) -> bool {
        self.sched.cancel(self.key, self.gen, None)
    }

    /// Requests cancellation with a message, as [`Task::cancel_with`](crate::Task::cancel_with).
    pub fn cancel_with(&self, message: impl Into<String>) -> bool {
        let message: std::rc::Rc<str> = message.into().into();
        self.sched.cancel(self.key, self.gen, Some(message))
    }

    /// asyncio 3.11's `cancelling()`, as [`Task::cancelling`](crate::Task::cancelling). Once
    /// the task finished and its [`Task`](crate::Task) handle is gone, 0: the count is kept for
    /// the handle.
    pub fn cancelling(&self) -> u32 {
        self.sched.cancelling(self.key, self.gen, self.id)
    }

    /// asyncio 3.11's `uncancel()`, as [`Task::uncancel`](crate::Task::uncancel).
    pub fn uncancel(&self) -> u32 {
        self.sched.uncancel(self.key, self.gen, self.id)
    }

    /// Ready once the task has finished; registers `cx`'s waker otherwise. Only for tasks
    /// whose handle is gone (it takes the slot's one waker).
    pub(crate) fn poll_finished(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        self.sched.poll_finished(self.key, self.gen, cx)
    }

    /// True once the task has finished (a finished task whose outcome was already taken also
    /// counts as done).
    pub fn is_done(&self) -> bool {
        self.sched.is_done(self.key, self.gen)
    }
}

impl PartialEq for TaskRef {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.sched, &other.sched) && self.id == other.id
    }
}

impl Eq for TaskRef {}

impl fmt::Debug for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskRef")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("done", &self.is_done())
            .finish()
    }
}
