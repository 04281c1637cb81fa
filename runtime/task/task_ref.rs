//! [`TaskRef`]: an untyped reference to a task, as `current_task()` and `all_tasks()` return.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use super::Scheduler;
use super::TaskId;
use crate::context_var::Context;

/// An untyped reference to a task: what [`current_task`](crate::current_task) and
/// [`all_tasks`](crate::all_tasks) return. It can inspect, rename and cancel the task but not
/// take its output, and it does not keep a finished task's outcome alive.
#[derive(Clone)]
pub struct TaskRef {
    pub(super) sched: Rc<Scheduler>,
    pub(super) key: u32,
    pub(super) gen: u16,
    pub(super) id: TaskId,
    /// The task's name when this reference last saw it: what [`TaskRef::name`] answers once
    /// the task is gone (finished, and its outcome taken or its handle dropped) and nothing
    /// else holds its name.
    seen: RefCell<Option<Rc<str>>>,
}

impl TaskRef {
    /// A reference to task `id` at `key`/`gen`, whose name is `name` now.
    pub(super) fn new(sched: Rc<Scheduler>, key: u32, gen: u16, id: TaskId, name: Option<Rc<str>>) -> Self {
        TaskRef {
            sched,
            key,
            gen,
            id,
            seen: RefCell::new(name),
        }
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The task's name now (asyncio's `get_name()`), as [`Task::name`](crate::Task::name):
    /// also after a rename made through another reference or the handle. Once the task is
    /// gone (finished, its outcome taken or its handle dropped), the last name this reference
    /// saw or gave, unless its handle keeps a later one.
    pub fn name(&self) -> String {
        super::meta::display_name(self.id, self.given_name().as_deref())
    }

    /// The task's name if it has one (see [`TaskRef::name`]).
    fn given_name(&self) -> Option<Rc<str>> {
        match self.sched.task_name(self.key, self.gen, self.id) {
            Some(name) => {
                self.seen.replace(name.clone());
                name
            }
            None => self.seen.borrow().clone(),
        }
    }

    /// Renames the task (asyncio's `Task.set_name`), as [`Task::set_name`](crate::Task::set_name):
    /// every reference to it, its handle, [`dump_tasks`](crate::dump_tasks) and the loop's
    /// reports show the new name. Inside a task, rename it through
    /// [`current_task`](crate::current_task). On a task that is gone (finished, and its
    /// handle dropped, or holding nothing for it) only this reference keeps the new name.
    ///
    /// ```
    /// aioloop::run(async {
    ///     let worker = aioloop::spawn(async {
    ///         let me = aioloop::current_task().unwrap();
    ///         me.set_name("worker: idle");
    ///         aioloop::yield_now().await;
    ///     });
    ///     let seen = worker.task_ref();
    ///     assert_eq!(seen.name(), format!("Task-{}", worker.id()));
    ///     aioloop::yield_now().await;
    ///     assert_eq!(seen.name(), "worker: idle", "a reference taken before the rename");
    ///     worker.await.unwrap();
    /// });
    /// ```
    pub fn set_name(&self, name: impl Into<String>) {
        let name: Rc<str> = name.into().into();
        self.sched.rename(self.key, self.gen, self.id, name.clone());
        self.seen.replace(Some(name));
    }

    /// The [`Context`] the task runs in (asyncio 3.12's `Task.get_context()`), as
    /// [`Task::get_context`](crate::Task::get_context): the same context, so
    /// [`Context::get`] sees what the task sets. Once the task is gone and nothing keeps its
    /// context, a new empty one. The main task and a coroutine a gather polls in place give
    /// theirs only while they run (see [`Task::get_context`](crate::Task::get_context)).
    ///
    /// ```
    /// use aioloop::ContextVar;
    /// static STAGE: ContextVar<&str> = ContextVar::new("stage");
    ///
    /// aioloop::run(async {
    ///     let task = aioloop::spawn(async {
    ///         STAGE.set("started");
    ///         let me = aioloop::current_task().unwrap();
    ///         assert_eq!(me.get_context().get(&STAGE), Some("started"));
    ///         aioloop::yield_now().await;
    ///     });
    ///     aioloop::yield_now().await;
    ///     assert_eq!(task.task_ref().get_context().get(&STAGE), Some("started"));
    ///     task.await.unwrap();
    /// });
    /// ```
    pub fn get_context(&self) -> Context {
        self.sched
            .task_context(self.key, self.gen, self.id)
            .unwrap_or_default()
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
            .field("name", &self.name())
            .field("done", &self.is_done())
            .finish()
    }
}
