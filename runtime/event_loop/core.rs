//! The loop's shared state ([`Core`]): the scheduler (task/scheduler.rs) and the drivers.
//!
//! Every `RefCell` here is borrowed only for short stretches that run no user code (T1, in
//! task/scheduler.rs).

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::debug::{StatCells, DEFAULT_SLOW_CALLBACK};
use super::extensions::Extensions;
use crate::blocking::Pool;
use crate::io::driver::{IoConfig, IoDriver};
use crate::remote::{self, Remote, RemoteDriver};
use crate::task::meta::TaskMeta;
use crate::task::{
    CallbackCell, CallbackHandle, EagerStart, ExceptionHandler, Runnable, Scheduler, Task, TaskLabel,
};
use crate::time::driver::TimeDriver;
use crate::time::{self, TimerHandle};

/// One loop's state, shared by the `EventLoop` and `Loop` handles: the scheduler, the three
/// drivers, the blocking pool and the run flags. Only event_loop/ sees the fields; the rest
/// of the crate uses the methods.
pub(crate) struct Core {
    pub(super) id: u16,
    pub(super) sched: Rc<Scheduler>,
    pub(super) io: Rc<IoDriver>,
    pub(super) time: Rc<TimeDriver>,
    pub(super) remote: RemoteDriver,
    /// The pool for blocking calls (`to_thread`); it starts threads on first use.
    blocking: Pool,
    pub(super) running: Cell<bool>,
    pub(super) stopping: Cell<bool>,
    /// True while `run_forever` runs: the only run that `stop()` ends.
    pub(super) forever: Cell<bool>,
    pub(super) closed: Cell<bool>,
    pub(super) debug: Cell<bool>,
    pub(super) slow_callback: Cell<Duration>,
    pub(super) stats: StatCells,
    /// Other modules' per-loop state, dropped at close ([`Core::extensions`]).
    pub(super) extensions: Extensions,
}

impl Core {
    /// A new loop with its drivers and its entry in the remote registry.
    pub(crate) fn new(
        io: IoConfig,
        handler: Option<ExceptionHandler>,
        blocking: Pool,
    ) -> std::io::Result<Rc<Core>> {
        let io = IoDriver::new(io)?;
        let (id, remote) = io.with_waker_registry(remote::register)?;
        Ok(Rc::new(Core {
            id,
            sched: Scheduler::new(id, handler),
            io,
            time: TimeDriver::new(),
            remote: RemoteDriver::new(remote),
            blocking,
            running: Cell::new(false),
            stopping: Cell::new(false),
            forever: Cell::new(false),
            closed: Cell::new(false),
            debug: Cell::new(false),
            slow_callback: Cell::new(DEFAULT_SLOW_CALLBACK),
            stats: StatCells::default(),
            extensions: Extensions::default(),
        }))
    }

    /// The scheduler: ready queue, task table, task lifecycle.
    #[inline]
    pub(crate) fn sched(&self) -> &Rc<Scheduler> {
        &self.sched
    }

    /// The io driver.
    #[inline]
    pub(crate) fn io(&self) -> &Rc<IoDriver> {
        &self.io
    }

    /// The time driver.
    #[inline]
    pub(crate) fn time(&self) -> &Rc<TimeDriver> {
        &self.time
    }

    /// The remote queue, as senders (`LoopHandle`s) share it.
    pub(crate) fn remote_queue(&self) -> &Arc<Remote> {
        self.remote.queue()
    }

    /// The loop's pool for blocking calls.
    pub(crate) fn blocking_pool(&self) -> &Pool {
        &self.blocking
    }

    /// True once the loop has closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.get()
    }

    /// Panics (asyncio's "Event loop is closed") if the loop has closed.
    #[track_caller]
    #[inline]
    pub(crate) fn assert_open(&self, what: &str) {
        if self.closed.get() {
            closed(what);
        }
    }

    /// The loop's extension slots: a module's per-loop state that no task owns (the signal
    /// dispatcher, `add_reader`'s watches), dropped when the loop closes, once its tasks,
    /// pending callbacks and timers are dropped (extensions.rs).
    pub(crate) fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// Spawns a task; it is queued at once. Always inlined, with the scheduler's generic part
    /// (harness.rs, `Scheduler::spawn`, says why).
    #[track_caller]
    #[inline(always)]
    pub(crate) fn spawn<F>(&self, future: F, name: Option<Rc<str>>) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let meta = self.spawn_prologue(&name, "spawn");
        self.sched.spawn(future, meta, name)
    }

    /// What every spawn does before the scheduler takes the task: refuses a closed loop, takes
    /// in the remote work sent before it, and decides the task's meta. Always inlined: it is
    /// the spawn fast path's (and `#[track_caller]`, so a task's location is its spawner's).
    #[track_caller]
    #[inline(always)]
    fn spawn_prologue(&self, name: &Option<Rc<str>>, what: &str) -> Option<Box<TaskMeta>> {
        self.assert_open(what);
        // A new task's first step joins asyncio's one ready FIFO after work another thread
        // sent before it, as `call_soon` does (one relaxed load without remote work); so does
        // an eager task's, and what its first step queues.
        self.take_remote_first();
        // The usual spawn (unnamed, debug mode off) records nothing: decided here, inline.
        match name.is_none() && !self.debug.get() {
            true => None,
            false => self.task_meta(name.clone(), std::panic::Location::caller()),
        }
    }

    /// Spawns a task whose first step runs now, nested in the caller, if this loop is
    /// running (task/eager.rs); else, as asyncio's `eager_start` on a loop that is not
    /// running, a plain spawn.
    #[track_caller]
    pub(crate) fn spawn_eager<F>(&self, future: F, name: Option<Rc<str>>, what: &str) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let meta = self.spawn_prologue(&name, what);
        if !self.running.get() {
            return self.sched.spawn(future, meta, name);
        }
        let (task, start) = self.sched.spawn_eager(future, meta, name);
        self.eager_step(start);
        task
    }

    /// The first step of an eager task, with this loop's hooks. Not generic, so the step is
    /// compiled in this crate (task/eager.rs, `Scheduler::spawn_eager`, says why).
    #[inline(never)]
    fn eager_step(&self, start: EagerStart) {
        self.sched.eager_step(self, start);
    }

    /// The real time, in debug mode only (for slow-step timing and task ages); `None` otherwise.
    #[inline]
    pub(crate) fn debug_now(&self) -> Option<Instant> {
        self.debug.get().then(Instant::now)
    }

    /// Takes in the work other threads (or this one, through a `LoopHandle`) sent before
    /// what the caller is about to queue, so that it runs first: asyncio's ready queue is one
    /// FIFO for `call_soon`, `create_task` and `call_soon_threadsafe`. Without remote work
    /// this costs one relaxed load.
    #[inline(always)]
    fn take_remote_first(&self) {
        if self.remote.maybe_pending() {
            self.take_remote();
        }
    }

    /// Queues a callback.
    #[track_caller]
    pub(crate) fn call_soon(&self, callback: Box<dyn FnOnce()>) -> CallbackHandle {
        self.assert_open("call_soon");
        self.take_remote_first();
        // asyncio's `Handle`: the callback runs in a copy of the current context.
        let cell = CallbackCell::new(crate::context_var::bind(callback));
        self.sched.push(Runnable::Callback(cell.clone()));
        CallbackHandle::new(cell)
    }

    /// Sets a timer that queues `callback` when the loop's clock reads `when`.
    #[track_caller]
    pub(crate) fn call_at(&self, when: Instant, callback: Box<dyn FnOnce()>, what: &str) -> TimerHandle {
        self.assert_open(what);
        time::call_at_on(self.time.clone(), when, callback)
    }

    /// Hands an error to the exception handler.
    pub(crate) fn report(
        &self,
        message: &str,
        task: Option<TaskLabel>,
        payload: Option<Box<dyn std::any::Any + Send>>,
    ) {
        self.sched.report(message, task, payload);
    }
}

/// The panic of an operation on a closed loop (out of line: the check is on hot paths).
#[cold]
#[inline(never)]
#[track_caller]
fn closed(what: &str) -> ! {
    panic!("aioloop: {what} on a closed event loop (asyncio raises 'Event loop is closed')")
}
