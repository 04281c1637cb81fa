//! The loop's shared state ([`Core`]): the scheduler (task/scheduler.rs) and the drivers.
//!
//! Every `RefCell` here is borrowed only for short stretches that run no user code (task/
//! scheduler.rs, S1).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::callbacks::Handle;
use crate::debug::{StatCells, DEFAULT_SLOW_CALLBACK};
use crate::reactor::{Reactor, WAKER_TOKEN};
use crate::remote::{self, Remote, RemoteMsg};
use crate::task::{CallbackCell, ExceptionHandler, Runnable, Scheduler, Task, TaskLabel};
use crate::time::clock::Clock;
use crate::time::driver::TimerDriver;

/// One loop's state, shared by the `EventLoop`, `Loop` handles and `Task` handles.
pub(crate) struct Core {
    pub(crate) id: u16,
    sched: Rc<Scheduler>,
    pub(crate) remote: Arc<Remote>,
    pub(crate) remote_buf: RefCell<Vec<RemoteMsg>>,
    pub(crate) reactor: RefCell<Reactor>,
    pub(crate) running: Cell<bool>,
    pub(crate) stopping: Cell<bool>,
    /// True while `run_forever` runs: the only run that `stop()` ends.
    pub(crate) forever: Cell<bool>,
    pub(crate) closed: Cell<bool>,
    pub(crate) clock: Clock,
    pub(crate) timers: RefCell<TimerDriver>,
    pub(crate) debug: Cell<bool>,
    pub(crate) slow_callback: Cell<Duration>,
    pub(crate) stats: StatCells,
}

impl Core {
    /// A new loop with its reactor and its entry in the remote registry.
    pub(crate) fn new(event_capacity: usize, handler: Option<ExceptionHandler>) -> std::io::Result<Rc<Core>> {
        let reactor = Reactor::new(event_capacity)?;
        let (id, remote) = remote::register(reactor.registry(), WAKER_TOKEN)?;
        let clock = Clock::new();
        let timers = RefCell::new(TimerDriver::new(clock.now()));
        Ok(Rc::new(Core {
            id,
            sched: Scheduler::new(id, handler),
            remote,
            remote_buf: RefCell::new(Vec::new()),
            reactor: RefCell::new(reactor),
            running: Cell::new(false),
            stopping: Cell::new(false),
            forever: Cell::new(false),
            closed: Cell::new(false),
            clock,
            timers,
            debug: Cell::new(false),
            slow_callback: Cell::new(DEFAULT_SLOW_CALLBACK),
            stats: StatCells::default(),
        }))
    }

    /// Freezes the loop's clock (virtual time).
    pub(crate) fn pause_clock(&self) {
        self.clock.pause();
    }

    /// The scheduler: ready queue, task table, task lifecycle.
    #[inline]
    pub(crate) fn sched(&self) -> &Rc<Scheduler> {
        &self.sched
    }

    #[track_caller]
    fn assert_open(&self, what: &str) {
        assert!(
            !self.closed.get(),
            "aioloop: {what} on a closed event loop (asyncio raises 'Event loop is closed')"
        );
    }

    /// Spawns a task; it is queued at once.
    #[track_caller]
    pub(crate) fn spawn<F>(&self, future: F, name: Option<Rc<str>>) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.assert_open("spawn");
        let meta = self.task_meta(name.clone(), std::panic::Location::caller());
        self.sched.spawn(future, meta, name)
    }

    /// The real time, in debug mode only (for task ages and slow-step timing).
    #[inline]
    pub(crate) fn spawn_clock(&self) -> Option<Instant> {
        self.debug.get().then(Instant::now)
    }

    /// Queues a callback.
    #[track_caller]
    pub(crate) fn call_soon(&self, callback: Box<dyn FnOnce()>) -> Handle {
        self.assert_open("call_soon");
        let cell = CallbackCell::new(callback);
        self.sched.push(Runnable::Callback(cell.clone()));
        Handle::new(cell)
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
