//! Tasks: spawned futures the loop owns, and the [`Task`] handle that awaits their outcome.

mod callback;
pub(crate) mod cancel_scope;
pub(crate) mod cell;
mod error;
mod handle;
mod harness;
mod inplace;
pub(crate) mod meta;
mod observe;
mod report;
mod scheduler;
mod state;
mod table;
mod task_ref;
pub(crate) mod waker;
mod yield_now;

use std::fmt;
use std::future::Future;
use std::rc::Rc;

pub(crate) use callback::CallbackCell;
pub(crate) use error::panic_message;
pub use error::TaskError;
pub use handle::Task;
pub(crate) use inplace::{claim_current, InPlaceSet, MainTask};
pub use observe::{cancelled, until_cancelled, Cancelled, UntilCancelled};
pub use report::ExceptionContext;
pub(crate) use report::{ExceptionHandler, TaskLabel};
pub(crate) use scheduler::{Runnable, Scheduler, StepHooks, TaskView};
pub use task_ref::TaskRef;
pub use yield_now::{yield_now, YieldNow};

use crate::context;

/// A task's identity, unique within its loop for the loop's lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub(crate) u64);

impl TaskId {
    /// The id as a number (the `N` of asyncio's default name `Task-N`).
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Spawns `future` as a task on the running loop: asyncio's `create_task`.
///
/// The task starts at the loop's next iteration, after everything already scheduled (FIFO).
/// The future needs no `Send` bound. The returned [`Task`] resolves to the future's output;
/// dropping it detaches the task, which keeps running.
///
/// # Panics
/// If no loop is running on this thread; use [`Loop::spawn`](crate::Loop::spawn) to spawn onto
/// a loop that is not running yet.
///
/// ```
/// let total = aioloop::run(async {
///     let a = aioloop::spawn(async { 20 });
///     let b = aioloop::spawn(async { 22 });
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(total, 42);
/// ```
#[doc(alias = "create_task")]
#[track_caller]
pub fn spawn<F>(future: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    context::expect_current("spawn").spawn(future, None)
}

/// Like [`spawn`], with a name for the task (asyncio's `create_task(coro, name=...)`), shown by
/// [`Task::name`], the exception handler and debugging tools.
///
/// ```
/// aioloop::run(async {
///     let task = aioloop::spawn_named("fetcher", async {});
///     assert_eq!(task.name(), "fetcher");
/// });
/// ```
#[doc(alias = "create_task")]
#[track_caller]
pub fn spawn_named<F>(name: impl Into<String>, future: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let name: Rc<str> = name.into().into();
    context::expect_current("spawn_named").spawn(future, Some(name))
}

/// The task whose step is running now, or `None` outside a task (in a callback). asyncio's
/// `current_task()`. The coroutine given to `run` / `run_until_complete` is a task, and so is
/// each coroutine a gather runs.
///
/// ```
/// aioloop::run(async {
///     assert!(aioloop::current_task().is_some(), "the main coroutine is a task");
///     let t = aioloop::spawn_named("me", async { aioloop::current_task().unwrap().name() });
///     assert_eq!(t.await.unwrap(), "me");
/// });
/// ```
pub fn current_task() -> Option<TaskRef> {
    context::current().and_then(|core| core.sched().current_task_ref())
}

/// Every task of the running loop that has not finished, in spawn-slot order. asyncio's
/// `all_tasks()`. Empty outside a running loop.
///
/// ```
/// aioloop::run(async {
///     let t = aioloop::spawn(std::future::pending::<()>());
///     assert_eq!(aioloop::all_tasks().len(), 2, "the main task and t");
///     t.cancel();
/// });
/// ```
pub fn all_tasks() -> Vec<TaskRef> {
    context::current()
        .map(|core| core.sched().all_task_refs())
        .unwrap_or_default()
}
