//! The thread-local running loop: asyncio's `get_running_loop`, and the functions that act on
//! it (`spawn`, `current_task`, `all_tasks`).
//!
//! At most one loop runs on a thread at a time; [`enter`] refuses a second one with a clear
//! panic (asyncio raises `RuntimeError` there). Code never runs user code while it borrows the
//! thread-local cell: [`with_current`] is for short, user-code-free work like a wake, and
//! [`current`] clones the `Rc` out for everything else.
//!
//! **C1.** The thread-local slot is null, or holds a pointer made by `Rc::into_raw` from the
//! running loop's `Rc<Core>`; that strong count belongs to the live [`EnterGuard`], which nulls
//! the slot before it gives the count back. So while the slot is not null, the `Core` it points
//! to is alive. The slot is a plain `Cell` (no destructor, constant initialiser), so reading it
//! costs one thread-local load: a task's wake reads it every time.

use std::cell::Cell;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::rc::Rc;

use crate::event_loop::{Core, Loop};
use crate::task::{Task, TaskRef};
use crate::{io, time};

thread_local! {
    /// The running loop's core (C1).
    static CURRENT: Cell<*const Core> = const { Cell::new(std::ptr::null()) };
}

/// Marks a loop as this thread's running loop until dropped (also on unwind). Its drivers
/// become the current ones too (each lower layer finds its own: `TimeDriver::current`,
/// `IoDriver::current`).
pub(crate) struct EnterGuard {
    _time: time::driver::EnterGuard,
    _io: io::driver::EnterGuard,
    _sched: crate::task::current::EnterGuard,
    _not_send: std::marker::PhantomData<Rc<()>>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        // Null first (C1), then give the count back.
        let previous = CURRENT.with(|current| current.replace(std::ptr::null()));
        if !previous.is_null() {
            // SAFETY: C1: a non-null slot holds `Rc::into_raw` of a count this guard owns, and
            // the slot no longer refers to it.
            drop(unsafe { Rc::from_raw(previous) });
        }
    }
}

/// Makes `core` this thread's running loop.
///
/// # Panics
/// If a loop is already running on this thread.
#[track_caller]
pub(crate) fn enter(core: &Rc<Core>) -> EnterGuard {
    try_enter(core).unwrap_or_else(|| {
        panic!(
            "Cannot run the event loop while another loop is running: an aioloop event loop is \
             already running on this thread (spawn a task or await the future instead)"
        )
    })
}

/// Like [`enter`], but returns `None` instead of panicking when a loop is already running.
pub(crate) fn try_enter(core: &Rc<Core>) -> Option<EnterGuard> {
    CURRENT.with(|current| {
        if !current.get().is_null() {
            return None;
        }
        // The guard below owns this count (C1).
        current.set(Rc::into_raw(core.clone()));
        Some(EnterGuard {
            _time: time::driver::enter(core.time()),
            _io: io::driver::enter(core.io()),
            _sched: crate::task::current::enter(core.sched()),
            _not_send: std::marker::PhantomData,
        })
    })
}

/// Runs `f` with the running loop, if any. `f` must not run user code.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Rc<Core>) -> R) -> Option<R> {
    let core = CURRENT.with(Cell::get);
    if core.is_null() {
        return None;
    }
    // SAFETY: C1: the slot is not null, so its `Core` is alive and the count its guard owns
    // is not given back while `f` runs (`f` runs no user code, so no guard drops). The `Rc`
    // made here is never dropped (`ManuallyDrop`): it only lends the guard's count to `f`,
    // which may clone it.
    let core = ManuallyDrop::new(unsafe { Rc::from_raw(core) });
    Some(f(&core))
}

/// The running loop's core, if any.
pub(crate) fn current() -> Option<Rc<Core>> {
    with_current(Rc::clone)
}

/// The running loop's core, or a panic that names the function the user called.
#[track_caller]
pub(crate) fn expect_current(what: &str) -> Rc<Core> {
    current().unwrap_or_else(|| {
        panic!("aioloop::{what} called with no running event loop: call it from inside a task or a future run by run_until_complete / aioloop::run")
    })
}

/// The running event loop, as asyncio's `get_running_loop()`.
///
/// # Panics
/// If no loop is running on this thread (asyncio raises `RuntimeError`). Use
/// [`try_get_running_loop`] to check instead.
///
/// ```
/// aioloop::run(async {
///     let lp = aioloop::get_running_loop();
///     assert!(lp.is_running());
/// });
/// ```
#[track_caller]
pub fn get_running_loop() -> Loop {
    Loop::from_core(expect_current("get_running_loop"))
}

/// The running event loop, or `None` outside of one.
///
/// ```
/// assert!(aioloop::try_get_running_loop().is_none());
/// aioloop::run(async { assert!(aioloop::try_get_running_loop().is_some()) });
/// ```
pub fn try_get_running_loop() -> Option<Loop> {
    current().map(Loop::from_core)
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
#[inline(always)] // harness.rs, `Scheduler::spawn`, says why
pub fn spawn<F>(future: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    expect_current("spawn").spawn(future, None)
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
    expect_current("spawn_named").spawn(future, Some(name))
}

/// Spawns `future` as a task on the running loop and runs its first step at once, inside this
/// call: asyncio's `create_task(coro, eager_start=True)` (3.14), or any `create_task` under
/// `loop.set_task_factory(asyncio.eager_task_factory)` (3.12).
///
/// The step runs until the future first returns `Pending`. A future that completes in it
/// gives a task that is already done (its outcome ready in [`Task::result`]) and was never
/// queued; one that suspends goes on as a task spawned by [`spawn`], woken by what it awaits.
/// Inside the step [`current_task`] is the new task, and after it the caller's again. The task
/// runs in a copy of the caller's current context, as any task: a
/// [`ContextVar::set`](crate::ContextVar::set) in the step is the task's, never seen by the
/// caller. A panic in the step ends the task panicked (awaiting it gives
/// `TaskError::Panicked`); it does not unwind into the caller. Works from a task, the main
/// future, a callback, or another eager task's first step.
///
/// Unlike [`spawn`], the new task runs before the caller's next line and before everything
/// already queued; it saves a trip through the ready queue for futures that often complete at
/// once (a cache hit, a buffered read).
///
/// # Panics
/// If no loop is running on this thread, as [`spawn`].
///
/// ```
/// use std::future::pending;
///
/// aioloop::run(async {
///     let mut done = aioloop::spawn_eager(async { 6 * 7 });
///     assert!(done.is_done(), "it finished inside spawn_eager");
///     assert_eq!(done.result().unwrap().unwrap(), 42);
///
///     let parked = aioloop::spawn_eager(pending::<()>());
///     assert!(!parked.is_done(), "it suspended: it goes on as any task");
///     parked.cancel();
///     assert!(parked.await.unwrap_err().is_cancelled());
/// });
/// ```
#[doc(alias = "eager_start")]
#[doc(alias = "eager_task_factory")]
#[doc(alias = "create_task")]
#[track_caller]
pub fn spawn_eager<F>(future: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    expect_current("spawn_eager").spawn_eager(future, None, "spawn_eager")
}

/// Like [`spawn_eager`], with a name for the task (asyncio's `create_task(coro, name=...,
/// eager_start=True)`), already its name inside the eager step.
///
/// ```
/// aioloop::run(async {
///     let task = aioloop::spawn_eager_named("eager", async {
///         aioloop::current_task().unwrap().name()
///     });
///     assert_eq!(task.await.unwrap(), "eager");
/// });
/// ```
#[doc(alias = "eager_start")]
#[doc(alias = "create_task")]
#[track_caller]
pub fn spawn_eager_named<F>(name: impl Into<String>, future: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let name: Rc<str> = name.into().into();
    expect_current("spawn_eager_named").spawn_eager(future, Some(name), "spawn_eager_named")
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
    current().and_then(|core| core.sched().current_task_ref())
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
    current()
        .map(|core| core.sched().all_task_refs())
        .unwrap_or_default()
}

impl crate::context_var::Context {
    /// Spawns `future` as a task that runs in this context itself, not a copy: asyncio 3.11's
    /// `create_task(coro, context=ctx)`. What the task sets is seen in this context afterwards.
    ///
    /// # Panics
    /// As [`spawn`]: if no loop is running on this thread.
    ///
    /// ```
    /// use aioloop::{copy_context, ContextVar};
    /// aioloop::run(async {
    ///     let var: &'static ContextVar<u32> = Box::leak(Box::new(ContextVar::new("var")));
    ///     let ctx = copy_context();
    ///     ctx.spawn(async move { var.set(1); }).await.unwrap();
    ///     assert_eq!(ctx.get(var), Some(1));
    ///     assert_eq!(var.get(), None);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.spawn_shared(|| spawn(future))
    }
}
